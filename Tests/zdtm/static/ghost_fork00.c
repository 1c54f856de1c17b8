/* Two tasks that each opened one deleted file on their own (two open file descriptions, one inode):
 * after restore they must still share the inode: a byte the child writes through its fd is read by
 * the parent through its own. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	task_waiter_t *ready = task_waiter_new(), *go = task_waiter_new(), *wrote = task_waiter_new();
	int fd = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "0123456789", 10) != 10)
		pr_perror("open/write %s", zdtm_filename);
	pid_t child = fork();
	if (child < 0)
		pr_perror("fork");
	if (child == 0) {
		int own = open(zdtm_filename, O_RDWR);
		if (own < 0 || lseek(own, 5, SEEK_SET) != 5)
			_exit(1);
		task_waiter_complete(ready, 1);
		task_waiter_wait4(go, 1);
		if (lseek(own, 0, SEEK_CUR) != 5)
			_exit(2);
		if (pwrite(own, "X", 1, 0) != 1)
			_exit(3);
		task_waiter_complete(wrote, 1);
		_exit(0);
	}
	task_waiter_wait4(ready, 1);
	if (unlink(zdtm_filename))
		pr_perror("unlink");
	test_daemon();
	test_waitsig();
	task_waiter_complete(go, 1);
	task_waiter_wait4(wrote, 1);
	char c;
	if (pread(fd, &c, 1, 0) != 1 || c != 'X')
		fail("the child's write did not reach our fd: the deleted file became two files");
	struct stat st;
	if (fstat(fd, &st) || st.st_nlink != 0)
		fail("the deleted file has a name again");
	int status;
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("child failed check %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	pass();
}
