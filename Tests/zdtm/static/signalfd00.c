/* A signalfd for a blocked signal, with one signal queued for it. */
#include "zdtmtst.h"
#include <sys/signalfd.h>

int main(int argc, char **argv)
{
	sigset_t set;
	test_init(argc, argv);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGRTMIN + 1);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		pr_perror("sigprocmask");
	int fd = signalfd(-1, &set, SFD_NONBLOCK);
	if (fd < 0)
		pr_perror("signalfd");
	union sigval v = { .sival_int = 4242 };
	if (sigqueue(getpid(), SIGRTMIN + 1, v))
		pr_perror("sigqueue");
	test_daemon();
	test_waitsig();
	struct signalfd_siginfo si;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		fail("the queued signal is not readable from the signalfd");
	if ((int)si.ssi_signo != SIGRTMIN + 1 || si.ssi_int != 4242)
		fail("read signal %u value %d", si.ssi_signo, si.ssi_int);
	kill(getpid(), SIGUSR1);
	if (read(fd, &si, sizeof(si)) != sizeof(si) || si.ssi_signo != SIGUSR1)
		fail("the signalfd no longer covers SIGUSR1");
	pass();
}
