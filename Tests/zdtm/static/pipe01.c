/* Two open files on the read end of one pipe (the second a /proc/self/fd reopen, non-blocking) and a
 * write end with O_NONBLOCK: each file keeps its own flags, all stay on one pipe. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
	int p[2];
	char path[64], c;
	test_init(argc, argv);
	if (pipe(p))
		pr_perror("pipe");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	int r2 = open(path, O_RDONLY | O_NONBLOCK);
	if (r2 < 0 || fcntl(p[1], F_SETFL, O_NONBLOCK))
		pr_perror("reopen");
	if (write(p[1], "ab", 2) != 2)
		pr_perror("write");
	test_daemon();
	test_waitsig();
	struct stat a, b, w;
	if (fstat(p[0], &a) || fstat(r2, &b) || fstat(p[1], &w) || a.st_ino != b.st_ino || a.st_ino != w.st_ino)
		fail("the files are not on one pipe any more");
	if (fcntl(p[0], F_GETFL) & O_NONBLOCK)
		fail("the first read file became non-blocking");
	if (!(fcntl(r2, F_GETFL) & O_NONBLOCK) || !(fcntl(p[1], F_GETFL) & O_NONBLOCK))
		fail("O_NONBLOCK lost");
	if (read(p[0], &c, 1) != 1 || c != 'a' || read(r2, &c, 1) != 1 || c != 'b')
		fail("pipe data lost");
	if (read(r2, &c, 1) != -1 || errno != EAGAIN)
		fail("the pipe holds more data than was written");
	pass();
}
