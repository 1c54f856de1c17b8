/* An epoll set watching a pipe and a socket with different events and data; one fd is ready. */
#include "zdtmtst.h"
#include <sys/epoll.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	int p[2], s[2];
	test_init(argc, argv);
	if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, s))
		pr_perror("pipe/socketpair");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		pr_perror("epoll_create1");
	struct epoll_event e1 = { .events = EPOLLIN, .data.u64 = 0x1111 };
	struct epoll_event e2 = { .events = EPOLLIN | EPOLLET, .data.u64 = 0x2222 };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e1) || epoll_ctl(ep, EPOLL_CTL_ADD, s[0], &e2))
		pr_perror("epoll_ctl");
	if (write(p[1], "x", 1) != 1)
		pr_perror("write");
	test_daemon();
	test_waitsig();
	struct epoll_event got[4];
	int n = epoll_wait(ep, got, 4, 0);
	if (n != 1 || got[0].data.u64 != 0x1111 || !(got[0].events & EPOLLIN))
		fail("want only the pipe ready, got %d events (first data %#llx)", n, n > 0 ? (unsigned long long)got[0].data.u64 : 0ULL);
	if (write(s[1], "y", 1) != 1)
		pr_perror("write socket");
	n = epoll_wait(ep, got, 4, 1000);
	int seen = 0;
	for (int i = 0; i < n; i++)
		seen |= got[i].data.u64 == 0x2222;
	if (!seen)
		fail("the socket is no longer watched with its data");
	pass();
}
