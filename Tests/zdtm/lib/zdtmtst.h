/* The ZDTM test library: what every test program needs to talk to the runner.
 *
 * Protocol: the runner starts a test with --pidfile=P --outfile=O (and --filename=/--dirname= when the test
 * wants a scratch path). test_init() forks: the child becomes the test, the parent (the "starter") waits
 * until the child calls test_daemon(), writes the child's pid into P and exits 0. The test then waits for
 * SIGTERM (test_waitsig), checks its state and writes PASS or FAIL as the last line of O. */
#ifndef ZDTMTST_H
#define ZDTMTST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <signal.h>
#include <sys/types.h>

/* Scratch paths given by the runner (NULL when not given). */
extern const char *zdtm_filename;
extern const char *zdtm_dirname;

/* Parses --name=value arguments, redirects stdout/stderr to the outfile, forks the starter, drops to the
 * unprivileged uid/gid given with --uid/--gid (unless test_keep_root() was declared by TEST_KEEP_ROOT). */
void test_init(int argc, char **argv);
/* The value of a test-specific --name=value argument, or NULL. */
const char *test_opt(const char *name);
/* Tells the starter the test is ready: it writes the pidfile and exits. */
void test_daemon(void);
/* Blocks until SIGTERM arrived. */
void test_waitsig(void);
/* For transition tests: true until SIGTERM arrived. */
int test_go(void);
/* Declares, before test_init, that the test needs root (desc flag "suid"). */
void test_keep_root(void);

void test_msg_at(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void test_fail_at(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4), noreturn));
void test_skip_at(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4), noreturn));
void test_pass(void) __attribute__((noreturn));

#define test_msg(...) test_msg_at(__FILE__, __LINE__, __VA_ARGS__)
/* fail(): the test's verdict is FAIL with this reason; the process exits 1. */
#define fail(...) test_fail_at(__FILE__, __LINE__, __VA_ARGS__)
/* pr_perror(): like fail() but appends errno's text. */
#define pr_perror(fmt, ...) test_fail_at(__FILE__, __LINE__, fmt ": %s", ##__VA_ARGS__, strerror(errno))
#define skip(...) test_skip_at(__FILE__, __LINE__, __VA_ARGS__)
#define pass() test_pass()
/* Checks a condition; on failure the verdict is FAIL with the expression text. */
#define check(cond, ...) do { if (!(cond)) test_fail_at(__FILE__, __LINE__, "check '%s' failed: " __VA_ARGS__, #cond); } while (0)

/* Deterministic data: the same seed gives the same bytes; datachk returns 0 when buf holds them. */
void datagen(void *buf, size_t len, uint32_t seed);
int datachk(const void *buf, size_t len, uint32_t seed);
uint32_t zdtm_crc32(const void *buf, size_t len);

/* Full-length read/write (retrying on EINTR and short transfers); -1 on error or early EOF. */
int write_all(int fd, const void *buf, size_t len);
int read_all(int fd, void *buf, size_t len);

/* Cross-process waiters on a shared futex: one side completes a step, the other waits for it. */
typedef struct { volatile uint32_t step; } task_waiter_t;
task_waiter_t *task_waiter_new(void);   /* in MAP_SHARED memory, survives fork */
void task_waiter_complete(task_waiter_t *w, uint32_t step);
void task_waiter_wait4(task_waiter_t *w, uint32_t step);
/* Adds one step (for several processes checking in); wakes the waiters. */
void task_waiter_add(task_waiter_t *w);

/* The uid/gid (and supplementary groups) tests run as unless they keep root. */
#define ZDTM_UID 18943
#define ZDTM_GID 58467
#define ZDTM_GROUP2 58468

#endif
