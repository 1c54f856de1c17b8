/* Benchmark victim: a process holding N fds of mixed kinds (pipes with data, eventfd, timerfd,
 * signalfd, regular files, dups, epoll with targets, inotify). Prints its pid once ready. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	const char *file = argc > 2 ? argv[2] : "/tmp/fdmix.data";
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) || (rlim_t)n + 16 > rl.rlim_max) {
		fprintf(stderr, "need %d fds, limit %llu\n", n, (unsigned long long)rl.rlim_max);
		return 1;
	}
	int ready[2];
	closefrom(3); /* whatever the caller leaked must not count */
	if (pipe(ready))
		return 1;
	pid_t pid = fork();
	if (pid) {
		char c;
		close(ready[1]);
		if (read(ready[0], &c, 1) != 1)
			return 1;
		printf("%d\n", pid);
		return 0;
	}
	setsid();
	close(ready[0]);
	int dn = open("/dev/null", O_RDWR);
	dup2(dn, 0); dup2(dn, 1); dup2(dn, 2);
	close(dn);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int made = 3 + 1; /* stdio + ready pipe */
	int ep = -1, in = -1;
	while (made < n) {
		int k = made % 10, fd = -1;
		switch (k) {
		case 0: case 1: {
			int p[2];
			if (pipe(p)) return 1;
			if (write(p[1], "0123456789abcdef", 16) != 16) return 1;
			made += 2;
			continue;
		}
		case 2: fd = eventfd(made, EFD_NONBLOCK); break;
		case 3: {
			fd = timerfd_create(CLOCK_MONOTONIC, 0);
			struct itimerspec its = { { 100, 0 }, { 100, 0 } };
			timerfd_settime(fd, 0, &its, NULL);
			break;
		}
		case 4: fd = signalfd(-1, &set, 0); break;
		case 5: fd = open(file, O_RDWR | O_CREAT, 0600); break;
		case 6: fd = open("/dev/null", O_RDONLY); break;
		case 7: fd = dup(made - 1); break;
		case 8:
			if (ep < 0) { ep = epoll_create1(0); fd = ep; break; }
			{
				struct epoll_event e = { .events = EPOLLIN, .data.u64 = made };
				if (epoll_ctl(ep, EPOLL_CTL_ADD, made - 6, &e) == 0 || 1)
					fd = eventfd(0, 0);
			}
			break;
		case 9:
			if (in < 0) { in = inotify_init1(0); inotify_add_watch(in, "/tmp", IN_CREATE); fd = in; break; }
			fd = open("/dev/zero", O_RDONLY);
			break;
		}
		if (fd < 0) { perror("fd"); return 1; }
		made++;
	}
	if (write(ready[1], "x", 1) != 1)
		return 1;
	close(ready[1]);
	for (;;)
		pause();
}
