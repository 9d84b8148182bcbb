/* gemm.c — matrix products for generated code, on OpenBLAS. */
#include <cblas.h>
#include "dlrt.h"

/* Threads allowed by --threads, and the ones OpenBLAS is set to use now. */
static int max_threads = 1, current_threads = 1;

/* OpenBLAS's threads only pay off on large products: on LeNet-5's, whose largest is 7.5M
 * multiply-adds, letting OpenBLAS use two threads made a training epoch 25% slower, and
 * switching per product made it 75% slower. Below this many multiply-adds a product runs
 * on the calling thread. */
enum { THREADED_GEMM_MACS = 64 << 20 };

void dlrt_gemm(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k,
               const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
               int64_t ldc) {
  int want = m * n * k >= THREADED_GEMM_MACS ? max_threads : 1;
  if (want != current_threads) {
    openblas_set_num_threads(want);
    current_threads = want;
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n, (blasint)k, 1.0f, a,
              (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
}

int dlrt_threads(void) { return max_threads; }

void dlrt_set_threads(int threads) {
  max_threads = threads > 0 ? threads : 1;
  current_threads = 1;
  openblas_set_num_threads(1);
}

void dlrt_flush_denormals(void) {
#if defined(__x86_64__) || defined(__i386__)
  unsigned csr;
  __asm__ volatile("stmxcsr %0" : "=m"(csr));
  csr |= 0x8040; /* FTZ (bit 15) and DAZ (bit 6) */
  __asm__ volatile("ldmxcsr %0" : : "m"(csr));
#endif
}
