/* --link-remap: a file opened by a name that was removed while another link lives in a different
 * directory. The dump links it back as link_remap.ID beside the old name; restore opens it from there
 * (the same inode as the surviving link) and removes that temporary link again. */
#include "zdtmtst.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#define LEN 3000

int main(int argc, char **argv)
{
	static char buf[LEN];
	char a[4096], bdir[4096], b[4096];
	test_init(argc, argv);
	if (!zdtm_dirname)
		fail("needs --dirname");
	snprintf(a, sizeof(a), "%s/a", zdtm_dirname);
	snprintf(bdir, sizeof(bdir), "%s/keep", zdtm_dirname);
	snprintf(b, sizeof(b), "%s/keep/b", zdtm_dirname);
	if ((mkdir(zdtm_dirname, 0777) && errno != EEXIST) || (mkdir(bdir, 0777) && errno != EEXIST))
		pr_perror("mkdir");
	unlink(b);
	int fd = open(a, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		pr_perror("open %s", a);
	datagen(buf, LEN, 4);
	if (write_all(fd, buf, LEN) || lseek(fd, 20, SEEK_SET) != 20)
		pr_perror("write/seek");
	if (link(a, b) || unlink(a))
		pr_perror("link/unlink");
	test_daemon();
	test_waitsig();
	struct stat sa, sb;
	if (fstat(fd, &sa) || stat(b, &sb))
		pr_perror("stat");
	if (sa.st_ino != sb.st_ino || sa.st_nlink != 1)
		fail("fd is not the linked file (ino %lu vs %lu, links %lu)", (unsigned long)sa.st_ino,
		     (unsigned long)sb.st_ino, (unsigned long)sa.st_nlink);
	char got[10];
	if (read(fd, got, 10) != 10 || memcmp(got, buf + 20, 10))
		fail("position or data changed");
	DIR *d = opendir(zdtm_dirname);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, "link_remap.", 11))
			fail("%s was left behind", de->d_name);
	unlink(b);
	pass();
}
