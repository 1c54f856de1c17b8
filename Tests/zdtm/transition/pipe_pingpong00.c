/* A parent and a child keep passing a counter back and forth over two pipes while they are dumped:
 * no message may be lost, duplicated or reordered. */
#include "zdtmtst.h"
#include <sys/wait.h>

int main(int argc, char **argv)
{
	int to_child[2], to_parent[2];
	uint64_t n = 0, got;
	test_init(argc, argv);
	task_waiter_t *ready = task_waiter_new();
	if (pipe(to_child) || pipe(to_parent))
		pr_perror("pipe");
	pid_t child = fork();
	if (child < 0)
		pr_perror("fork");
	if (child == 0) {
		/* Echo each number plus one until the parent closes its end. */
		close(to_child[1]);
		close(to_parent[0]);
		task_waiter_complete(ready, 1);
		while (read_all(to_child[0], &got, sizeof(got)) == 0) {
			got++;
			if (write_all(to_parent[1], &got, sizeof(got)))
				_exit(1);
		}
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);
	task_waiter_wait4(ready, 1);    /* the runner compares fds: the child must have closed its unused ends */
	test_daemon();
	while (test_go()) {
		if (write_all(to_child[1], &n, sizeof(n)))
			pr_perror("send %llu", (unsigned long long)n);
		if (read_all(to_parent[0], &got, sizeof(got)))
			fail("the child stopped answering after %llu rounds", (unsigned long long)n);
		if (got != n + 1)
			fail("sent %llu, got back %llu", (unsigned long long)n, (unsigned long long)got);
		n = got;
	}
	close(to_child[1]);
	int st;
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("the child failed (status %#x)", st);
	test_msg("%llu rounds", (unsigned long long)n);
	pass();
}
