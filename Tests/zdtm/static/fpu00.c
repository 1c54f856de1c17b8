/* x87 control word, MXCSR and all 16 XMM registers hold values while the task sits in a syscall. */
#include "zdtmtst.h"
#include <sys/syscall.h>
#include <time.h>

int main(int argc, char **argv)
{
	static uint8_t in[16 * 16] __attribute__((aligned(16))), out[16 * 16] __attribute__((aligned(16)));
	uint32_t mxcsr_in = 0x1f80 | (1 << 13) /* round down */, mxcsr_out;
	uint16_t cw_in = (0x037f & ~(3 << 10)) | (1 << 10), cw_out;
	test_init(argc, argv);
	datagen(in, sizeof(in), 42);
	test_daemon();
	while (test_go()) {
		/* A short nanosleep with the registers loaded (never pause(): a SIGTERM landing just before it
		 * would be missed); signal handlers and sigreturn may run in between. */
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		__asm__ volatile(
			"fldcw %[cw]\n\t"
			"ldmxcsr %[mx]\n\t"
			"movdqa 0(%[i]), %%xmm0\n\t movdqa 16(%[i]), %%xmm1\n\t movdqa 32(%[i]), %%xmm2\n\t"
			"movdqa 48(%[i]), %%xmm3\n\t movdqa 64(%[i]), %%xmm4\n\t movdqa 80(%[i]), %%xmm5\n\t"
			"movdqa 96(%[i]), %%xmm6\n\t movdqa 112(%[i]), %%xmm7\n\t movdqa 128(%[i]), %%xmm8\n\t"
			"movdqa 144(%[i]), %%xmm9\n\t movdqa 160(%[i]), %%xmm10\n\t movdqa 176(%[i]), %%xmm11\n\t"
			"movdqa 192(%[i]), %%xmm12\n\t movdqa 208(%[i]), %%xmm13\n\t movdqa 224(%[i]), %%xmm14\n\t"
			"movdqa 240(%[i]), %%xmm15\n\t"
			"mov %[nr], %%eax\n\t syscall\n\t"
			"movdqa %%xmm0, 0(%[o])\n\t movdqa %%xmm1, 16(%[o])\n\t movdqa %%xmm2, 32(%[o])\n\t"
			"movdqa %%xmm3, 48(%[o])\n\t movdqa %%xmm4, 64(%[o])\n\t movdqa %%xmm5, 80(%[o])\n\t"
			"movdqa %%xmm6, 96(%[o])\n\t movdqa %%xmm7, 112(%[o])\n\t movdqa %%xmm8, 128(%[o])\n\t"
			"movdqa %%xmm9, 144(%[o])\n\t movdqa %%xmm10, 160(%[o])\n\t movdqa %%xmm11, 176(%[o])\n\t"
			"movdqa %%xmm12, 192(%[o])\n\t movdqa %%xmm13, 208(%[o])\n\t movdqa %%xmm14, 224(%[o])\n\t"
			"movdqa %%xmm15, 240(%[o])\n\t"
			"fnstcw %[cwo]\n\t stmxcsr %[mxo]\n\t"
			"ldmxcsr %[mxdef]\n\t fninit\n\t"
			: [cwo] "=m"(cw_out), [mxo] "=m"(mxcsr_out)
			: [cw] "m"(cw_in), [mx] "m"(mxcsr_in), [i] "r"(in), [o] "r"(out), [nr] "i"(SYS_nanosleep), "D"(&ts), "S"(0),
			  [mxdef] "m"((uint32_t){ 0x1f80 })
			: "rax", "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
			  "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
		if (memcmp(in, out, sizeof(in))) {
			for (int r = 0; r < 16; r++)
				if (memcmp(in + r * 16, out + r * 16, 16))
					fail("xmm%d changed", r);
		}
		if (cw_out != cw_in)
			fail("x87 control word %#x, want %#x", cw_out, cw_in);
		if ((mxcsr_out & ~0x3f) != (mxcsr_in & ~0x3f))
			fail("mxcsr %#x, want %#x", mxcsr_out, mxcsr_in);
	}
	pass();
}
