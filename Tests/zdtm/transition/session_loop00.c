/* Keeps creating sessions whose leader exits while it is dumped: a leader setsid()s, forks a member
 * and exits; the member comes to the test (a child subreaper) and checks continually that it stays in
 * the dead leader's session and group. The test keeps up to 8 members and retires the oldest with
 * SIGUSR1; a member exits 0 only if its checks held the whole time, C/R or not. Leaders may be caught
 * alive, as zombies or gone. */
#include "zdtmtst.h"
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/mman.h>

#define NM 8

static volatile sig_atomic_t retire;
static void on_usr1(int s) { (void)s; retire = 1; }

static void member(pid_t leader)
{
	int bad = 0;
	while (!retire) {
		if (getsid(0) != leader)
			bad = 1;
		else if (getpgid(0) != leader)
			bad = 2;
		usleep(1000);
	}
	_exit(bad);
}

static void reap(pid_t p, const char *what, unsigned long round)
{
	int st;
	pid_t w;
	while ((w = waitpid(p, &st, 0)) < 0 && errno == EINTR)
		;
	if (w != p)
		pr_perror("waitpid %s %d in round %lu", what, p, round);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail("%s %d of round %lu: status %#x (member: 1 sid, 2 pgid changed)", what, p, round, st);
}

int main(int argc, char **argv)
{
	pid_t members[NM] = { 0 };
	unsigned long rounds = 0;
	test_init(argc, argv);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		pr_perror("PR_SET_CHILD_SUBREAPER");
	signal(SIGUSR1, on_usr1);
	/* The leader hands its member's pid over here (a pipe would be a pipe between tasks, not this test's
	 * subject). */
	volatile pid_t *handoff = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (handoff == MAP_FAILED)
		pr_perror("mmap");
	test_daemon();
	while (test_go()) {
		int slot = rounds % NM;
		if (members[slot]) {
			kill(members[slot], SIGUSR1);
			reap(members[slot], "member", rounds);
		}
		*handoff = 0;
		pid_t l = fork();
		if (l < 0)
			pr_perror("fork leader");
		if (l == 0) {
			if (setsid() < 0)
				_exit(1);
			pid_t m = fork();
			if (m == 0) {
				member(getsid(0));
			}
			if (m > 0)
				*handoff = m;
			_exit(m < 0 ? 3 : 0);
		}
		reap(l, "leader", rounds);
		pid_t m = *handoff;
		if (m <= 0)
			fail("leader %d did not report its member", l);
		members[slot] = m;
		rounds++;
	}
	for (int i = 0; i < NM; i++) {
		if (!members[i])
			continue;
		kill(members[i], SIGUSR1);
		reap(members[i], "member", rounds);
	}
	if (rounds < NM)
		fail("only %lu rounds", rounds);
	test_msg("%lu rounds", rounds);
	pass();
}
