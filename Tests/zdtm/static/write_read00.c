/* A regular file with data and an fd positioned inside it: data, offset and open flags must survive. */
#include "zdtmtst.h"
#include <fcntl.h>

#define LEN 100000
#define POS 12345

int main(int argc, char **argv)
{
	static char buf[LEN];
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	int fd = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0640);
	if (fd < 0)
		pr_perror("open %s", zdtm_filename);
	datagen(buf, LEN, 7);
	if (write_all(fd, buf, LEN))
		pr_perror("write");
	if (lseek(fd, POS, SEEK_SET) != POS)
		pr_perror("lseek");
	test_daemon();
	test_waitsig();
	off_t pos = lseek(fd, 0, SEEK_CUR);
	if (pos != POS)
		fail("file offset changed: %lld", (long long)pos);
	if ((fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDWR)
		fail("access mode changed");
	memset(buf, 0, LEN);
	if (pread(fd, buf, LEN, 0) != LEN)
		pr_perror("pread");
	if (datachk(buf, LEN, 7))
		fail("file data changed");
	pass();
}
