/* Signal dispositions: handlers with flags and masks, ignored and default signals. */
#include "zdtmtst.h"
#include <signal.h>

static void h1(int s) { (void)s; }
static void h2(int s, siginfo_t *si, void *u) { (void)s; (void)si; (void)u; }

static int flags_of(int sig)
{
	return (sig % 3 == 0 ? SA_RESTART : 0) | (sig % 4 == 0 ? SA_NODEFER : 0) | (sig % 5 == 0 ? SA_RESETHAND : 0);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP || sig == SIGTERM || sig == 32 || sig == 33)
			continue;
		struct sigaction sa = { 0 };
		if (sig % 7 == 0)
			sa.sa_handler = SIG_IGN;
		else if (sig % 2)
			sa.sa_handler = h1, sa.sa_flags = flags_of(sig);
		else
			sa.sa_sigaction = h2, sa.sa_flags = SA_SIGINFO | flags_of(sig);
		sigemptyset(&sa.sa_mask);
		sigaddset(&sa.sa_mask, (sig % 30) + 1);
		if (sigaction(sig, &sa, NULL))
			pr_perror("sigaction %d", sig);
	}
	test_daemon();
	test_waitsig();
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP || sig == SIGTERM || sig == 32 || sig == 33)
			continue;
		struct sigaction got;
		if (sigaction(sig, NULL, &got))
			pr_perror("sigaction(get) %d", sig);
		if (sig % 7 == 0) {
			if (got.sa_handler != SIG_IGN)
				fail("signal %d is no longer ignored", sig);
			continue;
		}
		void *want = sig % 2 ? (void *)h1 : (void *)h2;
		if ((void *)got.sa_handler != want)
			fail("signal %d handler %p, want %p", sig, (void *)got.sa_handler, want);
		int wf = (sig % 2 ? 0 : SA_SIGINFO) | flags_of(sig);
		int mask = SA_SIGINFO | SA_RESTART | SA_NODEFER | SA_RESETHAND;
		if ((got.sa_flags & mask) != wf)
			fail("signal %d flags %#x, want %#x", sig, got.sa_flags & mask, wf);
		for (int s = 1; s < NSIG; s++)
			if (s != SIGKILL && s != SIGSTOP && sigismember(&got.sa_mask, s) != (s == (sig % 30) + 1))
				fail("signal %d handler mask differs at %d", sig, s);
	}
	pass();
}
