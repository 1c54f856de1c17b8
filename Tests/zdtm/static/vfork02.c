/* A parent inside vfork() with blocked pending signals, on its own queue (SIGUSR1 by raise) and on the
 * process' (SIGUSR2 by kill, SIGRTMIN twice by sigqueue with values): the dump reads their siginfo from
 * the kernel's queues without stopping the parent. After restore, once the child exits, every one is
 * still pending with its sender's data, in order. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
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
		close(p[1]);
		close(ready[0]);
		sigset_t m;
		sigemptyset(&m);
		sigaddset(&m, SIGUSR1);
		sigaddset(&m, SIGUSR2);
		sigaddset(&m, SIGRTMIN);
		if (sigprocmask(SIG_BLOCK, &m, NULL) || raise(SIGUSR1) || kill(getpid(), SIGUSR2))
			_exit(10);
		if (sigqueue(getpid(), SIGRTMIN, (union sigval){ .sival_int = 41 }) ||
		    sigqueue(getpid(), SIGRTMIN, (union sigval){ .sival_int = 42 }))
			_exit(11);
		pid_t c = vfork();
		if (c == 0) {
			char b = 'r';
			/* Runs on the parent's memory: only raw syscalls until exit. */
			syscall(SYS_write, ready[1], &b, 1);
			if (syscall(SYS_read, p[0], &b, 1) != 1)
				syscall(SYS_exit, 2);
			syscall(SYS_exit, 7);
		}
		int st;
		if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
			_exit(1);
		sigset_t pend;
		if (sigpending(&pend) || !sigismember(&pend, SIGUSR1) || !sigismember(&pend, SIGUSR2))
			_exit(2);
		siginfo_t si;
		struct timespec zero = { 0, 0 };
		if (sigtimedwait(&m, &si, &zero) != SIGUSR1 || si.si_pid != getpid())
			_exit(3);
		if (sigtimedwait(&m, &si, &zero) != SIGUSR2 || si.si_code != SI_USER || si.si_pid != getpid())
			_exit(4);
		if (sigtimedwait(&m, &si, &zero) != SIGRTMIN || si.si_code != SI_QUEUE || si.si_value.sival_int != 41)
			_exit(5);
		if (sigtimedwait(&m, &si, &zero) != SIGRTMIN || si.si_value.sival_int != 42)
			_exit(6);
		if (sigtimedwait(&m, &si, &zero) != -1)
			_exit(7);
		_exit(0);
	}
	close(p[0]);
	close(ready[1]);
	vfork_test_release(mid, ready[0], p[1], "the vfork parent found a difference after its child exited");
	pass();
}
