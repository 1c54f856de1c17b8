/* An inotify watch on a directory: events after C/R must still arrive with the same wd. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/inotify.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
	char path[PATH_MAX], buf[4096] __attribute__((aligned(8)));
	test_init(argc, argv);
	if (!zdtm_dirname)
		fail("needs --dirname");
	if (mkdir(zdtm_dirname, 0700))
		pr_perror("mkdir %s", zdtm_dirname);
	int fd = inotify_init1(IN_NONBLOCK);
	if (fd < 0)
		pr_perror("inotify_init1");
	int wd = inotify_add_watch(fd, zdtm_dirname, IN_CREATE | IN_DELETE);
	if (wd < 0)
		pr_perror("inotify_add_watch");
	test_daemon();
	test_waitsig();
	snprintf(path, sizeof(path), "%s/newfile", zdtm_dirname);
	int f = open(path, O_CREAT | O_WRONLY, 0600);
	if (f < 0)
		pr_perror("create %s", path);
	close(f);
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < (ssize_t)sizeof(struct inotify_event))
		fail("no inotify event after creating a file");
	struct inotify_event *ev = (struct inotify_event *)buf;
	if (ev->wd != wd || !(ev->mask & IN_CREATE) || strcmp(ev->name, "newfile"))
		fail("event wd %d mask %#x name %s, want wd %d IN_CREATE newfile", ev->wd, ev->mask, ev->len ? ev->name : "", wd);
	pass();
}
