/* Blocked signals waiting to be delivered: standard ones and queued realtime ones with their values,
 * for the process (shared queue) and for the thread. */
#include "zdtmtst.h"
#include <signal.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	sigset_t set;
	test_init(argc, argv);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGRTMIN + 2);
	sigaddset(&set, SIGRTMIN + 5);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		pr_perror("sigprocmask");
	/* Process-wide queue. */
	for (int i = 0; i < 3; i++) {
		union sigval v = { .sival_int = 1000 + i };
		if (sigqueue(getpid(), SIGRTMIN + 2, v))
			pr_perror("sigqueue");
	}
	kill(getpid(), SIGUSR1);
	/* Thread queue. */
	siginfo_t si = { .si_signo = SIGRTMIN + 5, .si_code = SI_QUEUE, .si_pid = getpid(), .si_uid = getuid() };
	si.si_value.sival_int = 77;
	if (syscall(SYS_rt_tgsigqueueinfo, getpid(), getpid(), SIGRTMIN + 5, &si))
		pr_perror("rt_tgsigqueueinfo");
	test_daemon();
	test_waitsig();

	sigset_t pend;
	if (sigpending(&pend))
		pr_perror("sigpending");
	for (int s = 1; s < NSIG; s++) {
		int want = s == SIGUSR1 || s == SIGRTMIN + 2 || s == SIGRTMIN + 5;
		if (sigismember(&pend, s) != want)
			fail("signal %d pending=%d, want %d", s, !want, want);
	}
	struct timespec zero = { 0, 0 };
	for (int i = 0; i < 3; i++) {
		sigset_t one;
		sigemptyset(&one);
		sigaddset(&one, SIGRTMIN + 2);
		if (sigtimedwait(&one, &si, &zero) != SIGRTMIN + 2)
			fail("queued signal %d of 3 is lost", i + 1);
		if (si.si_value.sival_int != 1000 + i || si.si_code != SI_QUEUE)
			fail("queued signal %d: value %d code %d", i, si.si_value.sival_int, si.si_code);
	}
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, SIGRTMIN + 5);
	if (sigtimedwait(&one, &si, &zero) != SIGRTMIN + 5 || si.si_value.sival_int != 77)
		fail("thread-directed signal lost or changed");
	sigemptyset(&one);
	sigaddset(&one, SIGUSR1);
	if (sigtimedwait(&one, &si, &zero) != SIGUSR1)
		fail("SIGUSR1 lost");
	pass();
}
