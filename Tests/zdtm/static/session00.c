/* Sessions and process groups: a child in its own group, a child leading a new session with a
 * grandchild in it, and a child staying in the parent's group. */
#include "zdtmtst.h"
#include <sys/wait.h>

static task_waiter_t *ready, *go;

static int child_check(pid_t want_sid, pid_t want_pgid)
{
	task_waiter_add(ready);
	task_waiter_wait4(go, 1);
	if (getsid(0) != want_sid)
		return 1;
	if (getpgid(0) != want_pgid)
		return 2;
	return 0;
}

int main(int argc, char **argv)
{
	pid_t kids[3];
	test_init(argc, argv);
	ready = task_waiter_new();
	go = task_waiter_new();
	pid_t sid = getsid(0), me = getpid();

	kids[0] = fork();
	if (kids[0] == 0)
		_exit(child_check(sid, me));
	kids[1] = fork();
	if (kids[1] == 0) {
		if (setpgid(0, 0))
			_exit(3);
		_exit(child_check(sid, getpid()));
	}
	kids[2] = fork();
	if (kids[2] == 0) {
		if (setsid() < 0)
			_exit(4);
		pid_t leader = getpid();
		pid_t g = fork();
		if (g == 0) {
			if (setpgid(0, 0))
				_exit(5);
			_exit(child_check(leader, getpid()));
		}
		int rc = child_check(leader, leader), st;
		if (waitpid(g, &st, 0) != g || !WIFEXITED(st))
			_exit(6);
		_exit(rc ? rc : WEXITSTATUS(st) ? 10 + WEXITSTATUS(st) : 0);
	}
	for (int i = 0; i < 3; i++)
		if (kids[i] < 0)
			pr_perror("fork");
	task_waiter_wait4(ready, 4);
	test_daemon();
	test_waitsig();
	task_waiter_complete(go, 1);
	for (int i = 0; i < 3; i++) {
		int st;
		if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st))
			fail("child %d died abnormally", i);
		if (WEXITSTATUS(st))
			fail("child %d: check %d failed (1: sid, 2: pgid, 1x: grandchild)", i, WEXITSTATUS(st));
	}
	if (getsid(0) != sid || getpgid(0) != me)
		fail("the test's own sid/pgid changed");
	pass();
}
