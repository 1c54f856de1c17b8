/* A periodic timerfd keeps its interval and keeps counting expirations. */
#include "zdtmtst.h"
#include <sys/timerfd.h>
#include <time.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	if (fd < 0)
		pr_perror("timerfd_create");
	struct itimerspec its = { .it_interval = { 0, 100 * 1000 * 1000 }, .it_value = { 0, 100 * 1000 * 1000 } };
	if (timerfd_settime(fd, 0, &its, NULL))
		pr_perror("timerfd_settime");
	test_daemon();
	test_waitsig();
	struct itimerspec got;
	if (timerfd_gettime(fd, &got))
		pr_perror("timerfd_gettime");
	if (got.it_interval.tv_sec != 0 || got.it_interval.tv_nsec != 100 * 1000 * 1000)
		fail("interval changed to %ld.%09ld", got.it_interval.tv_sec, got.it_interval.tv_nsec);
	uint64_t ticks = 0;
	for (int i = 0; i < 30 && read(fd, &ticks, 8) != 8; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (!ticks)
		fail("the timer stopped expiring");
	pass();
}
