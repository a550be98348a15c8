// SPDX-License-Identifier: GPL-2.0
/*
 * Node reclamation under a real user of the tracker: preserve a memfd of
 * MEMFD_MIB MiB in a LUO session, which preserves each of its folios with
 * kho_preserve_folio(), then close the session, which unpreserves them all.
 * The Rust tracker's statistics (debugfs kho/radix_stats) are read before,
 * while the memfd is preserved and after: the tree must have grown for the
 * memfd and be back to its size before once the session is closed. The C
 * tracker keeps no statistics, and never frees a node.
 *
 * Built like the upstream LUO kselftests, on their library, and run by
 * scripts/check.sh's luo_kselftests in the Rust kernel's first boot.
 * Prints one line per reading and exits with 0 only if both hold.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libliveupdate.h>

#define RADIX_STATS "/sys/kernel/debug/kho/radix_stats"
#define MEMFD_MIB 256
#define MEMFD_TOKEN 0x7ec1a1

struct tree_size {
	long pages;
	long tables;
	long leaves;
};

/* The value of the line "@name N" of @stats, which starts with '\n'. */
static long stat_of(const char *stats, const char *name)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), "\n%s ", name);
	p = strstr(stats, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static void read_tree_size(const char *when, struct tree_size *ts)
{
	char stats[2048] = "\n";
	ssize_t n;
	int fd;

	fd = open(RADIX_STATS, O_RDONLY);
	if (fd < 0)
		fail_exit("open %s (a Rust-tracker kernel?)", RADIX_STATS);
	n = read(fd, stats + 1, sizeof(stats) - 2);
	close(fd);
	if (n <= 0)
		fail_exit("read %s", RADIX_STATS);
	stats[n + 1] = '\0';
	ts->pages = stat_of(stats, "preserved_pages");
	ts->tables = stat_of(stats, "tables");
	ts->leaves = stat_of(stats, "leaves");
	if (ts->pages < 0 || ts->tables < 0 || ts->leaves < 0)
		fail_exit("%s lacks preserved_pages, tables or leaves", RADIX_STATS);
	ksft_print_msg("luo_reclaim: %s: preserved_pages %ld tables %ld leaves %ld\n",
		       when, ts->pages, ts->tables, ts->leaves);
}

/* A memfd of MEMFD_MIB MiB, every page written, so that each has a folio. */
static int filled_memfd(void)
{
	static char chunk[64 << 10];
	long i;
	int fd;

	fd = memfd_create("luo_reclaim", 0);
	if (fd < 0)
		fail_exit("memfd_create");
	memset(chunk, 0x5a, sizeof(chunk));
	for (i = 0; i < (MEMFD_MIB << 20) / (long)sizeof(chunk); i++) {
		if (write(fd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
			fail_exit("write to the memfd");
	}
	return fd;
}

int main(void)
{
	struct tree_size before, preserved, after;
	long memfd_pages = (MEMFD_MIB << 20) / getpagesize();
	int luo_fd, session_fd, mfd;

	luo_fd = luo_open_device();
	if (luo_fd < 0)
		fail_exit("open %s (liveupdate=on?)", LUO_DEVICE);
	mfd = filled_memfd();
	read_tree_size("before", &before);

	session_fd = luo_create_session(luo_fd, "luo-reclaim");
	if (session_fd < 0)
		fail_exit("luo_create_session");
	if (luo_session_preserve_fd(session_fd, mfd, MEMFD_TOKEN) < 0)
		fail_exit("luo_session_preserve_fd");
	read_tree_size("memfd preserved", &preserved);

	/* Unpreserves every folio of the session's memfd. */
	if (close(session_fd) < 0)
		fail_exit("close the session");
	read_tree_size("session closed", &after);
	close(mfd);
	close(luo_fd);

	if (preserved.pages < before.pages + memfd_pages)
		ksft_exit_fail_msg("luo_reclaim: %ld pages preserved, not %ld + %ld\n",
				   preserved.pages, before.pages, memfd_pages);
	if (preserved.leaves <= before.leaves)
		ksft_exit_fail_msg("luo_reclaim: no leaf grown for the memfd (%ld, then %ld)\n",
				   before.leaves, preserved.leaves);
	if (after.pages != before.pages || after.tables != before.tables ||
	    after.leaves != before.leaves)
		ksft_exit_fail_msg("luo_reclaim: the tree did not return to its size before\n");
	ksft_print_msg("luo_reclaim: PASSED: grown by %ld leaves, %ld tables; all freed\n",
		       preserved.leaves - before.leaves, preserved.tables - before.tables);
	return 0;
}
