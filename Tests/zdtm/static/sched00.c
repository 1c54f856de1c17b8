/* Scheduling state an unprivileged task can set: nice value, SCHED_BATCH, CPU affinity. */
#include "zdtmtst.h"
#include <sched.h>
#include <sys/resource.h>

int main(int argc, char **argv)
{
	cpu_set_t set;
	test_init(argc, argv);
	if (setpriority(PRIO_PROCESS, 0, 7))
		pr_perror("setpriority");
	struct sched_param sp = { 0 };
	if (sched_setscheduler(0, SCHED_BATCH, &sp))
		pr_perror("sched_setscheduler");
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		pr_perror("sched_setaffinity");
	test_daemon();
	test_waitsig();
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0);
	if (errno || nice != 7)
		fail("nice is %d, want 7", nice);
	if (sched_getscheduler(0) != SCHED_BATCH)
		fail("policy is %d, want SCHED_BATCH", sched_getscheduler(0));
	if (sched_getaffinity(0, sizeof(set), &set) || CPU_COUNT(&set) != 1 || !CPU_ISSET(0, &set))
		fail("affinity changed");
	pass();
}
