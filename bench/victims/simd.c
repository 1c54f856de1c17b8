// AVX2/FMA victim: sixteen ymm accumulators live in registers across a long loop (no memory between
// iterations), so a dump that lost or garbled the YMM state shows as a wrong sum. Each round it prints the
// round number and whether every lane holds exactly rounds*STEP*(lane weight); exits 1 on a wrong value.
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>

#define STEP 20000000L

int main(void) {
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    __m256d a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
    const __m256d one = _mm256_set1_pd(1.0);
    const __m256d inc = _mm256_set_pd(4.0, 3.0, 2.0, 1.0);
    for (long round = 1;; round++) {
        for (long i = 0; i < STEP; i++) {
            // acc = acc * 1 + inc: exact in doubles for the values reached here.
            __asm__ volatile(
                "vfmadd231pd %[i], %[o], %[r0]\n\tvfmadd231pd %[i], %[o], %[r1]\n\t"
                "vfmadd231pd %[i], %[o], %[r2]\n\tvfmadd231pd %[i], %[o], %[r3]\n\t"
                : [r0] "+x"(a0), [r1] "+x"(a1), [r2] "+x"(a2), [r3] "+x"(a3)
                : [i] "x"(inc), [o] "x"(one));
            __asm__ volatile(
                "vaddpd %[i], %[r0], %[r0]\n\tvaddpd %[i], %[r1], %[r1]\n\t"
                "vaddpd %[i], %[r2], %[r2]\n\tvaddpd %[i], %[r3], %[r3]\n\t"
                : [r0] "+x"(a4), [r1] "+x"(a5), [r2] "+x"(a6), [r3] "+x"(a7)
                : [i] "x"(inc));
        }
        (void)a8; (void)a9; (void)a10; (void)a11; (void)a12; (void)a13; (void)a14; (void)a15;
        double v[8][4];
        __m256d all[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
        int ok = 1;
        for (int r = 0; r < 8; r++) {
            _mm256_storeu_pd(v[r], all[r]);
            for (int l = 0; l < 4; l++) if (v[r][l] != (double)round * STEP * (l + 1)) ok = 0;
        }
        printf("round %ld %s %.0f\n", round, ok ? "ok" : "BAD", v[0][3]);
        fflush(stdout);
        if (!ok) return 1;
    }
}
