#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Usage: without-thp.py COMMAND [ARGS]...
#
# Runs COMMAND with transparent huge pages disabled for it and everything it
# starts (prctl(PR_SET_THP_DISABLE), inherited across fork and exec).
#
# The restore benchmark runs QEMU under it: QEMU writes translated code into
# a buffer that grows as the guest runs new code, and on this project's
# machines the first write into each new 2 MiB of that buffer, when it is
# backed by a huge page, stalls QEMU for about 5 ms. Which boot step such a
# stall lands in depends on how much code ran before, so it fell into the
# measured restore of one tracker in most boots and of the other in none.
# With 4 KiB pages the same growth costs a few microseconds per page.

import ctypes
import os
import sys

PR_SET_THP_DISABLE = 41


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: without-thp.py COMMAND [ARGS]...")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        sys.exit(f"without-thp.py: prctl(PR_SET_THP_DISABLE): {os.strerror(err)}")
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    except OSError as e:
        sys.exit(f"without-thp.py: cannot run {sys.argv[1]}: {e.strerror}")


main()
