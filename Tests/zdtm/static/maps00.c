/* Anonymous private and shared mappings with different protections, filled with patterns. */
#include "zdtmtst.h"
#include <sys/mman.h>

#define PG 4096
struct area { size_t pages; int prot; int flags; uint32_t seed; char *p; };

int main(int argc, char **argv)
{
	struct area a[] = {
		{ 16, PROT_READ | PROT_WRITE, MAP_PRIVATE, 1 },
		{ 3, PROT_READ, MAP_PRIVATE, 2 },
		{ 8, PROT_READ | PROT_WRITE, MAP_SHARED, 3 },
		{ 5, PROT_NONE, MAP_PRIVATE, 4 },
		{ 1, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE, 5 },
		{ 64, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0 },  /* sparse: only every 7th page touched */
	};
	int n = sizeof(a) / sizeof(a[0]);
	test_init(argc, argv);
	for (int i = 0; i < n; i++) {
		size_t len = a[i].pages * PG;
		a[i].p = mmap(NULL, len, PROT_READ | PROT_WRITE, a[i].flags | MAP_ANONYMOUS, -1, 0);
		if (a[i].p == MAP_FAILED)
			pr_perror("mmap area %d", i);
		if (a[i].seed)
			datagen(a[i].p, len, a[i].seed);
		else
			for (size_t pg = 0; pg < a[i].pages; pg += 7)
				datagen(a[i].p + pg * PG, PG, 1000 + pg);
		if (mprotect(a[i].p, len, a[i].prot))
			pr_perror("mprotect area %d", i);
	}
	test_daemon();
	test_waitsig();
	for (int i = 0; i < n; i++) {
		size_t len = a[i].pages * PG;
		if (mprotect(a[i].p, len, PROT_READ))
			pr_perror("mprotect area %d for checking", i);
		if (a[i].seed) {
			if (datachk(a[i].p, len, a[i].seed))
				fail("area %d (%zu pages, prot %d) corrupted", i, a[i].pages, a[i].prot);
			continue;
		}
		for (size_t pg = 0; pg < a[i].pages; pg++) {
			char *page = a[i].p + pg * PG;
			if (pg % 7 == 0 && datachk(page, PG, 1000 + pg))
				fail("sparse area page %zu corrupted", pg);
			if (pg % 7) {
				for (size_t k = 0; k < PG; k++)
					if (page[k])
						fail("untouched page %zu of the sparse area is not zero", pg);
			}
		}
	}
	pass();
}
