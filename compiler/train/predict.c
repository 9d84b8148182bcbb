/* predict.c — classifying new inputs; see predict.h. Every input is read and checked into
 * data sets first (one per argument: a PNG file, a folder's PNG files, a .npy file's images),
 * then each set is classified batch by batch through the trainer's inference loop, so that
 * new images go through exactly what test images go through (pixel map, threads, batch). */
#define _GNU_SOURCE /* strcasecmp */
#include "predict.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "png.h"

/* One argument's examples, read and checked. */
typedef struct Source {
  DlrtDataset d;
  const char *npy;    /* a .npy file, or NULL: PNG files, ... */
  char **files;       /* ... one per example (malloc'd) */
} Source;

static void source_free(Source *s) {
  for (int i = 0; s->files && i < s->d.count; i++) free(s->files[i]);
  free(s->files);
  dlrt_dataset_free(&s->d);
}

/* What the inputs must be, worked out once for all of them. shape: the example shape the
 * model takes: its input's [c, h, w] or [h, w]; for a vector, the data set's shape if it is
 * known (a named set's, or its training files' headers: probed once). shape.channels 0: only
 * the number of values is known. */
typedef struct Wanted {
  const Model *m;
  DataShape shape;
  int64_t values;
} Wanted;

static Wanted wanted(const Model *m) {
  Shape in = m->sema.input->shape;
  Wanted w = {m, {0, 0, 0, 0}, shape_numel(in)};
  if (in.rank == 3) w.shape = (DataShape){in.dim[0], in.dim[1], in.dim[2], 0};
  else if (in.rank == 2) w.shape = (DataShape){1, in.dim[0], in.dim[1], 0};
  else if (!data_train_shape(m, &w.shape)) w.shape = (DataShape){0, 0, 0, 0};
  return w;
}

static const char *colour(int channels) { return channels == 1 ? "grey" : channels == 3 ? "RGB" : "images"; }

