/* Fds at the top of RLIMIT_NOFILE: a pipe end at hard-1, a dup at hard-2 with close-on-exec, an
 * eventfd at 0; the other pipe end stays low. All must come back at their numbers and work. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/resource.h>

int main(int argc, char **argv)
{
	int p[2];
	struct rlimit rl;
	test_init(argc, argv);
	if (getrlimit(RLIMIT_NOFILE, &rl))
		pr_perror("getrlimit");
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 1 << 20)
		rl.rlim_max = 1 << 20;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		pr_perror("setrlimit");
	int top = (int)rl.rlim_max - 1;
	if (pipe(p))
		pr_perror("pipe");
	if (dup2(p[0], top) != top || fcntl(p[0], F_DUPFD_CLOEXEC, top - 1) != top - 1)
		pr_perror("dup to %d", top);
	close(p[0]);
	close(0);
	if (eventfd(7, 0) != 0)
		pr_perror("eventfd at 0");
	if (write(p[1], "hello", 5) != 5)
		pr_perror("write");
	test_daemon();
	test_waitsig();
	char buf[8];
	if (read(top, buf, 5) != 5 || memcmp(buf, "hello", 5))
		fail("fd %d lost the pipe data", top);
	if (write(p[1], "x", 1) != 1 || read(top - 1, buf, 1) != 1 || buf[0] != 'x')
		fail("fd %d is not the same pipe", top - 1);
	if (fcntl(top, F_GETFD) != 0 || fcntl(top - 1, F_GETFD) != FD_CLOEXEC)
		fail("close-on-exec flags changed");
	uint64_t v;
	if (read(0, &v, 8) != 8 || v != 7)
		fail("eventfd at fd 0 lost");
	pass();
}
