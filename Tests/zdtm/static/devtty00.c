/* /dev/tty of a session leader whose controlling terminal is a pty it holds only by its master: after
 * restore the (new) pty must be the session's controlling terminal again, with us in the foreground,
 * and /dev/tty must read what the master writes and write what the master reads. */
#define _XOPEN_SOURCE 600
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
	/* Without O_NOCTTY: a session leader without a terminal takes this one. */
	int s = open(ptsname(m), O_RDWR);
	if (s < 0)
		pr_perror("open %s", ptsname(m));
	int tty = open("/dev/tty", O_RDWR);
	if (tty < 0)
		pr_perror("open /dev/tty");
	close(s);
	struct termios t;
	if (tcgetattr(tty, &t))
		pr_perror("tcgetattr");
	t.c_lflag &= ~ECHO;
	if (tcsetattr(tty, TCSANOW, &t))
		pr_perror("tcsetattr");
	test_daemon();
	test_waitsig();
	if (tcgetsid(tty) != getsid(0))
		fail("/dev/tty is not our session's terminal (sid %d, ours %d)", tcgetsid(tty), getsid(0));
	if (tcgetpgrp(tty) != getpgrp())
		fail("foreground group %d, ours %d", tcgetpgrp(tty), getpgrp());
	if (tcgetattr(tty, &t) || (t.c_lflag & ECHO))
		fail("terminal settings lost");
	if (write(m, "ping\n", 5) != 5)
		pr_perror("write master");
	ssize_t n = read(tty, buf, sizeof(buf));
	if (n != 5 || memcmp(buf, "ping\n", 5))
		fail("/dev/tty read %zd bytes", n);
	if (write(tty, "pong", 4) != 4)
		pr_perror("write /dev/tty");
	n = read(m, buf, sizeof(buf));
	if (n != 4 || memcmp(buf, "pong", 4))
		fail("master read %zd bytes", n);
	pass();
}
