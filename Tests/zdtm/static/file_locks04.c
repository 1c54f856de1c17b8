/* Without --file-locks a held lock must make the dump fail and leave the task running with its lock
 * (CRIU's behaviour): after the failed dump the lock is still ours. */
#include "zdtmtst.h"
#include <fcntl.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (!zdtm_filename)
		fail("needs --filename");
	int fd = open(zdtm_filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		pr_perror("open");
	struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	if (fcntl(fd, F_SETLK, &l))
		pr_perror("F_SETLK");
	test_daemon();
	test_waitsig();
	pid_t c = fork();
	if (c < 0)
		pr_perror("fork");
	if (c == 0) {
		int f = open(zdtm_filename, O_RDWR);
		struct flock q = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
		_exit(f >= 0 && fcntl(f, F_GETLK, &q) == 0 && q.l_type == F_WRLCK ? 0 : 1);
	}
	int st;
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("the lock is gone after the failed dump");
	pass();
}
