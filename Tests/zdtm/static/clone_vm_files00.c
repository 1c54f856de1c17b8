/* A child on both its parent's address space and fd table (CLONE_VM | CLONE_FILES). The restore clones an
 * address-space sharer from outside with its own fds, and builds a shared table only in forked tasks, so
 * the pair cannot be rebuilt: the dump must refuse and leave both running, still sharing the table. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static int step;
static int childFd = -1;

static int child(void *arg)
{
	(void)arg;
	/* Raw syscalls only: the child shares the parent's TLS (errno). */
	__atomic_store_n(&step, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&step, __ATOMIC_SEQ_CST) < 2)
		syscall(SYS_sched_yield), syscall(SYS_nanosleep, &(struct timespec){ 0, 1000000 }, NULL);
	/* Opened after the dump attempt: the parent must see it in the shared table. */
	childFd = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY);
	__atomic_store_n(&step, 3, __ATOMIC_SEQ_CST);
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	pid_t kid = clone_started(child, CLONE_VM | CLONE_FILES, &step);
	test_daemon();
	test_waitsig();
	int st;
	if (waitpid(kid, &st, WNOHANG) != 0)
		fail("the child is gone: %#x", st);
	__atomic_store_n(&step, 2, __ATOMIC_SEQ_CST);
	if (waitpid(kid, &st, 0) != kid)
		pr_perror("waitpid");
	if (__atomic_load_n(&step, __ATOMIC_SEQ_CST) != 3 || childFd < 0)
		fail("the child did not open its file");
	else if (fcntl(childFd, F_GETFD) < 0)
		fail("fd %d the child opened is not in the parent's table", childFd);
	else
		pass();
	return 0;
}
