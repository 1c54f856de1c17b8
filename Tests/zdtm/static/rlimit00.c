/* Resource limits lowered by an unprivileged task (which cannot raise them back itself). */
#include "zdtmtst.h"
#include <sys/resource.h>

static const struct { int res; rlim_t cur, max; } want[] = {
	{ RLIMIT_NOFILE, 200, 300 },
	{ RLIMIT_CORE, 0, 1 << 20 },
	{ RLIMIT_STACK, 4 << 20, 64 << 20 },
};

int main(int argc, char **argv)
{
	test_init(argc, argv);
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct rlimit r = { want[i].cur, want[i].max };
		if (setrlimit(want[i].res, &r))
			pr_perror("setrlimit %d", want[i].res);
	}
	test_daemon();
	test_waitsig();
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct rlimit r;
		if (getrlimit(want[i].res, &r))
			pr_perror("getrlimit %d", want[i].res);
		if (r.rlim_cur != want[i].cur || r.rlim_max != want[i].max)
			fail("limit %d is %llu/%llu, want %llu/%llu", want[i].res, (unsigned long long)r.rlim_cur,
			     (unsigned long long)r.rlim_max, (unsigned long long)want[i].cur, (unsigned long long)want[i].max);
	}
	pass();
}
