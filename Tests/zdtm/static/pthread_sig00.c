/* Per-thread state other than registers: a signal pending for one thread only, that thread's own
 * sigaltstack and its robust futex list head must all be its own again after C/R. */
#include "zdtmtst.h"
#include <pthread.h>
#include <sys/syscall.h>
#include <linux/futex.h>

static task_waiter_t *ready, *go;
static int result = -1;
static char altstack[65536];
static pid_t thread_tid;

static void *thread_fn(void *arg)
{
	(void)arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack), .ss_flags = 0 };
	if (sigaltstack(&ss, NULL))
		return NULL;
	struct robust_list_head *head;
	size_t len;
	syscall(SYS_get_robust_list, 0, &head, &len);
	thread_tid = (pid_t)syscall(SYS_gettid);
	task_waiter_complete(ready, 1);
	task_waiter_wait4(go, 1);

	sigset_t pend;
	stack_t now;
	struct robust_list_head *head2;
	size_t len2;
	sigpending(&pend);
	sigaltstack(NULL, &now);
	syscall(SYS_get_robust_list, 0, &head2, &len2);
	if (!sigismember(&pend, SIGUSR1))
		result = 1;
	else if (now.ss_sp != altstack || now.ss_size != sizeof(altstack))
		result = 2;
	else if (head2 != head || len2 != len)
		result = 3;
	else
		result = 0;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	test_init(argc, argv);
	ready = task_waiter_new();
	go = task_waiter_new();
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&t, NULL, thread_fn, NULL))
		fail("pthread_create");
	task_waiter_wait4(ready, 1);
	if (syscall(SYS_tgkill, getpid(), thread_tid, SIGUSR1))
		pr_perror("tgkill");
	test_daemon();
	test_waitsig();
	/* Pending for the thread only: the main thread must not see it. */
	sigset_t pend;
	sigpending(&pend);
	if (sigismember(&pend, SIGUSR1))
		fail("SIGUSR1 became pending for the whole process or the main thread");
	task_waiter_complete(go, 1);
	pthread_join(t, NULL);
	if (result)
		fail("thread check %d failed (1: pending signal, 2: sigaltstack, 3: robust list)", result);
	pass();
}
