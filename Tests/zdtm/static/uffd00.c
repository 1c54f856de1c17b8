/* A userfaultfd cannot be checkpointed: the dump must fail (naming the fd) and leave the task as it was. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <linux/userfaultfd.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		skip("userfaultfd: %m");
	test_daemon();
	test_waitsig();
	struct uffdio_api api = { .api = UFFD_API };
	if (ioctl(fd, UFFDIO_API, &api))
		fail("the userfaultfd no longer works: %m");
	pass();
}