/* Whether examples of c x h x w fit the model; if not, reported against path. */
static bool fits(const Wanted *want, const char *path, int c, int h, int w) {
  const Model *m = want->m;
  DataShape s = want->shape;
  bool ok = s.channels ? c == s.channels && h == s.rows && w == s.cols : (int64_t)c * h * w == want->values;
  int norm = m->train.n_norm;
  if (ok && norm && norm != c) { /* (a vector model's channels are not its input's) */
    diag_error_plain(path, "has %d channel%s, but the train block's normalize gives %d means and stds", c, c > 1 ? "s" : "",
                     norm);
    return false;
  }
  if (ok) return true;
  char got[64];
  snprintf(got, sizeof got, "%dx%d %s", w, h, c == 1 || c == 3 ? colour(c) : "");
  if (c != 1 && c != 3) snprintf(got, sizeof got, "%d x %d x %d values", c, h, w);
  if (s.channels)
    diag_error_plain(path, "is %s, but the model takes %dx%d %s ([%d, %d, %d] per example)", got, s.cols, s.rows,
                     colour(s.channels), s.channels, s.rows, s.cols);
  else
    diag_error_plain(path, "is %s (%lld values), but the model's input '%s' has %lld", got, (long long)c * h * w,
                     m->sema.input->name, (long long)want->values);
  return false;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The .png files of a folder (not starting with '.'), sorted bytewise; NULL after reporting. */
static char **list_pngs(const char *dir, int *n) {
  DIR *d = opendir(dir);
  if (!d) {
    diag_error_plain(dir, "cannot open the folder: %s", strerror(errno));
    return NULL;
  }
  char **names = NULL;
  int cap = 0;
  *n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    size_t len = strlen(e->d_name);
    if (e->d_name[0] == '.' || len < 5 || strcasecmp(e->d_name + len - 4, ".png") != 0) continue;
    if (*n == cap && !(names = realloc(names, sizeof *names * (size_t)(cap = cap ? 2 * cap : 64))))
      dlc_fatal("out of memory");
    size_t dl = strlen(dir);
    char *path = malloc(dl + len + 2);
    if (!path) dlc_fatal("out of memory");
    sprintf(path, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", e->d_name);
    names[(*n)++] = path;
  }
  closedir(d);
  if (*n == 0) {
    diag_error_plain(dir, "holds no .png files to classify");
    free(names);
    return NULL;
  }
  qsort(names, (size_t)*n, sizeof *names, by_name);
  return names;
}

/* Reads n PNG files (taking the paths) into s, each checked against the model. */
static bool read_pngs(const Wanted *want, char **files, int n, Source *s) {
  s->files = files;
  char err[2048];
  bool ok = true;
  for (int i = 0; i < n && ok; i++) {
    DlrtImage img;
    if (dlrt_png_read(files[i], &img, err, sizeof err) != 0) {
      diag_path_error(err);
      ok = false;
      break;
    }
    ok = fits(want, files[i], img.channels, img.height, img.width);
    if (ok && i == 0 &&
        dlrt_dataset_alloc(&s->d, DLRT_PIXELS_U8, n, img.channels, img.height, img.width, 1) != 0)
      dlc_fatal("out of memory for %d images", n);
    if (ok && (img.channels != s->d.channels || img.height != s->d.rows || img.width != s->d.cols)) {
      diag_error_plain(files[i], "is %dx%d %s, but %s is %dx%d %s: the images of one folder must be alike", img.width,
                       img.height, colour(img.channels), files[0], s->d.cols, s->d.rows, colour(s->d.channels));
      ok = false;
    }
    if (ok) { /* interleaved (RGBRGB...) to planes */
      size_t plane = (size_t)img.width * (size_t)img.height;
      unsigned char *out = s->d.pixels + (size_t)i * plane * (size_t)img.channels;
      for (int c = 0; c < img.channels; c++)
        for (size_t p = 0; p < plane; p++) out[(size_t)c * plane + p] = img.pixels[p * (size_t)img.channels + (size_t)c];
    }
    dlrt_image_free(&img);
  }
  if (!ok) { /* (s->d.count is 0 until the first image allocated it: free every path) */
    for (int i = 0; i < n; i++) free(files[i]);
    free(files);
    s->files = NULL;
  }
  return ok;
}

/* One argument: a folder, a .npy file or a PNG file. */
static bool read_input(const Wanted *want, const char *arg, Source *s) {
  struct stat st;
  memset(s, 0, sizeof *s);
  if (stat(arg, &st) != 0) {
    diag_error_plain(arg, "%s", errno == ENOENT ? "file not found" : strerror(errno));
    return false;
  }
  size_t len = strlen(arg);
  if (S_ISDIR(st.st_mode)) {
    int n;
    char **files = list_pngs(arg, &n);
    return files && read_pngs(want, files, n, s);
  }
  if (len > 4 && strcasecmp(arg + len - 4, ".npy") == 0) {
    char err[2048];
    s->npy = arg;
    if (dlrt_npy_load_images(arg, &s->d, err, sizeof err) != 0) {
      diag_path_error(err);
      return false;
    }
    return fits(want, arg, s->d.channels, s->d.rows, s->d.cols);
  }
  char **files = malloc(sizeof *files);
  if (!files || !(files[0] = strdup(arg))) dlc_fatal("out of memory");
  return read_pngs(want, files, 1, s);
}

static bool classify(Trainer *t, const Source *s, ScoreKind k, PredictionFn each, void *ctx) {
  int batch = t->m->train.batch, classes = t->classes;
  float *p = malloc(sizeof(float) * (size_t)classes);
  if (!p) dlc_fatal("out of memory");
  bool ok = true;
  for (int first = 0; first < s->d.count && ok; first += batch) {
    int n = s->d.count - first < batch ? s->d.count - first : batch;
    if (!(ok = trainer_outputs(t, &s->d, first, n))) break;
    for (int i = 0; i < n; i++) {
      score_row(k, t->out + (size_t)i * (size_t)classes, classes, p);
      Prediction pr = {s->npy ? s->npy : s->files[first + i], s->npy ? first + i : -1, p};
      each(ctx, &pr);
    }
  }
  free(p);
  return ok;
}

struct PredictInputs {
  Source *src;
  int n;
};

void predict_free(PredictInputs *in) {
  if (!in) return;
  for (int i = 0; i < in->n; i++) source_free(&in->src[i]);
  free(in->src);
  free(in);
}

PredictInputs *predict_read(const Model *m, const char *const *inputs, int n_inputs) {
  PredictInputs *in = calloc(1, sizeof *in);
  if (!in || !(in->src = calloc((size_t)n_inputs + 1, sizeof *in->src))) dlc_fatal("out of memory");
  in->n = n_inputs;
  Wanted want = wanted(m);
  for (int i = 0; i < n_inputs; i++)
    if (!read_input(&want, inputs[i], &in->src[i])) {
      predict_free(in);
      return NULL;
    }
  return in;
}

bool predict_run(Trainer *t, const PredictInputs *in, PredictionFn each, void *ctx) {
  ScoreKind k = score_kind(t->m);
  for (int i = 0; i < in->n; i++)
    if (!classify(t, &in->src[i], k, each, ctx)) return false;
  return true;
}
