/* Keeps forking short-lived children while it is dumped: every child must exit with the code it was
 * given and every exit must be reaped, C/R or not. */
#include "zdtmtst.h"
#include <sys/wait.h>

int main(int argc, char **argv)
{
	unsigned long rounds = 0;
	test_init(argc, argv);
	test_daemon();
	while (test_go()) {
		int code = (int)(rounds % 200) + 1;
		pid_t p = fork();
		if (p < 0)
			pr_perror("fork in round %lu", rounds);
		if (p == 0)
			_exit(code);
		int st;
		pid_t w;
		while ((w = waitpid(p, &st, 0)) < 0 && errno == EINTR)
			;
		if (w != p)
			pr_perror("waitpid %d in round %lu", p, rounds);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != code)
			fail("child of round %lu: status %#x, want exit %d", rounds, st, code);
		rounds++;
	}
	if (!rounds)
		fail("no child was ever forked");
	test_msg("%lu rounds", rounds);
	pass();
}
