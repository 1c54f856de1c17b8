/* Sleeps that were interrupted for the dump must go on after restore: nanosleep, clock_nanosleep and
 * poll never return EINTR unless a signal really arrived (only SIGTERM is sent, at the end). */
#include "zdtmtst.h"
#include <poll.h>
#include <time.h>

int main(int argc, char **argv)
{
	int rounds = 0;
	test_init(argc, argv);
	test_daemon();
	while (test_go()) {
		struct timespec ts = { 0, 300 * 1000 * 1000 };
		int r;
		switch (rounds++ % 3) {
		case 0:
			r = nanosleep(&ts, NULL);
			break;
		case 1:
			r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
			if (r) {
				errno = r;
				r = -1;
			}
			break;
		default:
			r = poll(NULL, 0, 300);
			break;
		}
		if (r < 0 && errno == EINTR && test_go())
			fail("sleep %d returned EINTR though no signal arrived", rounds % 3);
		if (r < 0 && errno != EINTR)
			pr_perror("sleep");
	}
	pass();
}
