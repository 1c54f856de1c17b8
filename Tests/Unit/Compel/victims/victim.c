// Victim processes for the Compel tests. argv[1] picks what the victim does; it reports on stdout, one line
// per event, and the test drives it through stdin. Every mode reports the raw result and errno of the call
// it was blocked in, so an EINTR leaking out of a seize shows up.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
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

static void on_usr1(int sig) {
    (void)sig;
    const char m[] = "usr1\n";
    if (write(1, m, sizeof m - 1) < 0) _exit(9);
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

// Vector registers: fill them with a known pattern, spin without touching them until the test sets `go`
// (through remote memory), then store them and compare. Compel must read the pattern from xsave while the
// victim spins, and cure must leave it intact.
static volatile uint32_t vec_go, vec_loaded;
static uint8_t vec_src[2112] __attribute__((aligned(64))), vec_dst[2112] __attribute__((aligned(64)));

static void vec_pattern(int zmm) {
    for (int i = 0; i < 2112; i++) vec_src[i] = zmm ? (uint8_t)(i ^ 0xa5) : (uint8_t)(i ^ 0x5a);
    say("ready %d %lx %lx", getpid(), (unsigned long)&vec_go, (unsigned long)&vec_loaded);
}

static int vec_check(int bytes) {
    for (int i = 0; i < bytes; i++)
        if (vec_src[i] != vec_dst[i]) { say("vec bad %d", i); return 11; }
    say("vec ok");
    return 0;
}

static int ymm_victim(void) {
    vec_pattern(0);
    __asm__ volatile(
        "vmovdqu 0(%[src]), %%ymm0\n"
        "vmovdqu 32(%[src]), %%ymm1\n"
        "vmovdqu 64(%[src]), %%ymm2\n"
        "vmovdqu 96(%[src]), %%ymm3\n"
        "vmovdqu 128(%[src]), %%ymm4\n"
        "vmovdqu 160(%[src]), %%ymm5\n"
        "vmovdqu 192(%[src]), %%ymm6\n"
        "vmovdqu 224(%[src]), %%ymm7\n"
        "vmovdqu 256(%[src]), %%ymm8\n"
        "vmovdqu 288(%[src]), %%ymm9\n"
        "vmovdqu 320(%[src]), %%ymm10\n"
        "vmovdqu 352(%[src]), %%ymm11\n"
        "vmovdqu 384(%[src]), %%ymm12\n"
        "vmovdqu 416(%[src]), %%ymm13\n"
        "vmovdqu 448(%[src]), %%ymm14\n"
        "vmovdqu 480(%[src]), %%ymm15\n"
        "movl $1, (%[loaded])\n"
        "1: pause\n"
        "cmpl $0, (%[go])\n"
        "je 1b\n"
        "vmovdqu %%ymm0, 0(%[dst])\n"
        "vmovdqu %%ymm1, 32(%[dst])\n"
        "vmovdqu %%ymm2, 64(%[dst])\n"
        "vmovdqu %%ymm3, 96(%[dst])\n"
        "vmovdqu %%ymm4, 128(%[dst])\n"
        "vmovdqu %%ymm5, 160(%[dst])\n"
        "vmovdqu %%ymm6, 192(%[dst])\n"
        "vmovdqu %%ymm7, 224(%[dst])\n"
        "vmovdqu %%ymm8, 256(%[dst])\n"
        "vmovdqu %%ymm9, 288(%[dst])\n"
        "vmovdqu %%ymm10, 320(%[dst])\n"
        "vmovdqu %%ymm11, 352(%[dst])\n"
        "vmovdqu %%ymm12, 384(%[dst])\n"
        "vmovdqu %%ymm13, 416(%[dst])\n"
        "vmovdqu %%ymm14, 448(%[dst])\n"
        "vmovdqu %%ymm15, 480(%[dst])\n"
        : : [src] "r"(vec_src), [dst] "r"(vec_dst), [go] "r"(&vec_go), [loaded] "r"(&vec_loaded)
        : "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
    return vec_check(512);
}

__attribute__((target("avx512f,avx512bw")))
static int zmm_victim(void) {
    vec_pattern(1);
    __asm__ volatile(
        "vmovdqu64 0(%[src]), %%zmm0\n"
        "vmovdqu64 64(%[src]), %%zmm1\n"
        "vmovdqu64 128(%[src]), %%zmm2\n"
        "vmovdqu64 192(%[src]), %%zmm3\n"
        "vmovdqu64 256(%[src]), %%zmm4\n"
        "vmovdqu64 320(%[src]), %%zmm5\n"
        "vmovdqu64 384(%[src]), %%zmm6\n"
        "vmovdqu64 448(%[src]), %%zmm7\n"
        "vmovdqu64 512(%[src]), %%zmm8\n"
        "vmovdqu64 576(%[src]), %%zmm9\n"
        "vmovdqu64 640(%[src]), %%zmm10\n"
        "vmovdqu64 704(%[src]), %%zmm11\n"
        "vmovdqu64 768(%[src]), %%zmm12\n"
        "vmovdqu64 832(%[src]), %%zmm13\n"
        "vmovdqu64 896(%[src]), %%zmm14\n"
        "vmovdqu64 960(%[src]), %%zmm15\n"
        "vmovdqu64 1024(%[src]), %%zmm16\n"
        "vmovdqu64 1088(%[src]), %%zmm17\n"
        "vmovdqu64 1152(%[src]), %%zmm18\n"
        "vmovdqu64 1216(%[src]), %%zmm19\n"
        "vmovdqu64 1280(%[src]), %%zmm20\n"
        "vmovdqu64 1344(%[src]), %%zmm21\n"
        "vmovdqu64 1408(%[src]), %%zmm22\n"
        "vmovdqu64 1472(%[src]), %%zmm23\n"
        "vmovdqu64 1536(%[src]), %%zmm24\n"
        "vmovdqu64 1600(%[src]), %%zmm25\n"
        "vmovdqu64 1664(%[src]), %%zmm26\n"
        "vmovdqu64 1728(%[src]), %%zmm27\n"
        "vmovdqu64 1792(%[src]), %%zmm28\n"
        "vmovdqu64 1856(%[src]), %%zmm29\n"
        "vmovdqu64 1920(%[src]), %%zmm30\n"
        "vmovdqu64 1984(%[src]), %%zmm31\n"
        "kmovq 2056(%[src]), %%k1\n"
        "kmovq 2064(%[src]), %%k2\n"
        "kmovq 2072(%[src]), %%k3\n"
        "kmovq 2080(%[src]), %%k4\n"
        "kmovq 2088(%[src]), %%k5\n"
        "kmovq 2096(%[src]), %%k6\n"
        "kmovq 2104(%[src]), %%k7\n"
        "movl $1, (%[loaded])\n"
        "1: pause\n"
        "cmpl $0, (%[go])\n"
        "je 1b\n"
        "vmovdqu64 %%zmm0, 0(%[dst])\n"
        "vmovdqu64 %%zmm1, 64(%[dst])\n"
        "vmovdqu64 %%zmm2, 128(%[dst])\n"
        "vmovdqu64 %%zmm3, 192(%[dst])\n"
        "vmovdqu64 %%zmm4, 256(%[dst])\n"
        "vmovdqu64 %%zmm5, 320(%[dst])\n"
        "vmovdqu64 %%zmm6, 384(%[dst])\n"
        "vmovdqu64 %%zmm7, 448(%[dst])\n"
        "vmovdqu64 %%zmm8, 512(%[dst])\n"
        "vmovdqu64 %%zmm9, 576(%[dst])\n"
        "vmovdqu64 %%zmm10, 640(%[dst])\n"
        "vmovdqu64 %%zmm11, 704(%[dst])\n"
        "vmovdqu64 %%zmm12, 768(%[dst])\n"
        "vmovdqu64 %%zmm13, 832(%[dst])\n"
        "vmovdqu64 %%zmm14, 896(%[dst])\n"
        "vmovdqu64 %%zmm15, 960(%[dst])\n"
        "vmovdqu64 %%zmm16, 1024(%[dst])\n"
        "vmovdqu64 %%zmm17, 1088(%[dst])\n"
        "vmovdqu64 %%zmm18, 1152(%[dst])\n"
        "vmovdqu64 %%zmm19, 1216(%[dst])\n"
        "vmovdqu64 %%zmm20, 1280(%[dst])\n"
        "vmovdqu64 %%zmm21, 1344(%[dst])\n"
        "vmovdqu64 %%zmm22, 1408(%[dst])\n"
        "vmovdqu64 %%zmm23, 1472(%[dst])\n"
        "vmovdqu64 %%zmm24, 1536(%[dst])\n"
        "vmovdqu64 %%zmm25, 1600(%[dst])\n"
        "vmovdqu64 %%zmm26, 1664(%[dst])\n"
        "vmovdqu64 %%zmm27, 1728(%[dst])\n"
        "vmovdqu64 %%zmm28, 1792(%[dst])\n"
        "vmovdqu64 %%zmm29, 1856(%[dst])\n"
        "vmovdqu64 %%zmm30, 1920(%[dst])\n"
        "vmovdqu64 %%zmm31, 1984(%[dst])\n"
        "kmovq %%k1, 2056(%[dst])\n"
        "kmovq %%k2, 2064(%[dst])\n"
        "kmovq %%k3, 2072(%[dst])\n"
        "kmovq %%k4, 2080(%[dst])\n"
        "kmovq %%k5, 2088(%[dst])\n"
        "kmovq %%k6, 2096(%[dst])\n"
        "kmovq %%k7, 2104(%[dst])\n"
        : : [src] "r"(vec_src), [dst] "r"(vec_dst), [go] "r"(&vec_go), [loaded] "r"(&vec_loaded)
        : "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k1", "k2", "k3", "k4", "k5", "k6", "k7");
    for (int i = 0; i < 8; i++) vec_src[2048 + i] = 0;  // k0 is not loaded
    return vec_check(2048 + 64);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *mode = argc > 1 ? argv[1] : "pause";
    if (!strcmp(mode, "compute")) {
        if (fcntl(0, F_SETFL, O_NONBLOCK) < 0) return 5;
        // One CPU: the kernel's rseq cpu_id update then cannot change the memory the test checksums.
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(sched_getcpu(), &one);
        sched_setaffinity(0, sizeof one, &one);
        return compute();
    }
    if (!strcmp(mode, "segv-handler")) {
        // A SIGSEGV handler and a blocked SIGUSR2: a fault in injected code must leave both as they are.
        struct sigaction sa = {0};
        sa.sa_handler = on_usr1;
        sa.sa_flags = SA_RESTART | SA_NODEFER;
        sigaddset(&sa.sa_mask, SIGHUP);
        sigaction(SIGSEGV, &sa, NULL);
        sigset_t m;
        sigemptyset(&m);
        sigaddset(&m, SIGUSR2);
        sigprocmask(SIG_BLOCK, &m, NULL);
        say("ready %d", getpid());
        for (;;) pause();
    }
    if (!strcmp(mode, "memory")) {
        // 16 MiB of written pages, for discarding before a kill.
        size_t len = 16 << 20;
        unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return 6;
        memset(m, 0xa5, len);
        say("memory %lx %zu", (unsigned long)m, len);
        for (;;) pause();
    }
    if (!strcmp(mode, "pause")) {
        say("ready %d", getpid());
        for (;;) pause();
    }
    if (!strcmp(mode, "read") || !strcmp(mode, "read-usr1")) {
        if (!strcmp(mode, "read-usr1")) {
            struct sigaction sa = {0};
            sa.sa_handler = on_usr1;  // no SA_RESTART: a blocked read returns EINTR
            sigaction(SIGUSR1, &sa, NULL);
        }
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
    if (!strcmp(mode, "spawner")) {
        // Keeps creating threads, so a seize races with clone().
        say("ready %d", getpid());
        for (int i = 0; i < 300; i++) {
            pthread_t th;
            if (pthread_create(&th, NULL, sleeper, NULL)) { say("pthread_create failed %d", i); return 7; }
            usleep(200);
        }
        say("done 300");
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
    if (!strcmp(mode, "ymm")) return ymm_victim();
    if (!strcmp(mode, "zmm")) return zmm_victim();
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
