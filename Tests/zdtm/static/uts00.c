/* Host and domain name of a private UTS namespace (flavors ns/uns, needs root there). */
#include "zdtmtst.h"
#include <sys/utsname.h>

int main(int argc, char **argv)
{
	test_keep_root();
	test_init(argc, argv);
	/* Never rename the host: zdtm_ns names its private UTS namespace "zdtm"; anywhere else, skip. */
	struct utsname u;
	if (uname(&u) || strcmp(u.nodename, "zdtm"))
		skip("not in a zdtm namespace (hostname is not 'zdtm')");
	if (sethostname("zdtm-uts00", 10) || setdomainname("zdtm.example", 12))
		pr_perror("sethostname/setdomainname");
	test_daemon();
	test_waitsig();
	if (uname(&u))
		pr_perror("uname");
	if (strcmp(u.nodename, "zdtm-uts00") || strcmp(u.domainname, "zdtm.example"))
		fail("names are %s / %s", u.nodename, u.domainname);
	pass();
}
