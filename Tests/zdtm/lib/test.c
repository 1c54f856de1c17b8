/* Start-up, ready protocol and verdicts. */
#define _GNU_SOURCE
#include "zdtmtst.h"
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <time.h>
#include <stdint.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>

const char *zdtm_filename;
const char *zdtm_dirname;

#define MAX_OPTS 32
static struct { const char *name; const char *value; } opts[MAX_OPTS];
static int nr_opts;
static const char *pidfile;
/* Ready flag shared with the starter. Not a pipe: an fd closed right after signalling would race the
 * runner's first look at the fd table, and children forked during set-up would inherit it. */
static volatile uint32_t *ready_word;
enum { STARTING, READY };
static int keep_root;
static volatile sig_atomic_t got_sigterm;

void test_keep_root(void) { keep_root = 1; }

const char *test_opt(const char *name)
{
	for (int i = 0; i < nr_opts; i++)
		if (!strcmp(opts[i].name, name))
			return opts[i].value;
	return NULL;
}

static void sigterm_handler(int sig) { (void)sig; got_sigterm = 1; }

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *a = argv[i], *eq;
		if (strncmp(a, "--", 2) || !(eq = strchr(a, '='))) {
			fprintf(stderr, "%s: bad argument '%s' (want --name=value)\n", argv[0], a);
			exit(2);
		}
		if (nr_opts == MAX_OPTS) {
			fprintf(stderr, "%s: too many arguments\n", argv[0]);
			exit(2);
		}
		*eq = '\0';
		opts[nr_opts].name = a + 2;
		opts[nr_opts].value = eq + 1;
		nr_opts++;
	}
	pidfile = test_opt("pidfile");
	zdtm_filename = test_opt("filename");
	zdtm_dirname = test_opt("dirname");
	if (!pidfile || !test_opt("outfile")) {
		fprintf(stderr, "%s: --pidfile= and --outfile= are required\n", argv[0]);
		exit(2);
	}
}

/* The starter's whole job: wait until the test is ready (or died), publish its pid, go. */
static void starter(pid_t child)
{
	for (;;) {
		if (__atomic_load_n(ready_word, __ATOMIC_SEQ_CST) == READY)
			break;
		int st;
		if (waitpid(child, &st, WNOHANG) == child)
			exit(1);
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		syscall(SYS_futex, ready_word, FUTEX_WAIT, STARTING, &ts, NULL, 0);
	}
	char tmp[4096], buf[32];
	snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		exit(1);
	int len = snprintf(buf, sizeof(buf), "%d\n", child);
	if (write(fd, buf, len) != len || close(fd) || rename(tmp, pidfile))
		exit(1);
	exit(0);
}

static void drop_privileges(uid_t uid, gid_t gid)
{
	gid_t groups[] = { gid, ZDTM_GROUP2 };
	if (setgroups(2, groups) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
		pr_perror("can't drop privileges to %d:%d", (int)uid, (int)gid);
	/* A uid change clears the dumpable flag, which would hide our own /proc entries from us. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
		pr_perror("PR_SET_DUMPABLE");
}

void test_init(int argc, char **argv)
{
	parse_args(argc, argv);
	/* Whatever the runner's own parent left open is not part of the test's state. */
	syscall(SYS_close_range, 3, ~0U, 0);
	int out = open(test_opt("outfile"), O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (out < 0) {
		fprintf(stderr, "can't open outfile %s: %s\n", test_opt("outfile"), strerror(errno));
		exit(2);
	}
	int null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) {
		fprintf(stderr, "can't set up stdio: %s\n", strerror(errno));
		exit(2);
	}
	if (null > 2)
		close(null);
	if (out > 2)
		close(out);
	setvbuf(stdout, NULL, _IOLBF, 0);
	setvbuf(stderr, NULL, _IONBF, 0);

	ready_word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ready_word == MAP_FAILED)
		pr_perror("mmap ready word");
	*ready_word = STARTING;
	pid_t pid = fork();
	if (pid < 0)
		pr_perror("fork");
	if (pid > 0)
		starter(pid);
	/* Own session: the test does not hang on the runner's terminal or process group. */
	if (setsid() < 0)
		pr_perror("setsid");

	struct sigaction sa = { .sa_handler = sigterm_handler };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL))
		pr_perror("sigaction(SIGTERM)");

	const char *uid = test_opt("uid"), *gid = test_opt("gid");
	if (!keep_root && uid && atoi(uid) != 0)
		drop_privileges(atoi(uid), gid ? atoi(gid) : ZDTM_GID);
	test_msg("started (uid %d gid %d)", (int)getuid(), (int)getgid());
}

void test_daemon(void)
{
	if (!ready_word || *ready_word != STARTING)
		fail("test_daemon() called twice or before test_init()");
	/* The message first: once the starter is released, the runner may look at us at any moment. */
	test_msg("ready");
	__atomic_store_n(ready_word, READY, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, ready_word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

int test_go(void) { return !got_sigterm; }

void test_waitsig(void)
{
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old);
	while (!got_sigterm) {
		sigset_t wait = old;
		sigdelset(&wait, SIGTERM);
		sigsuspend(&wait);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static void vmsg(const char *prefix, const char *file, int line, const char *fmt, va_list ap)
{
	char text[2048];
	vsnprintf(text, sizeof(text), fmt, ap);
	if (prefix) {
		/* Verdict lines carry no timestamp so the runner can take the last line as it is. */
		dprintf(1, "%s: %s:%d: %s\n", prefix, file, line, text);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	localtime_r(&ts.tv_sec, &tm);
	dprintf(1, "%02d:%02d:%02d.%03ld: %d: %s (%s:%d)\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, (int)getpid(), text, file, line);
}

void test_msg_at(const char *file, int line, const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	vmsg(NULL, file, line, fmt, ap);
	va_end(ap);
	errno = e;
}

void test_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg("FAIL", file, line, fmt, ap);
	va_end(ap);
	_exit(1);
}

void test_skip_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg("SKIP", file, line, fmt, ap);
	va_end(ap);
	/* Before ready the starter sees the pipe close and fails; the runner then reads SKIP from the outfile. */
	_exit(0);
}

void test_pass(void)
{
	dprintf(1, "PASS\n");
	exit(0);
}
