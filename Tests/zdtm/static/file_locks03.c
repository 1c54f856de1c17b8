/* Tasks blocked waiting for a lock: the parent holds a POSIX write lock, an OFD write lock and an
 * exclusive flock (three files); one child each waits in F_SETLKW, F_OFD_SETLKW and flock(LOCK_EX).
 * After restore each child must still be waiting (its request back in /proc/locks, not granted), and must
 * get its lock once the parent releases it. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define N 3
static char path[N][PATH_MAX];
static unsigned long ino[N];

/* Number of the N files that have a blocked request ("->") in /proc/locks. */
static int waiting(void)
{
	char line[512];
	int seen[N] = { 0 }, n = 0;
	FILE *f = fopen("/proc/locks", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "->"))
			continue;
		for (int i = 0; i < N; i++) {
			char key[64];
			snprintf(key, sizeof(key), ":%lu ", ino[i]);
			if (strstr(line, key))
				seen[i] = 1;
		}
	}
	fclose(f);
	for (int i = 0; i < N; i++)
		n += seen[i];
	return n;
}

static int wait_for_waiters(int secs)
{
	for (int i = 0; i < secs * 100; i++) {
		if (waiting() == N)
			return 0;
		usleep(10000);
	}
	return -1;
}

static int lk(int fd, int cmd, short type)
{
	struct flock l = { .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0, .l_pid = 0 };
	return fcntl(fd, cmd, &l);
}

int main(int argc, char **argv)
{
	int fd[N];
	pid_t child[N];
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	task_waiter_t *granted = task_waiter_new();
	for (int i = 0; i < N; i++) {
		struct stat st;
		snprintf(path[i], sizeof(path[i]), "%s.%d", zdtm_filename, i);
		fd[i] = open(path[i], O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd[i] < 0 || fstat(fd[i], &st))
			pr_perror("open %s", path[i]);
		ino[i] = st.st_ino;
	}
	if (lk(fd[0], F_SETLK, F_WRLCK) || lk(fd[1], F_OFD_SETLK, F_WRLCK) || flock(fd[2], LOCK_EX | LOCK_NB))
		pr_perror("lock");
	for (int i = 0; i < N; i++) {
		child[i] = fork();
		if (child[i] < 0)
			pr_perror("fork");
		if (child[i] == 0) {
			int f = open(path[i], O_RDWR);
			int r = f < 0 ? -1 : i == 0 ? lk(f, F_SETLKW, F_WRLCK) : i == 1 ? lk(f, F_OFD_SETLKW, F_WRLCK) : flock(f, LOCK_EX);
			if (r)
				_exit(1);
			task_waiter_add(granted);
			_exit(0);
		}
	}
	if (wait_for_waiters(10))
		fail("the children did not all block on their locks (%d of %d)", waiting(), N);
	test_daemon();
	test_waitsig();

	/* A restarted request may take a moment to be queued again. */
	if (wait_for_waiters(5))
		fail("after restore only %d of %d children wait for their lock", waiting(), N);
	if (granted->step != 0)
		fail("%u children got a lock the parent still holds", granted->step);
	if (lk(fd[0], F_SETLK, F_UNLCK) || lk(fd[1], F_OFD_SETLK, F_UNLCK) || flock(fd[2], LOCK_UN))
		pr_perror("unlock");
	for (int i = 0; i < N; i++) {
		int st;
		if (waitpid(child[i], &st, 0) != child[i])
			pr_perror("waitpid");
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			fail("waiter %d (%s) failed: status %#x", i, i == 0 ? "F_SETLKW" : i == 1 ? "F_OFD_SETLKW" : "flock", st);
	}
	if (granted->step != N)
		fail("only %u of %d waiters got their lock", granted->step, N);
	pass();
}
