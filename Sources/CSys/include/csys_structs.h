// Kernel structs Swift needs by layout, declared here where Debian 12's headers do not have them.
#ifndef CSYS_STRUCTS_H
#define CSYS_STRUCTS_H
#include <stdint.h>

/// Argument of PTRACE_GET_RSEQ_CONFIGURATION.
struct csys_rseq_configuration {
    uint64_t rseq_abi_pointer;
    uint32_t rseq_abi_size;
    uint32_t signature;
    uint32_t flags;
    uint32_t pad;
};

/// Argument of PTRACE_PEEKSIGINFO.
struct csys_peeksiginfo_args {
    uint64_t off;
    uint32_t flags;
    int32_t nr;
};

/// Argument of PTRACE_SECCOMP_GET_METADATA.
struct csys_seccomp_metadata {
    uint64_t filter_off;
    uint64_t flags;
};

/// clone3 arguments (CLONE_ARGS_SIZE_VER2).
struct csys_clone_args {
    uint64_t flags;
    uint64_t pidfd;
    uint64_t child_tid;
    uint64_t parent_tid;
    uint64_t exit_signal;
    uint64_t stack;
    uint64_t stack_size;
    uint64_t tls;
    uint64_t set_tid;
    uint64_t set_tid_size;
    uint64_t cgroup;
};

/// One range PAGEMAP_SCAN reports.
struct csys_page_region {
    uint64_t start;
    uint64_t end;
    uint64_t categories;
};

/// Argument of the PAGEMAP_SCAN ioctl.
struct csys_pm_scan_arg {
    uint64_t size;
    uint64_t flags;
    uint64_t start;
    uint64_t end;
    uint64_t walk_end;
    uint64_t vec;
    uint64_t vec_len;
    uint64_t max_pages;
    uint64_t category_inverted;
    uint64_t category_mask;
    uint64_t category_anyof_mask;
    uint64_t return_mask;
};

/// The kernel's struct prctl_mm_map for PR_SET_MM_MAP.
struct csys_prctl_mm_map {
    uint64_t start_code;
    uint64_t end_code;
    uint64_t start_data;
    uint64_t end_data;
    uint64_t start_brk;
    uint64_t brk;
    uint64_t start_stack;
    uint64_t arg_start;
    uint64_t arg_end;
    uint64_t env_start;
    uint64_t env_end;
    uint64_t *auxv;
    uint32_t auxv_size;
    uint32_t exe_fd;
};

/// The kernel's struct sigaction for rt_sigaction (not glibc's).
struct csys_kernel_sigaction {
    uint64_t handler;
    uint64_t flags;
    uint64_t restorer;
    uint64_t mask;
};

#endif
