/* A child cloned with CLONE_VM alone: after restore both run on one address space (writes seen both
 * ways, kcmp KCMP_VM equal) but keep their own handler tables (the child's handler is not the
 * parent's, and a signal to the child runs the child's handler) and their own cwd and umask. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/kcmp.h>

static int step;
static volatile int from_parent, from_child;
static volatile pid_t ran;
static pid_t kid;

#define FAIL(...) do { kill(kid, SIGKILL); fail(__VA_ARGS__); } while (0)

static void handler(int sig) { (void)sig; ran = syscall(SYS_getpid); }

static int child(void *arg)
{
	(void)arg;
	struct sigaction sa = { .sa_handler = handler };
	if (sigaction(SIGUSR1, &sa, NULL))
		return 1;
	if (syscall(SYS_chdir, "/"))
		return 1;
	syscall(SYS_umask, 077);
	__atomic_store_n(&step, 1, __ATOMIC_SEQ_CST);
	if (wait_for_value(&step, 2))				/* after restore */
		return 2;
	if (from_parent != 0x1234)
		return 3;
	char cwd[64];
	if (syscall(SYS_getcwd, cwd, sizeof(cwd)) != 2 || syscall(SYS_umask, 077) != 077)
		return 5;
	from_child = 0x5678;
	__atomic_store_n(&step, 3, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 10000 && ran != syscall(SYS_getpid); i++)
		usleep(1000);
	if (ran != syscall(SYS_getpid))
		return 4;
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	umask(022);
	kid = clone_started(child, CLONE_VM, &step);
	test_daemon();
	test_waitsig();

	if (syscall(SYS_kcmp, getpid(), kid, KCMP_VM, 0, 0) != 0)
		FAIL("kcmp(KCMP_VM): the child has an address space of its own");
	if (syscall(SYS_kcmp, getpid(), kid, KCMP_SIGHAND, 0, 0) == 0)
		FAIL("kcmp(KCMP_SIGHAND): the child shares our handler table");
	struct sigaction sa;
	if (sigaction(SIGUSR1, NULL, &sa))
		pr_perror("sigaction");
	if (sa.sa_handler != SIG_DFL)
		FAIL("the child's SIGUSR1 handler became ours");
	from_parent = 0x1234;
	__atomic_store_n(&step, 2, __ATOMIC_SEQ_CST);
	if (wait_for_value(&step, 3))
		FAIL("the child did not answer after restore");
	if (from_child != 0x5678)
		FAIL("the child's write is not seen: %#x", from_child);
	kill(kid, SIGUSR1);
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)) || !strcmp(cwd, "/") || umask(022) != 022)
		FAIL("the child's cwd or umask became ours");
	int st;
	if (waitpid(kid, &st, 0) != kid || !WIFEXITED(st))
		fail("child died abnormally: %#x", st);
	if (WEXITSTATUS(st))
		fail("child: check %d failed (1: before C/R; 2: no progress; 3: parent's write; 4: its handler did not run; 5: its cwd or umask)", WEXITSTATUS(st));
	pass();
}
