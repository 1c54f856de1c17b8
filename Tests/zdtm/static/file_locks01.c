/* OFD locks belong to the open file description: two descriptions of one file in one process, one holding
 * a write lock on bytes 0-9, the other a read lock on bytes 20-29, a dup of the first. After restore a third
 * description (ours, or a forked checker's) must conflict with both; the owning descriptions still own them. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/wait.h>

static int ofd(int fd, int cmd, short type, off_t start, off_t len, short *found)
{
	struct flock l = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len, .l_pid = 0 };
	int r = fcntl(fd, cmd, &l);
	if (found)
		*found = l.l_type;
	return r;
}

static int probe_all(const char *who)
{
	short t;
	int f = open(zdtm_filename, O_RDWR);
	if (f < 0)
		return 10;
	if (ofd(f, F_OFD_GETLK, F_RDLCK, 0, 10, &t) || t != F_WRLCK)
		return 1;
	if (ofd(f, F_OFD_GETLK, F_WRLCK, 20, 10, &t) || t != F_RDLCK)
		return 2;
	if (ofd(f, F_OFD_GETLK, F_RDLCK, 20, 10, &t) || t != F_UNLCK)
		return 3;
	if (ofd(f, F_OFD_GETLK, F_WRLCK, 10, 10, &t) || t != F_UNLCK)
		return 4;
	if (ofd(f, F_OFD_SETLK, F_WRLCK, 5, 1, NULL) == 0 || errno != EAGAIN)
		return 5;
	(void)who;
	close(f);
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	int a = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	int b = open(zdtm_filename, O_RDONLY);
	if (a < 0 || b < 0)
		pr_perror("open");
	int d = dup(a);
	if (ofd(a, F_OFD_SETLK, F_WRLCK, 0, 10, NULL) || ofd(b, F_OFD_SETLK, F_RDLCK, 20, 10, NULL))
		pr_perror("F_OFD_SETLK");
	test_daemon();
	test_waitsig();

	int r = probe_all("self");
	if (r)
		fail("own new description: check %d failed (1: write lock, 2: read lock, 3/4: extra lock, 5: SETLK)", r);
	pid_t c = fork();
	if (c < 0)
		pr_perror("fork");
	if (c == 0)
		_exit(probe_all("child"));
	int st;
	if (waitpid(c, &st, 0) != c)
		pr_perror("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail("checker: check %d failed", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	/* The owner converts its own lock (no conflict with itself); b's read lock still blocks a's write. */
	if (ofd(d, F_OFD_SETLK, F_RDLCK, 0, 10, NULL))
		fail("the dup of the owning description cannot convert its lock: %s", strerror(errno));
	if (ofd(a, F_OFD_SETLK, F_WRLCK, 25, 1, NULL) == 0 || errno != EAGAIN)
		fail("the read lock of the other description no longer conflicts");
	pass();
}
