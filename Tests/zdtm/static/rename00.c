/* A file renamed after it was opened: the fd now names the new path, and restore must open that one
 * (the old name no longer exists), at the same position. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/stat.h>

#define LEN 20000

int main(int argc, char **argv)
{
	static char buf[LEN];
	char moved[4096];
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	snprintf(moved, sizeof(moved), "%s.moved", zdtm_filename);
	int fd = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		pr_perror("open %s", zdtm_filename);
	datagen(buf, LEN, 11);
	if (write_all(fd, buf, LEN) || lseek(fd, 1234, SEEK_SET) != 1234)
		pr_perror("write/seek");
	if (rename(zdtm_filename, moved))
		pr_perror("rename");
	test_daemon();
	test_waitsig();
	struct stat a, b;
	if (fstat(fd, &a) || stat(moved, &b))
		pr_perror("stat");
	if (a.st_ino != b.st_ino || a.st_nlink != 1)
		fail("fd is not the renamed file");
	if (access(zdtm_filename, F_OK) == 0)
		fail("the old name came back");
	char got[100];
	if (lseek(fd, 0, SEEK_CUR) != 1234 || read(fd, got, 100) != 100 || memcmp(got, buf + 1234, 100))
		fail("position or data changed");
	unlink(moved);
	pass();
}
