/* Per-task prctl state: name, parent-death signal, no_new_privs, dumpable, child subreaper, timer slack. */
#include "zdtmtst.h"
#include <sys/prctl.h>

int main(int argc, char **argv)
{
	char name[16];
	int v = 0;
	test_init(argc, argv);
	/* The starter exits at ready, which fires the parent-death signal: it must do no harm. */
	signal(SIGUSR2, SIG_IGN);
	if (prctl(PR_SET_NAME, "zdtm-prctl00", 0, 0, 0) || prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) ||
	    prctl(PR_SET_TIMERSLACK, 123456, 0, 0, 0))
		pr_perror("prctl");
	test_daemon();
	test_waitsig();
	if (prctl(PR_GET_NAME, name, 0, 0, 0) || strcmp(name, "zdtm-prctl00"))
		fail("name is '%s'", name);
	if (prctl(PR_GET_PDEATHSIG, &v, 0, 0, 0) || v != SIGUSR2)
		fail("pdeathsig is %d", v);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		fail("no_new_privs lost");
	if (prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0) || v != 1)
		fail("child subreaper flag lost");
	if (prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) != 123456)
		fail("timer slack is %d", prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1)
		fail("dumpable changed");
	pass();
}
