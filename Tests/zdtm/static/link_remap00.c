/* A file with two hard links in one directory, opened by the name that was then removed: restore
 * must open it through the other link (the same inode: writes through the fd show at that name),
 * without --link-remap and without copying the contents. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/stat.h>

#define LEN 3000

int main(int argc, char **argv)
{
	static char buf[LEN];
	char other[4096];
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	snprintf(other, sizeof(other), "%s.other", zdtm_filename);
	unlink(other);
	int fd = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		pr_perror("open %s", zdtm_filename);
	datagen(buf, LEN, 3);
	if (write_all(fd, buf, LEN) || lseek(fd, 10, SEEK_SET) != 10)
		pr_perror("write/seek");
	if (link(zdtm_filename, other) || unlink(zdtm_filename))
		pr_perror("link/unlink");
	test_daemon();
	test_waitsig();
	struct stat a, b;
	if (fstat(fd, &a) || stat(other, &b))
		pr_perror("stat");
	if (a.st_ino != b.st_ino || a.st_nlink != 1)
		fail("fd is not the linked file (ino %lu vs %lu, links %lu)", (unsigned long)a.st_ino,
		     (unsigned long)b.st_ino, (unsigned long)a.st_nlink);
	char got[10];
	if (read(fd, got, 10) != 10 || memcmp(got, buf + 10, 10))
		fail("position or data changed");
	if (pwrite(fd, "Z", 1, 0) != 1)
		pr_perror("pwrite");
	int o = open(other, O_RDONLY);
	if (o < 0 || read(o, got, 1) != 1 || got[0] != 'Z')
		fail("a write through the fd does not show at the other name");
	if (access(zdtm_filename, F_OK) == 0)
		fail("the removed name came back");
	unlink(other);
	pass();
}
