/* batch.c — batch assembly for training and evaluation: per example and channel, one
 * multiply-add per value over a contiguous plane, which the compiler vectorises (-O3). */
#include "batch.h"
#include <string.h>

void dlrt_fill_labels(const DlrtDataset *d, const int *idx, int n, int classes, float *y) {
  memset(y, 0, sizeof(float) * (size_t)n * (size_t)classes);
  for (int r = 0; r < n; r++) {
    int32_t label = d->labels[idx[r]];
    if (label >= 0 && label < classes) y[(size_t)r * (size_t)classes + (size_t)label] = 1.0f;
  }
}

void dlrt_pixel_affine(const DlrtPixelMap *map, DlrtPixelType type, int c, float *scale, float *offset) {
  /* uint8 without normalisation: exactly the (hi - lo) / 255 and lo that training has always
   * used, so that trained weights stay bit for bit what they were */
  float s = type == DLRT_PIXELS_U8 ? (map->hi - map->lo) / 255.0f : map->hi - map->lo, o = map->lo;
  if (map->mean) o -= map->mean[c];
  if (map->std) s /= map->std[c], o /= map->std[c];
  *scale = s, *offset = o;
}

/* libdlrt is built for any x86-64, and its SSE2 conversion of bytes to floats takes a third
 * more time than AVX2's or AVX-512's: the two loops are compiled for each, and the loader
 * picks the host's (GCC's function multi-versioning). The same arithmetic in every version:
 * one multiply and one add per value, each rounded (no FMA contraction: -ffp-contract=off
 * for this file), so the inputs are bit for bit the same on every CPU. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HOST_VERSIONS __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define HOST_VERSIONS
#endif

/* One plane: out[i] = offset + in[i] * scale. */
HOST_VERSIONS static void map_u8(const unsigned char *restrict in, size_t len, float scale, float offset,
                                 float *restrict out) {
  for (size_t i = 0; i < len; i++) out[i] = offset + (float)in[i] * scale;
}

HOST_VERSIONS static void map_f32(const float *restrict in, size_t len, float scale, float offset,
                                  float *restrict out) {
  for (size_t i = 0; i < len; i++) out[i] = offset + in[i] * scale;
}

/* Shuffled examples come from all over a set larger than the caches, and the wait for each
 * example's first cache lines would otherwise dominate (3x slower than in order, on MNIST):
 * the next example's first bytes are asked for while this one converts. */
static void prefetch_example(const DlrtDataset *d, int i, size_t per) {
  size_t size = d->pixel_type == DLRT_PIXELS_F32 ? sizeof(float) : 1, bytes = per * size;
  const char *p = (const char *)d->pixels + (size_t)i * bytes;
  for (size_t k = 0; k < bytes && k < 8192; k += 64) __builtin_prefetch(p + k);
}

void dlrt_fill_batch_mapped(const DlrtDataset *d, const int *idx, int n, int classes, const DlrtPixelMap *map,
                            float *x, float *y) {
  size_t plane = (size_t)d->rows * (size_t)d->cols, per = plane * (size_t)d->channels;
  for (int r = 0; r < n; r++) {
    if (r + 1 < n) prefetch_example(d, idx[r + 1], per);
    for (int c = 0; c < d->channels; c++) { /* x is written front to back */
      float scale, offset;
      dlrt_pixel_affine(map, d->pixel_type, c, &scale, &offset);
      size_t from = (size_t)idx[r] * per + (size_t)c * plane;
      float *out = x + (size_t)r * per + (size_t)c * plane;
      if (d->pixel_type == DLRT_PIXELS_U8) map_u8(d->pixels + from, plane, scale, offset, out);
      else map_f32(d->pixels_f32 + from, plane, scale, offset, out);
    }
  }
  if (y) dlrt_fill_labels(d, idx, n, classes, y);
}

/* The first 4 cache lines of each example: the hardware prefetcher streams the rest once an
 * example is being read, and asking for every line at once only stalls on the queue of
 * misses (on MNIST's 784-byte examples, 4 lines ahead assembled an epoch faster than 1, 2 or
 * all 13). */
void dlrt_prefetch_batch(const DlrtDataset *d, const int *idx, int n) {
  size_t per = dlrt_example_size(d), bytes = per * (d->pixel_type == DLRT_PIXELS_F32 ? sizeof(float) : 1);
  for (int r = 0; r < n; r++) {
    const char *p = (const char *)d->pixels + (size_t)idx[r] * bytes;
    for (size_t k = 0; k < 4 * 64 && k < bytes; k += 64) __builtin_prefetch(p + k);
    __builtin_prefetch(d->labels + idx[r]);
  }
}

void dlrt_fill_batch(const DlrtDataset *d, const int *idx, int n, int classes, float lo, float hi, float *x,
                     float *y) {
  DlrtPixelMap map = {lo, hi, NULL, NULL};
  dlrt_fill_batch_mapped(d, idx, n, classes, &map, x, y);
}

int dlrt_argmax(const float *v, int len) {
  int best = 0;
  for (int i = 1; i < len; i++)
    if (v[i] > v[best]) best = i;
  return best;
}
