/* A memfd held only by fds (not mapped): contents with a hole, size, seals, name, and two open files
 * on it with their own modes and offsets. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define LEN (6 * 4096)

int main(int argc, char **argv)
{
	static char buf[LEN], zero[4096];
	char path[64], link[128];
	test_init(argc, argv);
	int fd = memfd_create("zdtm-memfd01", MFD_ALLOW_SEALING);
	if (fd < 0)
		pr_perror("memfd_create");
	datagen(buf, LEN, 7);
	memset(buf + 2 * 4096, 0, 4096); /* page 2 stays a hole */
	if (pwrite(fd, buf, 2 * 4096, 0) != 2 * 4096 || pwrite(fd, buf + 3 * 4096, LEN - 3 * 4096 - 100, 3 * 4096) != LEN - 3 * 4096 - 100)
		pr_perror("write");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int ro = open(path, O_RDONLY);
	if (ro < 0 || lseek(ro, 5000, SEEK_SET) != 5000 || lseek(fd, 123, SEEK_SET) != 123)
		pr_perror("reopen/seek");
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SEAL))
		pr_perror("F_ADD_SEALS");
	test_daemon();
	test_waitsig();
	struct stat st;
	if (fstat(fd, &st) || st.st_size != LEN - 100)
		fail("size %lld, want %d", (long long)st.st_size, LEN - 100);
	if (fcntl(fd, F_GET_SEALS) != (F_SEAL_GROW | F_SEAL_SEAL))
		fail("seals are %#x", fcntl(fd, F_GET_SEALS));
	if (readlink(path, link, sizeof(link)) < 0 || strncmp(link, "/memfd:zdtm-memfd01", 19))
		fail("the fd is no longer the named memfd");
	static char got[LEN];
	if (pread(fd, got, LEN - 100, 0) != LEN - 100 || memcmp(got, buf, LEN - 100))
		fail("memfd contents changed");
	if (lseek(fd, 0, SEEK_CUR) != 123 || lseek(ro, 0, SEEK_CUR) != 5000)
		fail("offsets changed");
	if ((fcntl(ro, F_GETFL) & O_ACCMODE) != O_RDONLY || write(ro, "x", 1) != -1)
		fail("the read-only file became writable");
	struct stat a;
	if (fstat(ro, &a) || a.st_ino != st.st_ino)
		fail("the two files are on different memfds");
	if (pwrite(fd, "Z", 1, 0) != 1 || pread(ro, got, 1, 0) != 1 || got[0] != 'Z')
		fail("the two files do not share the memfd");
	if (pwrite(fd, zero, 1, LEN) != -1)
		fail("F_SEAL_GROW no longer holds");
	pass();
}
