// Victim processes for the Compel tests. argv[1] picks what the victim does; it reports on stdout, one line
// per event, and the test drives it through stdin. Every mode reports the raw result and errno of the call
// it was blocked in, so an EINTR leaking out of a seize shows up.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static void say(const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    buf[n++] = '\n';
    if (write(1, buf, n) < 0) _exit(9);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t work[4096];

// Computes a known value over and over until stdin says stop; any wrong result exits with 3.
static int compute(void) {
    for (int i = 0; i < 4096; i++) work[i] = (uint64_t)i * 2654435761u;
    uint64_t expect = 0;
    for (int i = 0; i < 4096; i++) expect += work[i] ^ (work[i] >> 7);
    say("ready %d", getpid());
    long rounds = 0;
    for (;;) {
        uint64_t sum = 0;
        for (int i = 0; i < 4096; i++) sum += work[i] ^ (work[i] >> 7);
        if (sum != expect) { say("wrong %lu", (unsigned long)sum); return 3; }
        rounds++;
        char c;
        ssize_t n = read(0, &c, 1);  // stdin is non-blocking in this mode
        if (n == 1 || n == 0) break;
        if (errno != EAGAIN) { say("read errno %d", errno); return 4; }
    }
    say("ok %ld", rounds);
    return 0;
}

static uint32_t futex_word;
static int futex_timeout;

static void *futex_waiter(void *arg) {
    (void)arg;
    say("waiter %ld", (long)syscall(SYS_gettid));
    struct timespec ts = {30, 0};
    long r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, futex_timeout ? &ts : NULL, NULL, 0);
    say("woken %ld %d word %u", r, r < 0 ? errno : 0, futex_word);
    return NULL;
}

static void *sleeper(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *mode = argc > 1 ? argv[1] : "pause";
    if (!strcmp(mode, "compute")) {
        if (fcntl(0, F_SETFL, O_NONBLOCK) < 0) return 5;
        return compute();
    }
    if (!strcmp(mode, "pause")) {
        say("ready %d", getpid());
        for (;;) pause();
    }
    if (!strcmp(mode, "read")) {
        say("ready %d", getpid());
        char buf[64];
        ssize_t n = read(0, buf, sizeof buf - 1);
        int e = n < 0 ? errno : 0;
        if (n > 0) buf[n] = 0; else buf[0] = 0;
        while (n > 0 && (buf[n - 1] == '\n')) buf[--n] = 0;
        say("read %zd %d %s", n, e, buf);
        return 0;
    }
    if (!strcmp(mode, "sleep")) {
        long ms = argc > 2 ? atol(argv[2]) : 1000;
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
        say("ready %d", getpid());
        double t0 = now_ms();
        int r = nanosleep(&ts, NULL);
        int e = r < 0 ? errno : 0;
        say("slept %d %d %.0f", r, e, now_ms() - t0);
        return 0;
    }
    if (!strcmp(mode, "futex") || !strcmp(mode, "futex-timeout")) {
        futex_timeout = !strcmp(mode, "futex-timeout");
        pthread_t th;
        pthread_create(&th, NULL, futex_waiter, NULL);
        say("ready %d", getpid());
        char c;
        if (read(0, &c, 1) != 1) return 6;
        __atomic_store_n(&futex_word, 1, __ATOMIC_SEQ_CST);
        syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
        pthread_join(th, NULL);
        return 0;
    }
    if (!strcmp(mode, "threads")) {
        int n = argc > 2 ? atoi(argv[2]) : 50;
        for (int i = 0; i < n - 1; i++) {
            pthread_t th;
            if (pthread_create(&th, NULL, sleeper, NULL)) { say("pthread_create failed"); return 7; }
        }
        say("ready %d", getpid());
        for (;;) pause();
    }
    if (!strcmp(mode, "pipe")) {
        int p[2];
        if (pipe(p) < 0) return 8;
        const char msg[] = "written by the victim";
        if (write(p[1], msg, sizeof msg - 1) != sizeof msg - 1) return 8;
        say("ready %d %d", getpid(), p[0]);
        for (;;) pause();
    }
    if (!strcmp(mode, "novdso")) {
        // Unmap [vdso] and [vvar*]; pause() goes through libc's own syscall instruction, not the vdso.
        FILE *f = fopen("/proc/self/maps", "r");
        char line[512];
        unsigned long ranges[8][2];
        int nr = 0;
        while (f && fgets(line, sizeof line, f) && nr < 8)
            if (strstr(line, "[vdso]") || strstr(line, "[vvar")) {
                sscanf(line, "%lx-%lx", &ranges[nr][0], &ranges[nr][1]);
                nr++;
            }
        if (f) fclose(f);
        for (int i = 0; i < nr; i++) munmap((void *)ranges[i][0], ranges[i][1] - ranges[i][0]);
        say("ready %d", getpid());
        for (;;) pause();
    }
    if (!strcmp(mode, "tracer")) {
        // A second tracer for the EPERM test: it holds argv[2] seized until it is killed.
        pid_t pid = atoi(argv[2]);
        if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0) { say("seize failed %d", errno); return 10; }
        say("traced %d", pid);
        for (;;) pause();
    }
    say("unknown mode %s", mode);
    return 2;
}
