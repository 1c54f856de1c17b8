/* Process groups whose leader has exited, in the test's own session: (a) a child leads a group, the
 * test moves a second child into it, the leader exits; (b) a child leads a group, forks a member into
 * it and exits, the member coming to the test (a child subreaper). Both members keep their group. */
#include "zdtmtst.h"
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/mman.h>

static task_waiter_t *ready, *go;

static int member(pid_t pgid)
{
	task_waiter_add(ready);
	task_waiter_wait4(go, 1);
	if (getpgid(0) != pgid)
		return 1;
	if (getsid(0) != getsid(getppid()))
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
	task_waiter_t *lead = task_waiter_new();
	pid_t *kids = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (kids == MAP_FAILED)
		pr_perror("mmap");
	int st;

	/* (a) leader and member are both our children */
	pid_t la = fork();
	if (la == 0) {
		setpgid(0, 0);
		task_waiter_wait4(lead, 1);
		_exit(0);
	}
	if (la < 0 || setpgid(la, la))
		pr_perror("fork/setpgid leader a");
	pid_t ka = fork();
	if (ka == 0)
		_exit(member(la));
	kids[0] = ka;
	if (ka < 0 || setpgid(ka, la))
		pr_perror("fork/setpgid member a");
	task_waiter_complete(lead, 1);
	if (waitpid(la, &st, 0) != la)
		pr_perror("wait leader a");

	/* (b) the member is the leader's child, adopted by us */
	pid_t lb = fork();
	if (lb == 0) {
		if (setpgid(0, 0))
			_exit(1);
		pid_t k = fork();	/* not stored from the child: the map is shared */
		if (k == 0)
			_exit(member(getpgid(0)));
		kids[1] = k;
		_exit(k < 0);
	}
	if (lb < 0 || waitpid(lb, &st, 0) != lb || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("leader b failed");

	task_waiter_wait4(ready, 2);
	if (getpgid(kids[0]) != la || getpgid(kids[1]) != lb)
		fail("setup: groups %d %d, want %d %d", getpgid(kids[0]), getpgid(kids[1]), la, lb);
	test_daemon();
	test_waitsig();
	task_waiter_complete(go, 1);
	for (int i = 0; i < 2; i++) {
		if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st))
			fail("member %d (pid %d) is not our child or died abnormally: %#x", i, kids[i], st);
		if (WEXITSTATUS(st))
			fail("member %d: check %d failed (1: pgid, 2: sid)", i, WEXITSTATUS(st));
	}
	pass();
}
