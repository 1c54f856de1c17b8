/* A parent inside vfork() with an armed ITIMER_VIRTUAL: its expiry is in process CPU time, which cannot
 * be read exactly without running code in the parent, and ptrace cannot stop it there. The dump must
 * refuse, naming the parent, and leave both running; the timer is still armed after the child exits. */
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
		struct itimerval it = { .it_value = { .tv_sec = 3600 } };
		if (setitimer(ITIMER_VIRTUAL, &it, NULL))
			_exit(10);
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
		struct itimerval now;
		if (getitimer(ITIMER_VIRTUAL, &now) || now.it_value.tv_sec == 0)
			_exit(2);
		_exit(0);
	}
	close(p[0]);
	close(ready[1]);
	vfork_test_release(mid, ready[0], p[1], "the vfork parent did not run on untouched");
	pass();
}
