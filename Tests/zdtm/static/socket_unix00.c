/* Unix socket pairs with queued data: a stream pair (bytes both ways) and a datagram pair (message
 * boundaries). */
#include "zdtmtst.h"
#include <sys/socket.h>

int main(int argc, char **argv)
{
	int st[2], dg[2];
	static char a[3000], b[5000], buf[8192];
	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) || socketpair(AF_UNIX, SOCK_DGRAM, 0, dg))
		pr_perror("socketpair");
	datagen(a, sizeof(a), 11);
	datagen(b, sizeof(b), 12);
	if (write_all(st[0], a, sizeof(a)) || write_all(st[1], b, sizeof(b)))
		pr_perror("stream write");
	for (int i = 1; i <= 5; i++)
		if (send(dg[0], b, i * 100, 0) != i * 100)
			pr_perror("dgram send");
	test_daemon();
	test_waitsig();
	if (read_all(st[1], buf, sizeof(a)) || datachk(buf, sizeof(a), 11))
		fail("stream data 0->1 lost or corrupted");
	if (read_all(st[0], buf, sizeof(b)) || datachk(buf, sizeof(b), 12))
		fail("stream data 1->0 lost or corrupted");
	for (int i = 1; i <= 5; i++) {
		ssize_t n = recv(dg[1], buf, sizeof(buf), MSG_DONTWAIT);
		if (n != i * 100)
			fail("datagram %d: got %zd bytes, want %d", i, n, i * 100);
		if (datachk(buf, n, 12))
			fail("datagram %d corrupted", i);
	}
	if (recv(dg[1], buf, sizeof(buf), MSG_DONTWAIT) != -1)
		fail("an extra datagram appeared");
	/* The pairs are still connected to each other. */
	if (write(st[0], "z", 1) != 1 || read(st[1], buf, 1) != 1 || buf[0] != 'z')
		fail("stream pair no longer connected");
	pass();
}
