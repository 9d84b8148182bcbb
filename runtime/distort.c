/* distort.c — see distort.h. Inverse mapping: every output pixel looks up where it comes
 * from in the source image and interpolates the four pixels around that point. */
#include "distort.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "rng.h"

enum { MAX_SIDE = 64 }; /* the largest image side distorted on the stack (MNIST: 28) */

static double symmetric(DlrtRng *r, double a) { return a * (2 * dlrt_rng_uniform(r) - 1); }

/* The pixel at (y, x), 0 outside the image. */
static float pixel(const unsigned char *src, int rows, int cols, int y, int x) {
  return y < 0 || y >= rows || x < 0 || x >= cols ? 0.0f : (float)src[y * cols + x];
}


/* A smooth random displacement field (one axis): independent uniform values in [-1, 1] on a
 * grid of spacing 2 sigma pixels, interpolated bilinearly at every pixel. Simard et al. smooth
 * a per-pixel random field with a Gaussian of width sigma, which correlates displacements over
 * about 2 sigma; the grid does the same at a fraction of the cost (a few dozen values instead
 * of a 25-tap convolution per pixel), which keeps distortion cheaper than a training step. */
static void smooth_field(float *field, int rows, int cols, float sigma, DlrtRng *r) {
  float spacing = 2 * sigma;
  int gr = (int)ceilf((float)(rows - 1) / spacing) + 2, gc = (int)ceilf((float)(cols - 1) / spacing) + 2;
  float grid[MAX_SIDE + 2][MAX_SIDE + 2];
  for (int i = 0; i < gr; i++)
    for (int j = 0; j < gc; j++) grid[i][j] = (float)symmetric(r, 1);
  for (int y = 0; y < rows; y++) {
    float fy = (float)y / spacing;
    int i = (int)fy;
    float wy = fy - (float)i;
    for (int x = 0; x < cols; x++) {
      float fx = (float)x / spacing;
      int j = (int)fx;
      float wx = fx - (float)j;
      field[y * cols + x] = (grid[i][j] * (1 - wx) + grid[i][j + 1] * wx) * (1 - wy) +
                            (grid[i + 1][j] * (1 - wx) + grid[i + 1][j + 1] * wx) * wy;
    }
  }
}

/* One image: draws its distortion from r and resamples src into out (raw 0..255 values). */
static void distort_one(const unsigned char *src, int rows, int cols, const DlrtDistort *d, DlrtRng *r, float *out) {
  /* inverse affine map around the centre: source = M (p - c - t) + c */
  float m00 = 1, m01 = 0, m10 = 0, m11 = 1, ty = 0, tx = 0;
  if (d->affine) {
    double a = symmetric(r, d->rotate) * M_PI / 180, sy = 1 + symmetric(r, d->scale), sx = 1 + symmetric(r, d->scale);
    double sh = symmetric(r, d->shear);
    ty = (float)symmetric(r, d->shift);
    tx = (float)symmetric(r, d->shift);
    /* forward map A = rotation * shear * zoom, on (x, y) */
    double c = cos(a), s = sin(a);
    double a00 = c * sx, a01 = (c * sh - s) * sy, a10 = s * sx, a11 = (s * sh + c) * sy;
    double det = a00 * a11 - a01 * a10;
    m00 = (float)(a11 / det), m01 = (float)(-a01 / det), m10 = (float)(-a10 / det), m11 = (float)(a00 / det);
  }
  float dx[MAX_SIDE * MAX_SIDE], dy[MAX_SIDE * MAX_SIDE];
  int n = rows * cols;
  if (d->elastic) {
    smooth_field(dx, rows, cols, d->sigma, r);
    smooth_field(dy, rows, cols, d->sigma, r);
    /* scaled so that alpha is the field's root-mean-square displacement */
    float ss = 0;
    for (int i = 0; i < n; i++) ss += dx[i] * dx[i] + dy[i] * dy[i];
    float k = ss > 0 ? d->alpha / sqrtf(ss / (float)n) : 0;
    for (int i = 0; i < n; i++) dx[i] *= k, dy[i] *= k;
  }
  float cy = (float)(rows - 1) / 2, cx = (float)(cols - 1) / 2;
  for (int y = 0; y < rows; y++) {
    float py = (float)y - cy - ty, px = -cx - tx;
    float sx = m00 * px + m01 * py + cx, sy = m10 * px + m11 * py + cy; /* at x = 0, then step by x */
    for (int x = 0; x < cols; x++, sx += m00, sy += m10) {
      float qx = sx, qy = sy;
      if (d->elastic) qx += dx[y * cols + x], qy += dy[y * cols + x];
      /* floor without a libm call: exact above -16, and anything below is outside anyway */
      int x0 = (int)(qx + 16.0f) - 16, y0 = (int)(qy + 16.0f) - 16;
      float wx = qx - (float)x0, wy = qy - (float)y0;
      float p00, p01, p10, p11;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < cols && y0 + 1 < rows) { /* inside: the common case */
        const unsigned char *q = src + y0 * cols + x0;
        p00 = q[0], p01 = q[1], p10 = q[cols], p11 = q[cols + 1];
      } else if (x0 < -1 || y0 < -1 || x0 >= cols || y0 >= rows) { /* wholly outside */
        out[y * cols + x] = 0;
        continue;
      } else {
        p00 = pixel(src, rows, cols, y0, x0), p01 = pixel(src, rows, cols, y0, x0 + 1);
        p10 = pixel(src, rows, cols, y0 + 1, x0), p11 = pixel(src, rows, cols, y0 + 1, x0 + 1);
      }
      out[y * cols + x] = (p00 * (1 - wx) + p01 * wx) * (1 - wy) + (p10 * (1 - wx) + p11 * wx) * wy;
    }
  }
}

void dlrt_fill_batch_distorted(const DlrtDataset *d, const int *idx, int n, const DlrtDistort *dist, uint64_t seed,
                               int epoch, int64_t first, float lo, float hi, float *x) {
  int per = d->rows * d->cols;
  float scale = (hi - lo) / 255.0f;
  for (int i = 0; i < n; i++) {
    float *row = x + (size_t)i * (size_t)per;
    const unsigned char *src = d->pixels + (size_t)idx[i] * (size_t)per;
    if (d->rows > MAX_SIDE || d->cols > MAX_SIDE) { /* no distortion beyond the buffers */
      for (int k = 0; k < per; k++) row[k] = lo + (float)src[k] * scale;
      continue;
    }
    DlrtRng r;
    uint64_t key = (seed * 0x9e3779b97f4a7c15ull + (uint64_t)epoch) * 0xbf58476d1ce4e5b9ull + (uint64_t)(first + i);
    dlrt_rng_seed(&r, key);
    distort_one(src, d->rows, d->cols, dist, &r, row);
    for (int k = 0; k < per; k++) row[k] = lo + row[k] * scale;
  }
}
