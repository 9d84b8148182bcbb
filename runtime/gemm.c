/* gemm.c — matrix products for generated code, on OpenBLAS. */
#include <cblas.h>
#include "dlrt.h"

void dlrt_gemm(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k,
               const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
               int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n, (blasint)k, 1.0f, a,
              (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
}

void dlrt_set_threads(int threads) { openblas_set_num_threads(threads); }

void dlrt_flush_denormals(void) {
#if defined(__x86_64__) || defined(__i386__)
  unsigned csr;
  __asm__ volatile("stmxcsr %0" : "=m"(csr));
  csr |= 0x8040; /* FTZ (bit 15) and DAZ (bit 6) */
  __asm__ volatile("ldmxcsr %0" : : "m"(csr));
#endif
}
