/* mnist.c — the MNIST-style sets: which directory holds MNIST, Fashion-MNIST (the user's, or
 * Debian's package) or any set laid out like them, and their class names. The directories'
 * files are found and read by idx.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "datafile.h"
#include "idx.h"

static const char *const DIGITS[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
static const char *const FASHION[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

/* Loads DIR/SUB (SUB NULL: DIR itself) with names when there are any; frees on failure. */
static int load_named(const char *dir, const char *sub, const char *prefix, int classes,
                      const char *const *class_names, bool probe, DlrtDataset *out, char *err, size_t errlen) {
  char *path = sub ? data_join(dir, sub) : NULL;
  int rc = -1;
  if (sub && !path) dlrt_fail(err, errlen, dir, "out of memory");
  else rc = idx_load_dir(sub ? path : dir, prefix, classes, probe, out, err, errlen);
  if (rc == 0 && class_names && data_set_names(out, class_names, classes) != 0)
    rc = dlrt_fail(err, errlen, dir, "out of memory");
  free(path);
  if (rc != 0) dlrt_dataset_free(out);
  return rc;
}

/* The checks every entry point starts with. */
static int check_args(const char *fn, const char *dir, const char *prefix, DlrtDataset *out, char *err,
                      size_t errlen) {
  if (!out) return dlrt_fail(err, errlen, fn, "no output data set");
  memset(out, 0, sizeof *out);
  if (!dir || !prefix) return dlrt_fail(err, errlen, fn, "dir and prefix are required");
  return 0;
}

static int mnist(const char *dir, const char *prefix, bool probe, DlrtDataset *out, char *err, size_t errlen) {
  if (check_args("dlrt_mnist_load", dir, prefix, out, err, errlen) != 0) return -1;
  return load_named(dir, "mnist", prefix, 10, DIGITS, probe, out, err, errlen);
}

int dlrt_mnist_load(const char *dir, const char *prefix, DlrtDataset *out, char *err, size_t errlen) {
  return mnist(dir, prefix, false, out, err, errlen);
}

int dlrt_mnist_probe(const char *dir, const char *prefix, DlrtDataset *out, char *err, size_t errlen) {
  return mnist(dir, prefix, true, out, err, errlen);
}

int dlrt_idx_dir_load(const char *dir, const char *prefix, int classes, DlrtDataset *out, char *err,
                      size_t errlen) {
  if (check_args("dlrt_idx_dir_load", dir, prefix, out, err, errlen) != 0) return -1;
  if (classes < 0 || classes > DLRT_MAX_CLASSES)
    return dlrt_fail(err, errlen, dir, "%d classes out of range 0..%d", classes, DLRT_MAX_CLASSES);
  return load_named(dir, NULL, prefix, classes, NULL, false, out, err, errlen);
}

/* DIR/fashion-mnist when the set is there, else the Debian package's directory when it is
 * there; when neither has it, the error names both. */
static int fashion(const char *dir, const char *prefix, bool probe, DlrtDataset *out, char *err, size_t errlen) {
  if (check_args("dlrt_fashion_mnist_load", dir, prefix, out, err, errlen) != 0) return -1;
  char *own = data_join(dir, "fashion-mnist");
  if (!own) return dlrt_fail(err, errlen, dir, "out of memory");
  int rc;
  if (idx_dir_has_set(own, prefix) || !idx_dir_has_set(DLRT_FASHION_MNIST_DEBIAN_DIR, prefix)) {
    rc = load_named(own, NULL, prefix, 10, FASHION, probe, out, err, errlen);
    if (rc != 0 && !idx_dir_has_set(own, prefix) && err && strlen(err) + 80 < errlen)
      snprintf(err + strlen(err), errlen - strlen(err), ", and not in %s (Debian's dataset-fashion-mnist)",
               DLRT_FASHION_MNIST_DEBIAN_DIR);
  } else {
    rc = load_named(DLRT_FASHION_MNIST_DEBIAN_DIR, NULL, prefix, 10, FASHION, probe, out, err, errlen);
  }
  free(own);
  return rc;
}

int dlrt_fashion_mnist_load(const char *dir, const char *prefix, DlrtDataset *out, char *err, size_t errlen) {
  return fashion(dir, prefix, false, out, err, errlen);
}

int dlrt_fashion_mnist_probe(const char *dir, const char *prefix, DlrtDataset *out, char *err, size_t errlen) {
  return fashion(dir, prefix, true, out, err, errlen);
}
