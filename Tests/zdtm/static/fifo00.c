/* A named fifo opened both ways, with data in it. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/stat.h>

#define LEN 5000

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	if (mkfifo(zdtm_filename, 0600))
		pr_perror("mkfifo %s", zdtm_filename);
	int r = open(zdtm_filename, O_RDONLY | O_NONBLOCK);
	int w = open(zdtm_filename, O_WRONLY);
	if (r < 0 || w < 0)
		pr_perror("open fifo");
	if (fd_fill(w, LEN, 55))
		pr_perror("write fifo");
	test_daemon();
	test_waitsig();
	struct stat a, b;
	if (fstat(r, &a) || stat(zdtm_filename, &b))
		pr_perror("stat");
	if (a.st_ino != b.st_ino || !S_ISFIFO(a.st_mode))
		fail("the fd is not the named fifo any more");
	if (fd_check(r, LEN, 55))
		fail("fifo data lost or corrupted");
	pass();
}
