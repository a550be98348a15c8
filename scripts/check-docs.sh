#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Validates Documentation/*.rst:
#   - the first line is the ".. SPDX-License-Identifier: GPL-2.0" comment;
#   - each file parses with docutils with halt_level=2 (file inclusion
#     on: performance.rst includes benchmark-results.md), so any warning
#     (bad title underline, broken reference, unknown role or directive,
#     malformed table or list) fails the check;
#   - every entry of a toctree names an existing Documentation/ file, and
#     every Documentation/*.rst except index.rst is listed in a toctree;
#   - every :doc: target exists;
#   - every word of an inline ``literal`` that looks like a path in this
#     repository (its first component is a top-level entry of the repo,
#     e.g. ``scripts/check.sh``, ``kho_radix.rs``, ``patches/*.patch``)
#     exists in the checkout. Paths in the kernel tree are written with the
#     :file: role (e.g. :file:`Documentation/core-api/kho/abi.rst`), which is
#     rendered as a literal but not checked against this repository.
# Sphinx-only constructs are registered here: the toctree directive and
# no-op :doc:, :ref:, :c:func:, :c:type:, :c:macro:, :file:, :kbd: roles.
#
# Usage: scripts/check-docs.sh [FILE.rst...]   (default: Documentation/*.rst)
# Exits 0 if every check passed, 1 otherwise, naming each problem.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if ! python3 -c 'import docutils' 2>/dev/null; then
	echo "check-docs: python3 cannot import docutils (install python3-docutils; scripts/fetch-deps.sh does)" >&2
	exit 1
fi

exec python3 - "$REPO_ROOT" "$@" <<'PY'
import glob
import io
import os
import re
import sys

import docutils.core
import docutils.nodes as nodes
import docutils.utils
from docutils.parsers.rst import Directive, directives, roles

root = sys.argv[1]
# Relative paths (messages, include directives) are relative to the repo.
os.chdir(root)
docdir = os.path.join(root, "Documentation")
files = sys.argv[2:] or sorted(glob.glob(os.path.join(docdir, "*.rst")))
problems = []

if not files:
    print("check-docs: no Documentation/*.rst found", file=sys.stderr)
    sys.exit(1)

# Per-file collections, filled by the Sphinx stand-ins while parsing.
toc_entries = []   # (file, entry, line)
doc_targets = []   # (file, target, line)
current = [None]


class TocTree(Directive):
    """Sphinx's toctree: records its entries, renders nothing."""
    has_content = True
    option_spec = {
        "maxdepth": directives.nonnegative_int,
        "caption": directives.unchanged,
        "numbered": directives.flag,
        "hidden": directives.flag,
        "glob": directives.flag,
        "titlesonly": directives.flag,
    }

    def run(self):
        for i, line in enumerate(self.content):
            entry = line.strip()
            if entry:
                # "Title <target>" form.
                m = re.match(r"^.*<(.+)>$", entry)
                toc_entries.append((current[0], m.group(1) if m else entry,
                                    self.content_offset + i + 1))
        return []


directives.register_directive("toctree", TocTree)


def literal_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    target = text
    m = re.match(r"^.*<(.+)>$", text)
    if m:
        target = m.group(1)
    if name == "doc":
        doc_targets.append((current[0], target.strip(), lineno))
    node = nodes.literal(rawtext, text)
    if name == "file":
        node["classes"].append("kernel-tree-path")
    return [node], []


for r in ("doc", "ref", "c:func", "c:type", "c:macro", "c:member", "file", "kbd"):
    roles.register_local_role(r, literal_role)

top_level = set(os.listdir(root)) - {".git"}
path_re = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.*+-]*(/[A-Za-z0-9_.*+<>-]*)*$")


def check_repo_path(rel, token, line):
    word = token.strip("()[],;:'\"")
    if word.endswith(".") and not word.endswith(".."):
        word = word[:-1]
    if not word or not path_re.match(word):
        return
    first = word.split("/", 1)[0]
    if first not in top_level:
        return
    if "<" in word:  # placeholder such as host/fuzz/artifacts/ops/crash-<hash>
        word = word.split("<", 1)[0].rsplit("/", 1)[0]
    if glob.glob(os.path.join(root, word)):
        return
    problems.append(f"{rel}:{line}: ``{token}`` names {word}, which does not exist in the repository")


for path in files:
    rel = os.path.relpath(path, root)
    current[0] = rel
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text.startswith(".. SPDX-License-Identifier: GPL-2.0\n"):
        problems.append(f"{rel}:1: first line must be '.. SPDX-License-Identifier: GPL-2.0'")
    err = io.StringIO()
    try:
        doctree = docutils.core.publish_doctree(
            text,
            source_path=rel,
            settings_overrides={
                "halt_level": 2,
                "report_level": 2,
                "warning_stream": err,
                # Only our own files: performance.rst quotes benchmark-results.md.
                "file_insertion_enabled": True,
                "raw_enabled": False,
            },
        )
    except docutils.utils.SystemMessage as e:
        problems.append(f"{rel}: docutils: {e}")
        continue
    except Exception as e:  # noqa: BLE001 - report anything docutils throws
        problems.append(f"{rel}: docutils failed: {type(e).__name__}: {e}")
        continue
    if err.getvalue().strip():
        problems.append(f"{rel}: docutils: {err.getvalue().strip()}")
    for lit in doctree.findall(nodes.literal) if hasattr(doctree, "findall") else doctree.traverse(nodes.literal):
        if "kernel-tree-path" in lit["classes"]:
            continue
        line = lit.line or (lit.parent.line if lit.parent is not None else None) or "?"
        for token in lit.astext().split():
            check_repo_path(rel, token, line)

listed = set()
for rel, entry, line in toc_entries:
    base = os.path.dirname(os.path.join(root, rel))
    cand = os.path.normpath(os.path.join(base, entry))
    if not cand.endswith(".rst"):
        cand += ".rst"
    if not os.path.isfile(cand):
        problems.append(f"{rel}:{line}: toctree entry '{entry}' has no file {os.path.relpath(cand, root)}")
    listed.add(os.path.normpath(cand))

for rel, target, line in doc_targets:
    base = os.path.dirname(os.path.join(root, rel))
    cand = os.path.normpath(os.path.join(base, target))
    if not cand.endswith(".rst"):
        cand += ".rst"
    if not os.path.isfile(cand):
        problems.append(f"{rel}:{line}: :doc: target '{target}' has no file {os.path.relpath(cand, root)}")

if not sys.argv[2:]:
    index = os.path.join(docdir, "index.rst")
    if not os.path.isfile(index):
        problems.append("Documentation/index.rst is missing")
    for path in files:
        p = os.path.normpath(path)
        if p != os.path.normpath(index) and p not in listed:
            problems.append(f"{os.path.relpath(p, root)}: not listed in any toctree")

if problems:
    for p in problems:
        print(f"check-docs: {p}", file=sys.stderr)
    print(f"check-docs: FAILED, {len(problems)} problem(s) in {len(files)} file(s)", file=sys.stderr)
    sys.exit(1)
print(f"check-docs: ok, {len(files)} file(s) in Documentation/ valid")
PY
