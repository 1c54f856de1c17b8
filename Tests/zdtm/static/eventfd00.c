/* An eventfd with a counter value and flags. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/eventfd.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int fd = eventfd(0, EFD_NONBLOCK);
	if (fd < 0)
		pr_perror("eventfd");
	uint64_t v = 0x1234567890ULL;
	if (write(fd, &v, 8) != 8)
		pr_perror("write eventfd");
	test_daemon();
	test_waitsig();
	if (!(fcntl(fd, F_GETFL) & O_NONBLOCK))
		fail("O_NONBLOCK lost");
	uint64_t got = 0;
	if (read(fd, &got, 8) != 8)
		pr_perror("read eventfd");
	if (got != v)
		fail("counter %#llx, want %#llx", (unsigned long long)got, (unsigned long long)v);
	if (read(fd, &got, 8) != -1 || errno != EAGAIN)
		fail("counter not zero after reading it");
	pass();
}
