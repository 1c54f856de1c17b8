/* A pidfd to a process outside the dumped tree (init): the dump must refuse it and leave the test
 * running untouched (desc flag crfail); the pidfd still names that process afterwards. */
#include "zdtmtst.h"
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int fd = syscall(SYS_pidfd_open, 1, 0);
	if (fd < 0)
		pr_perror("pidfd_open(1)");
	test_daemon();
	test_waitsig();
	char path[64], line[256];
	int pid = 0;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "r");
	if (!f)
		pr_perror("open %s", path);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %d", &pid) == 1)
			break;
	if (pid != 1)
		fail("the pidfd names pid %d after the refused dump, want 1", pid);
	pass();
}
