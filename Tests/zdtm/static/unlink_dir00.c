/* A deleted file whose directory was removed too, and a directory fd whose directory was removed:
 * restore must make the path for a moment (as CRIU does) and remove it again afterwards. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/stat.h>

#define LEN 5000

int main(int argc, char **argv)
{
	static char buf[LEN];
	char dir[4096], sub[4096], file[4096];
	test_init(argc, argv);
	if (!zdtm_dirname)
		fail("needs --dirname");
	snprintf(dir, sizeof(dir), "%s/gone", zdtm_dirname);
	snprintf(sub, sizeof(sub), "%s/gone/sub", zdtm_dirname);
	snprintf(file, sizeof(file), "%s/gone/sub/file", zdtm_dirname);
	if (mkdir(zdtm_dirname, 0700) && errno != EEXIST)
		pr_perror("mkdir %s", zdtm_dirname);
	if (mkdir(dir, 0700) || mkdir(sub, 0755))
		pr_perror("mkdir");
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0640);
	int dfd = open(sub, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || dfd < 0)
		pr_perror("open");
	datagen(buf, LEN, 21);
	if (write_all(fd, buf, LEN) || lseek(fd, 100, SEEK_SET) != 100)
		pr_perror("write");
	if (unlink(file) || rmdir(sub) || rmdir(dir))
		pr_perror("remove");
	test_daemon();
	test_waitsig();
	struct stat st;
	if (fstat(fd, &st) || st.st_nlink != 0 || st.st_size != LEN || (st.st_mode & 07777) != 0640)
		fail("file: links %lu size %lld mode %o", (unsigned long)st.st_nlink, (long long)st.st_size, st.st_mode);
	char got[100];
	if (read(fd, got, 100) != 100 || memcmp(got, buf + 100, 100))
		fail("position or data changed");
	if (fstat(dfd, &st) || !S_ISDIR(st.st_mode) || st.st_nlink != 0)
		fail("directory fd: mode %o links %lu", st.st_mode, (unsigned long)st.st_nlink);
	if (access(dir, F_OK) == 0)
		fail("%s came back", dir);
	pass();
}
