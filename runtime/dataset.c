/* dataset.c — the data set type's life: allocation, views, freeing, and the checks that a
 * test set fits its training set. The loaders are in idx.c, mnist.c, cifar.c, npy.c and
 * pngdir.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "datafile.h"

void dlrt_dataset_free(DlrtDataset *d) {
  if (!d) return;
  if (d->mem.map) munmap(d->mem.map, d->mem.map_size);
  free(d->mem.pixels);
  free(d->mem.labels);
  for (int i = 0; d->mem.names && i < d->mem.n_names; i++) free(d->mem.names[i]);
  free(d->mem.names);
  memset(d, 0, sizeof *d);
}

int dlrt_dataset_alloc(DlrtDataset *d, DlrtPixelType type, int count, int channels, int rows, int cols,
                       int classes) {
  memset(d, 0, sizeof *d);
  if (count < 1 || count > DLRT_MAX_COUNT || channels < 1 || channels > DLRT_MAX_CHANNELS || rows < 1 ||
      rows > DLRT_MAX_SIDE || cols < 1 || cols > DLRT_MAX_SIDE || classes < 1 || classes > DLRT_MAX_CLASSES ||
      (size_t)channels * (size_t)rows * (size_t)cols > DLRT_MAX_EXAMPLE)
    return -1;
  *d = (DlrtDataset){.count = count, .rows = rows, .cols = cols, .channels = channels, .classes = classes,
                     .pixel_type = type};
  size_t values = (size_t)count * dlrt_example_size(d);
  d->mem.pixels = calloc(values, type == DLRT_PIXELS_F32 ? sizeof(float) : 1);
  d->mem.labels = calloc((size_t)count, sizeof(int32_t));
  d->pixels = d->mem.pixels;
  d->labels = d->mem.labels;
  if (!d->mem.pixels || !d->mem.labels) {
    dlrt_dataset_free(d);
    return -1;
  }
  return 0;
}

DlrtDataset dlrt_dataset_slice(const DlrtDataset *d, int first, int count) {
  DlrtDataset v = *d;
  memset(&v.mem, 0, sizeof v.mem);
  if (first < 0 || count < 0 || first > d->count || count > d->count - first) {
    v.count = 0;
    return v;
  }
  size_t skip = (size_t)first * dlrt_example_size(d);
  if (d->pixel_type == DLRT_PIXELS_F32) v.pixels_f32 = d->pixels_f32 + skip;
  else v.pixels = d->pixels + skip;
  v.labels = d->labels + first;
  v.count = count;
  return v;
}

const char *dlrt_dataset_shape_str(const DlrtDataset *d, char *buf, size_t len) {
  snprintf(buf, len, "%dx%dx%d", d->channels, d->rows, d->cols);
  return buf;
}

static const char *type_name(DlrtPixelType t) { return t == DLRT_PIXELS_F32 ? "float32" : "uint8"; }

/* Class names: the test set's are the first of the training set's, or (when one set has
 * none) there is nothing to compare. */
static int match_names(const DlrtDataset *train, const DlrtDataset *test, const char *path, char *err,
                       size_t errlen) {
  if (!train->class_names || !test->class_names) return 0;
  for (int c = 0; c < test->classes; c++)
    if (strcmp(train->class_names[c], test->class_names[c]) != 0)
      return dlrt_fail(err, errlen, path, "class %d is '%s', but in the training set it is '%s'", c,
                       test->class_names[c], train->class_names[c]);
  return 0;
}

int dlrt_dataset_match(const DlrtDataset *train, const DlrtDataset *test, const char *test_path, char *err,
                       size_t errlen) {
  char a[64], b[64];
  if (test->channels != train->channels || test->rows != train->rows || test->cols != train->cols)
    return dlrt_fail(err, errlen, test_path, "examples are %s, but the training examples are %s",
                     dlrt_dataset_shape_str(test, a, sizeof a), dlrt_dataset_shape_str(train, b, sizeof b));
  if (test->pixel_type != train->pixel_type)
    return dlrt_fail(err, errlen, test_path, "pixels are %s, but the training pixels are %s",
                     type_name(test->pixel_type), type_name(train->pixel_type));
  if (test->classes > train->classes) /* fewer is fine: a small test set may miss a class */
    return dlrt_fail(err, errlen, test_path, "has %d classes, but the training set has %d", test->classes,
                     train->classes);
  return match_names(train, test, test_path, err, errlen);
}
