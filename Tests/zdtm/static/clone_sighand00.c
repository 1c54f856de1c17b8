/* A child cloned with CLONE_VM | CLONE_SIGHAND (a process, not a thread): after restore both still run
 * on one address space (writes seen both ways) with one handler table (a handler one installs is read
 * back and run by the other), and kcmp says they share mm and sighand. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/kcmp.h>

static int step;
static volatile int from_parent, from_child;
static volatile pid_t ran_a, ran_b;
static pid_t kid;

#define FAIL(...) do { kill(kid, SIGKILL); fail(__VA_ARGS__); } while (0)

static void handler_a(int sig) { (void)sig; ran_a = syscall(SYS_getpid); }
static void handler_b(int sig) { (void)sig; ran_b = syscall(SYS_getpid); }

static void *handler_of(int sig)
{
	struct sigaction sa;
	if (sigaction(sig, NULL, &sa))
		return NULL;
	return (void *)sa.sa_handler;
}

static int child(void *arg)
{
	(void)arg;
	struct sigaction sa = { .sa_handler = handler_a };
	if (sigaction(SIGUSR1, &sa, NULL))
		return 1;
	__atomic_store_n(&step, 1, __ATOMIC_SEQ_CST);
	if (wait_for_value(&step, 2))				/* after restore */
		return 2;
	if (from_parent != 0x1234)
		return 3;
	if (handler_of(SIGUSR2) != (void *)handler_b)
		return 4;
	from_child = 0x5678;
	syscall(SYS_kill, getppid(), SIGUSR1);
	__atomic_store_n(&step, 3, __ATOMIC_SEQ_CST);
	if (wait_for_value(&step, 4))
		return 5;
	for (int i = 0; i < 10000 && ran_b != syscall(SYS_getpid); i++)
		usleep(1000);
	if (ran_b != syscall(SYS_getpid))
		return 6;
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	kid = clone_started(child, CLONE_VM | CLONE_SIGHAND, &step);
	if (handler_of(SIGUSR1) != (void *)handler_a)
		FAIL("before C/R: the child's SIGUSR1 handler is not seen");
	test_daemon();
	test_waitsig();

	if (syscall(SYS_kcmp, getpid(), kid, KCMP_VM, 0, 0) != 0)
		FAIL("kcmp(KCMP_VM): the child has an address space of its own");
	if (syscall(SYS_kcmp, getpid(), kid, KCMP_SIGHAND, 0, 0) != 0)
		FAIL("kcmp(KCMP_SIGHAND): the child has a handler table of its own");
	if (handler_of(SIGUSR1) != (void *)handler_a)
		FAIL("the SIGUSR1 handler the child installed is gone: %p", handler_of(SIGUSR1));
	struct sigaction sa = { .sa_handler = handler_b };
	if (sigaction(SIGUSR2, &sa, NULL))
		pr_perror("sigaction");
	from_parent = 0x1234;
	__atomic_store_n(&step, 2, __ATOMIC_SEQ_CST);
	if (wait_for_value(&step, 3))
		FAIL("the child did not answer after restore");
	if (from_child != 0x5678)
		FAIL("the child's write is not seen: %#x", from_child);
	for (int i = 0; i < 10000 && ran_a != getpid(); i++)
		usleep(1000);
	if (ran_a != getpid())
		FAIL("SIGUSR1 from the child did not run the child's handler here (ran in %d)", ran_a);
	kill(kid, SIGUSR2);
	__atomic_store_n(&step, 4, __ATOMIC_SEQ_CST);
	int st;
	if (waitpid(kid, &st, 0) != kid || !WIFEXITED(st))
		fail("child died abnormally: %#x", st);
	if (WEXITSTATUS(st))
		fail("child: check %d failed (1: before C/R; 2,5: no progress; 3: parent's write; 4: parent's handler not seen; 6: handler not run in the child)",
		     WEXITSTATUS(st));
	pass();
}
