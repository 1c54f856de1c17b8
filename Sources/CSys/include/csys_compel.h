// Wrappers and constants Compel needs beyond the common CSys set.
#ifndef CSYS_COMPEL_H
#define CSYS_COMPEL_H
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CSYS_WALL        0x40000000
#define CSYS_WNOHANG     1

// Kernel-internal syscall restart codes that leak into a stopped task's rax.
#define CSYS_ERESTARTSYS           512
#define CSYS_ERESTARTNOINTR        513
#define CSYS_ERESTARTNOHAND        514
#define CSYS_ERESTART_RESTARTBLOCK 516

#define CSYS_NR_restart_syscall    219

/// memmem(3), which string.h declares only under _GNU_SOURCE.
void *memmem(const void *haystack, size_t haystacklen, const void *needle, size_t needlelen);
static inline const void *csys_memmem(const void *haystack, size_t hlen, const void *needle, size_t nlen) {
    return memmem(haystack, hlen, needle, nlen);
}

/// CPUID with a sub-leaf; xsave component offsets and sizes live in leaf 0xD.
static inline void csys_cpuid_count(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d) {
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

/// waitpid on one tid; returns the pid, 0 when nothing is ready (WNOHANG), -1 with errno.
static inline int csys_waitpid(int pid, int *status, int options) {
    return waitpid(pid, status, options);
}

static inline int csys_tgkill(int tgid, int tid, int sig) {
    return (int)syscall(SYS_tgkill, tgid, tid, sig);
}

#endif
