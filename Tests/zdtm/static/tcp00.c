/* An established TCP connection over loopback with data queued both ways, and a listening socket
 * (dumped with --tcp-established, see the desc). */
#include "zdtmtst.h"
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	static char a[20000], b[7000];
	int one = 1;
	test_init(argc, argv);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&addr, sizeof(addr)) || listen(l, 4) ||
	    getsockname(l, (struct sockaddr *)&addr, &len))
		pr_perror("listen on loopback");
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&addr, sizeof(addr)))
		pr_perror("connect");
	int s = accept(l, NULL, NULL);
	if (s < 0)
		pr_perror("accept");
	if (setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		pr_perror("TCP_NODELAY");
	if (fd_fill(c, sizeof(a), 21) || fd_fill(s, sizeof(b), 22))
		pr_perror("send");
	test_daemon();
	test_waitsig();
	if (fd_check(s, sizeof(a), 21))
		fail("client-to-server data lost or corrupted");
	if (fd_check(c, sizeof(b), 22))
		fail("server-to-client data lost or corrupted");
	int v = 0;
	socklen_t vl = sizeof(v);
	if (getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &vl) || !v)
		fail("TCP_NODELAY lost");
	if (write(c, "ping", 4) != 4 || read(s, a, 4) != 4 || memcmp(a, "ping", 4))
		fail("the connection no longer carries data");
	int c2 = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c2, (struct sockaddr *)&addr, sizeof(addr)))
		fail("the listener stopped listening: %s", strerror(errno));
	pass();
}
