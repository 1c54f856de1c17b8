/* A child cloned with CLONE_FS (no CLONE_VM): after restore parent and child still share cwd and
 * umask, in both directions. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

static task_waiter_t *step;
static char stack[256 * 1024] __attribute__((aligned(16)));
static char dir_a[4096];

static int child(void *arg)
{
	(void)arg;
	char cwd[4096];
	task_waiter_wait4(step, 1);		/* the parent changed cwd and umask */
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, dir_a))
		return 1;
	mode_t m = umask(0);
	if (m != 027)
		return 2;
	umask(m);
	task_waiter_complete(step, 2);
	task_waiter_wait4(step, 3);		/* after restore */
	if (chdir("/"))
		return 3;
	umask(077);
	task_waiter_complete(step, 4);
	task_waiter_wait4(step, 5);		/* the parent changed them back */
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, dir_a))
		return 4;
	if (umask(0) != 022)
		return 5;
	return 0;
}

int main(int argc, char **argv)
{
	char cwd[4096];
	test_init(argc, argv);
	step = task_waiter_new();
	if (!getcwd(dir_a, sizeof(dir_a)))
		pr_perror("getcwd");
	pid_t kid = clone(child, stack + sizeof(stack), CLONE_FS | SIGCHLD, NULL);
	if (kid < 0)
		pr_perror("clone");
	if (chdir("/"))
		pr_perror("chdir /");
	if (chdir(dir_a))
		pr_perror("chdir %s", dir_a);
	umask(027);
	task_waiter_complete(step, 1);
	task_waiter_wait4(step, 2);
	test_daemon();
	test_waitsig();
	task_waiter_complete(step, 3);
	task_waiter_wait4(step, 4);
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/"))
		fail("the child's chdir(\"/\") is not seen by the parent: cwd %s", cwd);
	mode_t m = umask(022);
	if (m != 077)
		fail("the child's umask 077 is not seen by the parent: %03o", m);
	if (chdir(dir_a))
		pr_perror("chdir %s", dir_a);
	task_waiter_complete(step, 5);
	int st;
	if (waitpid(kid, &st, 0) != kid || !WIFEXITED(st))
		fail("child died abnormally: %#x", st);
	if (WEXITSTATUS(st))
		fail("child: check %d failed (1,2: before C/R; 4: cwd, 5: umask set by the parent after restore)", WEXITSTATUS(st));
	pass();
}
