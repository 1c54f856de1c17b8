/* A listening unix socket bound to a path, with a connection waiting in its backlog and data sent on it. */
#include "zdtmtst.h"
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char buf[16];
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	/* sun_path is short: bind by the base name from inside the scratch directory. */
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", zdtm_filename);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		if (chdir(dir))
			pr_perror("chdir %s", dir);
	}
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", slash ? slash + 1 : zdtm_filename);
	int l = socket(AF_UNIX, SOCK_STREAM, 0), c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || c < 0)
		pr_perror("socket");
	if (bind(l, (struct sockaddr *)&addr, sizeof(addr)) || listen(l, 8))
		pr_perror("bind/listen %s", addr.sun_path);
	if (connect(c, (struct sockaddr *)&addr, sizeof(addr)))
		pr_perror("connect");
	if (write(c, "hello", 5) != 5)
		pr_perror("write");
	test_daemon();
	test_waitsig();
	int a = accept(l, NULL, NULL);
	if (a < 0)
		fail("the pending connection is gone: %s", strerror(errno));
	if (read(a, buf, 5) != 5 || memcmp(buf, "hello", 5))
		fail("data on the pending connection lost");
	int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(c2, (struct sockaddr *)&addr, sizeof(addr)))
		fail("the listener no longer accepts connections on its path: %s", strerror(errno));
	pass();
}
