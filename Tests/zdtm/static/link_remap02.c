/* Without --link-remap, a file opened by a removed name whose only other link is in another
 * directory cannot be dumped: the dump must fail, leave no link_remap file, and the task keeps its
 * file. */
#include "zdtmtst.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
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
	if (fd < 0 || write(fd, "hello", 5) != 5)
		pr_perror("open/write %s", a);
	if (link(a, b) || unlink(a))
		pr_perror("link/unlink");
	test_daemon();
	test_waitsig();
	struct stat sa, sb;
	if (fstat(fd, &sa) || stat(b, &sb) || sa.st_ino != sb.st_ino)
		fail("fd is not the linked file");
	DIR *d = opendir(zdtm_dirname);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, "link_remap.", 11))
			fail("%s was left behind", de->d_name);
	unlink(b);
	pass();
}
