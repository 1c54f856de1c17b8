/* Keeps creating and joining short-lived threads while it is dumped, next to two long-lived workers that
 * count without pause: every thread must return what it was given, and the workers must still count. */
#include "zdtmtst.h"
#include <pthread.h>

static volatile unsigned long counters[2];
static volatile int stopping;

static void *worker(void *arg)
{
	int id = (int)(long)arg;
	while (!stopping)
		counters[id]++;
	return NULL;
}

static void *short_lived(void *arg)
{
	unsigned long v = (unsigned long)arg;
	return (void *)(v * 3 + 1);
}

int main(int argc, char **argv)
{
	pthread_t w[2];
	unsigned long rounds = 0;
	test_init(argc, argv);
	for (int i = 0; i < 2; i++)
		if (pthread_create(&w[i], NULL, worker, (void *)(long)i))
			fail("pthread_create worker %d", i);
	test_daemon();
	while (test_go()) {
		pthread_t t;
		void *ret;
		if (pthread_create(&t, NULL, short_lived, (void *)rounds))
			fail("pthread_create in round %lu", rounds);
		if (pthread_join(t, &ret))
			fail("pthread_join in round %lu", rounds);
		if ((unsigned long)ret != rounds * 3 + 1)
			fail("thread of round %lu returned %lu", rounds, (unsigned long)ret);
		rounds++;
	}
	unsigned long before[2] = { counters[0], counters[1] };
	usleep(100000);
	for (int i = 0; i < 2; i++)
		if (counters[i] == before[i])
			fail("worker %d stopped counting", i);
	stopping = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	if (!rounds)
		fail("no thread was ever created");
	test_msg("%lu rounds", rounds);
	pass();
}
