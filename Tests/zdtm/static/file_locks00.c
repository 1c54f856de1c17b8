/* POSIX (fcntl) locks: a write lock on a byte range and a read lock up to EOF, taken through one fd and
 * held across C/R by this process. The file is also mapped: the restore opens and closes mapped files, and
 * any close of a file drops the POSIX locks its process holds on it. After restore a forked checker (a
 * different process) must see both locks with F_GETLK, owned by us, and find the unlocked bytes free. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>

/* 0: free; 1: read-locked by owner; 2: write-locked by owner; -1: error */
static int probe(int fd, short type, off_t start, off_t len, pid_t owner)
{
	struct flock l = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	if (fcntl(fd, F_GETLK, &l))
		return -1;
	if (l.l_type == F_UNLCK)
		return 0;
	if (l.l_pid != owner)
		return -1;
	return l.l_type == F_RDLCK ? 1 : 2;
}

static int setlk(int fd, short type, off_t start, off_t len)
{
	struct flock l = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	return fcntl(fd, F_SETLK, &l);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	int fd = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		pr_perror("open");
	if (ftruncate(fd, 4096))
		pr_perror("ftruncate");
	void *map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		pr_perror("mmap");
	if (setlk(fd, F_WRLCK, 10, 5) || setlk(fd, F_RDLCK, 100, 0))
		pr_perror("F_SETLK");
	test_daemon();
	test_waitsig();

	pid_t me = getpid();
	pid_t c = fork();
	if (c < 0)
		pr_perror("fork");
	if (c == 0) {
		int f = open(zdtm_filename, O_RDWR);
		if (f < 0)
			_exit(10);
		if (probe(f, F_RDLCK, 10, 5, me) != 2)
			_exit(1); /* the write lock is gone */
		if (probe(f, F_WRLCK, 12, 1, me) != 2)
			_exit(1);
		if (probe(f, F_WRLCK, 200, 10, me) != 1)
			_exit(2); /* the read lock is gone */
		if (probe(f, F_RDLCK, 200, 10, me) != 0)
			_exit(3); /* a read lock conflicts with a read lock */
		if (probe(f, F_WRLCK, 0, 10, me) != 0 || probe(f, F_WRLCK, 15, 85, me) != 0)
			_exit(4); /* bytes that were free are locked */
		if (setlk(f, F_WRLCK, 14, 1) == 0 || errno != EAGAIN)
			_exit(5);
		_exit(0);
	}
	int st;
	if (waitpid(c, &st, 0) != c)
		pr_perror("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail("checker failed check %d (1: write lock, 2: read lock, 3/4: extra lock, 5: F_SETLK)",
		     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	pass();
}
