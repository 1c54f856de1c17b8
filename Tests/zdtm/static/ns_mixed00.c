/* A child in a uts namespace of its own, its parent not: the tree is in two namespaces of one kind,
 * which the dump must refuse (naming the child) while both run on untouched. */
#include "zdtmtst.h"
#include <sched.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>

static task_waiter_t *ready, *go;

int main(int argc, char **argv)
{
	struct utsname u;
	test_init(argc, argv);
	ready = task_waiter_new();
	go = task_waiter_new();
	pid_t kid = fork();
	if (kid < 0)
		pr_perror("fork");
	if (kid == 0) {
		if (unshare(CLONE_NEWUTS) || sethostname("ns-mixed00", 10))
			_exit(1);
		task_waiter_add(ready);
		task_waiter_wait4(go, 1);
		_exit(uname(&u) || strcmp(u.nodename, "ns-mixed00") ? 2 : 0);
	}
	task_waiter_wait4(ready, 1);
	test_daemon();
	test_waitsig();
	task_waiter_complete(go, 1);
	int st;
	if (waitpid(kid, &st, 0) != kid || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("child in its own uts namespace failed (status %#x)", st);
	pass();
}
