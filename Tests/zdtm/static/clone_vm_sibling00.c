/* Two siblings on one address space that their parent does not share (the second was cloned by the
 * first with CLONE_VM | CLONE_PARENT): the restore could only clone a sharer from its parent, so the
 * dump must refuse, naming both pids, and leave every task running. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static char stack[256 * 1024] __attribute__((aligned(16)));

/* Our children's pids, from /proc; returns how many. */
static int children(pid_t *out, int max)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/self/task/%d/children", getpid());
	FILE *f = fopen(path, "r");
	if (!f)
		pr_perror("open %s", path);
	int n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n > 0 ? n : 0] = 0;
	int k = 0;
	for (char *p = strtok(buf, " \n"); p && k < max; p = strtok(NULL, " \n"))
		out[k++] = atoi(p);
	return k;
}

static int sibling(void *arg)
{
	(void)arg;
	for (;;)
		syscall(SYS_pause);
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	pid_t first = fork();
	if (first < 0)
		pr_perror("fork");
	if (first == 0) {
		/* Our own address space now; the sibling shares it. */
		if (clone(sibling, stack + sizeof(stack), CLONE_VM | CLONE_PARENT, NULL) < 0)
			_exit(1);
		for (;;)
			pause();
	}
	pid_t kids[4];
	for (int i = 0; i < 5000 && children(kids, 4) < 2; i++)
		usleep(1000);
	if (children(kids, 4) != 2)
		fail("the sibling was not created");
	test_daemon();
	test_waitsig();
	int st;
	if (waitpid(first, &st, WNOHANG) != 0)
		fail("the first child is gone: %#x", st);
	/* Both children are ours (the sibling by CLONE_PARENT, with no exit signal). */
	int n = children(kids, 4);
	for (int i = 0; i < n; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], &st, __WALL);
	}
	if (n != 2)
		fail("expected the first child and its sibling, found %d children", n);
	pass();
}
