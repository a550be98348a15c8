// SPDX-License-Identifier: GPL-2.0
/*
 * Static init for the KHO kexec round trip under QEMU.
 *
 * First boot (the initramfs holds /kernel): kexec_file_load() /kernel with
 * /initrd and the current command line, then reboot into it. KHO hands the
 * preserved memory over on that path.
 * Second boot (no /kernel): report and reboot, which ends QEMU (-no-reboot).
 * A chain of three boots has a middle one, whose initramfs holds /kernel
 * again: it is a first boot that came through a kexec, and says so.
 * In all, every module in /modules is loaded first (finit_module()). The
 * commands listed in /run-first run in a boot that loads /kernel once the
 * kexec image is loaded, those in /run-second at the start of the last
 * boot (the runner's --run-first, --run-second and --run-third); each must
 * exit with status 0.
 *
 * Every line starts with "kho-init:" so the runner can find it in the serial
 * log; failures print "kho-init: FAIL" and reboot rather than hang. The
 * boot parameter kho_init_hang makes it hang on purpose instead.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CMDLINE_MAX 2048

static void say(const char *msg)
{
	printf("kho-init: %s\n", msg);
	fflush(stdout);
}

/* Report why the boot failed and reboot, which ends QEMU. */
static void fail_because(const char *msg)
{
	printf("kho-init: FAIL: %s\n", msg);
	fflush(stdout);
	sync();
	reboot(RB_AUTOBOOT);
	_exit(1);
}

/* Fail because @what failed with errno. */
static void fail(const char *what)
{
	char msg[320];

	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(errno));
	fail_because(msg);
}

static void mount_fs(const char *type, const char *dir)
{
	mkdir(dir, 0755);
	if (mount(type, dir, type, 0, NULL) < 0 && errno != EBUSY)
		fail(dir);
}

/* Copy the Rust tracker's statistics, if it has them, to the console. */
static void print_radix_stats(void)
{
	char line[128];
	FILE *f;

	f = fopen("/sys/kernel/debug/kho/radix_stats", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		printf("kho-init: radix_stats: %s", line);
	fclose(f);
	fflush(stdout);
}

/*
 * Run each command of @list, one per line with its arguments separated by
 * spaces, and wait for it. The first that does not exit with status 0
 * fails the boot. A command may leave children running: the LUO
 * kselftests' first stage leaves one that holds its sessions open across
 * the kexec.
 */
static void run_commands(const char *list)
{
	char line[512], cmd[512], msg[600], *argv[16], *tok, *save;
	int status, argc;
	pid_t pid;
	FILE *f;

	f = fopen(list, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(cmd, sizeof(cmd), "%s", line);
		argc = 0;
		for (tok = strtok_r(line, " ", &save); tok && argc < 15;
		     tok = strtok_r(NULL, " ", &save))
			argv[argc++] = tok;
		if (!argc)
			continue;
		argv[argc] = NULL;
		snprintf(msg, sizeof(msg), "running %s", cmd);
		say(msg);
		pid = fork();
		if (pid < 0)
			fail("fork");
		if (pid == 0) {
			static char *const no_env[] = { NULL };

			execve(argv[0], argv, no_env);
			printf("kho-init: FAIL: execve %s: %s\n", argv[0], strerror(errno));
			fflush(stdout);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) < 0)
			fail("waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			snprintf(msg, sizeof(msg), "%s: %s %d", cmd,
				 WIFEXITED(status) ? "exit status" : "killed by signal",
				 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			fail_because(msg);
		}
		snprintf(msg, sizeof(msg), "%s: exit status 0", cmd);
		say(msg);
		/* What the command left preserved, and the tree it takes. */
		print_radix_stats();
	}
	fclose(f);
}

/* Load every .ko file in /modules; the modules report to the kernel log. */
static void load_modules(void)
{
	char path[300], msg[320];
	struct dirent *d;
	size_t len;
	DIR *dir;
	int fd;

	dir = opendir("/modules");
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		len = strlen(d->d_name);
		if (len < 3 || strcmp(d->d_name + len - 3, ".ko") != 0)
			continue;
		snprintf(path, sizeof(path), "/modules/%s", d->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail(path);
		if (syscall(SYS_finit_module, fd, "", 0) < 0)
			fail(path);
		close(fd);
		snprintf(msg, sizeof(msg), "loaded module %s", d->d_name);
		say(msg);
	}
	closedir(dir);
}

static void first_boot(void)
{
	char cmdline[CMDLINE_MAX];
	int cfd, kfd, ifd;
	ssize_t len;

	if (access("/sys/kernel/debug/kho/in/fdt", F_OK) == 0)
		say("middle boot: reached userspace after kexec, loading /kernel with KHO");
	else
		say("first boot: loading /kernel with KHO");
	print_radix_stats();
	cfd = open("/proc/cmdline", O_RDONLY);
	if (cfd < 0)
		fail("open /proc/cmdline");
	len = read(cfd, cmdline, sizeof(cmdline) - 1);
	close(cfd);
	if (len <= 0)
		fail("read /proc/cmdline");
	if (cmdline[len - 1] == '\n')
		len--;
	cmdline[len] = '\0';

	kfd = open("/kernel", O_RDONLY);
	if (kfd < 0)
		fail("open /kernel");
	ifd = open("/initrd", O_RDONLY);
	if (ifd < 0)
		fail("open /initrd");
	if (syscall(SYS_kexec_file_load, kfd, ifd, (unsigned long)len + 1,
		    cmdline, 0UL) < 0)
		fail("kexec_file_load");
	run_commands("/run-first");
	say("kexec loaded, rebooting into it");
	sync();
	reboot(RB_KEXEC);
	fail("reboot(RB_KEXEC)");
}

static void second_boot(void)
{
	char buf[256];
	ssize_t n;
	int fd;

	say("second boot: reached userspace after kexec");
	run_commands("/run-second");
	fd = open("/sys/kernel/debug/kho/in/fdt", O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf));
		snprintf(buf, sizeof(buf),
			 "incoming KHO FDT visible in debugfs (%zd bytes read)", n);
		say(buf);
		close(fd);
	} else {
		say("no incoming KHO FDT in debugfs");
	}
	say("done, rebooting (QEMU runs with -no-reboot, so it exits)");
	sync();
	reboot(RB_AUTOBOOT);
	fail("reboot(RB_AUTOBOOT)");
}

/*
 * Stop here for good: the runner's own test needs a guest that never
 * finishes, however fast the machine boots. The kernel passes boot
 * parameters it does not know, without '=' or '.', to init as arguments.
 */
static void hang_if_asked(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "kho_init_hang") == 0) {
			say("hanging as asked (kho_init_hang)");
			for (;;)
				pause();
		}
	}
}

int main(int argc, char **argv)
{
	hang_if_asked(argc, argv);
	mount_fs("proc", "/proc");
	mount_fs("sysfs", "/sys");
	mount_fs("debugfs", "/sys/kernel/debug");
	/* For the commands: /dev/liveupdate, say. */
	mount_fs("devtmpfs", "/dev");
	load_modules();

	if (access("/kernel", F_OK) == 0)
		first_boot();
	else
		second_boot();
	return 0;
}
