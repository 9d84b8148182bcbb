/* distort.c — see distort.h. Inverse mapping: every output pixel looks up where it comes
 * from in the source image and interpolates the four pixels around that point. The transform
 * (affine parameters, then the two displacement fields) is drawn once per image in that
 * order, then every channel is resampled with it: a grey image draws exactly what it drew
 * before channels existed, so trained weights reproduce bit for bit. */
#include "distort.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "rng.h"

static double symmetric(DlrtRng *r, double a) { return a * (2 * dlrt_rng_uniform(r) - 1); }

/* The buffers one call works in, sized for the data set's images (no size limit). */
typedef struct Scratch {
  float *mem;     /* the one allocation the others point into */
  float *dx, *dy; /* displacement fields, rows*cols each (elastic only) */
  float *grid;    /* the random values one field is interpolated from */
  float *plane;   /* one channel of a uint8 image, as floats */
} Scratch;

/* The grid of spacing 2 sigma (at least one pixel) that covers the image, plus a border. */
static float grid_spacing(float sigma) { return 2 * sigma > 1 ? 2 * sigma : 1; }

static void grid_dims(int rows, int cols, float sigma, int *gr, int *gc) {
  float spacing = grid_spacing(sigma);
  *gr = (int)ceilf((float)(rows - 1) / spacing) + 2, *gc = (int)ceilf((float)(cols - 1) / spacing) + 2;
}

/* A smooth random displacement field (one axis): independent uniform values in [-1, 1] on a
 * grid of spacing 2 sigma pixels, interpolated bilinearly at every pixel. Simard et al. smooth
 * a per-pixel random field with a Gaussian of width sigma, which correlates displacements over
 * about 2 sigma; the grid does the same at a fraction of the cost (a few dozen values instead
 * of a 25-tap convolution per pixel), which keeps distortion cheaper than a training step. */
static void smooth_field(float *field, float *grid, int rows, int cols, float sigma, DlrtRng *r) {
  float spacing = grid_spacing(sigma);
  int gr, gc;
  grid_dims(rows, cols, sigma, &gr, &gc);
  for (int i = 0; i < gr; i++)
    for (int j = 0; j < gc; j++) grid[i * gc + j] = (float)symmetric(r, 1);
  for (int y = 0; y < rows; y++) {
    float fy = (float)y / spacing;
    int i = (int)fy;
    float wy = fy - (float)i;
    const float *g0 = grid + i * gc, *g1 = g0 + gc;
    for (int x = 0; x < cols; x++) {
      float fx = (float)x / spacing;
      int j = (int)fx;
      float wx = fx - (float)j;
      field[y * cols + x] = (g0[j] * (1 - wx) + g0[j + 1] * wx) * (1 - wy) + (g1[j] * (1 - wx) + g1[j + 1] * wx) * wy;
    }
  }
}

/* One image's transform: the inverse affine map around the centre, source = M (p - c - t) + c,
 * and the displacement added to it (elastic). */
typedef struct Transform {
  float m00, m01, m10, m11, ty, tx;
  bool elastic;
} Transform;

static Transform draw(const DlrtDistort *d, int rows, int cols, Scratch *s, DlrtRng *r) {
  Transform t = {1, 0, 0, 1, 0, 0, d->elastic};
  if (d->affine) {
    double a = symmetric(r, d->rotate) * M_PI / 180, sy = 1 + symmetric(r, d->scale), sx = 1 + symmetric(r, d->scale);
    double sh = symmetric(r, d->shear);
    t.ty = (float)symmetric(r, d->shift);
    t.tx = (float)symmetric(r, d->shift);
    /* forward map A = rotation * shear * zoom, on (x, y) */
    double c = cos(a), sn = sin(a);
    double a00 = c * sx, a01 = (c * sh - sn) * sy, a10 = sn * sx, a11 = (sn * sh + c) * sy;
    double det = a00 * a11 - a01 * a10;
    t.m00 = (float)(a11 / det), t.m01 = (float)(-a01 / det), t.m10 = (float)(-a10 / det), t.m11 = (float)(a00 / det);
  }
  if (d->elastic) {
    int n = rows * cols;
    smooth_field(s->dx, s->grid, rows, cols, d->sigma, r);
    smooth_field(s->dy, s->grid, rows, cols, d->sigma, r);
    /* scaled so that alpha is the field's root-mean-square displacement */
    float ss = 0;
    for (int i = 0; i < n; i++) ss += s->dx[i] * s->dx[i] + s->dy[i] * s->dy[i];
    float k = ss > 0 ? d->alpha / sqrtf(ss / (float)n) : 0;
    for (int i = 0; i < n; i++) s->dx[i] *= k, s->dy[i] *= k;
  }
  return t;
}

