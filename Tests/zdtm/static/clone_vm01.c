/* A child cloned with CLONE_VM | CLONE_SIGHAND | CLONE_FS that leads a process group of its own, keeps
 * only some of the fds it copied from its parent and blocks a signal its parent does not: after restore
 * it is in its own group, holds the same fds (one pipe shared with the parent: data written by one is
 * read by the other), its own sigmask, and still shares cwd and umask with its parent. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/kcmp.h>

static int step;
static int pfd[2], extra;
static pid_t kid;

#define FAIL(...) do { kill(kid, SIGKILL); fail(__VA_ARGS__); } while (0)

static int child(void *arg)
{
	(void)arg;
	/* Raw syscalls only: the child shares the parent's TLS (errno). */
	if (syscall(SYS_setpgid, 0, 0))
		return 1;
	syscall(SYS_close, extra);
	unsigned long set = 1UL << (SIGUSR2 - 1);
	if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 8))
		return 1;
	__atomic_store_n(&step, 1, __ATOMIC_SEQ_CST);
	if (wait_for_value(&step, 2))				/* after restore */
		return 2;
	unsigned long cur = 0;
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &cur, 8);
	if (!(cur & set))
		return 3;
	if (syscall(SYS_getpgid, 0) != syscall(SYS_getpid))
		return 4;
	if (syscall(SYS_fcntl, extra, F_GETFD) != -1)
		return 5;
	char b = 'c';
	if (syscall(SYS_write, pfd[1], &b, 1) != 1)
		return 6;
	if (syscall(SYS_chdir, "/"))
		return 7;
	syscall(SYS_umask, 077);
	__atomic_store_n(&step, 3, __ATOMIC_SEQ_CST);
	return 0;
}

int main(int argc, char **argv)
{
	char dir[4096];
	test_init(argc, argv);
	if (!getcwd(dir, sizeof(dir)))
		pr_perror("getcwd");
	if (pipe(pfd))
		pr_perror("pipe");
	extra = dup(pfd[0]);
	if (extra < 0)
		pr_perror("dup");
	umask(022);
	kid = clone_started(child, CLONE_VM | CLONE_SIGHAND | CLONE_FS, &step);
	test_daemon();
	test_waitsig();

	if (syscall(SYS_kcmp, getpid(), kid, KCMP_VM, 0, 0) || syscall(SYS_kcmp, getpid(), kid, KCMP_SIGHAND, 0, 0) ||
	    syscall(SYS_kcmp, getpid(), kid, KCMP_FS, 0, 0))
		FAIL("kcmp: the child no longer shares mm, sighand and fs");
	if (getpgid(kid) != kid)
		FAIL("the child is not in its own group: %d", getpgid(kid));
	if (fcntl(extra, F_GETFD) < 0)
		FAIL("fd %d the child closed is gone here too", extra);
	__atomic_store_n(&step, 2, __ATOMIC_SEQ_CST);
	int st;
	if (waitpid(kid, &st, 0) != kid || !WIFEXITED(st))
		fail("child died abnormally: %#x", st);
	if (WEXITSTATUS(st))
		fail("child: check %d failed (1: before C/R; 2: no progress; 3: sigmask; 4: group; 5: closed fd is back; 6: pipe; 7: chdir)",
		     WEXITSTATUS(st));
	char b;
	if (read(pfd[0], &b, 1) != 1 || b != 'c')
		fail("the child's pipe write is not read here");
	if (!getcwd(dir, sizeof(dir)) || strcmp(dir, "/"))
		fail("the child's chdir(\"/\") is not seen: %s", dir);
	if (umask(0) != 077)
		fail("the child's umask is not seen");
	pass();
}
