/* A deleted file with holes: the ghost image keeps only the data ranges (GhostChunkEntry), and the
 * restored file has the same data, the same holes, and takes no more blocks than before. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/stat.h>

#define SIZE (1 << 20)
#define CHUNK 8192

static const off_t offs[] = { 0, 256 << 10, SIZE - CHUNK };

int main(int argc, char **argv)
{
	static char buf[CHUNK], got[CHUNK];
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	int fd = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		pr_perror("open %s", zdtm_filename);
	if (ftruncate(fd, SIZE))
		pr_perror("ftruncate");
	for (int i = 0; i < 3; i++) {
		datagen(buf, CHUNK, 100 + i);
		if (pwrite(fd, buf, CHUNK, offs[i]) != CHUNK)
			pr_perror("pwrite");
	}
	if (fsync(fd) || lseek(fd, 777, SEEK_SET) != 777 || unlink(zdtm_filename))
		pr_perror("fsync/seek/unlink");
	struct stat before;
	if (fstat(fd, &before))
		pr_perror("fstat");
	if (lseek(fd, CHUNK, SEEK_DATA) != offs[1]) {
		skip("the filesystem does not report holes");
		return 0;
	}
	lseek(fd, 777, SEEK_SET);
	test_daemon();
	test_waitsig();
	struct stat after;
	if (fstat(fd, &after))
		pr_perror("fstat");
	if (after.st_size != SIZE || after.st_nlink != 0)
		fail("size %lld links %lu", (long long)after.st_size, (unsigned long)after.st_nlink);
	if (after.st_blocks > before.st_blocks)
		fail("restored file takes %lld blocks, was %lld", (long long)after.st_blocks, (long long)before.st_blocks);
	if (lseek(fd, 0, SEEK_CUR) != 777)
		fail("position %lld", (long long)lseek(fd, 0, SEEK_CUR));
	for (int i = 0; i < 3; i++) {
		datagen(buf, CHUNK, 100 + i);
		if (pread(fd, got, CHUNK, offs[i]) != CHUNK || memcmp(got, buf, CHUNK))
			fail("chunk %d differs", i);
	}
	if (lseek(fd, CHUNK, SEEK_DATA) != offs[1] || lseek(fd, offs[1], SEEK_HOLE) != offs[1] + CHUNK)
		fail("holes moved");
	pass();
}
