/* The alternate signal stack of the main thread, and a handler that runs on it. */
#include "zdtmtst.h"
#include <signal.h>

static char altstack[65536] __attribute__((aligned(16)));
static volatile int on_alt;

static void handler(int sig)
{
	stack_t cur;
	(void)sig;
	if (sigaltstack(NULL, &cur) == 0 && (cur.ss_flags & SS_ONSTACK))
		on_alt = 1;
}

int main(int argc, char **argv)
{
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack), .ss_flags = 0 }, got;
	test_init(argc, argv);
	if (sigaltstack(&ss, NULL))
		pr_perror("sigaltstack");
	struct sigaction sa = { .sa_handler = handler, .sa_flags = SA_ONSTACK };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL))
		pr_perror("sigaction");
	test_daemon();
	test_waitsig();
	if (sigaltstack(NULL, &got))
		pr_perror("sigaltstack(get)");
	if (got.ss_sp != altstack || got.ss_size != sizeof(altstack) || got.ss_flags != 0)
		fail("altstack changed: sp %p size %zu flags %d", got.ss_sp, got.ss_size, got.ss_flags);
	raise(SIGUSR2);
	if (!on_alt)
		fail("the SA_ONSTACK handler did not run on the alternate stack");
	pass();
}
