/* batch.c — batch assembly for training and evaluation. */
#include "batch.h"
#include <string.h>

void dlrt_fill_labels(const DlrtDataset *d, const int *idx, int n, int classes, float *y) {
  memset(y, 0, sizeof(float) * (size_t)n * (size_t)classes);
  for (int r = 0; r < n; r++) y[(size_t)r * (size_t)classes + d->labels[idx[r]]] = 1.0f;
}

void dlrt_fill_batch(const DlrtDataset *d, const int *idx, int n, int classes, float lo, float hi, float *x,
                     float *y) {
  int per = d->rows * d->cols;
  float scale = (hi - lo) / 255.0f;
  for (int r = 0; r < n; r++) {
    const unsigned char *px = d->pixels + (size_t)idx[r] * (size_t)per;
    float *row = x + (size_t)r * (size_t)per;
    for (int i = 0; i < per; i++) row[i] = lo + (float)px[i] * scale;
  }
  if (y) dlrt_fill_labels(d, idx, n, classes, y);
}

int dlrt_argmax(const float *v, int len) {
  int best = 0;
  for (int i = 1; i < len; i++)
    if (v[i] > v[best]) best = i;
  return best;
}
