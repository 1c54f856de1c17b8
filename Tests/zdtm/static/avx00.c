/* All 16 YMM registers (their upper halves live in the AVX part of the XSAVE area) survive while the
 * task sits in a syscall. */
#include "zdtmtst.h"
#include <sys/syscall.h>
#include <time.h>

static uint8_t in[16 * 32] __attribute__((aligned(32))), out[16 * 32] __attribute__((aligned(32)));

#define LD(n) "vmovdqu " #n "*32(%[i]), %%ymm" #n "\n\t"
#define ST(n) "vmovdqu %%ymm" #n ", " #n "*32(%[o])\n\t"
#define ALL(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)

__attribute__((target("avx"))) static void round_trip(void)
{
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	__asm__ volatile(ALL(LD) "mov %[nr], %%eax\n\t syscall\n\t" ALL(ST) "vzeroupper\n\t"
			 :
			 : [i] "r"(in), [o] "r"(out), [nr] "i"(SYS_nanosleep), "D"(&ts), "S"(0)
			 : "rax", "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
			   "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx"))
		skip("no AVX on this CPU");
	datagen(in, sizeof(in), 256);
	test_daemon();
	while (test_go()) {
		round_trip();
		for (int r = 0; r < 16; r++)
			if (memcmp(in + r * 32, out + r * 32, 32))
				fail("ymm%d changed%s", r, memcmp(in + r * 32, out + r * 32, 16) ? "" : " (upper half)");
	}
	pass();
}
