/* fanotify groups whose class and report flags matter: a permission group (FAN_CLASS_CONTENT) with
 * FAN_OPEN_PERM on a file this test also keeps open (the restore reopens it: a mark already in place would
 * block that open forever), and a FAN_REPORT_DFID_NAME group watching creations in a directory. After
 * C/R another process's open waits for our answer (allowed once, denied once), and a new file's name
 * arrives in a DFID_NAME info record. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char dir[PATH_MAX], guarded[PATH_MAX];

/* Starts a child that opens the guarded file; answers its permission event; returns the child's exit
 * code (0 opened, 1 refused with EPERM). */
static int guarded_open(int perm, unsigned answer)
{
	pid_t c = fork();
	if (c < 0)
		pr_perror("fork");
	if (c == 0) {
		int f = open(guarded, O_RDONLY);
		_exit(f >= 0 ? 0 : errno == EPERM ? 1 : 2);
	}
	struct pollfd p = { .fd = perm, .events = POLLIN };
	if (poll(&p, 1, 5000) != 1)
		fail("no permission event for the child's open");
	char buf[4096] __attribute__((aligned(8)));
	ssize_t n = read(perm, buf, sizeof(buf));
	struct fanotify_event_metadata *m = (void *)buf;
	if (n < (ssize_t)sizeof(*m) || !(m->mask & FAN_OPEN_PERM) || m->pid != c)
		fail("unexpected permission event: mask %#llx pid %d (child %d)", n > 0 ? (unsigned long long)m->mask : 0ULL,
		     n > 0 ? m->pid : 0, c);
	struct fanotify_response r = { .fd = m->fd, .response = answer };
	if (write(perm, &r, sizeof(r)) != sizeof(r))
		pr_perror("answer");
	close(m->fd);
	int st;
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st))
		fail("guarded open child died");
	return WEXITSTATUS(st);
}

/* The name in the first DFID_NAME record of our own FAN_CREATE event, or NULL. */
static int created(int fd, const char *want)
{
	char buf[8192] __attribute__((aligned(8)));
	struct pollfd p = { .fd = fd, .events = POLLIN };
	for (int tries = 0; tries < 50; tries++) {
		if (poll(&p, 1, 100) != 1)
			continue;
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			continue;
		struct fanotify_event_metadata *m = (void *)buf;
		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			if (!(m->mask & FAN_CREATE) || m->pid != getpid())
				continue;
			char *rec = (char *)m + m->metadata_len;
			while (rec < (char *)m + m->event_len) {
				struct fanotify_event_info_fid *fid = (void *)rec;
				if (fid->hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME) {
					struct file_handle *h = (void *)fid->handle;
					const char *name = (const char *)h->f_handle + h->handle_bytes;
					if (!strcmp(name, want))
						return 1;
					test_msg("create event names %s\n", name);
				}
				if (!fid->hdr.len)
					break;
				rec += fid->hdr.len;
			}
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	test_keep_root();
	test_init(argc, argv);
	if (!zdtm_dirname)
		fail("needs --dirname");
	if (mkdir(zdtm_dirname, 0700) || !realpath(zdtm_dirname, dir))
		pr_perror("mkdir %s", zdtm_dirname);
	snprintf(guarded, sizeof(guarded), "%s/guarded", dir);
	int keep = open(guarded, O_RDWR | O_CREAT, 0600);
	if (keep < 0)
		pr_perror("open %s", guarded);
	/* Above the groups' fd numbers: the restore reopens it after it made the groups. */
	if (dup2(keep, 40) != 40)
		pr_perror("dup2");
	close(keep);
	keep = 40;
	int perm = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE);
	if (perm < 0)
		pr_perror("fanotify_init CONTENT");
	if (fanotify_mark(perm, FAN_MARK_ADD, FAN_OPEN_PERM, AT_FDCWD, guarded))
		pr_perror("perm mark");
	int names = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME | FAN_NONBLOCK, O_RDONLY);
	if (names < 0)
		pr_perror("fanotify_init DFID_NAME");
	if (fanotify_mark(names, FAN_MARK_ADD, FAN_CREATE, AT_FDCWD, dir))
		pr_perror("dir mark");
	test_daemon();
	test_waitsig();

	if (guarded_open(perm, FAN_ALLOW) != 0)
		fail("the allowed open failed");
	if (guarded_open(perm, FAN_DENY) != 1)
		fail("the denied open was not refused");
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/born", dir);
	int f = open(path, O_CREAT | O_WRONLY, 0600);
	if (f < 0)
		pr_perror("create %s", path);
	close(f);
	if (!created(names, "born"))
		fail("no FAN_CREATE with name \"born\" from the DFID_NAME group");
	close(keep);
	pass();
}
