/* Threads with their own signal masks, thread-local values and names, parked on a futex. */
#include "zdtmtst.h"
#include <pthread.h>
#include <sys/prctl.h>

#define NT 3
static __thread int tls_value;
static task_waiter_t *started, *stop;
static int results[NT];

static void *thread_fn(void *arg)
{
	int id = (int)(long)arg;
	sigset_t set, got;
	char name[16], want[16];
	tls_value = 1000 + id;
	snprintf(want, sizeof(want), "zdtm-t%d", id);
	prctl(PR_SET_NAME, want, 0, 0, 0);
	sigemptyset(&set);
	sigaddset(&set, id % 2 ? SIGUSR2 : SIGUSR1);
	sigaddset(&set, SIGRTMIN + id);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	task_waiter_complete(started, id + 1);
	task_waiter_wait4(stop, 1);

	pthread_sigmask(SIG_SETMASK, NULL, &got);
	prctl(PR_GET_NAME, name, 0, 0, 0);
	results[id] = 0;
	if (tls_value != 1000 + id)
		results[id] = 1;
	else if (strcmp(name, want))
		results[id] = 2;
	else
		for (int s = 1; s < NSIG; s++)
			if (sigismember(&set, s) != sigismember(&got, s))
				results[id] = 3;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[NT];
	test_init(argc, argv);
	started = task_waiter_new();
	stop = task_waiter_new();
	/* Threads start one by one so the started counter cannot race. */
	for (int i = 0; i < NT; i++) {
		if (pthread_create(&t[i], NULL, thread_fn, (void *)(long)i))
			fail("pthread_create %d", i);
		task_waiter_wait4(started, i + 1);
	}
	test_daemon();
	test_waitsig();
	task_waiter_complete(stop, 1);
	for (int i = 0; i < NT; i++) {
		pthread_join(t[i], NULL);
		static const char *what[] = { "", "TLS value", "thread name", "signal mask" };
		if (results[i])
			fail("thread %d lost its %s", i, what[results[i]]);
	}
	pass();
}
