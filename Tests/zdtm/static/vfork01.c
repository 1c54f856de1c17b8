/* A parent inside a posix_spawn-style clone(CLONE_VM | CLONE_VFORK) whose child runs on a stack of its
 * own: after restore the child checks the memory it shares with its parent, writes there and exits 9;
 * only then does the parent come back from clone(), with the child's pid, its callee-saved locals intact
 * and the child's write visible, and it reaps the child's exit status. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static char stack[256 * 1024] __attribute__((aligned(16)));
static int p[2], ready[2];
static volatile long shared_word = 0x5eed;

static int child(void *arg)
{
	(void)arg;
	/* Raw syscalls only: the child shares its parent's memory and TLS. */
	long pid = syscall(SYS_getpid);
	syscall(SYS_write, ready[1], &pid, sizeof(pid));
	char b;
	if (syscall(SYS_read, p[0], &b, 1) != 1)		/* after restore */
		syscall(SYS_exit, 2);
	if (shared_word != 0x5eed)
		syscall(SYS_exit, 3);
	shared_word = 0xc0ffee;
	syscall(SYS_exit, 9);
	return 0;
}

static int vfork_parent(void)
{
	volatile unsigned long a = 0x1111222233334444UL, c = 0x5555666677778888UL;
	register unsigned long keep asm("r12") = 0x9999aaaabbbbccccUL;
	asm volatile("" : "+r"(keep));
	pid_t k = clone(child, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
	asm volatile("" : "+r"(keep));
	long reported = 0;
	if (k < 0 || read(ready[0], &reported, sizeof(reported)) != sizeof(reported) || reported != k)
		return 1;
	if (a != 0x1111222233334444UL || c != 0x5555666677778888UL || keep != 0x9999aaaabbbbccccUL)
		return 2;
	if (shared_word != 0xc0ffee)
		return 3;
	int st;
	if (waitpid(k, &st, __WALL) != k || !WIFEXITED(st) || WEXITSTATUS(st) != 9)
		return 4;
	return 0;
}

int main(int argc, char **argv)
{
#ifdef VFORK_KEEP_ROOT
	test_keep_root();
#endif
	test_init(argc, argv);
	if (pipe(p) || pipe(ready))
		pr_perror("pipe");
	pid_t mid = fork();
	if (mid < 0)
		pr_perror("fork");
	if (mid == 0)
		_exit(vfork_parent());
	close(p[0]);
	/* The child's pid arrives once it runs; leave it in the pipe for the parent to compare. */
	vfork_test_release(mid, -1, p[1], "the vfork parent found a difference after its child exited");
	pass();
}
