// Kernel constants that Debian 12's headers (Linux 6.1) lack or hide behind enums/macros Swift cannot import.
#ifndef CSYS_CONSTS_H
#define CSYS_CONSTS_H

// ptrace requests
#define CSYS_PTRACE_TRACEME            0
#define CSYS_PTRACE_PEEKDATA           2
#define CSYS_PTRACE_PEEKUSER           3
#define CSYS_PTRACE_POKEDATA           5
#define CSYS_PTRACE_CONT               7
#define CSYS_PTRACE_KILL               8
#define CSYS_PTRACE_SINGLESTEP         9
#define CSYS_PTRACE_GETREGS            12
#define CSYS_PTRACE_SETREGS            13
#define CSYS_PTRACE_GETFPREGS          14
#define CSYS_PTRACE_SETFPREGS          15
#define CSYS_PTRACE_ATTACH             16
#define CSYS_PTRACE_DETACH             17
#define CSYS_PTRACE_SYSCALL            24
#define CSYS_PTRACE_ARCH_PRCTL         30
#define CSYS_PTRACE_SETOPTIONS         0x4200
#define CSYS_PTRACE_GETEVENTMSG        0x4201
#define CSYS_PTRACE_GETSIGINFO         0x4202
#define CSYS_PTRACE_SETSIGINFO         0x4203
#define CSYS_PTRACE_GETREGSET          0x4204
#define CSYS_PTRACE_SETREGSET          0x4205
#define CSYS_PTRACE_SEIZE              0x4206
#define CSYS_PTRACE_INTERRUPT          0x4207
#define CSYS_PTRACE_LISTEN             0x4208
#define CSYS_PTRACE_PEEKSIGINFO        0x4209
#define CSYS_PTRACE_GETSIGMASK         0x420a
#define CSYS_PTRACE_SETSIGMASK         0x420b
#define CSYS_PTRACE_SECCOMP_GET_FILTER 0x420c
#define CSYS_PTRACE_SECCOMP_GET_METADATA 0x420d
#define CSYS_PTRACE_GET_SYSCALL_INFO   0x420e
#define CSYS_PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#define CSYS_PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG 0x4210
#define CSYS_PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG 0x4211

// ptrace options
#define CSYS_PTRACE_O_TRACESYSGOOD     0x1
#define CSYS_PTRACE_O_TRACEFORK        0x2
#define CSYS_PTRACE_O_TRACEVFORK       0x4
#define CSYS_PTRACE_O_TRACECLONE       0x8
#define CSYS_PTRACE_O_TRACEEXEC        0x10
#define CSYS_PTRACE_O_TRACEVFORKDONE   0x20
#define CSYS_PTRACE_O_TRACEEXIT        0x40
#define CSYS_PTRACE_O_TRACESECCOMP     0x80
#define CSYS_PTRACE_O_EXITKILL         0x100000
#define CSYS_PTRACE_O_SUSPEND_SECCOMP  0x200000

// ptrace events (status >> 16)
#define CSYS_PTRACE_EVENT_FORK         1
#define CSYS_PTRACE_EVENT_VFORK        2
#define CSYS_PTRACE_EVENT_CLONE        3
#define CSYS_PTRACE_EVENT_EXEC         4
#define CSYS_PTRACE_EVENT_VFORK_DONE   5
#define CSYS_PTRACE_EVENT_EXIT         6
#define CSYS_PTRACE_EVENT_SECCOMP      7
#define CSYS_PTRACE_EVENT_STOP         128

#define CSYS_PTRACE_PEEKSIGINFO_SHARED 1

// regset ids for PTRACE_GETREGSET
#define CSYS_NT_PRSTATUS               1
#define CSYS_NT_PRFPREG                2
#define CSYS_NT_X86_XSTATE             0x202

// arch_prctl codes
#define CSYS_ARCH_SET_GS               0x1001
#define CSYS_ARCH_SET_FS               0x1002
#define CSYS_ARCH_GET_FS               0x1003
#define CSYS_ARCH_GET_GS               0x1004
#define CSYS_ARCH_MAP_VDSO_X32         0x2001
#define CSYS_ARCH_MAP_VDSO_32          0x2002
#define CSYS_ARCH_MAP_VDSO_64          0x2003

// syscalls newer than Debian 12's headers know, plus the ones we use by number
#define CSYS_NR_brk                    12
#define CSYS_NR_pidfd_send_signal      424
#define CSYS_NR_pidfd_open             434
#define CSYS_NR_clone3                 435
#define CSYS_NR_pidfd_getfd            438
#define CSYS_NR_process_madvise        440
#define CSYS_NR_memfd_secret           447
#define CSYS_NR_map_shadow_stack       453

// pidfd
#define CSYS_PIDFD_NONBLOCK            04000
#define CSYS_PIDFD_THREAD              010000000

// clone3
#define CSYS_CLONE_INTO_CGROUP         0x200000000ULL
#define CSYS_CLONE_NEWTIME             0x00000080
#define CSYS_CLONE_NEWNS               0x00020000
#define CSYS_CLONE_NEWCGROUP           0x02000000
#define CSYS_CLONE_NEWUTS              0x04000000
#define CSYS_CLONE_NEWIPC              0x08000000
#define CSYS_CLONE_NEWUSER             0x10000000
#define CSYS_CLONE_NEWPID              0x20000000
#define CSYS_CLONE_NEWNET              0x40000000

