/* A child inside glibc's vfork(), running on its parent's stack, while its parent sleeps in the kernel
 * (ptrace cannot stop it; the dump reads it with BPF). After restore the child checks the memory it
 * shares with its parent, writes there and exits 7; only then does the parent come back from vfork()
 * with the child's pid, its locals and callee-saved registers intact and the child's write visible. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int p[2], ready[2];
	if (pipe(p) || pipe(ready))
		pr_perror("pipe");
	pid_t mid = fork();
	if (mid < 0)
		pr_perror("fork");
	if (mid == 0) {
		static volatile long shared_word = 0x5eed;
		static volatile long child_pid;
		volatile unsigned long a = 0x1111222233334444UL;
		register unsigned long keep asm("rbx") = 0x9999aaaabbbbccccUL;
		close(p[1]);
		close(ready[0]);
		asm volatile("" : "+r"(keep));
		pid_t c = vfork();
		if (c == 0) {
			char b = 'r';
			/* Runs on the parent's memory and stack: only raw syscalls until exit. */
			child_pid = syscall(SYS_getpid);
			syscall(SYS_write, ready[1], &b, 1);
			if (syscall(SYS_read, p[0], &b, 1) != 1)	/* after restore */
				syscall(SYS_exit, 2);
			if (shared_word != 0x5eed)
				syscall(SYS_exit, 3);
			shared_word = 0xc0ffee;
			syscall(SYS_exit, 7);
		}
		asm volatile("" : "+r"(keep));
		int st;
		if (c < 0 || c != child_pid)
			_exit(1);
		if (a != 0x1111222233334444UL || keep != 0x9999aaaabbbbccccUL)
			_exit(2);
		if (shared_word != 0xc0ffee)
			_exit(3);
		if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
			_exit(4);
		_exit(0);
	}
	close(p[0]);
	close(ready[1]);
	vfork_test_release(mid, ready[0], p[1], "the vfork parent found a difference after its child exited");
	pass();
}
