// bpf(2) pieces for reading a task's kernel state through a BPF task iterator (docs/vfork.md).
// Each wrapper fills one union bpf_attr command struct; callers never see the union.
#ifndef CSYS_BPF_H
#define CSYS_BPF_H

#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>

static inline int csys_bpf_prog_load_task_iter(const void *insns, uint32_t count, const char *license,
                                               char *log, uint32_t log_size, uint32_t attach_btf_id) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = BPF_PROG_TYPE_TRACING;
    a.expected_attach_type = BPF_TRACE_ITER;
    a.insns = (uint64_t)(uintptr_t)insns;
    a.insn_cnt = count;
    a.license = (uint64_t)(uintptr_t)license;
    a.log_buf = (uint64_t)(uintptr_t)log;
    a.log_size = log_size;
    a.log_level = log ? 1 : 0;
    a.attach_btf_id = attach_btf_id;
    return (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
}

/// A task iterator link that visits only thread `tid` (the tid filter exists since Linux 6.1).
static inline int csys_bpf_link_create_task_iter(int prog_fd, uint32_t tid) {
    union bpf_iter_link_info info;
    memset(&info, 0, sizeof(info));
    info.task.tid = tid;
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.link_create.prog_fd = (uint32_t)prog_fd;
    a.link_create.attach_type = BPF_TRACE_ITER;
    a.link_create.iter_info = (uint64_t)(uintptr_t)&info;
    a.link_create.iter_info_len = sizeof(info);
    return (int)syscall(SYS_bpf, BPF_LINK_CREATE, &a, sizeof(a));
}

static inline int csys_bpf_iter_create(int link_fd) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.iter_create.link_fd = (uint32_t)link_fd;
    return (int)syscall(SYS_bpf, BPF_ITER_CREATE, &a, sizeof(a));
}

enum {
    CSYS_BPF_FUNC_PROBE_READ_KERNEL = BPF_FUNC_probe_read_kernel,
    CSYS_BPF_FUNC_SEQ_WRITE = BPF_FUNC_seq_write,
    CSYS_BPF_FUNC_TASK_PT_REGS = BPF_FUNC_task_pt_regs,
};

#endif
