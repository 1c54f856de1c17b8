// Wrappers and constants for the fd kinds the engine dumps and restores (pipes, eventfd, signalfd,
// timerfd, inotify, file owners). Several are hidden behind _GNU_SOURCE in glibc's headers.
#ifndef CSYS_FILES_H
#define CSYS_FILES_H

#include <stdint.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/types.h>

#define CSYS_F_SETSIG        10
#define CSYS_F_GETSIG        11
#define CSYS_F_SETOWN_EX     15
#define CSYS_F_GETOWN_EX     16
#define CSYS_F_SETPIPE_SZ    1031
#define CSYS_F_GETPIPE_SZ    1032
#define CSYS_F_ADD_SEALS     1033
#define CSYS_F_GET_SEALS     1034
#define CSYS_SPLICE_F_NONBLOCK 2
#define CSYS_O_ASYNC         020000
#define CSYS_O_DIRECT        040000
#define CSYS_O_PATH          010000000
#define CSYS_EFD_SEMAPHORE   1
#define CSYS_IN_NONBLOCK     04000
#define CSYS_IN_CLOEXEC      02000000
/* _IOW('T', 0, u64) */
#define CSYS_TFD_IOC_SET_TICKS 0x40085400UL
#define CSYS_TIOCGPTN        0x80045430UL
#define CSYS_TIOCSPTLCK      0x40045431UL
#define CSYS_TIOCGPTLCK      0x80045439UL
#define CSYS_TIOCPKT         0x5420UL
#define CSYS_TIOCGPKT        0x80045438UL
#define CSYS_FIONREAD        0x541BUL
#define CSYS_TIOCGPTPEER     0x5441UL

struct csys_f_owner_ex {
    int type;
    int pid;
};

static inline long csys_sys_tee(int fdin, int fdout, size_t len, unsigned int flags) {
    return syscall(SYS_tee, fdin, fdout, len, flags);
}

static inline int csys_sys_eventfd2(unsigned int count, int flags) {
    return (int)syscall(SYS_eventfd2, count, flags);
}

/// signalfd4 with a 64-bit kernel sigset.
static inline int csys_sys_signalfd4(int fd, uint64_t mask, int flags) {
    return (int)syscall(SYS_signalfd4, fd, &mask, (size_t)8, flags);
}

static inline int csys_sys_inotify_init1(int flags) {
    return (int)syscall(SYS_inotify_init1, flags);
}

static inline int csys_sys_inotify_add_watch(int fd, const char *path, uint32_t mask) {
    return (int)syscall(SYS_inotify_add_watch, fd, path, mask);
}

static inline int csys_sys_inotify_rm_watch(int fd, int wd) {
    return (int)syscall(SYS_inotify_rm_watch, fd, wd);
}

/// open_by_handle_at with a struct file_handle laid out by the caller: u32 bytes, i32 type, bytes.
static inline int csys_sys_open_by_handle_at(int mountfd, void *handle, int flags) {
    return (int)syscall(SYS_open_by_handle_at, mountfd, handle, flags);
}

static inline int csys_fcntl_ptr(int fd, int cmd, void *arg) {
    return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

#endif
