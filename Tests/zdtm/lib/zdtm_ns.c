/* zdtm_ns: runs a test inside fresh namespaces, as a child of a tiny init that is pid 1 there.
 *
 *   zdtm_ns [--user] --pidfile=HOSTPIDFILE -- TEST ARGS...
 *
 * Flavor ns: new pid, mount, net, ipc and uts namespaces; flavor uns (--user) first enters a new user
 * namespace whose uid/gid 0..65535 map to 100000..165535 outside. The init remounts /proc, brings up lo,
 * starts the test's starter and, once that exited 0 (the test is ready), this launcher writes the init's
 * host pid into HOSTPIDFILE and exits 0. The init then only reaps children and exits when none is left,
 * so the namespace lives exactly as long as the test. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define USERNS_BASE 100000
#define USERNS_SIZE 65536

static void die(const char *what)
{
	fprintf(stderr, "zdtm_ns: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die(path);
	close(fd);
}

/* A process cannot give itself a wide id map from inside, so a helper left outside writes it. */
static void enter_userns(void)
{
	int go[2], done[2];
	if (pipe(go) || pipe(done))
		die("pipe");
	pid_t self = getpid();
	pid_t helper = fork();
	if (helper < 0)
		die("fork");
	if (helper == 0) {
		char c, path[64], map[64];
		close(go[1]);
		close(done[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		snprintf(map, sizeof(map), "0 %d %d\n", USERNS_BASE, USERNS_SIZE);
		snprintf(path, sizeof(path), "/proc/%d/uid_map", self);
		write_file(path, map);
		snprintf(path, sizeof(path), "/proc/%d/gid_map", self);
		write_file(path, map);
		_exit(write(done[1], "m", 1) == 1 ? 0 : 1);
	}
	close(go[0]);
	close(done[1]);
	if (unshare(CLONE_NEWUSER))
		die("unshare(CLONE_NEWUSER)");
	char c;
	int st;
	if (write(go[1], "u", 1) != 1 || read(done[0], &c, 1) != 1)
		die("userns helper");
	waitpid(helper, &st, 0);
	close(go[1]);
	close(done[0]);
	if (setresgid(0, 0, 0) || setresuid(0, 0, 0))
		die("become root in the user namespace");
}

static void lo_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr = { 0 };
	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr))
		die("lo flags");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		die("lo up");
	close(s);
}

static int init_main(int ready_fd, char **test_argv)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		die("make / private");
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		die("mount /proc");
	if (sethostname("zdtm", 4))
		die("sethostname");
	lo_up();
	prctl(PR_SET_NAME, "zdtm_init", 0, 0, 0);

	pid_t starter = fork();
	if (starter < 0)
		die("fork test");
	if (starter == 0) {
		close(ready_fd);
		execv(test_argv[0], test_argv);
		die(test_argv[0]);
	}
	int st;
	if (waitpid(starter, &st, 0) != starter)
		die("wait for the test's starter");
	char verdict = (WIFEXITED(st) && WEXITSTATUS(st) == 0) ? 'R' : 'F';
	if (write(ready_fd, &verdict, 1) != 1)
		die("report ready");
	close(ready_fd);
	/* From here on only reap: the namespace ends with its last test process. */
	for (;;) {
		pid_t p = waitpid(-1, &st, 0);
		if (p < 0 && errno == ECHILD)
			return 0;
		if (p < 0 && errno != EINTR)
			die("waitpid");
	}
}

int main(int argc, char **argv)
{
	int user = 0, i;
	const char *pidfile = NULL;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--user"))
			user = 1;
		else if (!strncmp(argv[i], "--pidfile=", 10))
			pidfile = argv[i] + 10;
		else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else {
			fprintf(stderr, "zdtm_ns: unknown argument %s\n", argv[i]);
			return 1;
		}
	}
	if (!pidfile || i >= argc) {
		fprintf(stderr, "usage: zdtm_ns [--user] --pidfile=FILE -- TEST ARGS...\n");
		return 1;
	}
	if (user)
		enter_userns();
	if (unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS))
		die("unshare(pid, mnt, net, ipc, uts)");

	int p[2];
	if (pipe2(p, O_CLOEXEC))
		die("pipe");
	pid_t init = fork();
	if (init < 0)
		die("fork init");
	if (init == 0) {
		close(p[0]);
		return init_main(p[1], argv + i);
	}
	close(p[1]);
	char verdict = 0;
	if (read(p[0], &verdict, 1) != 1 || verdict != 'R') {
		fprintf(stderr, "zdtm_ns: the test did not become ready\n");
		int st;
		waitpid(init, &st, 0);
		return 1;
	}
	/* The init closes its end right after the verdict; wait for that so nobody sees the pipe in its fd table. */
	while (read(p[0], &verdict, 1) > 0)
		;
	close(p[0]);
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", init) < 0 || fclose(f) || rename(tmp, pidfile))
		die(pidfile);
	return 0;
}
