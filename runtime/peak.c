/* peak.c — this core's multiply-add peak, measured: what `dlc train --profile` divides
 * achieved GFLOP/s by. Twelve independent vector FMA chains hide the FMA latency on current
 * x86 cores (4 cycles, 2 units), so the loop runs at the issue rate of the widest FMA the CPU
 * has (AVX-512, else AVX2 + FMA); without FMA it reports 0 (unknown). */
#include "dlrt.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

enum { CHAINS = 12, ROUNDS = 4000000 };

#define FMA_LOOP(vec, set1, fmadd, add_ps, first, lanes)                    \
  vec acc[CHAINS];                                                          \
  vec mul = set1(0.999999f), add = set1(1e-7f);                             \
  for (int k = 0; k < CHAINS; k++) acc[k] = set1((float)k);                 \
  double t0 = dlrt_seconds();                                                \
  for (int r = 0; r < ROUNDS; r++) {                                        \
    _Pragma("GCC unroll 12") /* registers, not memory */                    \
    for (int k = 0; k < CHAINS; k++) acc[k] = fmadd(acc[k], mul, add);      \
  }                                                                         \
  double t = dlrt_seconds() - t0;                                            \
  vec sum = acc[0];                                                         \
  for (int k = 1; k < CHAINS; k++) sum = add_ps(sum, acc[k]);               \
  volatile float sink = first(sum); /* keeps the loop */                    \
  (void)sink;                                                               \
  return 2.0 * lanes * CHAINS * (double)ROUNDS / t / 1e9;

__attribute__((target("avx512f"))) static double peak_avx512(void) { FMA_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, _mm512_cvtss_f32, 16) }
__attribute__((target("avx2,fma"))) static double peak_avx2(void) { FMA_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, _mm256_cvtss_f32, 8) }

double dlrt_fma_peak_gflops(void) {
  __builtin_cpu_init();
  double best = 0;
  for (int run = 0; run < 3; run++) { /* the best of three: this machine is shared */
    double g = __builtin_cpu_supports("avx512f") ? peak_avx512() : __builtin_cpu_supports("fma") ? peak_avx2() : 0;
    if (g > best) best = g;
  }
  return best;
}
#else
double dlrt_fma_peak_gflops(void) { return 0; } /* not measured off x86 */
#endif
