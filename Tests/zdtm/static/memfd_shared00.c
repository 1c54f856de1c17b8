/* memfds and a regular file mapped by a parent and its child after fork:
 * - memfd M: MAP_SHARED in both, no fd left open anywhere; a MAP_PRIVATE view in the parent with
 *   copy-on-write changes; the child writes through its shared mapping after C/R and the parent must
 *   see it (one object), while the parent's private copy keeps its own page;
 * - memfd S: sealed (grow/shrink), fd kept only by the child, mapped shared by the parent;
 * - regular file F: MAP_SHARED in both (one page cache object via the file).
 * Names, sizes and seals must survive. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define LEN (8 * 4096)

static int maps_has(const char *what)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, what))
			found = 1;
	fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	task_waiter_t *ready = task_waiter_new(), *go = task_waiter_new(), *wrote = task_waiter_new();
	int m = memfd_create("zdtm-shared-m", 0);
	int s = memfd_create("zdtm-shared-s", MFD_ALLOW_SEALING);
	int f = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (m < 0 || s < 0 || f < 0)
		pr_perror("memfd_create/open");
	if (ftruncate(m, LEN) || ftruncate(s, LEN) || ftruncate(f, LEN))
		pr_perror("ftruncate");
	char *ms = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	char *mp = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, m, 0);
	char *ss = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
	char *fs = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
	if (ms == MAP_FAILED || mp == MAP_FAILED || ss == MAP_FAILED || fs == MAP_FAILED)
		pr_perror("mmap");
	datagen(ms, LEN, 31);
	datagen(ss, LEN, 32);
	datagen(fs, LEN, 33);
	mp[0] ^= 0x55;                        /* page 0 of the private view is now our own copy */
	if (fcntl(s, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK))
		pr_perror("F_ADD_SEALS");
	pid_t child = fork();
	if (child < 0)
		pr_perror("fork");
	if (child == 0) {
		close(m);
		close(f);
		task_waiter_complete(ready, 1);
		task_waiter_wait4(go, 1);
		if (datachk(ms, LEN, 31) || datachk(ss, LEN, 32) || datachk(fs, LEN, 33))
			_exit(1);
		if (fcntl(s, F_GET_SEALS) != (F_SEAL_GROW | F_SEAL_SHRINK))
			_exit(2);
		ms[0] = 'A';
		ms[4096] = 'B';
		fs[0] = 'C';
		if (pwrite(s, "D", 1, 0) != 1)
			_exit(3);
		task_waiter_complete(wrote, 1);
		_exit(0);
	}
	close(m);
	close(s);
	close(f);
	task_waiter_wait4(ready, 1);
	test_daemon();
	test_waitsig();
	if (!maps_has("/memfd:zdtm-shared-m") || !maps_has("/memfd:zdtm-shared-s"))
		fail("memfd names are gone from /proc/self/maps");
	if (datachk(ms, LEN, 31) || datachk(ss, LEN, 32) || datachk(fs, LEN, 33))
		fail("mapped data changed");
	char want = ms[0] ^ 0x55;
	if (mp[0] != want || memcmp(mp + 1, ms + 1, LEN - 1))
		fail("the private view of memfd M lost its own copy or its contents");
	task_waiter_complete(go, 1);
	task_waiter_wait4(wrote, 1);
	if (ms[0] != 'A' || ms[4096] != 'B')
		fail("the child's writes to memfd M are not seen: the mapping was split into two objects");
	if (mp[0] != want)
		fail("the parent's private copy of page 0 changed with the shared one");
	if (mp[4096] != 'B')
		fail("an untouched page of the private view does not follow the file");
	if (fs[0] != 'C')
		fail("the child's write to the shared file mapping is not seen");
	if (ss[0] != 'D')
		fail("the child's write through its fd of memfd S is not seen in the parent's mapping");
	int st;
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("child failed check %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	pass();
}
