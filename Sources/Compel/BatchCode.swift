/// The loop that runs a batch of syscalls inside the task, hand-assembled so that no toolchain is needed at
/// run time. Entered with rdi = the table (BatchTable.Layout). It uses only registers the `syscall`
/// instruction preserves (rbx, r12, r13) and no stack, so it runs on whatever rsp the thread had.
///
/// When the table is done it sets the done word, wakes the tracer's FUTEX_WAIT on it (a shared futex: the
/// word is in a memfd mapped in both processes), and sleeps with every signal blocked until the tracer's
/// PTRACE_INTERRUPT. It sleeps on the owner word, which criu's robust futex list holds (RobustOwner.swift):
/// if criu dies, the kernel marks it FUTEX_OWNER_DIED and wakes the loop, which then takes the thread's way
/// back (rsp from the table, a jump to the restorer: Lifeline.swift). Without a way back the owner word
/// is 0 and the sleep lasts until the interrupt. No int3: a forced SIGTRAP would reset the handler of a
/// blocked signal.
enum BatchCode {
    static let bytes: [UInt8] = [
        0x48, 0x89, 0xfb,                          // 00 mov rbx, rdi            ; the table
        0x4c, 0x8d, 0xa3, 0x00, 0x01, 0x00, 0x00,  // 03 lea r12, [rbx+0x100]    ; first entry
        0x4c, 0x8b, 0x2b,                          // 0a mov r13, [rbx]          ; entries left
        0x4d, 0x85, 0xed,                          // 0d next: test r13, r13
        0x74, 0x44,                                // 10 je done
        0x49, 0x8b, 0x04, 0x24,                    // 12 mov rax, [r12]          ; nr
        0x49, 0x8b, 0x7c, 0x24, 0x08,              // 16 mov rdi, [r12+0x08]     ; arg 1
        0x49, 0x8b, 0x74, 0x24, 0x10,              // 1b mov rsi, [r12+0x10]     ; arg 2
        0x49, 0x8b, 0x54, 0x24, 0x18,              // 20 mov rdx, [r12+0x18]     ; arg 3
        0x4d, 0x8b, 0x54, 0x24, 0x20,              // 25 mov r10, [r12+0x20]     ; arg 4
        0x4d, 0x8b, 0x44, 0x24, 0x28,              // 2a mov r8, [r12+0x28]      ; arg 5
        0x4d, 0x8b, 0x4c, 0x24, 0x30,              // 2f mov r9, [r12+0x30]      ; arg 6
        0x0f, 0x05,                                // 34 syscall
        0x49, 0x89, 0x44, 0x24, 0x38,              // 36 mov [r12+0x38], rax     ; result
        0x48, 0xff, 0x43, 0x18,                    // 3b inc qword [rbx+0x18]    ; entries completed
        0xf6, 0x43, 0x08, 0x01,                    // 3f test byte [rbx+0x08], 1 ; stop at first error?
        0x74, 0x08,                                // 43 je advance
        0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff,        // 45 cmp rax, -4095          ; -4095..-1 is an errno
        0x73, 0x09,                                // 4b jae done
        0x49, 0x83, 0xc4, 0x40,                    // 4d advance: add r12, 64    ; next entry
        0x49, 0xff, 0xcd,                          // 51 dec r13
        0xeb, 0xb7,                                // 54 jmp next
        0xc7, 0x43, 0x10, 0x01, 0x00, 0x00, 0x00,  // 56 done: mov dword [rbx+0x10], 1 ; done word
        0x48, 0x8d, 0x7b, 0x10,                    // 5d lea rdi, [rbx+0x10]
        0xbe, 0x01, 0x00, 0x00, 0x00,              // 61 mov esi, 1              ; FUTEX_WAKE (shared)
        0xba, 0x01, 0x00, 0x00, 0x00,              // 66 mov edx, 1              ; one waiter
        0xb8, 0xca, 0x00, 0x00, 0x00,              // 6b mov eax, 202            ; futex
        0x0f, 0x05,                                // 70 syscall
        0xf0, 0x81, 0x4b, 0x20, 0x00, 0x00, 0x00, 0x80, // 72 lock or dword [rbx+0x20], FUTEX_WAITERS
        0x8b, 0x53, 0x20,                          // 7a sleep: mov edx, [rbx+0x20] ; owner word
        0xf7, 0xc2, 0x00, 0x00, 0x00, 0x40,        // 7d test edx, FUTEX_OWNER_DIED
        0x75, 0x12,                                // 83 jnz back
        0x48, 0x8d, 0x7b, 0x20,                    // 85 lea rdi, [rbx+0x20]
        0x31, 0xf6,                                // 89 xor esi, esi            ; FUTEX_WAIT (shared)
        0x45, 0x31, 0xd2,                          // 8b xor r10d, r10d          ; no timeout
        0xb8, 0xca, 0x00, 0x00, 0x00,              // 8e mov eax, 202            ; futex
        0x0f, 0x05,                                // 93 syscall
        0xeb, 0xe3,                                // 95 jmp sleep
        0x48, 0x8b, 0x63, 0x28,                    // 97 back: mov rsp, [rbx+0x28] ; the way back
        0xff, 0x63, 0x30,                          // 9b jmp [rbx+0x30]          ; the restorer
    ]
}

/// Where things are in a batch table (all offsets in bytes, little-endian words).
enum BatchLayout {
    static let count = 0          // u64: entries to run
    static let flags = 8          // u64: bit 0, stop after the first entry whose result is an errno
    static let done = 16          // u32: set to 1 by the loop when it finished (the futex word)
    static let completed = 24     // u64: entries run so far, counted after each syscall
    static let owner = 32         // u32: the robust futex word the loop sleeps on (0: no way back)
    static let healStack = 40     // u64: rsp for the way back
    static let restorer = 48      // u64: where the way back starts
    static let savedActions = 64  // 6 x 32 bytes: the fault signals' actions, read by the first entries
    static let entries = 256      // 64 bytes each: nr, 6 args, result
    static let entrySize = 64
}
