/* A pseudo-terminal pair (not the controlling terminal) with data queued in both directions and a
 * changed line discipline setting. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <termios.h>

int main(int argc, char **argv)
{
	char buf[64];
	test_init(argc, argv);
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m))
		pr_perror("posix_openpt");
	int s = open(ptsname(m), O_RDWR | O_NOCTTY);
	if (s < 0)
		pr_perror("open %s", ptsname(m));
	struct termios t;
	if (tcgetattr(s, &t))
		pr_perror("tcgetattr");
	t.c_lflag &= ~(ECHO | ICANON);
	t.c_cc[VMIN] = 1;
	if (tcsetattr(s, TCSANOW, &t))
		pr_perror("tcsetattr");
	if (write(m, "to slave", 8) != 8 || write(s, "to master", 9) != 9)
		pr_perror("write");
	test_daemon();
	test_waitsig();
	struct termios got;
	if (tcgetattr(s, &got))
		pr_perror("tcgetattr");
	if ((got.c_lflag & (ECHO | ICANON)) != 0)
		fail("terminal settings changed: lflag %#x", got.c_lflag);
	fcntl(s, F_SETFL, O_NONBLOCK);
	fcntl(m, F_SETFL, O_NONBLOCK);
	if (read(s, buf, sizeof(buf)) != 8 || memcmp(buf, "to slave", 8))
		fail("data for the slave lost");
	ssize_t n = read(m, buf, sizeof(buf));
	if (n != 9 || memcmp(buf, "to master", 9))
		fail("data for the master lost (%zd bytes)", n);
	pass();
}
