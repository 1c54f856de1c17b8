/* Open flags that only the open file description remembers: O_PATH (on a file and, with O_NOFOLLOW,
 * on a symlink itself), O_DIRECT, O_SYNC, O_DSYNC. Each must come back with its position and still
 * read (or, for O_PATH, stat) the right file. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#define LEN (64 << 10)
#define BLK 4096

static int want(int fd, int flags, const char *what)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		pr_perror("F_GETFL %s", what);
	if ((fl & flags) != flags)
		fail("%s: flags %#o lack %#o", what, fl, flags);
	return fl;
}

int main(int argc, char **argv)
{
	static char buf[LEN];
	char link[4096];
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	int w = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (w < 0)
		pr_perror("create %s", zdtm_filename);
	datagen(buf, LEN, 7);
	if (write_all(w, buf, LEN))
		pr_perror("write");
	close(w);
	snprintf(link, sizeof(link), "%s.lnk", zdtm_filename);
	unlink(link);
	if (symlink(zdtm_filename, link))
		pr_perror("symlink");

	int path = open(zdtm_filename, O_PATH);
	int lpath = open(link, O_PATH | O_NOFOLLOW);
	int sync = open(zdtm_filename, O_RDWR | O_SYNC);
	int dsync = open(zdtm_filename, O_RDONLY | O_DSYNC);
	int direct = open(zdtm_filename, O_RDONLY | O_DIRECT);
	if (path < 0 || lpath < 0 || sync < 0 || dsync < 0)
		pr_perror("open");
	if (direct < 0 && errno != EINVAL)
		pr_perror("open O_DIRECT");
	if (lseek(sync, 1000, SEEK_SET) != 1000 || lseek(dsync, 2000, SEEK_SET) != 2000)
		pr_perror("lseek");
	if (direct >= 0 && lseek(direct, 3 * BLK, SEEK_SET) != 3 * BLK)
		pr_perror("lseek O_DIRECT");

	test_daemon();
	test_waitsig();

	struct stat a, b;
	want(path, O_PATH, "O_PATH");
	if (fstat(path, &a) || stat(zdtm_filename, &b) || a.st_ino != b.st_ino)
		fail("O_PATH fd is not the file");
	want(lpath, O_PATH | O_NOFOLLOW, "O_PATH|O_NOFOLLOW");
	if (fstat(lpath, &a) || !S_ISLNK(a.st_mode))
		fail("O_PATH|O_NOFOLLOW fd is no longer the symlink");
	if (read(path, buf, 1) != -1 || errno != EBADF)
		fail("O_PATH fd became readable");

	char got[100];
	want(sync, O_SYNC, "O_SYNC");
	if (lseek(sync, 0, SEEK_CUR) != 1000 || read(sync, got, 100) != 100)
		fail("O_SYNC fd position or read");
	datagen(buf, LEN, 7);
	if (memcmp(got, buf + 1000, 100))
		fail("O_SYNC fd reads other data");
	want(dsync, O_DSYNC, "O_DSYNC");
	if (lseek(dsync, 0, SEEK_CUR) != 2000 || read(dsync, got, 100) != 100 || memcmp(got, buf + 2000, 100))
		fail("O_DSYNC fd position or data");
	if (direct >= 0) {
		void *al;
		want(direct, O_DIRECT, "O_DIRECT");
		if (posix_memalign(&al, BLK, BLK))
			fail("posix_memalign");
		if (lseek(direct, 0, SEEK_CUR) != 3 * BLK || read(direct, al, BLK) != BLK || memcmp(al, buf + 3 * BLK, BLK))
			fail("O_DIRECT fd position or data");
	}
	unlink(link);
	pass();
}
