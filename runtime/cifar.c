/* cifar.c — CIFAR-10's binary version (cifar-10-batches-bin): each file a run of records,
 * one label byte (0..9) then 3072 pixel bytes, the 32x32 red plane, green, blue. Labels and
 * pixels are interleaved on disk, so they are copied apart once, straight from the mapping. */
#include <stdlib.h>
#include <string.h>
#include "datafile.h"

enum { SIDE = 32, CHANNELS = 3, PIXELS = CHANNELS * SIDE * SIDE, RECORD = 1 + PIXELS, CLASSES = 10 };

static const char *const TRAIN_FILES[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                          "data_batch_4.bin", "data_batch_5.bin"};
static const char *const TEST_FILES[] = {"test_batch.bin"};
static const char *const NAMES[CLASSES] = {"airplane", "automobile", "bird", "cat", "deer",
                                           "dog",      "frog",       "horse", "ship", "truck"};

typedef struct Batch {
  char *path;
  DataMap map;
} Batch;

/* Maps one file and checks it holds whole records, at least one (a probe maps it lazily: only
 * its size is needed). */
static int open_batch(Batch *b, const char *dir, const char *name, bool probe, char *err, size_t errlen) {
  b->path = data_join(dir, name);
  if (!b->path) return dlrt_fail(err, errlen, dir, "out of memory");
  if ((probe ? data_map_lazy : data_map)(b->path, &b->map, err, errlen) != 0) return -1;
  if (b->map.size == 0) return dlrt_fail(err, errlen, b->path, "empty: no records");
  if (b->map.size % RECORD != 0)
    return dlrt_fail(err, errlen, b->path,
                     "%zu bytes are not whole records of %d bytes (a label byte and 3x32x32 pixels): %zu left over",
                     b->map.size, RECORD, b->map.size % RECORD);
  return 0;
}

/* Copies the records of b into pixels and labels from example `first` on. */
static int copy_batch(const Batch *b, DlrtDataset *d, size_t first, char *err, size_t errlen) {
  size_t n = b->map.size / RECORD;
  for (size_t i = 0; i < n; i++) {
    const unsigned char *rec = b->map.data + i * RECORD;
    if (rec[0] >= CLASSES)
      return dlrt_fail(err, errlen, b->path, "label %d at index %zu is out of range for %d classes (0..%d)", rec[0], i,
                       CLASSES, CLASSES - 1);
    d->labels[first + i] = rec[0];
    memcpy(d->pixels + (first + i) * PIXELS, rec + 1, PIXELS);
  }
  return 0;
}

/* A probe counts the records and reads nothing else: their labels are interleaved with the
 * pixels, so reading them would read the whole file. */
static int load(const char *dir, const char *const *files, int nfiles, bool probe, DlrtDataset *out, char *err,
                size_t errlen) {
  Batch b[5] = {{0}};
  size_t total = 0;
  int rc = 0;
  for (int f = 0; f < nfiles && rc == 0; f++) {
    rc = open_batch(&b[f], dir, files[f], probe, err, errlen);
    total += b[f].map.size / RECORD;
  }
  if (rc == 0 && total > DLRT_MAX_COUNT)
    rc = dlrt_fail(err, errlen, dir, "%zu records, more than the %d dlc reads", total, DLRT_MAX_COUNT);
  if (rc == 0 && probe)
    *out = (DlrtDataset){.count = (int)total, .rows = SIDE, .cols = SIDE, .channels = CHANNELS, .classes = CLASSES};
  else if (rc == 0 && dlrt_dataset_alloc(out, DLRT_PIXELS_U8, (int)total, CHANNELS, SIDE, SIDE, CLASSES) != 0)
    rc = dlrt_fail(err, errlen, dir, "out of memory for %zu images", total);
  for (size_t f = 0, first = 0; f < (size_t)nfiles && rc == 0 && !probe; first += b[f].map.size / RECORD, f++)
    rc = copy_batch(&b[f], out, first, err, errlen);
  if (rc == 0 && data_set_names(out, NAMES, CLASSES) != 0) rc = dlrt_fail(err, errlen, dir, "out of memory");
  for (int f = 0; f < nfiles; f++) {
    data_unmap(&b[f].map);
    free(b[f].path);
  }
  return rc;
}

static int cifar10(const char *dir, bool test, bool probe, DlrtDataset *out, char *err, size_t errlen) {
  if (!out) return dlrt_fail(err, errlen, "dlrt_cifar10_load", "no output data set");
  memset(out, 0, sizeof *out);
  if (!dir) return dlrt_fail(err, errlen, "dlrt_cifar10_load", "dir is required");
  int rc = test ? load(dir, TEST_FILES, 1, probe, out, err, errlen) : load(dir, TRAIN_FILES, 5, probe, out, err, errlen);
  if (rc != 0) dlrt_dataset_free(out);
  return rc;
}

int dlrt_cifar10_load(const char *dir, bool test, DlrtDataset *out, char *err, size_t errlen) {
  return cifar10(dir, test, false, out, err, errlen);
}

int dlrt_cifar10_probe(const char *dir, bool test, DlrtDataset *out, char *err, size_t errlen) {
  return cifar10(dir, test, true, out, err, errlen);
}
