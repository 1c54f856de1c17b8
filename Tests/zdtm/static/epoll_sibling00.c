/* Two children share an epoll their parent closed: a restore could only give each its own epoll (a
 * task gets a description from its parent), so the dump must refuse the tree and leave it running
 * untouched (desc flag crfail). Afterwards both children still share one epoll: an eventfd one of them
 * adds is reported to the other. */
#include "zdtmtst.h"
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

static task_waiter_t *go, *added, *seen;

static int adder(int ep)
{
	task_waiter_wait4(go, 1);
	int ev = eventfd(1, 0);
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = 42 };
	if (ev < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e))
		return 2;
	task_waiter_complete(added, 1);
	/* Closing the eventfd (at exit) would take it out of the epoll: wait until the sibling saw it. */
	task_waiter_wait4(seen, 1);
	return 0;
}

static int waiter(int ep)
{
	task_waiter_wait4(go, 2);
	task_waiter_wait4(added, 1);
	struct epoll_event out;
	int n = epoll_wait(ep, &out, 1, 5000);
	task_waiter_complete(seen, 1);
	if (n != 1 || out.data.u64 != 42)
		return 3;
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	go = task_waiter_new();
	added = task_waiter_new();
	seen = task_waiter_new();
	int ep = epoll_create1(0);
	if (ep < 0)
		pr_perror("epoll_create1");
	pid_t kids[2];
	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			pr_perror("fork");
		if (kids[i] == 0)
			_exit(i == 0 ? adder(ep) : waiter(ep));
	}
	close(ep);
	test_daemon();
	test_waitsig();
	task_waiter_complete(go, 1);
	task_waiter_complete(go, 2);
	for (int i = 0; i < 2; i++) {
		int st;
		if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st))
			fail("child %d: status %#x (2: epoll_ctl, 3: the sibling's target is not seen)", i, st);
	}
	pass();
	return 0;
}
