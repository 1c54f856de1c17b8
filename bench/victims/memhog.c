// Benchmark victim: maps SIZE MiB of private anonymous memory, dirties PCT percent of its pages with a
// pattern that depends on the address, writes "ready" to stdout and sleeps. On SIGUSR1 it checks every
// touched page and prints "ok N" or "BAD page N". With "prewarm" it touches and frees SIZE MiB and exits:
// this VM hands freed memory back to the host, and the first touch of it again is slow.
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile sig_atomic_t check;
static void on_usr1(int s) { (void)s; check = 1; }

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: memhog SIZE_MIB [PCT] | memhog prewarm SIZE_MIB\n"); return 2; }
    int prewarm = strcmp(argv[1], "prewarm") == 0;
    size_t mib = strtoull(argv[prewarm ? 2 : 1], NULL, 10);
    size_t pct = (!prewarm && argc > 2) ? strtoull(argv[2], NULL, 10) : 100;
    size_t len = mib << 20, page = 4096, npages = len / page;
    uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    if (prewarm) {
        for (size_t i = 0; i < npages; i++) p[i * page] = 1;
        munmap(p, len);
        return 0;
    }
    // Touched pages spread evenly: every (100/pct)-th page, as a program that uses part of a big arena.
    size_t step = pct >= 100 ? 1 : 100 / (pct ? pct : 1);
    for (size_t i = 0; i < npages; i += step) {
        uint64_t *q = (uint64_t *)(p + i * page);
        for (size_t j = 0; j < page / 8; j++) q[j] = (i * 512 + j) * 0x9E3779B97F4A7C15ull;
    }
    signal(SIGUSR1, on_usr1);
    printf("ready %zu\n", npages / step);
    fflush(stdout);
    for (;;) {
        pause();
        if (!check) continue;
        check = 0;
        size_t n = 0;
        for (size_t i = 0; i < npages; i += step, n++) {
            uint64_t *q = (uint64_t *)(p + i * page);
            for (size_t j = 0; j < page / 8; j++)
                if (q[j] != (i * 512 + j) * 0x9E3779B97F4A7C15ull) { printf("BAD page %zu\n", i); fflush(stdout); goto next; }
        }
        printf("ok %zu\n", n);
        fflush(stdout);
    next:;
    }
}
