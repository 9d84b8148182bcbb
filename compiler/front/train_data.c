/* train_data.c — the train block's data settings: `data = ...` (a named set, or files:
 * idx(...), npy(...), images(...), cifar10("dir")), `classes = [...]` (a name per class) and
 * `normalize(mean: [...], std: [...])` (per channel); and the checks of a data set's shape
 * and class count against the file's input and target, made when the shape is known: for the
 * named sets at once (model_load), for files once their headers are read (train/data.c).
 *
 * Relative paths in a .net file are relative to the file's directory, so that a model and
 * its data can move together; the paths given with --set stay relative to the working
 * directory (where the command was typed). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "sema_private.h"
#include "suggest.h"

#define COUNT(a) ((int)(sizeof(a) / sizeof *(a)))

enum { DEFAULT_HOLDOUT_PERCENT = 20 };

/* path as the loaders should open it: joined to the directory of the file it is written in. */
static const char *resolve_path(Arena *a, SrcLoc at, const char *path) {
  const char *file = at.file ? at.file->name : NULL, *slash = file ? strrchr(file, '/') : NULL;
  if (path[0] == '/' || !slash || strcmp(file, "--set") == 0) return path;
  return arena_printf(a, "%.*s/%s", (int)(slash - file), file, path);
}

/* A string argument (a path): NULL (reported) when it is something else or empty. */
static const char *path_value(Arena *a, const Expr *call, const Expr *v, const char *what) {
  if (v->kind != E_STR) {
    diag_error(v->loc, "%s of %s must be a string (a path in quotes), e.g. \"%s\"", what, call->name,
               strcmp(call->name, "npy") == 0   ? "data/train_x.npy"
               : strcmp(call->name, "idx") == 0 ? "data/train-images-idx3-ubyte"
                                                : "data/pets");
    return NULL;
  }
  if (!*v->name) {
    diag_error(v->loc, "%s of %s is an empty path", what, call->name);
    return NULL;
  }
  return resolve_path(a, v->loc, v->name);
}

/* The named argument `label: "path"` (NULL when absent; *ok false after reporting). */
static const char *path_arg(Arena *a, const Expr *call, const char *label, bool *ok) {
  const Arg *arg = named_arg_of(call, label);
  if (!arg) return NULL;
  char what[48];
  snprintf(what, sizeof what, "'%s'", label);
  const char *p = path_value(a, call, arg->value, what);
  if (!p) *ok = false;
  return p;
}

/* Only named arguments (images' folder and cifar10's are positional, and come first). */
static bool named_only(const Expr *call, int positional) {
  int i = 0;
  for (const Arg *a = call->args; a; a = a->next, i++)
    if (!a->label && i >= positional) {
      diag_error(a->loc, "the arguments of %s after %s are named, e.g. %s", call->name,
                 positional ? "the folder" : "'('",
                 strcmp(call->name, "npy") == 0    ? "npy(x: \"x.npy\", y: \"y.npy\")"
                 : strcmp(call->name, "idx") == 0  ? "idx(train: \"images\", labels: \"labels\")"
                                                   : "images(\"pets\", test: \"pets-test\")");
      return false;
    }
  return true;
}

/* holdout: F, a fraction of the training set to test on when no test set is given. */
static bool holdout_arg(const Expr *call, bool has_test, DataSpec *d) {
  const Arg *arg = named_arg_of(call, "holdout");
  d->holdout = has_test ? 0 : DEFAULT_HOLDOUT_PERCENT / 100.0;
  if (!arg) return true;
  if (has_test) {
    diag_error(arg->loc, "holdout makes a test set of the last training examples, but %s has one already",
               call->name);
    return false;
  }
  if (arg->value->kind != E_NUM || !(arg->value->num > 0 && arg->value->num < 1)) {
    diag_error(arg->value->loc, "'holdout' must be a fraction between 0 and 1, e.g. holdout: 0.2");
    return false;
  }
  d->holdout = arg->value->num;
  return true;
}

/* A test pair (test:/test_labels:, test_x:/test_y:) is given whole or not at all. */
static bool test_pair(const Expr *call, const DataSpec *d, const char *first, const char *second) {
  if (!d->test == !d->test_labels) return true;
  diag_error(call->loc, "%s needs both %s: and %s: for a test set (or neither, and holdout: to test on part of the "
                        "training set)", call->name, first, second);
  return false;
}

/* The required argument `label:` of call. */
static bool required(const Expr *call, const char *path, const char *label, const char *example) {
  if (path) return true;
  diag_error(call->loc, "%s needs %s: (%s)", call->name, label, example);
  return false;
}

