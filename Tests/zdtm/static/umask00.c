/* The file mode creation mask. */
#include "zdtmtst.h"
#include <sys/stat.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	umask(0347);
	test_daemon();
	test_waitsig();
	mode_t m = umask(0);
	if (m != 0347)
		fail("umask is %03o, want 0347", m);
	pass();
}
