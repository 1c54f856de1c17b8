/* A pipe with data queued in it: both ends, the data and their sharing of one pipe must survive. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/stat.h>

#define LEN 40000

int main(int argc, char **argv)
{
	char c;
	int p[2];
	struct stat a, b;
	test_init(argc, argv);
	if (pipe(p))
		pr_perror("pipe");
	if (fcntl(p[0], F_SETPIPE_SZ, 65536) < 0)
		pr_perror("F_SETPIPE_SZ");
	if (fd_fill(p[1], LEN, 100))
		pr_perror("fill pipe");
	test_daemon();
	test_waitsig();
	if (fstat(p[0], &a) || fstat(p[1], &b))
		pr_perror("fstat");
	if (!S_ISFIFO(a.st_mode) || !S_ISFIFO(b.st_mode))
		fail("pipe ends are not fifos any more");
	if (a.st_ino != b.st_ino)
		fail("the two ends belong to different pipes (%lu vs %lu)", (unsigned long)a.st_ino, (unsigned long)b.st_ino);
	if (fcntl(p[0], F_GETPIPE_SZ) != 65536)
		fail("pipe size changed to %d", fcntl(p[0], F_GETPIPE_SZ));
	if (fd_check(p[0], LEN, 100))
		fail("pipe data lost or corrupted");
	int fl = fcntl(p[0], F_GETFL);
	fcntl(p[0], F_SETFL, fl | O_NONBLOCK);
	if (read(p[0], &c, 1) != -1 || errno != EAGAIN)
		fail("pipe holds more data than was written");
	pass();
}
