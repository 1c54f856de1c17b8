/* A deleted open file bigger than the default --ghost-limit (1 MiB): the dump must refuse it and the
 * task must keep its file. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/stat.h>

#define LEN (2 << 20)

int main(int argc, char **argv)
{
	static char buf[LEN];
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	int fd = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		pr_perror("open %s", zdtm_filename);
	datagen(buf, LEN, 5);
	if (write_all(fd, buf, LEN) || unlink(zdtm_filename))
		pr_perror("write/unlink");
	test_daemon();
	test_waitsig();
	if (pread(fd, buf, LEN, 0) != LEN || datachk(buf, LEN, 5))
		fail("data of the unlinked file changed");
	pass();
}
