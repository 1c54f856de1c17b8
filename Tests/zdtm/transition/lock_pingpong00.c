/* A parent and a child keep taking the same POSIX write lock (F_SETLKW) while they are dumped: at any
 * moment one holds it and the other waits. Inside the lock each writes its id, sleeps and checks the id
 * is still its own, so a lock lost or doubled by C/R shows as the other's id. Both must keep making
 * progress after restore. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/wait.h>

static int lockw(int fd, short type)
{
	struct flock l = { .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
	while (fcntl(fd, type == F_UNLCK ? F_SETLK : F_SETLKW, &l)) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/* One turn in the lock; 0 ok, 1 someone else wrote meanwhile, -1 error. */
static int turn(int fd, uint32_t id)
{
	uint32_t seen;
	if (lockw(fd, F_WRLCK))
		return -1;
	if (pwrite(fd, &id, sizeof(id), 0) != sizeof(id))
		return -1;
	usleep(200);
	if (pread(fd, &seen, sizeof(seen), 0) != sizeof(seen))
		return -1;
	if (lockw(fd, F_UNLCK))
		return -1;
	return seen == id ? 0 : 1;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	task_waiter_t *stop = task_waiter_new(), *child_turns = task_waiter_new();
	int fd = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		pr_perror("open");
	pid_t child = fork();
	if (child < 0)
		pr_perror("fork");
	if (child == 0) {
		/* Its own description: POSIX locks are per process anyway. */
		int f = open(zdtm_filename, O_RDWR);
		if (f < 0)
			_exit(2);
		while (!stop->step) {
			int r = turn(f, 2);
			if (r)
				_exit(r < 0 ? 2 : 1);
			task_waiter_add(child_turns);
		}
		_exit(0);
	}
	test_daemon();
	uint64_t mine = 0;
	while (test_go()) {
		int r = turn(fd, 1);
		if (r > 0)
			fail("the child wrote while the parent held the lock (turn %llu)", (unsigned long long)mine);
		if (r < 0 && test_go())
			pr_perror("parent turn");
		mine++;
	}
	/* After restore: both still take turns. */
	uint32_t before = child_turns->step;
	for (int i = 0; i < 200; i++) {
		if (turn(fd, 1))
			fail("the child wrote while the parent held the lock after restore");
	}
	for (int i = 0; i < 500 && child_turns->step == before; i++)
		usleep(10000);
	if (child_turns->step == before)
		fail("the child made no progress after restore");
	task_waiter_complete(stop, 1);
	int st;
	if (waitpid(child, &st, 0) != child)
		pr_perror("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail("child: %s", WIFEXITED(st) && WEXITSTATUS(st) == 1 ? "the parent wrote while the child held the lock" : "error");
	test_msg("parent turns %llu, child turns %u\n", (unsigned long long)mine, child_turns->step);
	pass();
}
