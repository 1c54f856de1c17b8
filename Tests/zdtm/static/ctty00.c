/* A session leader whose controlling terminal is a pty it opened itself: after restore the slave is
 * still its controlling terminal (tcgetsid, /dev/tty is that slave) with the leader's group in the
 * foreground. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <termios.h>

static task_waiter_t *ready, *go;

static int check_ctty(int m, int s)
{
	if (tcgetsid(s) != getpid())
		return 1;
	if (tcgetpgrp(s) != getpgrp())
		return 2;
	int t = open("/dev/tty", O_RDWR);
	if (t < 0)
		return 3;
	/* /dev/tty is a device of its own: prove it is the slave by writing through it to the master */
	char buf[8] = { 0 };
	struct pollfd p = { .fd = m, .events = POLLIN };
	if (write(t, "ctty", 4) != 4 || poll(&p, 1, 2000) != 1 || read(m, buf, sizeof(buf)) != 4 || memcmp(buf, "ctty", 4))
		return 4;
	close(t);
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	ready = task_waiter_new();
	go = task_waiter_new();
	pid_t kid = fork();
	if (kid < 0)
		pr_perror("fork");
	if (kid == 0) {
		int rc = 0, m = -1, s = -1;
		if (setsid() < 0)
			rc = 10;
		if (!rc && ((m = posix_openpt(O_RDWR | O_NOCTTY)) < 0 || grantpt(m) || unlockpt(m)))
			rc = 11;
		/* no O_NOCTTY: it becomes our controlling terminal */
		if (!rc && (s = open(ptsname(m), O_RDWR)) < 0)
			rc = 12;
		if (!rc && (rc = check_ctty(m, s)))
			rc += 20;
		task_waiter_complete(ready, 1);
		if (rc)
			_exit(rc);
		task_waiter_wait4(go, 1);
		_exit(check_ctty(m, s));
	}
	task_waiter_wait4(ready, 1);
	int st;
	if (waitpid(kid, &st, WNOHANG) == kid)
		fail("child failed during setup: status %#x (1x: setsid/openpt/open, 2x: ctty check)", st);
	test_daemon();
	test_waitsig();
	task_waiter_complete(go, 1);
	if (waitpid(kid, &st, 0) != kid || !WIFEXITED(st))
		fail("child died abnormally: %#x", st);
	if (WEXITSTATUS(st))
		fail("child: check %d failed (1: tcgetsid, 2: foreground group, 3: open /dev/tty, 4: /dev/tty is not the slave; 2x: before C/R)",
		     WEXITSTATUS(st));
	pass();
}
