/* im2col.c — patches of images for convolutions as matrix products, and the adjoint. */
#include <string.h>
#include "dlrt.h"

static int out_size(int32_t in, int32_t k, int32_t stride, int32_t pad) { return (in + 2 * pad - k) / stride + 1; }

void dlrt_im2col(const float *x, float *cols, int64_t n, int32_t c, int32_t h, int32_t w, int32_t k,
                 int32_t stride, int32_t pad) {
  int ho = out_size(h, k, stride, pad), wo = out_size(w, k, stride, pad);
  int64_t patch = (int64_t)c * k * k;
  for (int64_t r = 0; r < n; r++) {
    const float *img = x + r * (int64_t)c * h * w;
    float *out = cols + r * (int64_t)ho * wo * patch;
    for (int oy = 0; oy < ho; oy++)
      for (int ox = 0; ox < wo; ox++, out += patch) {
        int y0 = oy * stride - pad, x0 = ox * stride - pad;
        float *q = out;
        for (int ch = 0; ch < c; ch++)
          for (int ky = 0; ky < k; ky++, q += k) {
            int iy = y0 + ky;
            if (iy < 0 || iy >= h) {
              memset(q, 0, sizeof(float) * (size_t)k);
              continue;
            }
            const float *row = img + ((int64_t)ch * h + iy) * w;
            if (x0 >= 0 && x0 + k <= w) {
              /* k is small (3, 5): a loop beats a call to memcpy per row */
              for (int kx = 0; kx < k; kx++) q[kx] = row[x0 + kx];
            } else {
              for (int kx = 0; kx < k; kx++) q[kx] = x0 + kx >= 0 && x0 + kx < w ? row[x0 + kx] : 0.0f;
            }
          }
      }
  }
}

void dlrt_col2im(const float *cols, float *x, int64_t n, int32_t c, int32_t h, int32_t w, int32_t k,
                 int32_t stride, int32_t pad) {
  int ho = out_size(h, k, stride, pad), wo = out_size(w, k, stride, pad);
  int64_t patch = (int64_t)c * k * k;
  memset(x, 0, sizeof(float) * (size_t)(n * c * h * w));
  for (int64_t r = 0; r < n; r++) {
    float *img = x + r * (int64_t)c * h * w;
    const float *in = cols + r * (int64_t)ho * wo * patch;
    for (int oy = 0; oy < ho; oy++)
      for (int ox = 0; ox < wo; ox++, in += patch) {
        int y0 = oy * stride - pad, x0 = ox * stride - pad;
        const float *q = in;
        for (int ch = 0; ch < c; ch++)
          for (int ky = 0; ky < k; ky++, q += k) {
            int iy = y0 + ky;
            if (iy < 0 || iy >= h) continue;
            float *row = img + ((int64_t)ch * h + iy) * w;
            for (int kx = 0; kx < k; kx++)
              if (x0 + kx >= 0 && x0 + kx < w) row[x0 + kx] += q[kx];
          }
      }
  }
}
