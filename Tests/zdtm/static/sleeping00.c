/* A task asleep in nanosleep: it must wake up normally and find the time moving forward. */
#include "zdtmtst.h"
#include <time.h>

int main(int argc, char **argv)
{
	struct timespec before, after;
	test_init(argc, argv);
	clock_gettime(CLOCK_MONOTONIC, &before);
	test_daemon();
	while (test_go()) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		if (nanosleep(&ts, NULL) && errno != EINTR)
			pr_perror("nanosleep");
	}
	clock_gettime(CLOCK_MONOTONIC, &after);
	if (after.tv_sec < before.tv_sec || (after.tv_sec == before.tv_sec && after.tv_nsec < before.tv_nsec))
		fail("CLOCK_MONOTONIC went backwards");
	pass();
}
