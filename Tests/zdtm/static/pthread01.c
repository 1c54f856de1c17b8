/* Many threads (1000 by default, --threads=N) parked on futexes, each with its own tid, TLS value, signal
 * mask and name; every one must wake after restore and find them unchanged. */
#include "zdtmtst.h"
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static __thread int tls_value;
static task_waiter_t *stop;
static int nstarted;
static int *results;
static pid_t *tids;

static void *thread_fn(void *arg)
{
	int id = (int)(long)arg;
	sigset_t set, got;
	char name[16], want[16];
	tls_value = 7000 + id;
	tids[id] = (pid_t)syscall(SYS_gettid);
	snprintf(want, sizeof(want), "t%d", id);
	prctl(PR_SET_NAME, want, 0, 0, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + id % 16);
	if (id % 3 == 0)
		sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	__atomic_add_fetch(&nstarted, 1, __ATOMIC_SEQ_CST);
	task_waiter_wait4(stop, 1);

	pthread_sigmask(SIG_SETMASK, NULL, &got);
	prctl(PR_GET_NAME, name, 0, 0, 0);
	results[id] = 0;
	if (tls_value != 7000 + id)
		results[id] = 1;
	else if (strcmp(name, want))
		results[id] = 2;
	else if (tids[id] != (pid_t)syscall(SYS_gettid))
		results[id] = 4;
	else
		for (int s = 1; s < NSIG; s++)
			if (sigismember(&set, s) != sigismember(&got, s))
				results[id] = 3;
	return NULL;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int nt = test_opt("threads") ? atoi(test_opt("threads")) : 1000;
	if (nt < 1)
		fail("bad --threads");
	pthread_t *t = calloc(nt, sizeof(*t));
	results = calloc(nt, sizeof(*results));
	tids = calloc(nt, sizeof(*tids));
	stop = task_waiter_new();
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (int i = 0; i < nt; i++)
		if (pthread_create(&t[i], &attr, thread_fn, (void *)(long)i))
			fail("pthread_create %d", i);
	while (__atomic_load_n(&nstarted, __ATOMIC_SEQ_CST) < nt)
		usleep(1000);
	test_daemon();
	test_waitsig();
	task_waiter_complete(stop, 1);
	static const char *what[] = { "", "TLS value", "thread name", "signal mask", "tid" };
	for (int i = 0; i < nt; i++) {
		pthread_join(t[i], NULL);
		if (results[i])
			fail("thread %d lost its %s", i, what[results[i]]);
	}
	test_msg("%d threads", nt);
	pass();
}
