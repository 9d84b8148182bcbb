/* cmd_preview.c — `dlc augment-preview FILE`: a PNG grid of training images as the file's
 * distortions change them (train/preview.c), so a person can judge the distortions by eye
 * before training. */
#include <stdlib.h>
#include "cli.h"
#include "png.h"
#include "preview.h"

int cmd_preview(const Options *o) {
  ModelConfig cfg = options_model_config(o);
  Model *m = model_load(o->file, &cfg);
  if (!m) return EXIT_USER;
  const DlrtDistort *dist = &m->train.distort;
  const char *out = o->out ? o->out : "augment-preview.png";
  DlrtDataset train = {0};
  int rc = EXIT_USER;
  const DlrtNamedPath outputs[] = {{out, "--out", NULL}};
  if (!outputs_ok(o, outputs, 1)) goto done;
  if (!dist->affine && !dist->elastic) {
    diag_error_plain(o->file, "declares no distortion to preview (distort = affine(...) in the train block, or "
                              "--set 'distort = affine(rotate: 10)')");
    goto done;
  }
  if (!data_load(m, data_dir(o->data_dir), &train, NULL)) goto done;
  PreviewGrid g = preview_grid(m, &train);
  char err[1024];
  if (dlrt_png_write(out, g.pixels, g.w, g.h, g.channels, err, sizeof err) != 0) {
    diag_path_error(err);
  } else {
    printf("%s: %d training images (left column) and %d distortions of each, %dx%d pixels\n", out, g.images,
           g.variants, g.w, g.h);
    rc = EXIT_OK;
  }
  free(g.pixels);
done:
  dlrt_dataset_free(&train);
  model_free(m);
  return rc;
}
