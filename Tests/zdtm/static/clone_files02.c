/* A multi-threaded parent whose child shares its fd table (CLONE_FILES): threads are on the table too.
 * After restore an fd that the parent's second thread opens is seen by the child, and when the child
 * closes it, it is gone for that thread. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/kcmp.h>

#define NEWFD 120

static task_waiter_t *started, *go, *opened, *closed;
static char stack[256 * 1024] __attribute__((aligned(16)));

static int child(void *arg)
{
	(void)arg;
	task_waiter_wait4(opened, 1);
	if (syscall(SYS_kcmp, getpid(), getppid(), KCMP_FILES, 0, 0))
		return 1;
	if (fcntl(NEWFD, F_GETFD) < 0)
		return 2;
	if (close(NEWFD))
		return 3;
	task_waiter_complete(closed, 1);
	return 0;
}

static void *thread(void *arg)
{
	(void)arg;
	/* glibc runs a new thread with every signal blocked until it calls us: /proc must not be
	 * compared with that moment. */
	task_waiter_complete(started, 1);
	task_waiter_wait4(go, 1);	/* after restore */
	int n = open("/dev/null", O_RDONLY);
	if (n < 0 || dup2(n, NEWFD) != NEWFD || close(n))
		return "open /dev/null at NEWFD";
	task_waiter_complete(opened, 1);
	task_waiter_wait4(closed, 1);
	if (fcntl(NEWFD, F_GETFD) >= 0)
		return "the fd the child closed is still open";
	return NULL;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	started = task_waiter_new();
	go = task_waiter_new();
	opened = task_waiter_new();
	closed = task_waiter_new();
	pthread_t th;
	if (pthread_create(&th, NULL, thread, NULL))
		fail("pthread_create");
	task_waiter_wait4(started, 1);
	pid_t kid = clone(child, stack + sizeof(stack), CLONE_FILES | SIGCHLD, NULL);
	if (kid < 0)
		pr_perror("clone");
	test_daemon();
	test_waitsig();
	task_waiter_complete(go, 1);
	void *why;
	pthread_join(th, &why);
	if (why)
		fail("second thread: %s", (char *)why);
	int st;
	if (waitpid(kid, &st, 0) != kid || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("child: status %#x (1: kcmp, 2: fd not seen, 3: close)", st);
	pass();
	return 0;
}