/* idx(train: "images", labels: "labels", test: ..., test_labels: ..., holdout: F) */
static bool idx_data(Arena *a, const Expr *v, DataSpec *d) {
  static const char *const names[] = {"train", "labels", "test", "test_labels", "holdout", NULL};
  bool ok = true;
  if (!check_labels(v, names) || !named_only(v, 0)) return false;
  d->train = path_arg(a, v, "train", &ok), d->train_labels = path_arg(a, v, "labels", &ok);
  d->test = path_arg(a, v, "test", &ok), d->test_labels = path_arg(a, v, "test_labels", &ok);
  return ok && required(v, d->train, "train", "the IDX file of the training images") &&
         required(v, d->train_labels, "labels", "the IDX file of their labels") &&
         test_pair(v, d, "test", "test_labels") && holdout_arg(v, d->test, d);
}

/* npy(x: "x.npy", y: "y.npy", test_x: ..., test_y: ..., holdout: F) */
static bool npy_data(Arena *a, const Expr *v, DataSpec *d) {
  static const char *const names[] = {"x", "y", "test_x", "test_y", "holdout", NULL};
  bool ok = true;
  if (!check_labels(v, names) || !named_only(v, 0)) return false;
  d->train = path_arg(a, v, "x", &ok), d->train_labels = path_arg(a, v, "y", &ok);
  d->test = path_arg(a, v, "test_x", &ok), d->test_labels = path_arg(a, v, "test_y", &ok);
  return ok && required(v, d->train, "x", "the .npy file of the training images") &&
         required(v, d->train_labels, "y", "the .npy file of their labels") && test_pair(v, d, "test_x", "test_y") &&
         holdout_arg(v, d->test, d);
}

/* images("dir", test: "dir", holdout: F) and cifar10("dir"): a folder first. */
static bool folder_data(Arena *a, const Expr *v, DataSpec *d) {
  static const char *const image_names[] = {"test", "holdout", NULL}, *const none[] = {NULL};
  bool images = d->kind == DATA_IMAGES, ok = true;
  if (!check_labels(v, images ? image_names : none) || !named_only(v, 1)) return false;
  if (!v->args || v->args->label) {
    diag_error(v->loc, "%s needs the folder first, e.g. %s", v->name,
               images ? "images(\"pets\") (a folder per class of PNG files)"
                      : "cifar10(\"cifar-10-batches-bin\") (the folder of data_batch_1.bin ...)");
    return false;
  }
  if (!(d->train = path_value(a, v, v->args->value, "the folder"))) return false;
  if (!images) return true;
  d->test = path_arg(a, v, "test", &ok);
  return ok && holdout_arg(v, d->test, d);
}

static const char *const DATA_NAMES[] = {"mnist", "fashion_mnist", "cifar10", "idx", "npy", "images"};

void data_setting(const Setting *t, Arena *a, TrainSettings *ts) {
  const Expr *v = t->value;
  const char *name = v->kind == E_NAME || v->kind == E_CALL ? v->name : "";
  int kind = -1;
  for (int k = 0; k < COUNT(DATA_NAMES); k++)
    if (strcmp(name, DATA_NAMES[k]) == 0) kind = k;
  if (kind < 0) {
    char hint[96];
    if (v->kind == E_STR)
      diag_error(v->loc, "data = \"...\" does not say the format: write npy(x: \"...\", y: \"...\"), idx(train: "
                         "\"...\", labels: \"...\") or images(\"folder\")");
    else
      diag_error(v->loc, "unknown data set%s%s%s (expected mnist, fashion_mnist, cifar10, idx(...), npy(...) or "
                         "images(...); see docs/data.md)%s",
                 *name ? " '" : "", name, *name ? "'" : "",
                 suggest_hint(name, DATA_NAMES, COUNT(DATA_NAMES), "", hint, sizeof hint));
    return;
  }
  DataSpec d = {.kind = (DataKind)kind, .loc = v->loc};
  bool files = d.kind == DATA_IDX || d.kind == DATA_NPY || d.kind == DATA_IMAGES;
  if (files && v->kind != E_CALL) {
    diag_error(v->loc, "%s names files: %s", name,
               d.kind == DATA_IDX   ? "idx(train: \"images\", labels: \"labels\", test: ..., test_labels: ...)"
               : d.kind == DATA_NPY ? "npy(x: \"x.npy\", y: \"y.npy\", test_x: ..., test_y: ...)"
                                    : "images(\"folder\") (a folder per class of PNG files)");
    return;
  }
  if (v->kind == E_CALL && (d.kind == DATA_MNIST || d.kind == DATA_FASHION_MNIST)) {
    diag_error(v->loc, "'%s' takes no arguments: it is found in the data directory (--data DIR)", name);
    return;
  }
  bool ok = v->kind != E_CALL                                    ? true
            : d.kind == DATA_IDX                                 ? idx_data(a, v, &d)
            : d.kind == DATA_NPY                                 ? npy_data(a, v, &d)
                                                                 : folder_data(a, v, &d);
  if (ok) ts->data = d;
}

