/* A three-stage shell-like pipeline kept busy while it is dumped: the parent writes numbers into pipe
 * A, child 1 adds one and passes them on through pipe B, child 2 checks that every number arrives once
 * and in order and reports the count through pipe C. The parent holds no end of B, child 2 none of A:
 * each end lives only where the pipeline put it, with data queued in A and B at dump time. */
#include "zdtmtst.h"
#include <sys/wait.h>

int main(int argc, char **argv)
{
	int a[2], b[2], c[2];
	test_init(argc, argv);
	task_waiter_t *ready = task_waiter_new();
	if (pipe(a) || pipe(b) || pipe(c))
		pr_perror("pipe");
	pid_t c1 = fork();
	if (c1 < 0)
		pr_perror("fork");
	if (c1 == 0) {
		uint64_t v;
		close(a[1]); close(b[0]); close(c[0]); close(c[1]);
		task_waiter_add(ready);
		while (read_all(a[0], &v, sizeof(v)) == 0) {
			v++;
			if (write_all(b[1], &v, sizeof(v)))
				_exit(1);
		}
		_exit(0);
	}
	pid_t c2 = fork();
	if (c2 < 0)
		pr_perror("fork");
	if (c2 == 0) {
		uint64_t v, want = 1;
		close(a[0]); close(a[1]); close(b[1]); close(c[0]);
		task_waiter_add(ready);
		while (read_all(b[0], &v, sizeof(v)) == 0) {
			if (v != want)
				_exit(2);
			want++;
		}
		want--;
		if (write_all(c[1], &want, sizeof(want)))
			_exit(3);
		_exit(0);
	}
	close(a[0]); close(b[0]); close(b[1]); close(c[1]);
	task_waiter_wait4(ready, 2);        /* each stage closed the ends it does not use */
	test_daemon();
	uint64_t n = 0;
	while (test_go()) {
		uint64_t batch[64];
		for (int i = 0; i < 64; i++)
			batch[i] = n++;
		if (write_all(a[1], batch, sizeof(batch)))
			pr_perror("write number %llu", (unsigned long long)n);
	}
	close(a[1]);
	uint64_t got = 0;
	if (read_all(c[0], &got, sizeof(got)))
		fail("the end of the pipeline reported nothing after %llu numbers", (unsigned long long)n);
	if (got != n)
		fail("sent %llu numbers, the end of the pipeline counted %llu in order", (unsigned long long)n, (unsigned long long)got);
	int s1, s2;
	if (waitpid(c1, &s1, 0) != c1 || !WIFEXITED(s1) || WEXITSTATUS(s1))
		fail("stage 1 failed (status %#x)", s1);
	if (waitpid(c2, &s2, 0) != c2 || !WIFEXITED(s2) || WEXITSTATUS(s2))
		fail("stage 2 failed (status %#x): a number was lost, doubled or reordered", s2);
	test_msg("%llu numbers through the pipeline", (unsigned long long)n);
	pass();
}
