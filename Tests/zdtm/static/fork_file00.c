/* One open file description inherited across fork: after C/R the child's write must move the offset
 * the parent sees (one file, one position), and a file the child opened itself must stay its own. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	task_waiter_t *ready = task_waiter_new(), *go = task_waiter_new(), *wrote = task_waiter_new();
	int fd = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		pr_perror("open %s", zdtm_filename);
	if (write(fd, "0123456789", 10) != 10)
		pr_perror("write");
	pid_t child = fork();
	if (child < 0)
		pr_perror("fork");
	if (child == 0) {
		int own = open(zdtm_filename, O_RDONLY);
		if (own < 0 || lseek(own, 3, SEEK_SET) != 3)
			_exit(1);
		task_waiter_complete(ready, 1);
		task_waiter_wait4(go, 1);
		if (lseek(own, 0, SEEK_CUR) != 3)
			_exit(2);
		if (write(fd, "abcde", 5) != 5)
			_exit(3);
		task_waiter_complete(wrote, 1);
		_exit(0);
	}
	task_waiter_wait4(ready, 1);
	test_daemon();
	test_waitsig();
	task_waiter_complete(go, 1);
	task_waiter_wait4(wrote, 1);
	off_t pos = lseek(fd, 0, SEEK_CUR);
	if (pos != 15)
		fail("offset after the child's write is %ld, want 15: the description is no longer shared", (long)pos);
	int st;
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("child failed check %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	pass();
}
