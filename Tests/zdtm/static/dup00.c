/* Duplicated descriptors share one open file (offset, flags); close-on-exec is per descriptor. */
#include "zdtmtst.h"
#include <fcntl.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	int a = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (a < 0)
		pr_perror("open");
	int b = dup(a);
	int c = fcntl(a, F_DUPFD_CLOEXEC, 100);
	if (b < 0 || c != 100)
		pr_perror("dup");
	if (write(a, "abcdef", 6) != 6)
		pr_perror("write");
	test_daemon();
	test_waitsig();
	if (lseek(b, 0, SEEK_CUR) != 6 || lseek(c, 0, SEEK_CUR) != 6)
		fail("duplicates do not see the shared offset");
	lseek(c, 2, SEEK_SET);
	if (lseek(a, 0, SEEK_CUR) != 2)
		fail("the duplicates no longer share one open file");
	if (fcntl(c, F_GETFD) != FD_CLOEXEC || fcntl(b, F_GETFD) != 0)
		fail("close-on-exec flags changed");
	pass();
}
