/* --link-remap when the deleted file's directory is gone too: the link-remap lands in the nearest
 * directory that exists, restore makes the old directory for a moment to open the file by its old
 * name, and afterwards neither that directory nor the link-remap is left. */
#include "zdtmtst.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
	char sub[4096], a[4096], b[4096];
	test_init(argc, argv);
	if (!zdtm_dirname)
		fail("needs --dirname");
	snprintf(sub, sizeof(sub), "%s/sub", zdtm_dirname);
	snprintf(a, sizeof(a), "%s/sub/a", zdtm_dirname);
	snprintf(b, sizeof(b), "%s/b", zdtm_dirname);
	if ((mkdir(zdtm_dirname, 0777) && errno != EEXIST) || mkdir(sub, 0777))
		pr_perror("mkdir");
	int fd = open(a, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "0123456789", 10) != 10 || lseek(fd, 4, SEEK_SET) != 4)
		pr_perror("open/write %s", a);
	if (link(a, b) || unlink(a) || rmdir(sub))
		pr_perror("link/unlink/rmdir");
	test_daemon();
	test_waitsig();
	struct stat sa, sb;
	if (fstat(fd, &sa) || stat(b, &sb) || sa.st_ino != sb.st_ino)
		fail("fd is not the linked file");
	char got[3];
	if (read(fd, got, 3) != 3 || memcmp(got, "456", 3))
		fail("position or data changed");
	if (access(sub, F_OK) == 0)
		fail("%s was left behind", sub);
	DIR *d = opendir(zdtm_dirname);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, "link_remap.", 11))
			fail("%s was left behind", de->d_name);
	unlink(b);
	pass();
}
