/* A child stopped by SIGSTOP stays stopped after restore (state T, no progress), and runs on after
 * SIGCONT: it then reports that it was continued (SIGCONT handler) and exits cleanly. */
#include "zdtmtst.h"
#include <sys/wait.h>
#include <sys/mman.h>

static volatile sig_atomic_t continued;
static void on_cont(int s) { (void)s; continued = 1; }

static char state_of(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return '?';
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] ? p[2] : '?';
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	volatile unsigned long *ticks = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ticks == MAP_FAILED)
		pr_perror("mmap");
	pid_t kid = fork();
	if (kid < 0)
		pr_perror("fork");
	if (kid == 0) {
		signal(SIGCONT, on_cont);
		while (!continued)
			(*ticks)++;
		_exit(42);
	}
	while (*ticks == 0)
		usleep(1000);
	if (kill(kid, SIGSTOP))
		pr_perror("SIGSTOP");
	int st;
	if (waitpid(kid, &st, WUNTRACED) != kid || !WIFSTOPPED(st))
		fail("child did not stop: %#x", st);
	test_daemon();
	test_waitsig();
	if (state_of(kid) != 'T')
		fail("child %d is in state %c after restore, want T (stopped)", kid, state_of(kid));
	unsigned long t0 = *ticks;
	usleep(100000);
	if (*ticks != t0)
		fail("stopped child ran: %lu -> %lu", t0, *ticks);
	if (kill(kid, SIGCONT))
		pr_perror("SIGCONT");
	if (waitpid(kid, &st, 0) != kid)
		pr_perror("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 42)
		fail("child after SIGCONT: status %#x, want exit 42", st);
	pass();
}