// prctl options
#define CSYS_PR_SET_MM                 35
#define CSYS_PR_SET_MM_MAP             14
#define CSYS_PR_SET_MM_MAP_SIZE        15
#define CSYS_PR_GET_THP_DISABLE        42
#define CSYS_PR_GET_CHILD_SUBREAPER    37
#define CSYS_PR_GET_NO_NEW_PRIVS       39
#define CSYS_PR_GET_TID_ADDRESS        40
#define CSYS_PR_GET_SPECULATION_CTRL   52

// rseq
#define CSYS_RSEQ_FLAG_UNREGISTER      1

// PAGEMAP_SCAN (Linux 6.7)
#define CSYS_PAGEMAP_SCAN              0xc0606610UL
#define CSYS_PAGE_IS_WPALLOWED         (1 << 0)
#define CSYS_PAGE_IS_WRITTEN           (1 << 1)
#define CSYS_PAGE_IS_FILE              (1 << 2)
#define CSYS_PAGE_IS_PRESENT           (1 << 3)
#define CSYS_PAGE_IS_SWAPPED           (1 << 4)
#define CSYS_PAGE_IS_PFNZERO           (1 << 5)
#define CSYS_PAGE_IS_HUGE              (1 << 6)
#define CSYS_PAGE_IS_SOFT_DIRTY        (1 << 7)
#define CSYS_PM_SCAN_WP_MATCHING       (1 << 0)
#define CSYS_PM_SCAN_CHECK_WPASYNC     (1 << 1)

// pagemap entry bits
#define CSYS_PME_PRESENT               (1ULL << 63)
#define CSYS_PME_SWAP                  (1ULL << 62)
#define CSYS_PME_FILE                  (1ULL << 61)
#define CSYS_PME_EXCLUSIVE             (1ULL << 56)
#define CSYS_PME_SOFT_DIRTY            (1ULL << 55)
#define CSYS_PME_PFN_MASK              ((1ULL << 55) - 1)

// userfaultfd
#define CSYS_USERFAULTFD_IOC_NEW       0xaa00
#define CSYS_UFFD_USER_MODE_ONLY       1

// seccomp
#define CSYS_SECCOMP_MODE_FILTER       2
#define CSYS_SECCOMP_FILTER_FLAG_TSYNC 1

// lseek whence values hidden behind _GNU_SOURCE
#define CSYS_SEEK_DATA                 3
#define CSYS_SEEK_HOLE                 4

// memfd
#define CSYS_MFD_CLOEXEC               0x0001U
#define CSYS_MFD_ALLOW_SEALING         0x0002U

// mmap: fail with EEXIST instead of replacing a mapping
#define CSYS_MAP_FIXED_NOREPLACE       0x100000

// capabilities
#define CSYS_CAP_CHECKPOINT_RESTORE    40
#define CSYS_CAP_SYS_RESOURCE          24
#define CSYS_CAP_SYS_ADMIN             21
#define CSYS_CAP_SYS_PTRACE            19

// instruction bytes
#define CSYS_X86_SYSCALL_INSN          0x050f   /* 0f 05, little endian */
#define CSYS_X86_INT3                  0xcc

// userfaultfd API (ioctl numbers computed from _IOWR(0xAA, nr, size))
#define CSYS_UFFD_API                  0xAAULL
#define CSYS_UFFDIO_API                0xc018aa3fUL
#define CSYS_UFFD_FEATURE_EVENT_FORK   (1ULL << 1)
#define CSYS_UFFD_FEATURE_EVENT_REMAP  (1ULL << 2)
#define CSYS_UFFD_FEATURE_EVENT_REMOVE (1ULL << 3)
#define CSYS_UFFD_FEATURE_EVENT_UNMAP  (1ULL << 6)
#define CSYS_UFFD_FEATURE_WP_UNPOPULATED (1ULL << 13)
#define CSYS_UFFD_FEATURE_WP_ASYNC     (1ULL << 15)

// timerfd
#define CSYS_TFD_IOC_SET_TICKS         0x40085400UL

// kcmp
#define CSYS_KCMP_EPOLL_TFD            7

// prctl: restoring POSIX timer ids (Linux 6.13)
#define CSYS_PR_TIMER_CREATE_RESTORE_IDS     77
#define CSYS_PR_TIMER_CREATE_RESTORE_IDS_GET 2

// memfd
#define CSYS_MFD_HUGETLB               0x0004U


/* clone flags for restoring threads and process trees (sched.h hides them without _GNU_SOURCE) */
#define CSYS_CLONE_VM                  0x00000100
#define CSYS_CLONE_FS                  0x00000200
#define CSYS_CLONE_FILES               0x00000400
#define CSYS_CLONE_SIGHAND             0x00000800
#define CSYS_CLONE_PARENT              0x00008000
#define CSYS_CLONE_THREAD              0x00010000
#define CSYS_CLONE_SYSVSEM             0x00040000

#endif
