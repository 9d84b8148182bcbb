/* data.c — the data set a train block describes (data.h): which loader reads it and from
 * where, the held-out test set of a set without one, the checks against the model, and the
 * names of its classes. The loaders themselves are the runtime's (runtime/dataset.h). */
#include "data.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *data_dir(const char *dir) {
  if (dir) return dir;
  const char *env = getenv("DLC_DATA");
  return env && *env ? env : "data";
}

/* A named set, found in the data directory (cifar10 may name its folder instead). */
static bool is_named(const DataSpec *d) {
  return d->kind == DATA_MNIST || d->kind == DATA_FASHION_MNIST || (d->kind == DATA_CIFAR10 && !d->train);
}

const char *data_what(const DataSpec *d, char *buf, size_t len) {
  if (is_named(d))
    snprintf(buf, len, "%s", data_kind_name(d->kind));
  else
    snprintf(buf, len, "%s(\"%s\")", data_kind_name(d->kind), d->train);
  return buf;
}

/* The classes of the model: its target's size. */
static int model_classes(const Model *m) { return (int)shape_numel(m->sema.target->shape); }

/* Where a named set is looked for, and how to get it, after a "not found". */
static void named_hint(DataKind k, const char *dir) {
  FILE *e = diag_stream();
  if (k == DATA_MNIST)
    fprintf(e, "  (fetch MNIST with scripts/fetch-mnist.sh %s, or point --data or DLC_DATA at it)\n", dir);
  else if (k == DATA_FASHION_MNIST)
    fprintf(e, "  (install Debian's dataset-fashion-mnist, or put the four files in %s/fashion-mnist/)\n", dir);
  else
    fprintf(e, "  (unpack CIFAR-10's binary version, cifar-10-binary.tar.gz, into %s, or name its folder: "
               "data = cifar10(\"folder\"))\n", dir);
}

/* CIFAR-10's folder: the file's, or DIR/cifar-10-batches-bin (what its archive unpacks to). */
static char *cifar_dir(const DataSpec *s, const char *dir) {
  if (s->train) return strdup(s->train);
  char *path = malloc(strlen(dir) + sizeof "/cifar-10-batches-bin");
  if (path) sprintf(path, "%s/cifar-10-batches-bin", dir);
  return path;
}

/* One part of the set, loaded or probed: the training files (test false) or the test files.
 * For an image folder's test set, classes_from is the training set (its class names). 0, or
 * -1 with "PATH: MESSAGE" in err. */
static int read_part(const DataSpec *s, const char *dir, bool test, bool probe, const DlrtDataset *classes_from,
                     DlrtDataset *out, char *err, size_t errlen) {
  const char *prefix = test ? "t10k" : "train";
  const char *x = test ? s->test : s->train, *y = test ? s->test_labels : s->train_labels;
  switch (s->kind) {
  case DATA_MNIST: return (probe ? dlrt_mnist_probe : dlrt_mnist_load)(dir, prefix, out, err, errlen);
  case DATA_FASHION_MNIST:
    return (probe ? dlrt_fashion_mnist_probe : dlrt_fashion_mnist_load)(dir, prefix, out, err, errlen);
  case DATA_CIFAR10: {
    char *folder = cifar_dir(s, dir);
    if (!folder) dlc_fatal("out of memory");
    int rc = (probe ? dlrt_cifar10_probe : dlrt_cifar10_load)(folder, test, out, err, errlen);
    free(folder);
    return rc;
  }
  case DATA_IDX: return (probe ? dlrt_idx_probe : dlrt_idx_load)(x, y, 0, out, err, errlen);
  case DATA_NPY: return (probe ? dlrt_npy_probe : dlrt_npy_load)(x, y, 0, out, err, errlen);
  case DATA_IMAGES: return (probe ? dlrt_png_dir_probe : dlrt_png_dir_load)(x, classes_from, out, err, errlen);
  }
  DLC_UNREACHABLE();
}

/* Reports a loader's error; for a named set that is not there, where to get it. */
static void report(const DataSpec *s, const char *dir, char *err) {
  bool named = is_named(s);
  if (strstr(diag_path_error(err), "not found") && named) named_hint(s->kind, dir);
}

/* The labels of the training set beyond the target's classes: the first one named, from the
 * labels' file (after sema_check_data has reported the class count at `data =`). */
