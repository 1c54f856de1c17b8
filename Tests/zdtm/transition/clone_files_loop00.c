/* A parent and a child on one fd table (CLONE_FILES) keep opening, dup2()ing and closing fds in it
 * while they are dumped. After restore: still one table (kcmp), the child keeps running on it, an fd
 * it opens is seen by the parent, and the table holds exactly the fds the two put there: none of the
 * restore's own fds (pages image, trampoline memfd, report pipe) is left in it. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/kcmp.h>

#define CHILD_BASE 150	/* the child cycles fds 150..169 */
#define PARENT_BASE 180	/* the parent cycles fds 180..189 */
#define LASTFD 250

static task_waiter_t *stop, *opened;
static volatile uint64_t *rounds;
static char stack[256 * 1024] __attribute__((aligned(16)));
static int fd_file;

static int child(void *arg)
{
	(void)arg;
	for (uint64_t i = 0; __atomic_load_n(&stop->step, __ATOMIC_SEQ_CST) == 0; i++) {
		int n = open("/dev/null", O_RDONLY);
		if (n < 0 || dup2(n, CHILD_BASE + i % 20) < 0 || close(n))
			return 1;
		if (fcntl(fd_file, F_GETFD) < 0)
			return 2;
		__atomic_add_fetch(rounds, 1, __ATOMIC_SEQ_CST);
	}
	if (syscall(SYS_kcmp, getpid(), getppid(), KCMP_FILES, 0, 0))
		return 3;
	if (dup2(fd_file, LASTFD) != LASTFD)
		return 4;
	task_waiter_complete(opened, 1);
	return 0;
}

/* Every fd of the table must be one the test made. */
static void check_table(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		pr_perror("opendir /proc/self/fd");
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd <= 2 || fd == fd_file || fd == dirfd(d) || fd == LASTFD)
			continue;
		if (fd >= CHILD_BASE && fd < CHILD_BASE + 20)
			continue;
		if (fd >= PARENT_BASE && fd < PARENT_BASE + 10)
			continue;
		char link[256] = "";
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (readlink(path, link, sizeof(link) - 1) < 0)
			strcpy(link, "?");
		fail("fd %d (%s) is in the shared table but neither task opened it", fd, link);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	stop = task_waiter_new();
	opened = task_waiter_new();
	rounds = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rounds == MAP_FAILED)
		pr_perror("mmap");
	fd_file = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd_file < 0)
		pr_perror("open %s", zdtm_filename);
	pid_t kid = clone(child, stack + sizeof(stack), CLONE_FILES | SIGCHLD, NULL);
	if (kid < 0)
		pr_perror("clone");
	test_daemon();
	uint64_t i;
	for (i = 0; test_go(); i++) {
		int e = eventfd(0, 0);
		if (e < 0 || dup2(e, PARENT_BASE + i % 10) < 0 || close(e))
			pr_perror("eventfd round %llu", (unsigned long long)i);
		if (write(fd_file, "x", 1) != 1)
			pr_perror("write");
	}
	/* The child must be running after the restore, on the same table. */
	uint64_t seen = __atomic_load_n(rounds, __ATOMIC_SEQ_CST);
	for (int t = 0; __atomic_load_n(rounds, __ATOMIC_SEQ_CST) < seen + 100; t++) {
		if (t > 5000)
			fail("the child made no progress after restore (%llu rounds)", (unsigned long long)seen);
		usleep(1000);
	}
	if (syscall(SYS_kcmp, getpid(), kid, KCMP_FILES, 0, 0))
		fail("parent and child no longer share one fd table");
	task_waiter_complete(stop, 1);
	task_waiter_wait4(opened, 1);
	if (fcntl(LASTFD, F_GETFD) < 0)
		fail("fd %d that the child opened is not in the parent's table", LASTFD);
	if (lseek(fd_file, 0, SEEK_CUR) != (off_t)i)
		fail("file offset %ld after %llu writes", (long)lseek(fd_file, 0, SEEK_CUR), (unsigned long long)i);
	check_table();
	int st;
	if (waitpid(kid, &st, 0) != kid || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("child: status %#x (1: open/dup2, 2: the file fd vanished, 3: kcmp, 4: dup2 after restore)", st);
	pass();
	return 0;
}
