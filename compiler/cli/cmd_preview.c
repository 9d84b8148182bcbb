/* cmd_preview.c — `dlc augment-preview FILE`: a PNG grid of training images as the file's
 * distortions change them, so a person can judge the distortions by eye before training. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "distort.h"
#include "png.h"

enum { PREVIEW_IMAGES = 8, PREVIEW_VARIANTS = 8, GAP = 2 };

int cmd_preview(const Options *o) {
  Model *m = model_load(o->file, &o->ov);
  if (!m) return EXIT_USER;
  const DlrtDistort *dist = &m->train.distort;
  const char *out = o->out ? o->out : "augment-preview.png";
  DlrtDataset train = {0};
  int rc = EXIT_USER;
  if (!dist->affine && !dist->elastic) {
    diag_error_plain(o->file, "declares no distortion to preview (distort = affine(...) in the train block, or "
                              "--set 'distort = affine(rotate: 10)')");
    goto done;
  }
  if (!load_data(data_dir(o), &train, NULL)) goto done;
  int rows = train.rows, cols = train.cols, n = train.count < PREVIEW_IMAGES ? train.count : PREVIEW_IMAGES;
  /* columns: the image, then PREVIEW_VARIANTS distortions of it, drawn as training draws them
   * (the streams of epochs 0, 1, ... at the image's index as its position) */
  int w = (PREVIEW_VARIANTS + 1) * (cols + GAP) + GAP, h = n * (rows + GAP) + GAP;
  unsigned char *grid = malloc((size_t)w * (size_t)h);
  float *img = malloc(sizeof(float) * (size_t)rows * (size_t)cols);
  if (!grid || !img) dlc_fatal("out of memory");
  memset(grid, 128, (size_t)w * (size_t)h); /* grey gaps between black-background digits */
  for (int i = 0; i < n; i++)
    for (int v = 0; v <= PREVIEW_VARIANTS; v++) {
      if (v == 0) {
        for (int k = 0; k < rows * cols; k++) img[k] = train.pixels[(size_t)i * (size_t)(rows * cols) + (size_t)k];
      } else {
        dlrt_fill_batch_distorted(&train, &i, 1, dist, m->train.seed, v - 1, i, 0, 255, img);
      }
      for (int y = 0; y < rows; y++)
        for (int x = 0; x < cols; x++) {
          float p = roundf(img[y * cols + x]);
          grid[(size_t)(GAP + i * (rows + GAP) + y) * (size_t)w + (size_t)(GAP + v * (cols + GAP) + x)] =
              (unsigned char)(p < 0 ? 0 : p > 255 ? 255 : p);
        }
    }
  char err[1024];
  if (dlrt_png_write_gray(out, grid, w, h, err, sizeof err) != 0) {
    report_path_error(err);
  } else {
    printf("%s: %d training images (left column) and %d distortions of each, %dx%d pixels\n", out, n,
           PREVIEW_VARIANTS, w, h);
    rc = EXIT_OK;
  }
  free(grid);
  free(img);
done:
  dlrt_dataset_free(&train);
  model_free(m);
  return rc;
}
