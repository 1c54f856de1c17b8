/* Credentials: real/effective/saved ids, supplementary groups, and no capabilities left. */
#include "zdtmtst.h"
#include <grp.h>
#include <sys/prctl.h>

int main(int argc, char **argv)
{
	uid_t r, e, s;
	gid_t gr, ge, gs, groups[16];
	test_init(argc, argv);
	if (getuid() == 0)
		skip("runs only as the unprivileged zdtm user");
	test_daemon();
	test_waitsig();
	getresuid(&r, &e, &s);
	getresgid(&gr, &ge, &gs);
	if (r != ZDTM_UID || e != ZDTM_UID || s != ZDTM_UID)
		fail("uids %d/%d/%d, want %d", r, e, s, ZDTM_UID);
	if (gr != ZDTM_GID || ge != ZDTM_GID || gs != ZDTM_GID)
		fail("gids %d/%d/%d, want %d", gr, ge, gs, ZDTM_GID);
	int n = getgroups(16, groups);
	if (n != 2 || groups[0] != ZDTM_GID || groups[1] != ZDTM_GROUP2)
		fail("supplementary groups changed (%d of them)", n);
	if (prctl(PR_CAPBSET_READ, 0 /* CAP_CHOWN */, 0, 0, 0) != 1)
		fail("bounding set lost CAP_CHOWN");
	pass();
}
