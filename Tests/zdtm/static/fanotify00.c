/* A fanotify group with an inode mark (modify, close-write), a mount mark (open) and an inode mark whose
 * ignored mask hides opens of one file (surviving modification). After C/R the marks must still deliver:
 * our open of another file on the mount, our write to the marked file, and nothing for the ignored one. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/fanotify.h>
#include <sys/stat.h>

static char f1[PATH_MAX], f2[PATH_MAX], f3[PATH_MAX];

static void touch(const char *p, int flags)
{
	int f = open(p, flags);
	if (f < 0)
		pr_perror("open %s", p);
	if ((flags & O_ACCMODE) != O_RDONLY && write(f, "x", 1) != 1)
		pr_perror("write %s", p);
	close(f);
}

/* Reads every queued event; ORs the masks of our own events per file (1, 2, 3). */
static void collect(int fd, uint64_t got[4])
{
	char buf[8192] __attribute__((aligned(8)));
	char link[PATH_MAX], proc[64];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			pr_perror("read fanotify");
		struct fanotify_event_metadata *m = (void *)buf;
		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			if (m->vers != FANOTIFY_METADATA_VERSION)
				fail("fanotify metadata version %d", m->vers);
			if (m->fd < 0)
				continue;
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", m->fd);
			ssize_t l = readlink(proc, link, sizeof(link) - 1);
			close(m->fd);
			if (l < 0 || m->pid != getpid())
				continue;
			link[l] = 0;
			int which = !strcmp(link, f1) ? 1 : !strcmp(link, f2) ? 2 : !strcmp(link, f3) ? 3 : 0;
			got[which] |= m->mask;
		}
	}
}

int main(int argc, char **argv)
{
	uint64_t got[4] = { 0 };
	test_keep_root();
	test_init(argc, argv);
	if (!zdtm_dirname)
		fail("needs --dirname");
	if (mkdir(zdtm_dirname, 0700))
		pr_perror("mkdir %s", zdtm_dirname);
	char real[PATH_MAX];
	if (!realpath(zdtm_dirname, real))
		pr_perror("realpath");
	snprintf(f1, sizeof(f1), "%s/marked", real);
	snprintf(f2, sizeof(f2), "%s/ignored", real);
	snprintf(f3, sizeof(f3), "%s/other", real);
	touch(f1, O_CREAT | O_WRONLY);
	touch(f2, O_CREAT | O_WRONLY);
	touch(f3, O_CREAT | O_WRONLY);
	int fd = fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE);
	if (fd < 0)
		pr_perror("fanotify_init");
	if (fanotify_mark(fd, FAN_MARK_ADD, FAN_MODIFY | FAN_CLOSE_WRITE, AT_FDCWD, f1))
		pr_perror("inode mark");
	if (fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN, AT_FDCWD, real))
		pr_perror("mount mark");
	if (fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY, FAN_OPEN, AT_FDCWD, f2))
		pr_perror("ignore mark");
	test_daemon();
	test_waitsig();

	if (!(fcntl(fd, F_GETFL) & O_NONBLOCK))
		fail("the group lost O_NONBLOCK");
	collect(fd, got); /* whatever C/R itself caused */
	memset(got, 0, sizeof(got));
	touch(f2, O_RDONLY);
	touch(f3, O_RDONLY);
	touch(f1, O_WRONLY);
	collect(fd, got);
	if (!(got[3] & FAN_OPEN))
		fail("no FAN_OPEN from the mount mark for %s (got %#llx)", f3, (unsigned long long)got[3]);
	if ((got[1] & (FAN_MODIFY | FAN_CLOSE_WRITE)) != (FAN_MODIFY | FAN_CLOSE_WRITE))
		fail("inode mark on %s delivered %#llx, want FAN_MODIFY|FAN_CLOSE_WRITE", f1, (unsigned long long)got[1]);
	if (got[2])
		fail("the ignored mask on %s no longer hides its opens (got %#llx)", f2, (unsigned long long)got[2]);
	pass();
}
