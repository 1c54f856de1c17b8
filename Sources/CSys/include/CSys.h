// CSys: the thin layer Swift needs to reach the kernel. Variadic libc calls get fixed-arity wrappers,
// function-like macros become inline functions, and kernel structs/constants that Debian's headers
// lack are declared here. No logic lives here.
#ifndef CSYS_H
#define CSYS_H

// No _GNU_SOURCE here: the headers must parse exactly as in Swift's Glibc module, or the two modules
// disagree on shared libc types.
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sched.h>
#include <elf.h>
#include <sys/types.h>
#include <sys/syscall.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <linux/sched.h>
#include <linux/rseq.h>
#include <linux/userfaultfd.h>

#include "csys_consts.h"
#include "csys_structs.h"
#include "csys_syscalls.h"
#include "csys_compel.h"
#include "csys_files.h"
#include "csys_bpf.h"
#include "csys_vfork.h"
#include "csys_locks.h"
#include "csys_ns.h"
#include "csys_speed.h"
#include "csys_scale.h"
#include "csys_batch.h"

// MARK: variadic calls with fixed arity

/// Raw syscall; returns -1 and sets errno on failure, like glibc's syscall().
static inline long csys_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
    return syscall(nr, a1, a2, a3, a4, a5, a6);
}

static inline long csys_ptrace(long request, pid_t pid, void *addr, void *data) {
    return ptrace((enum __ptrace_request)request, pid, addr, data);
}

/// PTRACE_PEEK* return the word; errno tells a failure apart from a word equal to -1.
static inline long csys_ptrace_peek(long request, pid_t pid, void *addr, int *err) {
    errno = 0;
    long v = ptrace((enum __ptrace_request)request, pid, addr, NULL);
    *err = errno;
    return v;
}

static inline int csys_ioctl(int fd, unsigned long request, void *arg) {
    return ioctl(fd, request, arg);
}

static inline int csys_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5) {
    return prctl(option, a2, a3, a4, a5);
}

static inline int csys_fcntl(int fd, int cmd, long arg) {
    return fcntl(fd, cmd, arg);
}

static inline int csys_open(const char *path, int flags, mode_t mode) {
    return open(path, flags, mode);
}

static inline int csys_openat(int dirfd, const char *path, int flags, mode_t mode) {
    return openat(dirfd, path, flags, mode);
}

/// stat(2) under a name Swift does not confuse with `struct stat`.
static inline int csys_stat(const char *path, struct stat *st) { return stat(path, st); }
static inline int csys_fstat(int fd, struct stat *st) { return fstat(fd, st); }

static inline int csys_errno(void) { return errno; }
static inline void csys_set_errno(int e) { errno = e; }

// MARK: wait status macros

static inline int csys_wifexited(int s) { return WIFEXITED(s); }
static inline int csys_wexitstatus(int s) { return WEXITSTATUS(s); }
static inline int csys_wifsignaled(int s) { return WIFSIGNALED(s); }
static inline int csys_wtermsig(int s) { return WTERMSIG(s); }
static inline int csys_wifstopped(int s) { return WIFSTOPPED(s); }
static inline int csys_wstopsig(int s) { return WSTOPSIG(s); }
/// The PTRACE_EVENT_* number of a ptrace-stop (0 when none).
static inline int csys_wptrace_event(int s) { return (s >> 16) & 0xff; }

// MARK: signal sets (the kernel's sigset is 64 bits on x86-64)

static inline uint64_t csys_sigset_to_mask(const sigset_t *set) {
    uint64_t m = 0;
    for (int sig = 1; sig <= 64; sig++)
        if (sigismember(set, sig) == 1) m |= (1ULL << (sig - 1));
    return m;
}

static inline void csys_mask_to_sigset(uint64_t m, sigset_t *set) {
    sigemptyset(set);
    for (int sig = 1; sig <= 64; sig++)
        if (m & (1ULL << (sig - 1))) sigaddset(set, sig);
}

// MARK: siginfo accessors (the union is awkward in Swift)

static inline int csys_siginfo_signo(const siginfo_t *si) { return si->si_signo; }
static inline int csys_siginfo_code(const siginfo_t *si) { return si->si_code; }
static inline int csys_siginfo_errno(const siginfo_t *si) { return si->si_errno; }
static inline pid_t csys_siginfo_pid(const siginfo_t *si) { return si->si_pid; }
static inline uid_t csys_siginfo_uid(const siginfo_t *si) { return si->si_uid; }
static inline int csys_siginfo_status(const siginfo_t *si) { return si->si_status; }
static inline void *csys_siginfo_addr(const siginfo_t *si) { return si->si_addr; }

// MARK: CPU

/// Size of the XSAVE area the kernel exposes through NT_X86_XSTATE (CPUID leaf 0xD, sub-leaf 0, EBX).
static inline uint32_t csys_xsave_size(void) {
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xd), "c"(0));
    return b;
}

#endif
