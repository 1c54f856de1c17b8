// Constants for the fast paths of dump and restore (docs/benchmarks.md).
#ifndef CSYS_SPEED_H
#define CSYS_SPEED_H

#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

// fallocate(2) without _GNU_SOURCE; mode 0 allocates blocks (unwritten extents) and extends the size.
static inline int csys_fallocate(int fd, int mode, long long offset, long long length) {
    return (int)syscall(SYS_fallocate, fd, mode, offset, length);
}

// statfs f_type values of the filesystems where fallocate makes unwritten extents (no data written).
#define CSYS_EXT4_SUPER_MAGIC 0xEF53
#define CSYS_XFS_SUPER_MAGIC 0x58465342
#define CSYS_BTRFS_SUPER_MAGIC 0x9123683E

// userfaultfd ioctls for filling a restored task's memory (values of _IOWR/_IOR in linux/userfaultfd.h).
#define CSYS_UFFDIO_REGISTER           0xc020aa00UL
#define CSYS_UFFDIO_UNREGISTER         0x8010aa01UL
#define CSYS_UFFDIO_COPY               0xc028aa03UL
#define CSYS_UFFDIO_REGISTER_MODE_MISSING 1ULL

// sched_setscheduler policy (linux/sched.h, hidden without _GNU_SOURCE): runs only when a CPU is idle,
// so a helper thread never delays the tracer's ptrace round trips.
#define CSYS_SCHED_IDLE 5

#endif
