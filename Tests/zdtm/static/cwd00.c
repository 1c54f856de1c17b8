/* The working directory, in a scratch directory of the test's own. */
#include "zdtmtst.h"
#include <limits.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
	char want[PATH_MAX], got[PATH_MAX];
	test_init(argc, argv);
	if (!zdtm_dirname)
		fail("needs --dirname");
	if (mkdir(zdtm_dirname, 0700) && errno != EEXIST)
		pr_perror("mkdir %s", zdtm_dirname);
	if (chdir(zdtm_dirname) || !getcwd(want, sizeof(want)))
		pr_perror("chdir %s", zdtm_dirname);
	test_daemon();
	test_waitsig();
	if (!getcwd(got, sizeof(got)))
		pr_perror("getcwd");
	if (strcmp(got, want))
		fail("cwd is %s, want %s", got, want);
	pass();
}
