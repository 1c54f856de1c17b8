// File locks and fanotify: the constants glibc hides behind _GNU_SOURCE and the fanotify syscalls.
#ifndef CSYS_LOCKS_H
#define CSYS_LOCKS_H

#include <stdint.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/file.h>

#define CSYS_F_OFD_GETLK   36
#define CSYS_F_OFD_SETLK   37
#define CSYS_F_OFD_SETLKW  38

/* fanotify_mark() flags (uapi linux/fanotify.h) */
#define CSYS_FAN_MARK_ADD                  0x00000001
#define CSYS_FAN_MARK_MOUNT                0x00000010
#define CSYS_FAN_MARK_IGNORED_MASK         0x00000020
#define CSYS_FAN_MARK_IGNORED_SURV_MODIFY  0x00000040
#define CSYS_FAN_MARK_FILESYSTEM           0x00000100
#define CSYS_FAN_MARK_EVICTABLE            0x00000200
#define CSYS_FAN_MARK_IGNORE               0x00000400
#define CSYS_FAN_CLOEXEC                   0x00000001
#define CSYS_FAN_NONBLOCK                  0x00000002

/// struct flock as x86-64 lays it out, under a name Swift does not confuse with flock(2).
struct csys_flock {
    short l_type;
    short l_whence;
    int64_t l_start;
    int64_t l_len;
    int l_pid;
};

static inline int csys_fcntl_lock(int fd, int cmd, struct csys_flock *l) {
    return fcntl(fd, cmd, l);
}

static inline int csys_flock(int fd, int op) { return flock(fd, op); }

static inline int csys_sys_fanotify_init(unsigned int flags, unsigned int event_f_flags) {
    return (int)syscall(SYS_fanotify_init, flags, event_f_flags);
}

static inline int csys_sys_fanotify_mark(int fd, unsigned int flags, uint64_t mask, int dirfd, const char *path) {
    return (int)syscall(SYS_fanotify_mark, fd, flags, mask, dirfd, path);
}

#endif
