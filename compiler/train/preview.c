/* preview.c — the augment-preview grid; see preview.h. */
#include "preview.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "distort.h"

enum { GAP = 2 };

PreviewGrid preview_grid(const Model *m, const DlrtDataset *d) {
  int rows = d->rows, cols = d->cols, n = d->count < PREVIEW_IMAGES ? d->count : PREVIEW_IMAGES;
  PreviewGrid g = {(PREVIEW_VARIANTS + 1) * (cols + GAP) + GAP, n * (rows + GAP) + GAP, n, PREVIEW_VARIANTS, NULL};
  g.pixels = malloc((size_t)g.w * (size_t)g.h);
  float *img = malloc(sizeof(float) * (size_t)rows * (size_t)cols);
  if (!g.pixels || !img) dlc_fatal("out of memory");
  memset(g.pixels, 128, (size_t)g.w * (size_t)g.h); /* grey gaps between black-background digits */
  for (int i = 0; i < n; i++)
    for (int v = 0; v <= PREVIEW_VARIANTS; v++) {
      if (v == 0) {
        for (int k = 0; k < rows * cols; k++) img[k] = d->pixels[(size_t)i * (size_t)(rows * cols) + (size_t)k];
      } else {
        dlrt_fill_batch_distorted(d, &i, 1, &m->train.distort, m->train.seed, v - 1, i, 0, 255, img);
      }
      for (int y = 0; y < rows; y++)
        for (int x = 0; x < cols; x++) {
          float p = roundf(img[y * cols + x]);
          g.pixels[(size_t)(GAP + i * (rows + GAP) + y) * (size_t)g.w + (size_t)(GAP + v * (cols + GAP) + x)] =
              (unsigned char)(p < 0 ? 0 : p > 255 ? 255 : p);
        }
    }
  free(img);
  return g;
}
