/* Runs a command and reports its wall time and its own CPU time: `timed OUT cmd args...` writes
 * "wall_us user_us sys_us" to OUT and exits with the command's status. CPU time comes from wait4's rusage
 * (the command plus the children it reaped), which on a shared, loaded machine moves far less than the
 * wall time does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	if (argc < 3) { fprintf(stderr, "usage: timed OUT cmd [args...]\n"); return 2; }
	long long t0 = now_us();
	pid_t pid = fork();
	if (pid < 0) { perror("fork"); return 2; }
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) { perror("wait4"); return 2; }
	long long wall = now_us() - t0;
	FILE *f = fopen(argv[1], "w");
	if (!f) { perror(argv[1]); return 2; }
	fprintf(f, "%lld %lld %lld\n", wall, ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec,
		ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec);
	fclose(f);
	if (WIFEXITED(status)) return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
