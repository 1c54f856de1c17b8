/* fdtable NFDS NKIDS MODE: a parent with NFDS fds and NKIDS children, cloned with CLONE_FILES
 * (MODE=s) or forked (MODE=f). Prints the parent's pid once all exist. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>
static char stack[65536] __attribute__((aligned(16)));
static int child(void *a) { (void)a; for (;;) pause(); return 0; }
int main(int argc, char **argv) {
	int nfds = atoi(argv[1]), nkids = atoi(argv[2]);
	struct rlimit r = { 65536, 65536 };
	setrlimit(RLIMIT_NOFILE, &r);
	for (int i = 0; i < nfds; i++) if (open("/dev/null", O_RDONLY) < 0) return 1;
	for (int i = 0; i < nkids; i++)
		if (clone(child, stack + sizeof(stack), (argv[3][0] == 's' ? CLONE_FILES : 0) | SIGCHLD, NULL) < 0) return 2;
	printf("%d\n", getpid()); fflush(stdout);
	for (;;) pause();
}
