/* Open file descriptions that two sibling processes share while their parent closed its copies (so
 * neither can inherit them from the parent on restore): a regular file and an eventfd. After C/R,
 * child 1 writes through both and child 2 must see the file offset move and read the counter. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

static task_waiter_t *go, *wrote;

static void child(int n, int fd, int efd)
{
	task_waiter_wait4(go, 1);
	if (n == 1) {
		uint64_t v = 3;
		if (write(fd, "abcde", 5) != 5 || write(efd, &v, sizeof(v)) != sizeof(v))
			_exit(1);
		task_waiter_complete(wrote, 1);
		_exit(0);
	}
	task_waiter_wait4(wrote, 1);
	off_t pos = lseek(fd, 0, SEEK_CUR);
	if (pos != 15)
		_exit(2);
	uint64_t v = 0;
	if (read(efd, &v, sizeof(v)) != sizeof(v) || v != 10)
		_exit(3);
	_exit(0);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	go = task_waiter_new();
	wrote = task_waiter_new();
	int fd = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0644);
	int efd = eventfd(7, EFD_NONBLOCK);
	if (fd < 0 || efd < 0)
		pr_perror("open/eventfd");
	if (write(fd, "0123456789", 10) != 10)
		pr_perror("write");
	pid_t c[2];
	for (int i = 0; i < 2; i++) {
		c[i] = fork();
		if (c[i] < 0)
			pr_perror("fork");
		if (c[i] == 0)
			child(i + 1, fd, efd);
	}
	close(fd);
	close(efd);
	test_daemon();
	test_waitsig();
	task_waiter_complete(go, 1);
	for (int i = 0; i < 2; i++) {
		int st;
		if (waitpid(c[i], &st, 0) != c[i] || !WIFEXITED(st) || WEXITSTATUS(st))
			fail("child %d failed check %d (2: offset not shared, 3: eventfd not shared)", i + 1,
			     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	pass();
}
