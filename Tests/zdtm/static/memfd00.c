/* A memfd with data, mapped shared, with seals. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/mman.h>

#define LEN (8 * 4096)

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int fd = memfd_create("zdtm-memfd", MFD_ALLOW_SEALING);
	if (fd < 0)
		pr_perror("memfd_create");
	if (ftruncate(fd, LEN))
		pr_perror("ftruncate");
	char *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		pr_perror("mmap");
	datagen(p, LEN, 99);
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))
		pr_perror("F_ADD_SEALS");
	test_daemon();
	test_waitsig();
	if (fcntl(fd, F_GET_SEALS) != (F_SEAL_SHRINK | F_SEAL_GROW))
		fail("seals are %#x", fcntl(fd, F_GET_SEALS));
	if (datachk(p, LEN, 99))
		fail("mapped memfd data changed");
	static char buf[LEN];
	if (pread(fd, buf, LEN, 0) != LEN || datachk(buf, LEN, 99))
		fail("memfd file data differs from the mapping");
	p[0] ^= 1;
	if (pread(fd, buf, 1, 0) != 1 || buf[0] != p[0])
		fail("the mapping is no longer shared with the memfd");
	pass();
}
