/* Plants a /proc difference (desc flag noauto): some time after ready it opens an extra fd and maps an
 * extra area, as a faulty restore would. The test itself passes; the runner's before/after comparison
 * of /proc must catch the change. The desc's "pause" holds the runner's C/R point open long enough. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	const char *d = test_opt("delay_ms");
	long delay = d ? atol(d) : 500;
	test_daemon();
	struct timespec ts = { delay / 1000, (delay % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) && errno == EINTR && test_go())
		;
	if (test_go()) {
		int fd = open("/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, 200) != 200)
			pr_perror("plant fd 200");
		close(fd);
		if (mmap(NULL, 3 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
			pr_perror("plant a mapping");
		test_msg("planted fd 200 and a 3-page mapping");
	}
	test_waitsig();
	pass();
}
