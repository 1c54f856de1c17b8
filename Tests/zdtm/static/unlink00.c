/* An open file whose name is gone: its data must come back although no path leads to it. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/stat.h>

#define LEN 30000

int main(int argc, char **argv)
{
	static char buf[LEN];
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	int fd = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		pr_perror("open %s", zdtm_filename);
	datagen(buf, LEN, 33);
	if (write_all(fd, buf, LEN) || unlink(zdtm_filename))
		pr_perror("write/unlink");
	test_daemon();
	test_waitsig();
	struct stat st;
	if (fstat(fd, &st))
		pr_perror("fstat");
	if (st.st_nlink != 0)
		fail("the file has %lu links again", (unsigned long)st.st_nlink);
	if (st.st_size != LEN)
		fail("size %lld, want %d", (long long)st.st_size, LEN);
	if (pread(fd, buf, LEN, 0) != LEN || datachk(buf, LEN, 33))
		fail("data of the unlinked file changed");
	if (access(zdtm_filename, F_OK) == 0)
		fail("the name came back");
	pass();
}
