/* A session whose leader is gone: a child setsid()s, forks two members (one in the leader's group, one
 * leading its own group in that session), then exits. The test is a child subreaper, so the members
 * come to it. After restore both must still be in the dead leader's session and groups, children of
 * the test. */
#include "zdtmtst.h"
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/mman.h>

static task_waiter_t *ready, *go;

static int member(pid_t sid, int own_group)
{
	if (own_group && setpgid(0, 0))
		return 3;
	task_waiter_add(ready);
	task_waiter_wait4(go, 1);
	if (getsid(0) != sid)
		return 1;
	if (getpgid(0) != (own_group ? getpid() : sid))
		return 2;
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		pr_perror("PR_SET_CHILD_SUBREAPER");
	ready = task_waiter_new();
	go = task_waiter_new();
	pid_t *kids = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (kids == MAP_FAILED)
		pr_perror("mmap");
	pid_t leader = fork();
	if (leader < 0)
		pr_perror("fork");
	if (leader == 0) {
		if (setsid() < 0)
			_exit(1);
		for (int i = 0; i < 2; i++) {
			pid_t k = fork();	/* not stored from the child: the map is shared */
			if (k == 0)
				_exit(member(getsid(0), i));
			if (k < 0)
				_exit(2);
			kids[i] = k;
		}
		_exit(0);
	}
	int st;
	if (waitpid(leader, &st, 0) != leader || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("session leader failed: %#x", st);
	task_waiter_wait4(ready, 2);
	for (int i = 0; i < 2; i++)
		if (getsid(kids[i]) != leader)
			fail("member %d not in the session of %d", i, leader);
	test_daemon();
	test_waitsig();
	task_waiter_complete(go, 1);
	for (int i = 0; i < 2; i++) {
		if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st))
			fail("member %d (pid %d) is not our child or died abnormally: %#x", i, kids[i], st);
		if (WEXITSTATUS(st))
			fail("member %d: check %d failed (1: sid, 2: pgid, 3: setpgid)", i, WEXITSTATUS(st));
	}
	pass();
}
