/* The environment block lives in the stack area: a variable set before C/R must read back the same. */
#include "zdtmtst.h"

int main(int argc, char **argv)
{
	const char *name = "ZDTM_ENV00", *value = "checkpoint and restore keep me";
	test_init(argc, argv);
	if (setenv(name, value, 1))
		pr_perror("setenv");
	test_daemon();
	test_waitsig();
	const char *got = getenv(name);
	if (!got)
		fail("%s is gone", name);
	if (strcmp(got, value))
		fail("%s changed: '%s'", name, got);
	pass();
}
