/* preview.c — the augment-preview grid; see preview.h. */
#include "preview.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "batch.h"
#include "distort.h"

enum { GAP = 2 };

/* Stored values to 0..255 as range(0, 255) maps them (bytes as they are; float pixels 0..1
 * to 0..255), whatever the train block's own range and normalisation: the grid shows the
 * images, not the model's inputs. */
static const DlrtPixelMap TO_BYTES = {0, 255, NULL, NULL};

PreviewGrid preview_grid(const Model *m, const DlrtDataset *d) {
  int rows = d->rows, cols = d->cols, n = d->count < PREVIEW_IMAGES ? d->count : PREVIEW_IMAGES;
  int shown = d->channels == 3 ? 3 : 1; /* RGB as colour; any other count: the first channel, grey */
  PreviewGrid g = {(PREVIEW_VARIANTS + 1) * (cols + GAP) + GAP, n * (rows + GAP) + GAP, shown, n, PREVIEW_VARIANTS,
                   NULL};
  size_t plane = (size_t)rows * (size_t)cols;
  g.pixels = malloc((size_t)g.w * (size_t)g.h * (size_t)shown);
  float *img = malloc(sizeof(float) * plane * (size_t)d->channels);
  if (!g.pixels || !img) dlc_fatal("out of memory");
  memset(g.pixels, 128, (size_t)g.w * (size_t)g.h * (size_t)shown); /* grey gaps between the images */
  for (int i = 0; i < n; i++)
    for (int v = 0; v <= PREVIEW_VARIANTS; v++) {
      if (v == 0) dlrt_fill_batch_mapped(d, &i, 1, 0, &TO_BYTES, img, NULL);
      else if (dlrt_fill_batch_distorted_mapped(d, &i, 1, &m->train.distort, m->train.seed, v - 1, i, &TO_BYTES, img) != 0)
        dlc_fatal("out of memory distorting an image");
      for (int y = 0; y < rows; y++)
        for (int x = 0; x < cols; x++)
          for (int c = 0; c < shown; c++) {
            float p = roundf(img[(size_t)c * plane + (size_t)(y * cols + x)]);
            size_t at = (size_t)(GAP + i * (rows + GAP) + y) * (size_t)g.w + (size_t)(GAP + v * (cols + GAP) + x);
            g.pixels[at * (size_t)shown + (size_t)c] = (unsigned char)(p < 0 ? 0 : p > 255 ? 255 : p);
          }
    }
  free(img);
  return g;
}
