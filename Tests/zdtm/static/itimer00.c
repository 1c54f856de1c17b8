/* Interval timers: ITIMER_REAL/VIRTUAL/PROF keep their intervals and do not gain time. */
#include "zdtmtst.h"
#include <sys/time.h>

static const int which[] = { ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF };
static volatile int alarms;
static void on_alarm(int s) { (void)s; alarms++; }

int main(int argc, char **argv)
{
	struct itimerval set[3] = {
		{ .it_interval = { 1000, 0 }, .it_value = { 1000, 0 } },
		{ .it_interval = { 2000, 500000 }, .it_value = { 2000, 0 } },
		{ .it_interval = { 0, 0 }, .it_value = { 3000, 0 } },
	};
	test_init(argc, argv);
	signal(SIGALRM, on_alarm);
	signal(SIGVTALRM, on_alarm);
	signal(SIGPROF, on_alarm);
	for (int i = 0; i < 3; i++)
		if (setitimer(which[i], &set[i], NULL))
			pr_perror("setitimer %d", which[i]);
	test_daemon();
	test_waitsig();
	for (int i = 0; i < 3; i++) {
		struct itimerval got;
		if (getitimer(which[i], &got))
			pr_perror("getitimer %d", which[i]);
		if (got.it_interval.tv_sec != set[i].it_interval.tv_sec || got.it_interval.tv_usec != set[i].it_interval.tv_usec)
			fail("timer %d interval changed to %ld.%06ld", which[i], got.it_interval.tv_sec, got.it_interval.tv_usec);
		if (got.it_value.tv_sec == 0 && got.it_value.tv_usec == 0)
			fail("timer %d was disarmed", which[i]);
		if (got.it_value.tv_sec > set[i].it_value.tv_sec)
			fail("timer %d gained time: %ld s left", which[i], got.it_value.tv_sec);
	}
	if (alarms)
		fail("%d timer signals fired too early", alarms);
	pass();
}
