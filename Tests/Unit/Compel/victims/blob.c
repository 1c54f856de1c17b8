// A code blob for the Compel blob test: built with -c -fpie -nostdlib -ffreestanding, loaded into a victim
// and called with a pointer to the shared area. The weights live in .rodata, so the loader has to apply a
// PC-relative relocation.
struct area {
    long n;
    long values[64];
    long sum;
    long pid;
};

static const long weights[4] = {3, 5, 7, 11};

long blob_main(struct area *a) {
    long s = 0;
    for (long i = 0; i < a->n; i++) s += a->values[i] * weights[i % 4];
    a->sum = s;
    long pid;
    __asm__ volatile("syscall" : "=a"(pid) : "a"(39L /* getpid */) : "rcx", "r11", "memory");
    a->pid = pid;
    return s ^ 0x5a5a;
}
