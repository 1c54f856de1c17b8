/* A process tree: children and a grandchild, each checking its parent and its own memory after C/R. */
#include "zdtmtst.h"
#include <sys/wait.h>

#define NCHILD 3

static task_waiter_t *ready, *go;

/* Exit code 0 = state intact; otherwise which check failed. */
static int child_body(int id, pid_t parent, int depth)
{
	static char buf[8192];
	datagen(buf, sizeof(buf), 500 + id);
	task_waiter_add(ready);
	task_waiter_wait4(go, 1);
	if (getppid() != parent)
		return 10 + depth;
	if (datachk(buf, sizeof(buf), 500 + id))
		return 20 + depth;
	return 0;
}

int main(int argc, char **argv)
{
	pid_t kids[NCHILD];
	test_init(argc, argv);
	ready = task_waiter_new();
	go = task_waiter_new();
	for (int i = 0; i < NCHILD; i++) {
		pid_t me = getpid();
		kids[i] = fork();
		if (kids[i] < 0)
			pr_perror("fork");
		if (kids[i] == 0) {
			if (i == 0) {
				/* The first child has a child of its own. */
				pid_t child_pid = getpid();
				pid_t g = fork();
				if (g < 0)
					_exit(30);
				if (g == 0)
					_exit(child_body(100, child_pid, 2));
				int rc = child_body(i, me, 1), st;
				if (waitpid(g, &st, 0) != g || !WIFEXITED(st))
					_exit(31);
				_exit(rc ? rc : WEXITSTATUS(st));
			}
			_exit(child_body(i, me, 1));
		}
	}
	task_waiter_wait4(ready, NCHILD + 1);
	test_daemon();
	test_waitsig();
	task_waiter_complete(go, 1);
	for (int i = 0; i < NCHILD; i++) {
		int st;
		if (waitpid(kids[i], &st, 0) != kids[i])
			pr_perror("waitpid %d", kids[i]);
		if (!WIFEXITED(st))
			fail("child %d died by signal %d", i, WTERMSIG(st));
		if (WEXITSTATUS(st))
			fail("child %d reported check %d failed (1x: parent changed, 2x: memory; x = depth)", i, WEXITSTATUS(st));
	}
	pass();
}
