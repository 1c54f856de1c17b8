/* An fd's owner and signal for O_ASYNC (F_SETOWN_EX / F_SETSIG) on a pipe. */
#include "zdtmtst.h"
#include <fcntl.h>

int main(int argc, char **argv)
{
	int p[2];
	test_init(argc, argv);
	if (pipe(p))
		pr_perror("pipe");
	struct f_owner_ex own = { .type = F_OWNER_PID, .pid = getpid() };
	if (fcntl(p[0], F_SETOWN_EX, &own) || fcntl(p[0], F_SETSIG, SIGRTMIN + 3) ||
	    fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK))
		pr_perror("fcntl");
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 3);
	sigprocmask(SIG_BLOCK, &set, NULL);
	test_daemon();
	test_waitsig();
	struct f_owner_ex got;
	if (fcntl(p[0], F_GETOWN_EX, &got))
		pr_perror("F_GETOWN_EX");
	if (got.type != F_OWNER_PID || got.pid != getpid())
		fail("owner is type %d pid %d", got.type, got.pid);
	if (fcntl(p[0], F_GETSIG) != SIGRTMIN + 3)
		fail("F_GETSIG is %d", fcntl(p[0], F_GETSIG));
	int fl = fcntl(p[0], F_GETFL);
	if (!(fl & O_ASYNC) || !(fl & O_NONBLOCK))
		fail("flags %#x lost O_ASYNC or O_NONBLOCK", fl);
	/* The owner must still get the signal. */
	if (write(p[1], "x", 1) != 1)
		pr_perror("write");
	struct timespec ts = { 2, 0 };
	siginfo_t si;
	if (sigtimedwait(&set, &si, &ts) != SIGRTMIN + 3)
		fail("no SIGRTMIN+3 after the pipe became readable");
	if (si.si_fd != p[0])
		fail("si_fd %d, want %d", si.si_fd, p[0]);
	pass();
}
