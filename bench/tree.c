/* Benchmark workload: `tree procs N [T]` forks N sleeping children under one root, each with T extra
 * sleeping threads (default 0); `tree groups N` is the same with every child leading its own process
 * group (a shell's jobs); `tree threads N` starts N sleeping threads in one process. The root detaches
 * from the caller and prints its pid once every task is ready. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

static void *sleeper(void *arg) { (void)arg; for (;;) pause(); return NULL; }

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4) { fprintf(stderr, "usage: tree procs N [T] | groups N | threads N\n"); return 2; }
	int groups = !strcmp(argv[1], "groups");
	int n = atoi(argv[2]), per = argc == 4 ? atoi(argv[3]) : 0;
	int fds[2];
	if (pipe(fds)) return 1;
	pid_t root = fork();
	if (root < 0) return 1;
	if (root > 0) {
		char c;
		close(fds[1]);
		if (read(fds[0], &c, 1) != 1) return 1;
		printf("%d\n", root);
		return 0;
	}
	close(fds[0]);
	setsid();
	int fd = open("/dev/null", 0);
	dup2(fd, 0); dup2(fd, 1); dup2(fd, 2);
	for (int i = 3; i < 1024; i++)
		if (i != fds[1])
			close(i);
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	if (!strcmp(argv[1], "procs") || groups) {
		int ready[2];
		if (pipe(ready)) return 1;
		for (int i = 0; i < n; i++) {
			pid_t p = fork();
			if (p < 0) return 1;
			if (p == 0) {
				if (groups && setpgid(0, 0)) _exit(1);
				close(fds[1]);
				close(ready[0]);
				for (int j = 0; j < per; j++) {
					pthread_t t;
					if (pthread_create(&t, &a, sleeper, NULL)) _exit(1);
				}
				if (write(ready[1], "c", 1) != 1) _exit(1);
				close(ready[1]);
				for (;;) pause();
			}
		}
		close(ready[1]);
		char c;
		for (int i = 0; i < n; i++)
			if (read(ready[0], &c, 1) != 1) return 1;
		close(ready[0]);
	} else {
		for (int i = 0; i < n; i++) {
			pthread_t t;
			if (pthread_create(&t, &a, sleeper, NULL)) return 1;
		}
	}
	if (write(fds[1], "r", 1) != 1) return 1;
	close(fds[1]);
	for (;;) pause();
}