/* The value at (y, x), 0 outside the image. */
static float pixel(const float *src, int rows, int cols, int y, int x) {
  return y < 0 || y >= rows || x < 0 || x >= cols ? 0.0f : src[y * cols + x];
}

/* Resamples one channel src (stored values) through t into out. */
static void resample(const float *src, int rows, int cols, const Transform *t, const Scratch *s, float *out) {
  float cy = (float)(rows - 1) / 2, cx = (float)(cols - 1) / 2;
  for (int y = 0; y < rows; y++) {
    float py = (float)y - cy - t->ty, px = -cx - t->tx;
    float sx = t->m00 * px + t->m01 * py + cx, sy = t->m10 * px + t->m11 * py + cy; /* at x = 0, then step by x */
    for (int x = 0; x < cols; x++, sx += t->m00, sy += t->m10) {
      float qx = sx, qy = sy;
      if (t->elastic) qx += s->dx[y * cols + x], qy += s->dy[y * cols + x];
      /* floor without a libm call: exact above -16, and anything below is outside anyway */
      int x0 = (int)(qx + 16.0f) - 16, y0 = (int)(qy + 16.0f) - 16;
      float wx = qx - (float)x0, wy = qy - (float)y0;
      float p00, p01, p10, p11;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < cols && y0 + 1 < rows) { /* inside: the common case */
        const float *q = src + y0 * cols + x0;
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

static int scratch_alloc(Scratch *s, const DlrtDataset *d, const DlrtDistort *dist) {
  size_t plane = (size_t)d->rows * (size_t)d->cols;
  int gr = 0, gc = 0;
  if (dist->elastic) grid_dims(d->rows, d->cols, dist->sigma, &gr, &gc);
  size_t fields = dist->elastic ? 2 * plane : 0, grid = (size_t)gr * (size_t)gc;
  size_t own = d->pixel_type == DLRT_PIXELS_U8 ? plane : 0;
  float *mem = malloc(sizeof(float) * (fields + grid + own + 1));
  if (!mem) return -1;
  *s = (Scratch){mem, dist->elastic ? mem : NULL, dist->elastic ? mem + plane : NULL, mem + fields, mem + fields + grid};
  return 0;
}

int dlrt_fill_batch_distorted_mapped(const DlrtDataset *d, const int *idx, int n, const DlrtDistort *dist,
                                     uint64_t seed, int epoch, int64_t first, const DlrtPixelMap *map, float *x) {
  Scratch s;
  if (scratch_alloc(&s, d, dist) != 0) return -1;
  size_t plane = (size_t)d->rows * (size_t)d->cols, per = plane * (size_t)d->channels;
  for (int i = 0; i < n; i++) {
    DlrtRng r;
    uint64_t key = (seed * 0x9e3779b97f4a7c15ull + (uint64_t)epoch) * 0xbf58476d1ce4e5b9ull + (uint64_t)(first + i);
    dlrt_rng_seed(&r, key);
    Transform t = draw(dist, d->rows, d->cols, &s, &r);
    for (int c = 0; c < d->channels; c++) {
      size_t from = (size_t)idx[i] * per + (size_t)c * plane;
      const float *src = s.plane;
      if (d->pixel_type == DLRT_PIXELS_F32) src = d->pixels_f32 + from;
      else
        for (size_t k = 0; k < plane; k++) s.plane[k] = d->pixels[from + k];
      float *out = x + (size_t)i * per + (size_t)c * plane, scale, offset;
      resample(src, d->rows, d->cols, &t, &s, out);
      dlrt_pixel_affine(map, d->pixel_type, c, &scale, &offset);
      for (size_t k = 0; k < plane; k++) out[k] = offset + out[k] * scale;
    }
  }
  free(s.mem);
  return 0;
}

int dlrt_fill_batch_distorted(const DlrtDataset *d, const int *idx, int n, const DlrtDistort *dist, uint64_t seed,
                              int epoch, int64_t first, float lo, float hi, float *x) {
  DlrtPixelMap map = {lo, hi, NULL, NULL};
  return dlrt_fill_batch_distorted_mapped(d, idx, n, dist, seed, epoch, first, &map, x);
}
