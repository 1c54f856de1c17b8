/* Deliberately broken (desc flag noauto): the harness must report this test as FAIL with its reason. */
#include "zdtmtst.h"

int main(int argc, char **argv)
{
	int value = 1;
	test_init(argc, argv);
	test_daemon();
	test_waitsig();
	if (value != 2)
		fail("deliberately broken: value is %d, the check wants 2", value);
	pass();
}
