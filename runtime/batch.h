/* batch.h — turning examples of a data set into the float rows a compiled model is fed. */
#ifndef DLRT_BATCH_H
#define DLRT_BATCH_H
#include "dataset.h"

/* How stored pixel values become model inputs, in three steps:
 *   p = v / 255 for uint8 pixels, v itself for float32 pixels;
 *   p = lo + (hi - lo) * p                       (pixels = range(lo, hi));
 *   x = (p - mean[c]) / std[c] for channel c     (normalize(mean: [...], std: [...])).
 * mean and std have one entry per channel of the data set, or are NULL (0 and 1). */
typedef struct DlrtPixelMap {
  float lo, hi;
  const float *mean, *std;
} DlrtPixelMap;

/* Fills x (n rows of channels*rows*cols floats, CHW as stored) with the examples idx[0..n) of
 * d, mapped by map, and, if y is not NULL, y (n x classes) with their one-hot labels. */
void dlrt_fill_batch_mapped(const DlrtDataset *d, const int *idx, int n, int classes, const DlrtPixelMap *map,
                            float *x, float *y);

/* Asks for the pixels and labels of examples idx[0..n) to be brought into the cache, and
 * returns at once: called before a training step for the batch after it, the step hides part
 * of the wait for memory that shuffled examples otherwise cost when they are assembled. */
void dlrt_prefetch_batch(const DlrtDataset *d, const int *idx, int n);

/* dlrt_fill_batch_mapped with pixels = range(lo, hi) and no normalisation. */
void dlrt_fill_batch(const DlrtDataset *d, const int *idx, int n, int classes, float lo, float hi, float *x,
                     float *y);

/* Fills y (n x classes) with the one-hot labels of the examples idx[0..n) of d. The caller
 * has checked d->classes <= classes; a label outside 0..classes-1 leaves its row all zero
 * rather than write outside y. */
void dlrt_fill_labels(const DlrtDataset *d, const int *idx, int n, int classes, float *y);

/* Channel c's map as value * *scale + *offset, the three steps above folded into one (for
 * uint8 pixels without normalisation: scale (hi - lo) / 255 and offset lo, exactly). */
void dlrt_pixel_affine(const DlrtPixelMap *map, DlrtPixelType type, int c, float *scale, float *offset);

/* Index of the largest of v[0..len) (the first, on ties). */
int dlrt_argmax(const float *v, int len);
#endif
