/* All 32 ZMM registers and the 8 opmask registers survive while the task sits in a syscall: the large
 * XSAVE area of AVX-512 machines must be saved and restored whole. */
#include "zdtmtst.h"
#include <sys/syscall.h>
#include <time.h>

static uint8_t in[32 * 64] __attribute__((aligned(64))), out[32 * 64] __attribute__((aligned(64)));
static uint64_t kin[8], kout[8];

#define LD(n) "vmovdqu64 " #n "*64(%[i]), %%zmm" #n "\n\t"
#define ST(n) "vmovdqu64 %%zmm" #n ", " #n "*64(%[o])\n\t"
#define ALL(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15) \
	M(16) M(17) M(18) M(19) M(20) M(21) M(22) M(23) M(24) M(25) M(26) M(27) M(28) M(29) M(30) M(31)
#define KLD(n) "kmovq " #n "*8(%[ki]), %%k" #n "\n\t"
#define KST(n) "kmovq %%k" #n ", " #n "*8(%[ko])\n\t"
#define KALL(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7)

__attribute__((target("avx512f,avx512bw"))) static void round_trip(void)
{
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	__asm__ volatile(ALL(LD) KALL(KLD)
			 "mov %[nr], %%eax\n\t syscall\n\t"
			 ALL(ST) KALL(KST)
			 "vzeroupper\n\t"
			 :
			 : [i] "r"(in), [o] "r"(out), [ki] "r"(kin), [ko] "r"(kout), [nr] "i"(SYS_nanosleep), "D"(&ts), "S"(0)
			 : "rax", "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
			   "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17",
			   "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27",
			   "xmm28", "xmm29", "xmm30", "xmm31", "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7");
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw"))
		skip("no AVX-512F/BW on this CPU");
	datagen(in, sizeof(in), 512);
	datagen(kin, sizeof(kin), 513);
	test_daemon();
	while (test_go()) {
		round_trip();
		for (int r = 0; r < 32; r++)
			if (memcmp(in + r * 64, out + r * 64, 64))
				fail("zmm%d changed", r);
		/* k0 reads back as written: kmovq does not treat k0 as "no mask". */
		for (int k = 0; k < 8; k++)
			if (kin[k] != kout[k])
				fail("k%d is %#llx, want %#llx", k, (unsigned long long)kout[k], (unsigned long long)kin[k]);
	}
	pass();
}
