/* flock locks: an exclusive lock on one file, a shared one on another, and a shared lock on a description
 * inherited by a child (one lock, two holders). After restore other descriptions must conflict as before:
 * the exclusive file refuses even a shared lock, the shared file takes another shared lock but no
 * exclusive one, and the lock on the inherited description stays held after the parent closes its fd. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/wait.h>

static char p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX];

static int try(const char *path, int op)
{
	int f = open(path, O_RDONLY);
	if (f < 0)
		return -2;
	int r = flock(f, op | LOCK_NB);
	int e = errno;
	close(f);
	if (r == 0)
		return 0;
	return e == EWOULDBLOCK ? 1 : -1;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	snprintf(p1, sizeof(p1), "%s.ex", zdtm_filename);
	snprintf(p2, sizeof(p2), "%s.sh", zdtm_filename);
	snprintf(p3, sizeof(p3), "%s.inh", zdtm_filename);
	int a = open(p1, O_RDWR | O_CREAT | O_TRUNC, 0600);
	int b = open(p2, O_RDWR | O_CREAT | O_TRUNC, 0600);
	int c = open(p3, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (a < 0 || b < 0 || c < 0)
		pr_perror("open");
	if (flock(a, LOCK_EX) || flock(b, LOCK_SH) || flock(c, LOCK_SH))
		pr_perror("flock");
	task_waiter_t *ready = task_waiter_new(), *go = task_waiter_new(), *done = task_waiter_new();
	pid_t child = fork();
	if (child < 0)
		pr_perror("fork");
	if (child == 0) {
		task_waiter_complete(ready, 1);
		task_waiter_wait4(go, 1);
		/* Parent has closed its fd: this one alone keeps the shared lock. */
		int r = try(p3, LOCK_EX) == 1 ? 0 : 1;
		task_waiter_complete(done, 1);
		_exit(r);
	}
	task_waiter_wait4(ready, 1);
	test_daemon();
	test_waitsig();

	if (try(p1, LOCK_SH) != 1)
		fail("the exclusive flock on %s is gone", p1);
	if (try(p2, LOCK_SH) != 0)
		fail("the shared flock on %s blocks another shared lock", p2);
	if (try(p2, LOCK_EX) != 1)
		fail("the shared flock on %s is gone", p2);
	if (try(p3, LOCK_EX) != 1)
		fail("the shared flock on the inherited %s is gone", p3);
	if (flock(a, LOCK_EX | LOCK_NB))
		fail("the owning description cannot re-take its exclusive lock: %s", strerror(errno));
	close(c);
	task_waiter_complete(go, 1);
	task_waiter_wait4(done, 1);
	int st;
	if (waitpid(child, &st, 0) != child)
		pr_perror("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail("the inherited description lost its lock when the parent closed its fd");
	pass();
}