static void note_first_label(const Model *m, const DlrtDataset *d) {
  const DataSpec *s = &m->train.data;
  int n = model_classes(m);
  for (int i = 0; d->labels && i < d->count; i++)
    if (d->labels[i] >= n) {
      diag_note_plain(s->train_labels ? s->train_labels : s->train, "label %d of example %d is the first beyond 0..%d",
                      d->labels[i], i, n - 1);
      return;
    }
}

/* The set (as loaded or probed) against the model's input and target, at `data =`. */
static bool check_against_model(const Model *m, const DlrtDataset *d) {
  char name[1024], what[1100];
  DataShape shape = {d->channels, d->rows, d->cols, d->classes};
  bool exact = m->train.data.kind != DATA_IDX && m->train.data.kind != DATA_NPY; /* folders, named sets */
  snprintf(what, sizeof what, is_named(&m->train.data) ? "data set '%s'" : "data set %s",
           data_what(&m->train.data, name, sizeof name));
  if (sema_check_data(&m->sema, &m->train, &shape, exact, what)) return true;
  if (d->classes > model_classes(m)) note_first_label(m, d);
  return false;
}

/* Whether the test set is the tail of the training files (a set of files without one). */
static bool holds_out(const DataSpec *s) { return s->holdout > 0; }

/* Examples held out of count: the last `holdout` of them, at least one, and at least one left
 * to train on (a set of one example has none to spare: data_load refuses it). */
static int held_out(const DataSpec *s, int count) {
  if (!holds_out(s) || count < 2) return 0;
  int h = (int)(s->holdout * count + 0.5);
  return h < 1 ? 1 : h > count - 1 ? count - 1 : h;
}

/* A training set ordered by class (as arrays often are) would leave classes out of the
 * training part of a holdout split, or test only the last classes: examples sorted by class,
 * or a class held out that the rest never shows, are reported. */
static bool check_split(const DataSpec *s, const DlrtDataset *d, int h) {
  int n = d->count, classes = d->classes;
  bool sorted = d->labels[0] != d->labels[n - 1];
  for (int i = 1; i < n && sorted; i++) sorted = d->labels[i - 1] <= d->labels[i];
  if (sorted) {
    diag_error(s->loc, "the examples are sorted by class, so the held-out test set (the last %d of %d) holds only the "
                       "last classes; shuffle them, or give a test set", h, n);
    return false;
  }
  char *seen = calloc((size_t)classes + 1, 1);
  if (!seen) dlc_fatal("out of memory");
  for (int i = 0; i < n - h; i++) seen[d->labels[i]] = 1;
  int missing = -1;
  for (int i = n - h; i < n && missing < 0; i++)
    if (!seen[d->labels[i]]) missing = d->labels[i];
  free(seen);
  if (missing < 0) return true;
  diag_error(s->loc, "the held-out test set (the last %d of %d examples) has class %d, which the %d examples trained "
                     "on never show: the examples seem ordered by class; shuffle them, or give a test set", h, n,
             missing, n - h);
  return false;
}

/* The last h examples of d as the test set, d keeping the others; or, without train, d
 * itself moved to its tail (it keeps owning all the memory: dlrt_dataset_free frees by
 * d->mem). */
static void split(DlrtDataset *d, int h, DlrtDataset *train, DlrtDataset *test) {
  DlrtDataset tail = dlrt_dataset_slice(d, d->count - h, h);
  if (train) {
    if (test) *test = tail;
    d->count -= h;
  } else {
    tail.mem = d->mem;
    *d = tail;
  }
}

