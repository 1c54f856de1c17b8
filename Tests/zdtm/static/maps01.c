/* File mappings and split areas: a shared file mapping with changes the file must show, a private file
 * mapping with copied-on-write pages the file must not show, and an anonymous area split in three by
 * mprotect. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/mman.h>

#define PG 4096
#define FPAGES 8

int main(int argc, char **argv)
{
	static char buf[FPAGES * PG];
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	int fd = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		pr_perror("open %s", zdtm_filename);
	datagen(buf, sizeof(buf), 1);
	if (write_all(fd, buf, sizeof(buf)))
		pr_perror("write");
	/* Shared: pages 0-3 of the file, rewritten through the mapping. */
	char *sh = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	/* Private: pages 4-7, pages 5 and 7 written (copied), 4 and 6 still the file's. */
	char *pr = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 4 * PG);
	char *an = mmap(NULL, 9 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || pr == MAP_FAILED || an == MAP_FAILED)
		pr_perror("mmap");
	datagen(sh, 4 * PG, 2);
	datagen(pr + PG, PG, 3);
	datagen(pr + 3 * PG, PG, 4);
	datagen(an, 9 * PG, 5);
	if (mprotect(an + 3 * PG, 3 * PG, PROT_READ))
		pr_perror("mprotect");
	test_daemon();
	test_waitsig();
	if (datachk(sh, 4 * PG, 2))
		fail("shared file mapping lost its changes");
	if (pread(fd, buf, 4 * PG, 0) != 4 * PG || datachk(buf, 4 * PG, 2))
		fail("the file does not show the shared mapping's changes");
	if (datachk(pr + PG, PG, 3) || datachk(pr + 3 * PG, PG, 4))
		fail("copied private pages lost");
	static char orig[FPAGES * PG];
	datagen(orig, sizeof(orig), 1);
	if (memcmp(pr, orig + 4 * PG, PG) || memcmp(pr + 2 * PG, orig + 6 * PG, PG))
		fail("untouched private pages differ from the file");
	if (pread(fd, buf, 4 * PG, 4 * PG) != 4 * PG || memcmp(buf, orig + 4 * PG, 4 * PG))
		fail("private writes leaked into the file");
	if (datachk(an, 9 * PG, 5))
		fail("split anonymous area corrupted");
	pass();
}
