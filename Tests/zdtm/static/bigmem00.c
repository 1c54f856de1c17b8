/*
 * More than 64 MiB of private anonymous memory, so that a dump ending with the kill frees it on two
 * threads first (the main one and an injected helper, or an existing thread in bigmem01): a dense area,
 * a sparse one cut in the middle by the halves, an mlocked one (left to the exit) and a small one. The
 * contents must come back from the images all the same.
 */
#include "zdtmtst.h"
#include <sys/mman.h>
#ifdef WITH_THREAD
#include <pthread.h>
#endif

#define PG 4096
#define MIB (1024 * 1024)

#ifdef WITH_THREAD
static int park[2];
static task_waiter_t *started;
static void *parked(void *arg)
{
	char c;
	(void)arg;
	/* glibc runs a new thread with every signal blocked until it calls us. */
	task_waiter_complete(started, 1);
	while (read(park[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}
#endif

static char *area(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		pr_perror("mmap %zu bytes", len);
	return p;
}

int main(int argc, char **argv)
{
	size_t dense_len = 48 * MIB, sparse_len = 96 * MIB, locked_len = 1 * MIB, small_len = 256 * 1024;
	char *dense, *sparse, *locked, *small;

	test_init(argc, argv);
	dense = area(dense_len);
	sparse = area(sparse_len);
	locked = area(locked_len);
	small = area(small_len);
	datagen(dense, dense_len, 11);
	for (size_t pg = 0; pg < sparse_len / PG; pg += 3)
		datagen(sparse + pg * PG, PG, 5000 + pg);
	datagen(locked, locked_len, 12);
	if (mlock(locked, locked_len))
		pr_perror("mlock");
	datagen(small, small_len, 13);
#ifdef WITH_THREAD
	pthread_t t;
	started = task_waiter_new();
	if (pipe(park) || pthread_create(&t, NULL, parked, NULL))
		pr_perror("start the parked thread");
	task_waiter_wait4(started, 1);
#endif

	test_daemon();
	test_waitsig();

	if (datachk(dense, dense_len, 11))
		fail("dense area corrupted");
	for (size_t pg = 0; pg < sparse_len / PG; pg++) {
		char *page = sparse + pg * PG;
		if (pg % 3 == 0 && datachk(page, PG, 5000 + pg))
			fail("sparse area page %zu corrupted", pg);
		if (pg % 3 && (page[0] || memcmp(page, page + 1, PG - 1)))
			fail("untouched page %zu of the sparse area is not zero", pg);
	}
	if (datachk(locked, locked_len, 12))
		fail("locked area corrupted");
	if (datachk(small, small_len, 13))
		fail("small area corrupted");
#ifdef WITH_THREAD
	if (write(park[1], "x", 1) != 1 || pthread_join(t, NULL))
		fail("parked thread did not come back");
#endif
	pass();
}
