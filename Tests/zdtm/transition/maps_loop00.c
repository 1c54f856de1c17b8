/* Keeps mapping, filling, checking and unmapping anonymous areas while it is dumped; a long-lived area
 * is rewritten with a new generation of data each round. */
#include "zdtmtst.h"
#include <sys/mman.h>

#define PG 4096
#define KEEP_PAGES 64

int main(int argc, char **argv)
{
	uint32_t gen = 1;
	test_init(argc, argv);
	char *keep = mmap(NULL, KEEP_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (keep == MAP_FAILED)
		pr_perror("mmap");
	datagen(keep, KEEP_PAGES * PG, gen);
	test_daemon();
	while (test_go()) {
		size_t pages = 1 + gen % 16;
		char *p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			pr_perror("mmap round %u", gen);
		datagen(p, pages * PG, gen * 7);
		if (datachk(keep, KEEP_PAGES * PG, gen))
			fail("long-lived area lost generation %u", gen);
		if (datachk(p, pages * PG, gen * 7))
			fail("fresh area of round %u corrupted", gen);
		if (munmap(p, pages * PG))
			pr_perror("munmap");
		gen++;
		datagen(keep, KEEP_PAGES * PG, gen);
	}
	if (datachk(keep, KEEP_PAGES * PG, gen))
		fail("long-lived area lost its last generation %u", gen);
	test_msg("%u rounds", gen);
	pass();
}
