/* A memfd mapped shared by a parent and its child (no fd left open) while both keep writing: the
 * child bumps a counter in page 0, the parent one in page 1 and each checks it sees the other's move.
 * After C/R the two mappings must still be one object: the counters keep advancing for both. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#define LEN (2 * 4096)

static int waits_for_change(volatile uint64_t *v, uint64_t old)
{
	for (int i = 0; i < 5000; i++) {
		if (__atomic_load_n(v, __ATOMIC_SEQ_CST) != old)
			return 0;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int fd = memfd_create("zdtm-memfd-loop", 0);
	if (fd < 0 || ftruncate(fd, LEN))
		pr_perror("memfd");
	char *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		pr_perror("mmap");
	close(fd);
	volatile uint64_t *theirs = (uint64_t *)p, *mine = (uint64_t *)(p + 4096);
	volatile uint64_t *stop = (uint64_t *)(p + 4096 + 64);
	pid_t child = fork();
	if (child < 0)
		pr_perror("fork");
	if (child == 0) {
		while (!__atomic_load_n(stop, __ATOMIC_SEQ_CST)) {
			__atomic_add_fetch(theirs, 1, __ATOMIC_SEQ_CST);
			if (waits_for_change(mine, __atomic_load_n(mine, __ATOMIC_SEQ_CST)) && !*stop)
				_exit(1);
		}
		_exit(0);
	}
	test_daemon();
	uint64_t rounds = 0;
	while (test_go()) {
		__atomic_add_fetch(mine, 1, __ATOMIC_SEQ_CST);
		if (waits_for_change(theirs, __atomic_load_n(theirs, __ATOMIC_SEQ_CST)) && test_go())
			fail("the child's counter stopped at %llu after %llu rounds: the mapping is no longer shared",
			     (unsigned long long)*theirs, (unsigned long long)rounds);
		rounds++;
	}
	/* Past SIGTERM (after C/R): a few more rounds must still see each other. */
	for (int i = 0; i < 100; i++) {
		__atomic_add_fetch(mine, 1, __ATOMIC_SEQ_CST);
		if (waits_for_change(theirs, __atomic_load_n(theirs, __ATOMIC_SEQ_CST)))
			fail("after restore the child's writes are not seen (counter %llu)", (unsigned long long)*theirs);
	}
	__atomic_store_n(stop, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(mine, 1, __ATOMIC_SEQ_CST);
	int st;
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("the child failed (status %#x): it stopped seeing the parent's writes", st);
	test_msg("%llu rounds", (unsigned long long)rounds);
	pass();
}
