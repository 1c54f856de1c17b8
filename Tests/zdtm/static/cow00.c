/* Private memory shared copy-on-write between parent and child, some pages since changed by one side. */
#include "zdtmtst.h"
#include <sys/mman.h>
#include <sys/wait.h>

#define PAGES 32
#define PG 4096

int main(int argc, char **argv)
{
	test_init(argc, argv);
	task_waiter_t *ready = task_waiter_new(), *go = task_waiter_new();
	char *p = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		pr_perror("mmap");
	for (int i = 0; i < PAGES; i++)
		datagen(p + i * PG, PG, i);
	pid_t child = fork();
	if (child < 0)
		pr_perror("fork");
	if (child == 0) {
		for (int i = 0; i < PAGES; i += 3)
			datagen(p + i * PG, PG, 1000 + i);
		task_waiter_complete(ready, 1);
		task_waiter_wait4(go, 1);
		for (int i = 0; i < PAGES; i++)
			if (datachk(p + i * PG, PG, i % 3 ? i : 1000 + i))
				_exit(1);
		_exit(0);
	}
	for (int i = 1; i < PAGES; i += 4)
		datagen(p + i * PG, PG, 2000 + i);
	task_waiter_wait4(ready, 1);
	test_daemon();
	test_waitsig();
	task_waiter_complete(go, 1);
	for (int i = 0; i < PAGES; i++)
		if (datachk(p + i * PG, PG, i % 4 == 1 ? 2000 + i : i))
			fail("parent page %d changed", i);
	int st;
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("the child saw its pages change");
	pass();
}
