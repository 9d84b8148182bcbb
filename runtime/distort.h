/* distort.h — artificial distortions of training images (LeCun et al. 1998; Simard et al.
 * 2003): a random affine map (rotation, scale, shear, translation) and an elastic
 * displacement field, resampled bilinearly. Each image's distortion is drawn from its own
 * random stream, keyed by (seed, epoch, position in the epoch), so a batch comes out the same
 * whichever thread makes it and whenever: runs and resumed runs reproduce exactly. */
#ifndef DLRT_DISTORT_H
#define DLRT_DISTORT_H
#include <stdbool.h>
#include <stdint.h>
#include "batch.h"

typedef struct DlrtDistort {
  bool affine;
  float rotate;   /* degrees: the angle is uniform in [-rotate, rotate] */
  float scale;    /* the zoom is uniform in [1 - scale, 1 + scale], per axis */
  float shear;    /* the shear factor is uniform in [-shear, shear] */
  float shift;    /* pixels: each translation is uniform in [-shift, shift] */
  bool elastic;
  float alpha;    /* pixels: the scale of the smoothed displacement field */
  float sigma;    /* pixels: the width of the Gaussian that smooths it */
} DlrtDistort;

/* Fills x (n rows of channels*rows*cols floats, CHW) with the examples idx[0..n) of d, each
 * distorted: one transform drawn per image and applied to each of its channels, outside the
 * image a stored value of 0; then mapped as dlrt_fill_batch_mapped maps pixels. `first` is the
 * position in the epoch of idx[0]. Any image size. Returns 0, or -1 (x untouched) when there
 * is no memory for the per-call scratch buffers. */
int dlrt_fill_batch_distorted_mapped(const DlrtDataset *d, const int *idx, int n, const DlrtDistort *dist,
                                     uint64_t seed, int epoch, int64_t first, const DlrtPixelMap *map, float *x);

/* dlrt_fill_batch_distorted_mapped with pixels = range(lo, hi) and no normalisation. */
int dlrt_fill_batch_distorted(const DlrtDataset *d, const int *idx, int n, const DlrtDistort *dist, uint64_t seed,
                              int epoch, int64_t first, float lo, float hi, float *x);
#endif
