/* Futex waiters shared across fork: a parent and its children step through a set-up in order. */
#include "zdtmtst.h"
#include <sched.h>
#include <signal.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

task_waiter_t *task_waiter_new(void)
{
	task_waiter_t *w = mmap(NULL, sizeof(*w), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (w == MAP_FAILED)
		pr_perror("mmap(task waiter)");
	w->step = 0;
	return w;
}

void task_waiter_complete(task_waiter_t *w, uint32_t step)
{
	__atomic_store_n(&w->step, step, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &w->step, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

void task_waiter_wait4(task_waiter_t *w, uint32_t step)
{
	for (;;) {
		uint32_t cur = __atomic_load_n(&w->step, __ATOMIC_SEQ_CST);
		if (cur >= step)
			return;
		syscall(SYS_futex, &w->step, FUTEX_WAIT, cur, NULL, NULL, 0);
	}
}

void task_waiter_add(task_waiter_t *w)
{
	__atomic_add_fetch(&w->step, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &w->step, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

int wait_for_value(volatile int *v, int want)
{
	struct timespec ts = { 0, 1000000 };
	for (int i = 0; i < 60000; i++) {
		if (__atomic_load_n(v, __ATOMIC_SEQ_CST) >= want)
			return 0;
		syscall(SYS_nanosleep, &ts, NULL);
	}
	return -1;
}

pid_t clone_started(int (*fn)(void *), unsigned long flags, volatile int *step)
{
	size_t size = 256 * 1024;
	char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stack == MAP_FAILED)
		pr_perror("mmap(child stack)");
	pid_t kid = clone(fn, stack + size, flags | SIGCHLD, NULL);
	if (kid < 0)
		pr_perror("clone");
	if (wait_for_value((volatile int *)step, 1)) {
		kill(kid, SIGKILL);
		fail("the child did not start");
	}
	return kid;
}

void wait_in_vfork(pid_t pid)
{
	char path[64], wchan[64] = "";
	snprintf(path, sizeof(path), "/proc/%d/wchan", pid);
	for (int i = 0; i < 5000 && strncmp(wchan, "kernel_clone", 12); i++) {
		FILE *f = fopen(path, "r");
		if (f) {
			if (!fgets(wchan, sizeof(wchan), f))
				wchan[0] = 0;
			fclose(f);
		}
		usleep(1000);
	}
	if (strncmp(wchan, "kernel_clone", 12)) {
		kill(pid, SIGKILL);
		fail("the parent %d is not waiting in vfork: wchan %s", pid, wchan);
	}
}

void vfork_test_release(pid_t mid, int ready_fd, int go_fd, const char *what)
{
	if (ready_fd >= 0) {
		char b;
		if (read(ready_fd, &b, 1) != 1)
			pr_perror("read ready");
		close(ready_fd);
	}
	wait_in_vfork(mid);
	test_daemon();
	test_waitsig();
	if (write(go_fd, "x", 1) != 1)
		pr_perror("write");
	int st;
	if (waitpid(mid, &st, 0) != mid || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("%s: %#x", what, st);
}
