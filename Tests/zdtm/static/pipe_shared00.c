/* Pipes and a FIFO whose ends different processes hold, with data queued while dumped:
 * - pipe A: the parent writes, child 1 reads (data in flight, F_SETPIPE_SZ 128 KiB kept);
 * - pipe B: child 1 writes, child 2 reads, the parent holds neither end (a shell pipeline);
 * - pipe C: both ends inherited by child 1 (one description per end in both tasks: O_NONBLOCK set
 *   by the child after restore must show in the parent);
 * - FIFO: the parent holds the write side with data, child 2 the read side.
 * After C/R each reader checks its data and the stream keeps flowing; EOF arrives when the last
 * writer closes, so no stray copy of an end may survive the restore. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define LEN 20000

static task_waiter_t *ready, *go, *done;

static void child1(int a_r, int b_w, int c_r)
{
	task_waiter_add(ready);
	task_waiter_wait4(go, 1);
	if (fcntl(a_r, F_GETPIPE_SZ) != 131072)
		_exit(14);
	if (fd_check(a_r, LEN, 1))
		_exit(10);
	if (fd_fill(b_w, LEN, 3))
		_exit(11);
	close(b_w);
	char c;
	if (read(a_r, &c, 1) != 0)          /* the parent closed its write end: EOF */
		_exit(12);
	if (fcntl(c_r, F_SETFL, O_NONBLOCK))
		_exit(13);
	task_waiter_complete(done, 1);
	_exit(0);
}

static void child2(int b_r, int fifo_r)
{
	task_waiter_add(ready);
	task_waiter_wait4(go, 1);
	if (fd_check(b_r, LEN, 2))          /* queued before the dump */
		_exit(20);
	if (fd_check(b_r, LEN, 3))          /* written by child 1 after restore */
		_exit(21);
	char c;
	if (read(b_r, &c, 1) != 0)
		_exit(22);
	if (fd_check(fifo_r, LEN, 4))
		_exit(23);
	if (read(fifo_r, &c, 1) != 0)       /* exactly once: the parent closed the only writer */
		_exit(24);
	_exit(0);
}

int main(int argc, char **argv)
{
	int a[2], b[2], c[2];
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	ready = task_waiter_new();
	go = task_waiter_new();
	done = task_waiter_new();
	if (mkfifo(zdtm_filename, 0600))
		pr_perror("mkfifo %s", zdtm_filename);
	if (pipe(a) || pipe(b) || pipe(c))
		pr_perror("pipe");
	int fr = open(zdtm_filename, O_RDONLY | O_NONBLOCK);
	int fw = open(zdtm_filename, O_WRONLY);
	if (fr < 0 || fw < 0)
		pr_perror("open fifo");
	if (fcntl(a[1], F_SETPIPE_SZ, 131072) != 131072)
		pr_perror("F_SETPIPE_SZ");
	if (fd_fill(a[1], LEN, 1) || fd_fill(b[1], LEN, 2) || fd_fill(fw, LEN, 4))
		pr_perror("fill");
	pid_t c1 = fork();
	if (c1 < 0)
		pr_perror("fork");
	if (c1 == 0) {
		close(a[1]); close(b[0]); close(fr); close(fw);
		child1(a[0], b[1], c[0]);
	}
	pid_t c2 = fork();
	if (c2 < 0)
		pr_perror("fork");
	if (c2 == 0) {
		close(a[0]); close(a[1]); close(b[1]); close(c[0]); close(c[1]); close(fw);
		int flags = fcntl(fr, F_GETFL);
		fcntl(fr, F_SETFL, flags & ~O_NONBLOCK);
		child2(b[0], fr);
	}
	close(a[0]); close(b[0]); close(b[1]); close(fr);
	task_waiter_wait4(ready, 2);        /* the children closed the ends they do not use */
	test_daemon();
	test_waitsig();
	struct stat st;
	if (fstat(a[1], &st) || !S_ISFIFO(st.st_mode))
		fail("the parent's end of pipe A is not a pipe");
	task_waiter_complete(go, 1);
	close(a[1]);
	close(fw);
	task_waiter_wait4(done, 1);
	if (!(fcntl(c[0], F_GETFL) & O_NONBLOCK))
		fail("O_NONBLOCK set by child 1 on pipe C's read end is not seen by the parent: the description was split");
	int s1, s2;
	if (waitpid(c1, &s1, 0) != c1 || !WIFEXITED(s1) || WEXITSTATUS(s1))
		fail("child 1 failed (status %#x)", s1);
	if (waitpid(c2, &s2, 0) != c2 || !WIFEXITED(s2) || WEXITSTATUS(s2))
		fail("child 2 failed (status %#x)", s2);
	pass();
}
