/* The loopback link of a private net namespace (flavors ns/uns): the ns init brought lo up; a fresh
 * namespace's lo starts down, so the restore must bring it up again, and traffic over it must work. */
#include "zdtmtst.h"
#include <string.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static int lo_flags(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr)) {
		pr_perror("lo flags");
		return -1;
	}
	close(s);
	return ifr.ifr_flags;
}

/* A datagram to ourselves over 127.0.0.1: only works with lo up. */
static int loop_ok(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	char buf[4] = "";
	int s = socket(AF_INET, SOCK_DGRAM, 0), ok = 0;
	if (s >= 0 && !bind(s, (struct sockaddr *)&a, sizeof(a)) && !getsockname(s, (struct sockaddr *)&a, &len) &&
	    sendto(s, "lo", 3, 0, (struct sockaddr *)&a, sizeof(a)) == 3 && recv(s, buf, sizeof(buf), 0) == 3)
		ok = !strcmp(buf, "lo");
	if (s >= 0)
		close(s);
	return ok;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int before = lo_flags();
	if (before < 0 || !(before & IFF_UP) || !loop_ok())
		fail("lo is not usable before the C/R point (flags %#x)", before);
	test_daemon();
	test_waitsig();
	int after = lo_flags();
	if (after != before)
		fail("lo flags %#x, were %#x", after, before);
	else if (!loop_ok())
		fail("no datagram over 127.0.0.1 after restore");
	pass();
}