/* classes = ["T-shirt", "Trouser", ...] */
void classes_setting(const Setting *t, Arena *a, TrainSettings *ts) {
  const Expr *v = t->value;
  if (v->kind != E_LIST) {
    diag_error(v->loc, "classes must be a list of names, e.g. classes = [\"cat\", \"dog\"]");
    return;
  }
  int n = 0;
  for (const Arg *i = v->args; i; i = i->next, n++) {
    if (i->value->kind != E_STR || !*i->value->name) {
      diag_error(i->loc, "a class name is a non-empty string, e.g. \"cat\"");
      return;
    }
    for (const Arg *j = v->args; j != i; j = j->next)
      if (strcmp(j->value->name, i->value->name) == 0) {
        diag_error(i->loc, "class '%s' is named twice", i->value->name);
        return;
      }
  }
  const char **names = ARENA_ARRAY(a, const char *, n);
  n = 0;
  for (const Arg *i = v->args; i; i = i->next) names[n++] = i->value->name;
  ts->classes = names;
  ts->n_classes = n;
  ts->classes_loc = v->loc;
}

/* The list `label: [x, ...]` of normalize as floats (n of them); NULL after reporting. */
static float *number_list(Arena *a, const Expr *call, const char *label, int *n) {
  const Arg *arg = named_arg_of(call, label);
  if (!arg || arg->value->kind != E_LIST) {
    diag_error(arg ? arg->value->loc : call->loc, "normalize needs %s: [...], a number per channel, e.g. "
                                                  "normalize(mean: [0.5], std: [0.25])", label);
    return NULL;
  }
  *n = 0;
  for (const Arg *i = arg->value->args; i; i = i->next) ++*n;
  float *out = ARENA_ARRAY(a, float, *n);
  int k = 0;
  for (const Arg *i = arg->value->args; i; i = i->next, k++) {
    const Expr *x = i->value;
    bool neg = x->kind == E_NEG && x->lhs->kind == E_NUM;
    double num = neg ? -x->lhs->num : x->kind == E_NUM ? x->num : NAN;
    bool std = strcmp(label, "std") == 0;
    if (!isfinite(num) || (std && !(num > 0))) {
      diag_error(i->loc, "%s", std ? "each std of normalize must be a positive number" : "each mean of normalize must be a number");
      return NULL;
    }
    out[k] = (float)num;
  }
  return out;
}

/* normalize(mean: [...], std: [...]) */
void normalize_setting(const Setting *t, Arena *a, TrainSettings *ts) {
  static const char *const names[] = {"mean", "std", NULL};
  const Expr *v = t->value;
  if (!t->call) {
    diag_error(t->loc, "normalize is written as a call, without '=': normalize(mean: [...], std: [...])");
    return;
  }
  if (!check_labels(v, names)) return;
  for (const Arg *i = v->args; i; i = i->next)
    if (!i->label) {
      diag_error(i->loc, "the arguments of normalize are named: normalize(mean: [...], std: [...])");
      return;
    }
  int n_mean = 0, n_std = 0;
  const float *mean = number_list(a, v, "mean", &n_mean), *std = mean ? number_list(a, v, "std", &n_std) : NULL;
  if (!std) return;
  if (n_mean != n_std) {
    diag_error(v->loc, "normalize has %d mean%s but %d std%s: one of each per channel", n_mean, n_mean == 1 ? "" : "s",
               n_std, n_std == 1 ? "" : "s");
    return;
  }
  ts->mean = mean, ts->std = std, ts->n_norm = n_mean;
  ts->normalize_loc = v->loc;
}

/* ---- the checks against the input and target ---------------------------------------- */

bool sema_check_classes(const SemaResult *r, const TrainSettings *ts) {
  if (!ts->classes || !r->target) return true;
  int64_t n = shape_numel(r->target->shape);
  if (ts->n_classes == n) return true;
  diag_error(ts->classes_loc, "classes lists %d name%s, but the target '%s' has %lld classes", ts->n_classes,
             ts->n_classes == 1 ? "" : "s", r->target->name, (long long)n);
  diag_note(r->target->loc, "'%s' is declared here", r->target->name);
  return false;
}

/* Whether the input's declared shape lays out examples of c x h x w as they are stored: as
 * they are, as one vector, or (one channel) as h x w. Another shape of as many values takes
 * the values in their stored order, which is allowed (a reshape) but rarely meant. */
