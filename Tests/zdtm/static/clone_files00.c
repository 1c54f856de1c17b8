/* A parent and children sharing one fd table (clone with CLONE_FILES, no CLONE_VM): two children of
 * the parent (the second also on the parent's fs, CLONE_FS) and a grandchild of the first share it, a
 * plain fork()ed child has a copy. After restore
 * they still share ONE table: kcmp(KCMP_FILES) says so, every fd is at its number with its offset and
 * close-on-exec flag, and an fd one of them opens, reads or closes is seen by the others at once. The
 * forked child still has its own table whose fds share the descriptions. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <fcntl.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/kcmp.h>

#define NEWFD 200

static task_waiter_t *step, *born;
static char stack[256 * 1024] __attribute__((aligned(16)));
/* glibc's clone writes to the new stack in the caller: a child cloning runs on stack, its child gets this. */
static char stack2[256 * 1024] __attribute__((aligned(16)));
static int fd_reg, fd_pipe[2], fd_ev;
static pid_t parent;

static int kcmp(pid_t a, pid_t b, int type, unsigned long x, unsigned long y)
{
	return syscall(SYS_kcmp, a, b, type, x, y);
}

static int is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* Grandchild (shares with child A): after restore, fd NEWFD that B closed is gone here too. */
static int grandchild(void *arg)
{
	pid_t a = getppid();
	(void)arg;
	task_waiter_wait4(step, 4);
	if (kcmp(getpid(), a, KCMP_FILES, 0, 0) || kcmp(getpid(), parent, KCMP_FILES, 0, 0))
		return 20;
	if (is_open(NEWFD))
		return 21;
	if (lseek(fd_reg, 0, SEEK_CUR) != 7)
		return 22;
	/* A new fd of ours for the parent to find. */
	if (dup2(fd_ev, NEWFD + 1) != NEWFD + 1)
		return 23;
	task_waiter_complete(step, 5);
	return 0;
}

/* Child A: reads from the shared file and opens NEWFD for the others. */
static int child_a(void *arg)
{
	(void)arg;
	pid_t g = clone(grandchild, stack2 + sizeof(stack2), CLONE_FILES | SIGCHLD, NULL);
	if (g < 0)
		return 10;
	task_waiter_complete(born, 1);	/* the grandchild exists */
	task_waiter_wait4(step, 1);		/* after restore */
	if (kcmp(getpid(), getppid(), KCMP_FILES, 0, 0))
		return 11;
	char buf[2];
	if (read(fd_reg, buf, 2) != 2 || memcmp(buf, "56", 2))
		return 12;
	int n = open("/dev/null", O_RDONLY);
	if (n < 0 || dup2(n, NEWFD) != NEWFD || close(n))
		return 13;
	task_waiter_complete(step, 2);
	int st;
	if (waitpid(g, &st, 0) != g || !WIFEXITED(st))
		return 14;
	return WEXITSTATUS(st);
}

/* Child B: sees NEWFD, reads the eventfd and the pipe, closes NEWFD. */
static int child_b(void *arg)
{
	(void)arg;
	uint64_t v;
	char buf[5];
	task_waiter_wait4(step, 3);
	if (kcmp(getpid(), getppid(), KCMP_FILES, 0, 0) || kcmp(getpid(), getppid(), KCMP_FS, 0, 0))
		return 30;
	if (!is_open(NEWFD))
		return 31;
	if (read(fd_ev, &v, sizeof(v)) != sizeof(v) || v != 3)
		return 32;
	if (read(fd_pipe[0], buf, 5) != 5 || memcmp(buf, "hello", 5))
		return 33;
	if (close(NEWFD))
		return 34;
	task_waiter_complete(step, 4);
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	step = task_waiter_new();
	born = task_waiter_new();
	parent = getpid();

	fd_reg = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd_reg < 0)
		pr_perror("open %s", zdtm_filename);
	if (write(fd_reg, "0123456789", 10) != 10 || lseek(fd_reg, 5, SEEK_SET) != 5)
		pr_perror("write %s", zdtm_filename);
	if (pipe(fd_pipe) || write(fd_pipe[1], "hello", 5) != 5)
		pr_perror("pipe");
	fd_ev = eventfd(7, EFD_CLOEXEC);
	if (fd_ev < 0)
		pr_perror("eventfd");

	pid_t a = clone(child_a, stack + sizeof(stack), CLONE_FILES | SIGCHLD, NULL);
	if (a < 0)
		pr_perror("clone a");
	task_waiter_wait4(born, 1);
	pid_t b = clone(child_b, stack + sizeof(stack), CLONE_FILES | CLONE_FS | SIGCHLD, NULL);
	if (b < 0)
		pr_perror("clone b");
	pid_t n = fork();
	if (n < 0)
		pr_perror("fork");
	if (n == 0) {
		/* Its own copy of the table: the others' NEWFD never shows here, the descriptions are shared. */
		task_waiter_wait4(step, 5);
		if (!kcmp(getpid(), parent, KCMP_FILES, 0, 0))
			_exit(40);
		if (is_open(NEWFD) || is_open(NEWFD + 1))
			_exit(41);
		if (kcmp(getpid(), parent, KCMP_FILE, fd_reg, fd_reg) || lseek(fd_reg, 0, SEEK_CUR) != 7)
			_exit(42);
		_exit(0);
	}

	test_daemon();
	test_waitsig();

	if (kcmp(parent, a, KCMP_FILES, 0, 0) || kcmp(parent, b, KCMP_FILES, 0, 0))
		fail("the children do not share the parent's fd table");
	if (!kcmp(parent, n, KCMP_FILES, 0, 0))
		fail("the forked child shares the parent's fd table");
	if (lseek(fd_reg, 0, SEEK_CUR) != 5)
		fail("file offset %ld, want 5", (long)lseek(fd_reg, 0, SEEK_CUR));
	if (fcntl(fd_ev, F_GETFD) != FD_CLOEXEC || fcntl(fd_reg, F_GETFD) != 0)
		fail("close-on-exec flags lost");
	task_waiter_complete(step, 1);
	task_waiter_wait4(step, 2);
	if (lseek(fd_reg, 0, SEEK_CUR) != 7)
		fail("child A's read did not move the shared offset");
	if (!is_open(NEWFD))
		fail("fd %d that child A opened is not in the parent's table", NEWFD);
	uint64_t v;
	if (read(fd_ev, &v, sizeof(v)) != sizeof(v) || v != 7)
		fail("eventfd counter lost");
	v = 3;
	if (write(fd_ev, &v, sizeof(v)) != sizeof(v))
		pr_perror("eventfd write");
	task_waiter_complete(step, 3);
	task_waiter_wait4(step, 5);
	if (is_open(NEWFD))
		fail("fd %d that child B closed is still in the parent's table", NEWFD);
	if (!is_open(NEWFD + 1))
		fail("fd %d that the grandchild opened is not in the parent's table", NEWFD + 1);

	pid_t kids[] = { a, b, n };
	const char *names[] = { "A (or its grandchild)", "B", "the forked child" };
	for (int i = 0; i < 3; i++) {
		int st;
		if (waitpid(kids[i], &st, __WALL) != kids[i] || !WIFEXITED(st))
			fail("child %s died abnormally: %#x", names[i], st);
		if (WEXITSTATUS(st))
			fail("child %s: check %d failed", names[i], WEXITSTATUS(st));
	}
	pass();
	return 0;
}
