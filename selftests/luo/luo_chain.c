// SPDX-License-Identifier: GPL-2.0
/*
 * Two live updates in a row: a memfd of MEMFD_MIB MiB goes through two
 * kexecs in LUO sessions, and the kernel in the middle preserves again the
 * folios it restored.
 *
 *   -s 1: fill the memfd with the pattern of hop 1 and preserve it in
 *         session "luo-chain-1";
 *   -s 2: retrieve it from "luo-chain-1", check every byte of hop 1's
 *         pattern, write hop 2's over it, finish that session and preserve
 *         the same memfd in session "luo-chain-2";
 *   -s 3: retrieve it from "luo-chain-2", check every byte of hop 2's
 *         pattern and finish the session.
 *
 * Stages 1 and 2 run after the next kernel is loaded, and leave a child
 * holding the session across the kexec, as upstream's kexec tests do.
 * Built like the upstream LUO kselftests, on their library, and run by
 * scripts/check.sh's luo_chain, one stage per boot of three.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <libliveupdate.h>

#define MEMFD_MIB 64
#define MEMFD_TOKEN 0xc4a1
#define MEMFD_SIZE ((long)MEMFD_MIB << 20)

/* The word at byte @offset of the memfd in the pattern of @hop. */
static unsigned long pattern(int hop, long offset)
{
	return ((unsigned long)hop << 56) ^ (unsigned long)offset ^ 0x9e3779b97f4a7c15UL;
}

static unsigned long *map_memfd(int mfd)
{
	void *map;

	map = mmap(NULL, MEMFD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (map == MAP_FAILED)
		fail_exit("mmap the memfd");
	return map;
}

static void fill(int mfd, int hop)
{
	unsigned long *words = map_memfd(mfd);
	long i;

	for (i = 0; i < MEMFD_SIZE / (long)sizeof(*words); i++)
		words[i] = pattern(hop, i * (long)sizeof(*words));
	munmap(words, MEMFD_SIZE);
}

static void check(int mfd, int hop)
{
	unsigned long *words = map_memfd(mfd);
	long i;

	for (i = 0; i < MEMFD_SIZE / (long)sizeof(*words); i++) {
		if (words[i] != pattern(hop, i * (long)sizeof(*words)))
			ksft_exit_fail_msg("luo_chain: byte %ld: %#lx, not hop %d's %#lx\n",
					   i * (long)sizeof(*words), words[i], hop,
					   pattern(hop, i * (long)sizeof(*words)));
	}
	munmap(words, MEMFD_SIZE);
	ksft_print_msg("luo_chain: %d MiB of hop %d's pattern intact\n", MEMFD_MIB, hop);
}

static void preserve(int luo_fd, int mfd, int hop)
{
	char name[32];
	int session_fd;

	snprintf(name, sizeof(name), "luo-chain-%d", hop);
	session_fd = luo_create_session(luo_fd, name);
	if (session_fd < 0)
		fail_exit("luo_create_session %s", name);
	if (luo_session_preserve_fd(session_fd, mfd, MEMFD_TOKEN) < 0)
		fail_exit("luo_session_preserve_fd in %s", name);
	ksft_print_msg("luo_chain: hop %d: memfd preserved in %s\n", hop, name);
	close(mfd);
	close(luo_fd);
	/* Keeps the session open across the kexec; the parent exits 0. */
	daemonize_and_wait();
}

/* Retrieves the memfd of the previous hop's session and finishes it. */
static int retrieve(int luo_fd, int hop)
{
	char name[32];
	int session_fd, mfd;

	snprintf(name, sizeof(name), "luo-chain-%d", hop - 1);
	session_fd = luo_retrieve_session(luo_fd, name);
	if (session_fd < 0)
		fail_exit("luo_retrieve_session %s", name);
	mfd = luo_session_retrieve_fd(session_fd, MEMFD_TOKEN);
	if (mfd < 0)
		fail_exit("luo_session_retrieve_fd from %s", name);
	check(mfd, hop - 1);
	if (luo_session_finish(session_fd) < 0)
		fail_exit("luo_session_finish %s", name);
	close(session_fd);
	return mfd;
}

int main(int argc, char *argv[])
{
	int hop, luo_fd, mfd;

	if (argc != 3 || strcmp(argv[1], "-s") != 0)
		fail_exit("usage: luo_chain -s 1|2|3");
	hop = atoi(argv[2]);
	if (hop < 1 || hop > 3)
		fail_exit("luo_chain: no stage %s", argv[2]);
	luo_fd = luo_open_device();
	if (luo_fd < 0)
		fail_exit("open %s (liveupdate=on?)", LUO_DEVICE);

	if (hop == 1) {
		mfd = memfd_create("luo_chain", 0);
		if (mfd < 0 || ftruncate(mfd, MEMFD_SIZE) < 0)
			fail_exit("memfd_create");
		fill(mfd, hop);
		preserve(luo_fd, mfd, hop);
	}
	mfd = retrieve(luo_fd, hop);
	if (hop == 2) {
		fill(mfd, hop);
		preserve(luo_fd, mfd, hop);
	}
	close(mfd);
	close(luo_fd);
	ksft_print_msg("luo_chain: PASSED: %d MiB through two kexecs\n", MEMFD_MIB);
	return 0;
}
