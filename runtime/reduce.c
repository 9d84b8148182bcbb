/* reduce.c — the sum of the threads' gradients in data-parallel training, and the sync
 * points of split functions (see dlrt.h). */
#include "dlrt.h"

void dlrt_weighted_sum(float *dst, const float *const *src, const float *weight, int n_src, int64_t lo, int64_t hi) {
  float w0 = weight[0];
  for (int64_t i = lo; i < hi; i++) dst[i] = w0 * src[0][i];
  for (int k = 1; k < n_src; k++) {
    const float *s = src[k];
    float w = weight[k];
    for (int64_t i = lo; i < hi; i++) dst[i] += w * s[i];
  }
}

void dlrt_sync(const float *sync, float *scratch, int32_t point) {
  DlrtSync *s = (DlrtSync *)(uintptr_t)sync; /* (fed through the float pointers of feeds) */
  if (s) s->at(s, scratch, point);
}
