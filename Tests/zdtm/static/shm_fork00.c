/* Anonymous MAP_SHARED memory shared by a parent and its child: after C/R it must still be one area. */
#include "zdtmtst.h"
#include <sys/mman.h>
#include <sys/wait.h>

#define LEN (16 * 4096)

int main(int argc, char **argv)
{
	test_init(argc, argv);
	task_waiter_t *ready = task_waiter_new(), *go = task_waiter_new(), *wrote = task_waiter_new();
	char *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		pr_perror("mmap");
	datagen(p, LEN, 10);
	pid_t child = fork();
	if (child < 0)
		pr_perror("fork");
	if (child == 0) {
		task_waiter_complete(ready, 1);
		task_waiter_wait4(go, 1);
		if (datachk(p, LEN, 10))
			_exit(1);
		datagen(p, LEN, 11);
		task_waiter_complete(wrote, 1);
		_exit(0);
	}
	task_waiter_wait4(ready, 1);
	test_daemon();
	test_waitsig();
	task_waiter_complete(go, 1);
	task_waiter_wait4(wrote, 1);
	if (datachk(p, LEN, 11))
		fail("the child's writes are not visible: the area is no longer shared");
	int st;
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("the child saw the shared data changed");
	pass();
}