bool data_load(const Model *m, const char *dir, DlrtDataset *train, DlrtDataset *test) {
  const DataSpec *s = &m->train.data;
  char err[2048], path_err[2048];
  DlrtDataset own_test = {0}, names = {0};
  if (train) memset(train, 0, sizeof *train);
  if (test) memset(test, 0, sizeof *test);
  bool holdout = holds_out(s);
  /* the training files: to train on, to split, or for an image folder's class names */
  DlrtDataset *first = train ? train : holdout ? test : &names;
  bool need_first = train || holdout || (s->kind == DATA_IMAGES && test);
  if (need_first && read_part(s, dir, false, !train && !holdout, NULL, first, err, sizeof err) != 0) {
    report(s, dir, err);
    return false;
  }
  if (need_first && !check_against_model(m, first)) goto fail;
  if (holdout) {
    int h = held_out(s, first->count);
    if (h == 0) {
      diag_error(s->loc, "%s holds one example: a test set needs another (give one, e.g. test: ...)",
                 data_what(s, err, sizeof err));
      goto fail;
    }
    if (!check_split(s, first, h)) goto fail;
    split(first, h, train, test);
    return true;
  }
  if (test) {
    const DlrtDataset *from = s->kind == DATA_IMAGES ? first : NULL;
    if (read_part(s, dir, true, false, from, &own_test, err, sizeof err) != 0) {
      report(s, dir, err);
      goto fail;
    }
    const char *test_path = s->test ? s->test : s->kind == DATA_CIFAR10 ? "test_batch.bin" : "the test set";
    if ((train && dlrt_dataset_match(train, &own_test, test_path, path_err, sizeof path_err) != 0)) {
      diag_path_error(path_err);
      dlrt_dataset_free(&own_test);
      goto fail;
    }
    if (!train && !check_against_model(m, &own_test)) {
      dlrt_dataset_free(&own_test);
      goto fail;
    }
    *test = own_test;
  }
  dlrt_dataset_free(&names);
  return true;
fail:
  if (train) dlrt_dataset_free(train);
  if (test) dlrt_dataset_free(test);
  dlrt_dataset_free(&names);
  return false;
}

bool data_probe(const Model *m, const char *dir, DataSummary *sum) {
  const DataSpec *s = &m->train.data;
  char err[2048];
  DlrtDataset train = {0}, test = {0};
  memset(sum, 0, sizeof *sum);
  bool named = data_named_shape(s->kind, &sum->shape) && is_named(s);
  int h = 0;
  int rc = read_part(s, dir, false, true, NULL, &train, err, sizeof err);
  if (rc == 0) {
    if (!check_against_model(m, &train)) {
      dlrt_dataset_free(&train);
      return false;
    }
    h = held_out(s, train.count);
    if (!h) rc = read_part(s, dir, true, true, &train, &test, err, sizeof err);
  }
  if (rc == 0) {
    sum->found = true;
    sum->shape = (DataShape){train.channels, train.rows, train.cols, train.classes};
    sum->type = train.pixel_type;
    sum->held_out = h;
    sum->train = train.count - h, sum->test = h ? h : test.count;
  } else if (named) { /* no error: its shape is known, and dlc check needs no data */
    snprintf(sum->why, sizeof sum->why, "%s", err);
  } else {
    diag_path_error(err);
  }
  dlrt_dataset_free(&train);
  dlrt_dataset_free(&test);
  return rc == 0 || named;
}

bool data_train_shape(const Model *m, DataShape *out) {
  const DataSpec *s = &m->train.data;
  if (is_named(s)) return data_named_shape(s->kind, out);
  char err[2048];
  DlrtDataset d = {0};
  if (read_part(s, ".", false, true, NULL, &d, err, sizeof err) != 0) return false;
  *out = (DataShape){d.channels, d.rows, d.cols, d.classes};
  dlrt_dataset_free(&d);
  return true;
}

DlrtPixelMap data_pixel_map(const TrainSettings *ts) {
  return (DlrtPixelMap){ts->pixel_lo, ts->pixel_hi, ts->n_norm ? ts->mean : NULL, ts->n_norm ? ts->std : NULL};
}

ClassNames class_names_new(const Model *m, const DlrtDataset *d) {
  const TrainSettings *ts = &m->train;
  ClassNames c = {model_classes(m), NULL};
  c.name = calloc((size_t)c.n, sizeof *c.name);
  if (!c.name) dlc_fatal("out of memory");
  DlrtDataset listed = {0};
  int n_named = 0;
  const char *const *named = data_named_classes(ts->data.kind, &n_named);
  if (!ts->classes && !d && ts->data.kind == DATA_IMAGES) { /* the folders' names, if the folder is there */
    char err[1024];
    if (dlrt_png_dir_probe(ts->data.train, NULL, &listed, err, sizeof err) == 0) d = &listed;
  }
  if (!ts->classes && d && d->class_names) named = (const char *const *)d->class_names, n_named = d->classes;
  for (int i = 0; i < c.n; i++) {
    char number[16];
    snprintf(number, sizeof number, "%d", i);
    const char *name = ts->classes ? ts->classes[i] : named && i < n_named ? named[i] : number;
    if (!(c.name[i] = strdup(name))) dlc_fatal("out of memory");
  }
  dlrt_dataset_free(&listed);
  return c;
}

void class_names_free(ClassNames *c) {
  for (int i = 0; c->name && i < c->n; i++) free(c->name[i]);
  free(c->name);
  *c = (ClassNames){0, NULL};
}
