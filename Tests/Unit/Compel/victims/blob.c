// A code blob for the Compel blob test: built with -c -fpie -nostdlib -ffreestanding, loaded into a victim
// and called with a pointer to the shared area. The weights live in .rodata (a PC-relative relocation), the
// table of pointers to them in .data (absolute R_X86_64_64 relocations, filled in at the load address), and
// the call counter in .bss.
struct area {
    long n;
    long values[64];
    long sum;
    long pid;
    long which;
    long calls;
};

static const long weights[4] = {3, 5, 7, 11};
static const long other_weights[4] = {1, 1, 1, 1};
static const long *tables[2] = {weights, other_weights};
static long calls;

long blob_main(struct area *a) {
    const long *w = tables[a->which & 1];
    long s = 0;
    for (long i = 0; i < a->n; i++) s += a->values[i] * w[i % 4];
    a->sum = s;
    long pid;
    __asm__ volatile("syscall" : "=a"(pid) : "a"(39L /* getpid */) : "rcx", "r11", "memory");
    a->pid = pid;
    a->calls = ++calls;
    return s ^ 0x5a5a;
}
