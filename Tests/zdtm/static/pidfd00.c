/* pidfds to tasks of the tree: to a live child, to a zombie child (exit status 42 not yet reaped), to
 * the test itself, and a PIDFD_NONBLOCK one dup'ed to a second number. After C/R each must name the
 * restored process: the zombie's pidfd is readable and waitid(P_PIDFD) gets 42; the live child's is
 * not readable until pidfd_send_signal(SIGKILL) through it, then poll sees the exit. A pidfd to a
 * child already reaped stays one: readable, Pid -1, signals fail with ESRCH. A pidfd inherited by a
 * second child stays one description: O_NONBLOCK that child sets shows here. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

static int pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }
static int pidfd_kill(int fd, int sig) { return syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0); }

static pid_t fdinfo_pid(int fd)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "r");
	pid_t pid = 0;
	if (!f)
		return -2;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %d", &pid) == 1)
			break;
	fclose(f);
	return pid;
}

static int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	pid_t live = fork();
	if (live < 0)
		pr_perror("fork");
	if (live == 0) {
		for (;;)
			pause();
	}
	pid_t zombie = fork();
	if (zombie < 0)
		pr_perror("fork");
	if (zombie == 0)
		_exit(42);
	siginfo_t si;
	if (waitid(P_PID, zombie, &si, WEXITED | WNOWAIT))
		pr_perror("wait for the zombie");
	pid_t gone = fork();
	if (gone < 0)
		pr_perror("fork");
	if (gone == 0)
		_exit(7);
	int fg = pidfd_open(gone, 0);
	if (fg < 0 || waitpid(gone, NULL, 0) != gone)
		pr_perror("pidfd_open/reap the short-lived child");
	int fl = pidfd_open(live, 0), fz = pidfd_open(zombie, 0), fs = pidfd_open(getpid(), 0);
	int fn = pidfd_open(live, PIDFD_NONBLOCK);
	if (fl < 0 || fz < 0 || fs < 0 || fn < 0)
		pr_perror("pidfd_open");
	int fn2 = dup2(fn, 77);
	if (fn2 != 77)
		pr_perror("dup2");
	task_waiter_t *go = task_waiter_new(), *done = task_waiter_new();
	int fsh = pidfd_open(live, 0);
	if (fsh < 0)
		pr_perror("pidfd_open");
	pid_t sharer = fork();
	if (sharer < 0)
		pr_perror("fork");
	if (sharer == 0) {
		task_waiter_wait4(go, 1);
		if (fdinfo_pid(fsh) != live || fcntl(fsh, F_SETFL, O_NONBLOCK))
			_exit(1);
		task_waiter_complete(done, 1);
		_exit(0);
	}
	test_daemon();
	test_waitsig();
	if (fdinfo_pid(fl) != live || fdinfo_pid(fz) != zombie || fdinfo_pid(fs) != getpid() || fdinfo_pid(fn2) != live)
		fail("pidfds name pids %d %d %d %d, want %d %d %d %d", fdinfo_pid(fl), fdinfo_pid(fz), fdinfo_pid(fs),
		     fdinfo_pid(fn2), live, zombie, getpid(), live);
	if (!(fcntl(fn2, F_GETFL) & O_NONBLOCK) || (fcntl(fl, F_GETFL) & O_NONBLOCK))
		fail("PIDFD_NONBLOCK was not kept per pidfd");
	if (fdinfo_pid(fg) != -1 || !readable(fg, 0))
		fail("the pidfd to the reaped child names pid %d or is not readable", fdinfo_pid(fg));
	if (pidfd_kill(fg, 0) == 0 || errno != ESRCH)
		fail("signal through the reaped child's pidfd: want ESRCH");
	task_waiter_complete(go, 1);
	task_waiter_wait4(done, 1);
	if (!(fcntl(fsh, F_GETFL) & O_NONBLOCK))
		fail("O_NONBLOCK set by the second child on the inherited pidfd is not seen: the description was split");
	int sst;
	if (waitpid(sharer, &sst, 0) != sharer || !WIFEXITED(sst) || WEXITSTATUS(sst))
		fail("the second child failed (status %#x)", sst);
	if (pidfd_kill(fs, 0))
		pr_perror("pidfd_send_signal(self, 0)");
	if (!readable(fz, 0))
		fail("the zombie's pidfd is not readable");
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, fz, &si, WEXITED) || si.si_pid != zombie || si.si_code != CLD_EXITED || si.si_status != 42)
		fail("waitid on the zombie's pidfd: pid %d code %d status %d", si.si_pid, si.si_code, si.si_status);
	if (readable(fl, 0))
		fail("the live child's pidfd is readable before it exits");
	if (waitid(P_PIDFD, fn2, &si, WEXITED | WNOHANG) == 0 && si.si_pid != 0)
		fail("the live child has already exited");
	if (pidfd_kill(fl, SIGKILL))
		pr_perror("pidfd_send_signal(SIGKILL)");
	if (!readable(fl, 5000) || !readable(fn, 0))
		fail("the live child's pidfds did not report its exit");
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, fl, &si, WEXITED) || si.si_pid != live || si.si_code != CLD_KILLED || si.si_status != SIGKILL)
		fail("waitid on the live child's pidfd: pid %d code %d status %d", si.si_pid, si.si_code, si.si_status);
	pass();
}
