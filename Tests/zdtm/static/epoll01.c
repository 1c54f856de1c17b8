/* An epoll set over a pipe (level), an eventfd (edge) and a second pipe (one-shot, already fired),
 * plus a nested epoll: after C/R each target must still report with its data and mode. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

static int wait1(int ep, uint64_t *data)
{
	struct epoll_event e[8];
	int n = epoll_wait(ep, e, 8, 0);
	if (n == 1)
		*data = e[0].data.u64;
	return n;
}

int main(int argc, char **argv)
{
	int p[2], q[2];
	uint64_t d;
	test_init(argc, argv);
	if (pipe(p) || pipe(q))
		pr_perror("pipe");
	int ev = eventfd(0, EFD_NONBLOCK);
	int ep = epoll_create1(0), outer = epoll_create1(EPOLL_CLOEXEC);
	if (ev < 0 || ep < 0 || outer < 0)
		pr_perror("eventfd/epoll_create1");
	struct epoll_event e1 = { .events = EPOLLIN, .data.u64 = 0x1111 };
	struct epoll_event e2 = { .events = EPOLLIN | EPOLLET, .data.u64 = 0x2222 };
	struct epoll_event e3 = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = 0x3333 };
	struct epoll_event e4 = { .events = EPOLLIN, .data.u64 = 0x4444 };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e1) || epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e2) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &e3) || epoll_ctl(outer, EPOLL_CTL_ADD, ep, &e4))
		pr_perror("epoll_ctl");
	/* Fire the one-shot target: it stays registered but disarmed. */
	if (write(q[1], "q", 1) != 1 || wait1(ep, &d) != 1 || d != 0x3333)
		pr_perror("one-shot setup");
	if (write(p[1], "x", 1) != 1)
		pr_perror("write");
	test_daemon();
	test_waitsig();
	if (wait1(outer, &d) != 1 || d != 0x4444)
		fail("nested epoll not ready");
	if (wait1(ep, &d) != 1 || d != 0x1111)
		fail("want only the pipe ready, data %#llx", (unsigned long long)d);
	char c;
	if (read(p[0], &c, 1) != 1)
		pr_perror("read");
	uint64_t one = 1;
	if (write(ev, &one, 8) != 8)
		pr_perror("write eventfd");
	if (wait1(ep, &d) != 1 || d != 0x2222)
		fail("eventfd not reported with its data");
	if (wait1(ep, &d) != 0)
		fail("edge-triggered eventfd reported twice");
	if (write(q[1], "q", 1) != 1)
		pr_perror("write");
	if (wait1(ep, &d) != 0)
		fail("the fired one-shot target was re-armed");
	struct epoll_event e5 = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = 0x5555 };
	if (epoll_ctl(ep, EPOLL_CTL_MOD, q[0], &e5))
		fail("the one-shot target is no longer registered");
	if (wait1(ep, &d) != 1 || d != 0x5555)
		fail("re-armed one-shot target not reported");
	pass();
}
