/* Zombies: children that exited (or were killed) and are not reaped until after C/R. */
#include "zdtmtst.h"
#include <sys/wait.h>

#define NZ 4

int main(int argc, char **argv)
{
	pid_t z[NZ];
	test_init(argc, argv);
	for (int i = 0; i < NZ; i++) {
		z[i] = fork();
		if (z[i] < 0)
			pr_perror("fork");
		if (z[i] == 0) {
			if (i == NZ - 1)
				raise(SIGKILL);
			_exit(40 + i);
		}
	}
	/* Wait until every child is a zombie, without reaping it. */
	for (int i = 0; i < NZ; i++) {
		siginfo_t si = { 0 };
		if (waitid(P_PID, z[i], &si, WEXITED | WNOWAIT))
			pr_perror("waitid %d", z[i]);
	}
	test_daemon();
	test_waitsig();
	for (int i = 0; i < NZ; i++) {
		int st;
		if (waitpid(z[i], &st, WNOHANG) != z[i])
			fail("zombie %d (pid %d) is gone or not a zombie", i, z[i]);
		if (i == NZ - 1) {
			if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
				fail("zombie %d: status %#x, want killed by SIGKILL", i, st);
		} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 40 + i)
			fail("zombie %d: status %#x, want exit %d", i, st, 40 + i);
	}
	pass();
}
