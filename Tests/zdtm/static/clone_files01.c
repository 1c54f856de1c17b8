/* Two siblings share one fd table that their parent does not (the second was cloned by the first with
 * CLONE_FILES | CLONE_PARENT). The restore can only clone a sharer from its parent, so the dump must
 * refuse the tree naming both pids and leave it running untouched (desc flag crfail). Afterwards the
 * siblings still share their table: an fd one opens is seen by the other. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>

#define NEWFD 300

static task_waiter_t *step, *opened, *looked;
static char stack[256 * 1024] __attribute__((aligned(16)));

static int second(void *arg)
{
	(void)arg;
	task_waiter_wait4(opened, 1);		/* the first opened NEWFD */
	return fcntl(NEWFD, F_GETFD) >= 0 ? 0 : 3;
}

static int first(void)
{
	pid_t s = clone(second, stack + sizeof(stack), CLONE_FILES | CLONE_PARENT | SIGCHLD, NULL);
	if (s < 0)
		return 1;
	task_waiter_complete(step, 1);
	task_waiter_wait4(step, 10);		/* after the dump failed */
	int n = open("/dev/null", O_RDONLY);
	if (n < 0 || dup2(n, NEWFD) != NEWFD)
		return 2;
	task_waiter_complete(opened, 1);
	task_waiter_wait4(looked, 1);		/* the second looked */
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	step = task_waiter_new();
	opened = task_waiter_new();
	looked = task_waiter_new();
	pid_t f = fork();
	if (f < 0)
		pr_perror("fork");
	if (f == 0)
		_exit(first());
	task_waiter_wait4(step, 1);
	test_daemon();
	test_waitsig();
	task_waiter_complete(step, 10);
	int done = 0, st;
	pid_t p;
	while (done < 2 && (p = waitpid(-1, &st, 0)) > 0) {
		if (p != f)
			task_waiter_complete(looked, 1);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			fail("%s: status %#x (1: clone, 2: open, 3: the sibling's fd is not seen)", p == f ? "first" : "second", st);
		done++;
	}
	if (done != 2)
		fail("only %d of 2 children reaped", done);
	pass();
	return 0;
}
