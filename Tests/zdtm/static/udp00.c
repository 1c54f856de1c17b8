/* A bound UDP socket with datagrams queued from a connected peer. */
#include "zdtmtst.h"
#include <netinet/in.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	char buf[2048];
	test_init(argc, argv);
	int r = socket(AF_INET, SOCK_DGRAM, 0), w = socket(AF_INET, SOCK_DGRAM, 0);
	if (r < 0 || w < 0 || bind(r, (struct sockaddr *)&addr, sizeof(addr)) ||
	    getsockname(r, (struct sockaddr *)&addr, &len) || connect(w, (struct sockaddr *)&addr, sizeof(addr)))
		pr_perror("udp setup");
	for (int i = 1; i <= 4; i++) {
		datagen(buf, i * 300, 30 + i);
		if (send(w, buf, i * 300, 0) != i * 300)
			pr_perror("send");
	}
	test_daemon();
	test_waitsig();
	for (int i = 1; i <= 4; i++) {
		ssize_t n = recv(r, buf, sizeof(buf), MSG_DONTWAIT);
		if (n != i * 300 || datachk(buf, n, 30 + i))
			fail("datagram %d lost or changed (%zd bytes)", i, n);
	}
	if (send(w, "again", 5, 0) != 5 || recv(r, buf, sizeof(buf), 0) != 5)
		fail("the sockets no longer talk");
	pass();
}
