// Named wrappers for syscalls glibc 2.36 does not wrap (or wraps only variadically). Each returns -1 and
// sets errno on failure, like glibc.
#ifndef CSYS_SYSCALLS_H
#define CSYS_SYSCALLS_H
#include <stdint.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/openat2.h>
#include "csys_consts.h"
#include "csys_structs.h"

static inline int csys_sys_pidfd_open(pid_t pid, unsigned int flags) {
    return (int)syscall(CSYS_NR_pidfd_open, pid, flags);
}

static inline int csys_sys_pidfd_getfd(int pidfd, int targetfd, unsigned int flags) {
    return (int)syscall(CSYS_NR_pidfd_getfd, pidfd, targetfd, flags);
}

static inline int csys_sys_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(CSYS_NR_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/// clone3 without a new stack only: the child returns here like fork(), so Swift may call it.
static inline long csys_sys_clone3(struct csys_clone_args *args, size_t size) {
    return syscall(CSYS_NR_clone3, args, size);
}

static inline int csys_sys_userfaultfd(int flags) {
    return (int)syscall(SYS_userfaultfd, flags);
}

static inline int csys_sys_arch_prctl(int code, unsigned long addr) {
    return (int)syscall(SYS_arch_prctl, code, addr);
}

static inline int csys_sys_capget(uint32_t caps[6]) {
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) < 0) return -1;
    caps[0] = d[0].effective;   caps[1] = d[1].effective;
    caps[2] = d[0].permitted;   caps[3] = d[1].permitted;
    caps[4] = d[0].inheritable; caps[5] = d[1].inheritable;
    return 0;
}

static inline int csys_sys_kcmp(pid_t pid1, pid_t pid2, int type, unsigned long idx1, unsigned long idx2) {
    return (int)syscall(SYS_kcmp, pid1, pid2, type, idx1, idx2);
}

static inline int csys_sys_openat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve) {
    struct open_how how = { .flags = flags, .mode = 0, .resolve = resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/// Installs a filter that allows every syscall; used to probe seccomp support.
static inline int csys_sys_seccomp_allow_all(void) {
    struct sock_filter insn = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = { .len = 1, .filter = &insn };
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static inline int csys_sys_memfd_create(const char *name, unsigned int flags) {
    return (int)syscall(SYS_memfd_create, name, flags);
}

static inline int csys_sys_unshare(int flags) {
    return (int)syscall(SYS_unshare, flags);
}

static inline int csys_sys_setns(int fd, int nstype) {
    return (int)syscall(SYS_setns, fd, nstype);
}

static inline long csys_sys_process_vm_readv(pid_t pid, const struct iovec *local, unsigned long liovcnt,
                                             const struct iovec *remote, unsigned long riovcnt) {
    return syscall(SYS_process_vm_readv, pid, local, liovcnt, remote, riovcnt, 0UL);
}

static inline long csys_sys_process_vm_writev(pid_t pid, const struct iovec *local, unsigned long liovcnt,
                                              const struct iovec *remote, unsigned long riovcnt) {
    return syscall(SYS_process_vm_writev, pid, local, liovcnt, remote, riovcnt, 0UL);
}

static inline long csys_sys_get_robust_list(pid_t tid, uint64_t *head, uint64_t *len) {
    return syscall(SYS_get_robust_list, tid, head, len);
}

static inline long csys_sys_set_robust_list(void *head, size_t len) {
    return syscall(SYS_set_robust_list, head, len);
}

static inline int csys_sys_dup3(int oldfd, int newfd, int flags) {
    return (int)syscall(SYS_dup3, oldfd, newfd, flags);
}

static inline int csys_sys_pipe2(int fds[2], int flags) {
    return (int)syscall(SYS_pipe2, fds, flags);
}

static inline long csys_sys_sched_getaffinity(pid_t pid, size_t len, uint64_t *mask) {
    return syscall(SYS_sched_getaffinity, pid, len, mask);
}

static inline long csys_sys_sched_setaffinity(pid_t pid, size_t len, const uint64_t *mask) {
    return syscall(SYS_sched_setaffinity, pid, len, mask);
}

static inline int csys_sys_gettid(void) {
    return (int)syscall(SYS_gettid);
}

#endif
