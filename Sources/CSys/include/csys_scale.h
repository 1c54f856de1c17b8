// Wrappers the restore's cheaper paths need (bench/tree-bench.sh, docs/benchmarks.md "Trees and threads").
#ifndef CSYS_SCALE_H
#define CSYS_SCALE_H
#include <unistd.h>
#include <sys/syscall.h>
#include "csys_structs.h"

/// rt_sigaction with the kernel's struct: glibc's sigaction() always adds SA_RESTORER and its own restorer.
static inline int csys_sys_rt_sigaction(int sig, const struct csys_kernel_sigaction *act,
                                        struct csys_kernel_sigaction *old) {
    return (int)syscall(SYS_rt_sigaction, sig, act, old, 8);
}

#endif
