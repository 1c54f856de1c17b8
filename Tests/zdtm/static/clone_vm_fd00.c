/* A child on its parent's address space (CLONE_VM | CLONE_SIGHAND) that opened a file its parent does
 * not hold. The restore can only give the child files from the table it copies from its parent, so the
 * dump must refuse, naming the child and the fd, and leave both running. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static int step;

static int child(void *arg)
{
	(void)arg;
	/* Raw syscalls only: the child shares the parent's TLS (errno). */
	if (syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY) < 0)
		return 1;
	__atomic_store_n(&step, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&step, __ATOMIC_SEQ_CST) < 2)
		syscall(SYS_pause);
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	pid_t kid = clone_started(child, CLONE_VM | CLONE_SIGHAND, &step);
	test_daemon();
	test_waitsig();
	int st;
	if (waitpid(kid, &st, WNOHANG) != 0)
		fail("the child is gone: %#x", st);
	__atomic_store_n(&step, 2, __ATOMIC_SEQ_CST);
	kill(kid, SIGUSR1);
	if (waitpid(kid, &st, 0) != kid)
		pr_perror("waitpid");
	pass();
}
