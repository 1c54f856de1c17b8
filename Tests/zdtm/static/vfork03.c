/* A parent inside vfork() with an armed ITIMER_REAL: getitimer() reads only the caller's, so the dump
 * reads its expiry and interval from the kernel. After restore, once the child exits, the timer is
 * still armed with its interval and no more time left than before the dump. */
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
		struct itimerval it = { .it_value = { .tv_sec = 3600 }, .it_interval = { .tv_sec = 1800, .tv_usec = 5000 } };
		if (setitimer(ITIMER_REAL, &it, NULL))
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
		if (getitimer(ITIMER_REAL, &now) || now.it_value.tv_sec < 3000 || now.it_value.tv_sec >= 3600 ||
		    now.it_interval.tv_sec != 1800 || now.it_interval.tv_usec != 5000)
			_exit(2);
		_exit(0);
	}
	close(p[0]);
	close(ready[1]);
	vfork_test_release(mid, ready[0], p[1], "the vfork parent found a difference after its child exited");
	pass();
}
