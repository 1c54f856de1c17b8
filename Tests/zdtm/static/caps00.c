/* A root task that dropped some capabilities from its effective, permitted and inheritable sets and
 * from its bounding set (needs root: desc flag suid). */
#include "zdtmtst.h"
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2], got[2];
	test_keep_root();
	test_init(argc, argv);
	if (syscall(SYS_capget, &h, d))
		pr_perror("capget");
	d[0].effective &= ~(1u << CAP_NET_RAW | 1u << CAP_SYS_BOOT);
	d[0].permitted &= ~(1u << CAP_SYS_BOOT);
	d[0].inheritable = 1u << CAP_CHOWN | 1u << CAP_KILL;
	if (syscall(SYS_capset, &h, d))
		pr_perror("capset");
	if (prctl(PR_CAPBSET_DROP, CAP_SYS_TIME, 0, 0, 0))
		pr_perror("PR_CAPBSET_DROP");
	test_daemon();
	test_waitsig();
	if (syscall(SYS_capget, &h, got))
		pr_perror("capget");
	for (int i = 0; i < 2; i++)
		if (got[i].effective != d[i].effective || got[i].permitted != d[i].permitted ||
		    got[i].inheritable != d[i].inheritable)
			fail("capability sets changed (word %d: eff %#x prm %#x inh %#x)", i, got[i].effective,
			     got[i].permitted, got[i].inheritable);
	if (prctl(PR_CAPBSET_READ, CAP_SYS_TIME, 0, 0, 0) != 0)
		fail("CAP_SYS_TIME is back in the bounding set");
	if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 1)
		fail("CAP_SYS_ADMIN left the bounding set");
	pass();
}