static bool input_as_stored(Shape in, const DataShape *d) {
  if (in.rank == 1) return true;
  if (in.rank == 2) return d->channels == 1 && in.dim[0] == d->rows && in.dim[1] == d->cols;
  return in.rank == 3 && in.dim[0] == d->channels && in.dim[1] == d->rows && in.dim[2] == d->cols;
}

/* The error at `data =`, with a note at the declaration it disagrees with; at that
 * declaration if the file has no `data =` (the default set). */
static SrcLoc place(const TrainSettings *ts, const Node *decl) { return ts->data.loc.file ? ts->data.loc : decl->loc; }

static void note_decl(const TrainSettings *ts, const Node *decl) {
  if (ts->data.loc.file) diag_note(decl->loc, "'%s' is declared here", decl->name);
}

/* Distortions move the pixels of each example as stored, in its rows and columns: a set of
 * vectors (1 x 1 x n, or a single row or column) has none to move them in, whatever shape the
 * model gives its input afterwards (an image set fed to a [784] input distorts as images). */
static void check_distortable(const TrainSettings *ts, const DataShape *d, const char *what) {
  if (!(ts->distort.affine || ts->distort.elastic) || (d->rows > 1 && d->cols > 1)) return;
  bool at_distort = ts->distort_loc.file != NULL;
  diag_error(at_distort ? ts->distort_loc : ts->data.loc, "distortions need images (channels x rows x cols with rows, "
             "cols > 1), but %s gives examples of [%d, %d, %d]", what, d->channels, d->rows, d->cols);
  if (at_distort && ts->data.loc.file) diag_note(ts->data.loc, "the data set is given here");
}

bool sema_check_data(const SemaResult *r, const TrainSettings *ts, const DataShape *d, bool exact, const char *what) {
  int errors = diag_error_count(); /* (the warning below is one with --Werror) */
  char in_buf[SHAPE_STR_MAX], data_buf[SHAPE_STR_MAX];
  int64_t values = (int64_t)d->channels * d->rows * d->cols;
  Shape in = r->input ? r->input->shape : (Shape){0};
  in.batched = false;
  snprintf(data_buf, sizeof data_buf, "[%d, %d, %d]", d->channels, d->rows, d->cols);
  if (r->input && shape_numel(in) != values) {
    char count[48] = "";
    if (in.rank > 1) snprintf(count, sizeof count, " (%lld values)", (long long)shape_numel(in));
    diag_error(place(ts, r->input), "%s gives examples of %s (%lld values), but the input '%s' is %s%s", what,
               data_buf, (long long)values, r->input->name, shape_str(in, in_buf, sizeof in_buf), count);
    note_decl(ts, r->input);
  } else if (r->input && !input_as_stored(in, d)) {
    diag_warning(r->input->loc, "%s gives examples of %s (channels, rows, cols), but '%s' is %s: its values are "
                                "taken in their stored order, so its axes mean something else; declare %s, or one "
                                "vector [%lld]", what, data_buf, r->input->name, shape_str(in, in_buf, sizeof in_buf),
                 data_buf, (long long)values);
  }
  int64_t n = r->target ? shape_numel(r->target->shape) : 0;
  if (r->target && (r->target->shape.rank != 1 || (exact ? n != d->classes : n < d->classes))) {
    Shape tg = r->target->shape;
    tg.batched = false;
    if (tg.rank == 1) snprintf(in_buf, sizeof in_buf, "onehot(%d)", tg.dim[0]);
    else shape_str(tg, in_buf, sizeof in_buf);
    diag_error(place(ts, r->target), "%s has %d classes, so the target '%s' must be onehot(%d)%s, not %s", what,
               d->classes, r->target->name, d->classes, exact ? "" : " or more", in_buf);
    note_decl(ts, r->target);
  }
  if (ts->n_norm && ts->n_norm != d->channels)
    diag_error(ts->normalize_loc, "normalize gives %d mean%s and std%s, but %s has %d channel%s", ts->n_norm,
               ts->n_norm == 1 ? "" : "s", ts->n_norm == 1 ? "" : "s", what, d->channels, d->channels == 1 ? "" : "s");
  check_distortable(ts, d, what);
  return diag_error_count() == errors;
}

bool sema_check_named_data(const SemaResult *r, const TrainSettings *ts) {
  DataShape d;
  char what[64];
  bool ok = sema_check_classes(r, ts);
  if (!data_named_shape(ts->data.kind, &d)) return ok;
  snprintf(what, sizeof what, "data set '%s'", data_kind_name(ts->data.kind));
  /* a named set's classes are exactly its own: a larger target would train outputs that no
   * example asks for */
  return sema_check_data(r, ts, &d, true, what) && ok;
}
