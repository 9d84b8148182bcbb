/* pngdir.c — image folders: DIR/CLASS/IMAGE.png, the class folders' sorted names being the
 * classes. Every image is decoded once (png.c) straight into the data set's planes; the
 * first fixes the size and channels that every other must have. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "datafile.h"
#include "png.h"

/* A sorted list of names in a directory. */
typedef struct Names {
  char **name;
  int n, cap;
} Names;

static void names_free(Names *l) {
  for (int i = 0; i < l->n; i++) free(l->name[i]);
  free(l->name);
  memset(l, 0, sizeof *l);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Names in DIR not starting with '.' (hidden files, and "." and ".."), sorted bytewise so the
 * order is the same on every machine and locale. */
static int list_dir(const char *dir, Names *l, char *err, size_t errlen) {
  memset(l, 0, sizeof *l);
  DIR *d = opendir(dir);
  if (!d) return dlrt_fail(err, errlen, dir, errno == ENOENT ? "folder not found" : "cannot open: %s", strerror(errno));
  struct dirent *e;
  int rc = 0;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (l->n == l->cap) {
      int cap = l->cap ? 2 * l->cap : 64;
      char **grown = realloc(l->name, sizeof *grown * (size_t)cap);
      if (!grown) rc = -1;
      else l->name = grown, l->cap = cap;
    }
    if (rc == 0 && !(l->name[l->n] = strdup(e->d_name))) rc = -1;
    if (rc == 0) l->n++;
  }
  closedir(d);
  if (rc != 0) {
    names_free(l);
    return dlrt_fail(err, errlen, dir, "out of memory");
  }
  if (l->n) qsort(l->name, (size_t)l->n, sizeof *l->name, by_name);
  return 0;
}

/* One image to load: its file, class, and place in the stratified order. */
typedef struct Entry {
  char *path;
  int label;
  double key; /* (rank in its class + 0.5) / images in its class */
} Entry;

typedef struct Folder {
  const char *dir;
  char *err;
  size_t errlen;
  Names classes;       /* the class folders found */
  Entry *entry;
  size_t n, cap;
} Folder;

static void folder_free(Folder *f) {
  names_free(&f->classes);
  for (size_t i = 0; i < f->n; i++) free(f->entry[i].path);
  free(f->entry);
}

/* The class folders: every entry of DIR must be a folder. */
static int list_classes(Folder *f) {
  if (list_dir(f->dir, &f->classes, f->err, f->errlen) != 0) return -1;
  if (f->classes.n == 0) return dlrt_fail(f->err, f->errlen, f->dir, "no class folders (DIR/CLASS/IMAGE.png)");
  for (int c = 0; c < f->classes.n; c++) {
    char *path = data_join(f->dir, f->classes.name[c]);
    struct stat st;
    int rc = !path ? dlrt_fail(f->err, f->errlen, f->dir, "out of memory")
             : stat(path, &st) != 0 || !S_ISDIR(st.st_mode)
                 ? dlrt_fail(f->err, f->errlen, path, "not a folder (an image folder holds one folder per class)")
                 : 0;
    free(path);
    if (rc != 0) return -1;
  }
  return 0;
}

static int add_entry(Folder *f, char *path, int label) {
  if (f->n == f->cap) {
    size_t cap = f->cap ? 2 * f->cap : 256;
    Entry *grown = realloc(f->entry, sizeof *grown * cap);
    if (!grown) return free(path), dlrt_fail(f->err, f->errlen, f->dir, "out of memory");
    f->entry = grown, f->cap = cap;
  }
  f->entry[f->n++] = (Entry){path, label, 0};
  return 0;
}

/* The images of class folder CLASS, labelled label. */
static int list_images(Folder *f, const char *cls, int label) {
  char *dir = data_join(f->dir, cls);
  Names files;
  if (!dir) return dlrt_fail(f->err, f->errlen, f->dir, "out of memory");
  int rc = list_dir(dir, &files, f->err, f->errlen);
  if (rc == 0 && files.n == 0) rc = dlrt_fail(f->err, f->errlen, dir, "no images in this class folder");
  size_t first = f->n;
  for (int i = 0; rc == 0 && i < files.n; i++) {
    char *path = data_join(dir, files.name[i]);
    rc = path ? add_entry(f, path, label) : dlrt_fail(f->err, f->errlen, dir, "out of memory");
  }
  for (size_t i = first; rc == 0 && i < f->n; i++) f->entry[i].key = ((double)(i - first) + 0.5) / (double)files.n;
  if (rc == 0 && f->n > DLRT_MAX_COUNT) rc = dlrt_fail(f->err, f->errlen, f->dir, "more than %d images", DLRT_MAX_COUNT);
  names_free(&files);
  free(dir);
  return rc;
}

/* The index of name among the training set's classes, or -1. */
static int class_index(const DlrtDataset *from, const char *name) {
  for (int c = 0; c < from->classes; c++)
    if (strcmp(from->class_names[c], name) == 0) return c;
  return -1;
}

static int list_all(Folder *f, const DlrtDataset *from) {
  if (from && !from->class_names)
    return dlrt_fail(f->err, f->errlen, f->dir, "the training set has no class names to match the folders to");
  for (int c = 0; c < f->classes.n; c++) {
    int label = from ? class_index(from, f->classes.name[c]) : c;
    if (label < 0) {
      char *path = data_join(f->dir, f->classes.name[c]);
      dlrt_fail(f->err, f->errlen, path ? path : f->dir, "'%s' is not one of the training set's classes",
                f->classes.name[c]);
      free(path);
      return -1;
    }
    if (list_images(f, f->classes.name[c], label) != 0) return -1;
  }
  return 0;
}

/* Stratified order: by position within the class, as a fraction, so that any stretch of the
 * result holds every class in proportion; ties by class. */
static int by_key(const void *a, const void *b) {
  const Entry *x = a, *y = b;
  return x->key < y->key ? -1 : x->key > y->key ? 1 : x->label - y->label;
}

static const char *colour(int channels) { return channels == 1 ? "grey" : "RGB"; }

/* Decodes entry i into its example's planes (interleaved RGB becomes CHW). */
static int load_image(Folder *f, size_t i, DlrtDataset *d) {
  DlrtImage img;
  if (dlrt_png_read(f->entry[i].path, &img, f->err, f->errlen) != 0) return -1;
  int rc = 0;
  if (img.width != d->cols || img.height != d->rows || img.channels != d->channels) {
    rc = dlrt_fail(f->err, f->errlen, f->entry[i].path, "%dx%d %s, but %s is %dx%d %s: all images must be alike",
                   img.width, img.height, colour(img.channels), f->entry[0].path, d->cols, d->rows, colour(d->channels));
  } else {
    size_t plane = (size_t)d->rows * (size_t)d->cols;
    unsigned char *out = d->pixels + i * plane * (size_t)d->channels;
    for (int c = 0; c < d->channels; c++)
      for (size_t p = 0; p < plane; p++) out[(size_t)c * plane + p] = img.pixels[p * (size_t)d->channels + (size_t)c];
    d->labels[i] = f->entry[i].label;
  }
  dlrt_image_free(&img);
  return rc;
}

/* The first image fixes the shape; then every image is decoded into place (a probe stops
 * after the first). */
static int load_images(Folder *f, int classes, bool probe, DlrtDataset *out) {
  DlrtImage first;
  if (dlrt_png_read(f->entry[0].path, &first, f->err, f->errlen) != 0) return -1;
  int rc = 0;
  if (probe)
    *out = (DlrtDataset){.count = (int)f->n, .rows = first.height, .cols = first.width, .channels = first.channels,
                         .classes = classes};
  else
    rc = dlrt_dataset_alloc(out, DLRT_PIXELS_U8, (int)f->n, first.channels, first.height, first.width, classes);
  dlrt_image_free(&first);
  if (rc != 0) return dlrt_fail(f->err, f->errlen, f->dir, "out of memory for %zu images", f->n);
  for (size_t i = 0; i < f->n && !probe; i++)
    if (load_image(f, i, out) != 0) return -1;
  return 0;
}

static int png_dir(const char *dir, const DlrtDataset *classes_from, bool probe, DlrtDataset *out, char *err,
                   size_t errlen) {
  if (!out) return dlrt_fail(err, errlen, "dlrt_png_dir_load", "no output data set");
  memset(out, 0, sizeof *out);
  if (!dir) return dlrt_fail(err, errlen, "dlrt_png_dir_load", "dir is required");
  Folder f = {.dir = dir, .err = err, .errlen = errlen};
  int rc = list_classes(&f) == 0 && list_all(&f, classes_from) == 0 ? 0 : -1;
  if (rc == 0) {
    qsort(f.entry, f.n, sizeof *f.entry, by_key);
    int classes = classes_from ? classes_from->classes : f.classes.n;
    rc = load_images(&f, classes, probe, out);
    const char *const *names = classes_from ? (const char *const *)classes_from->class_names
                                            : (const char *const *)f.classes.name;
    if (rc == 0 && data_set_names(out, names, classes) != 0) rc = dlrt_fail(err, errlen, dir, "out of memory");
  }
  folder_free(&f);
  if (rc != 0) dlrt_dataset_free(out);
  return rc;
}

int dlrt_png_dir_load(const char *dir, const DlrtDataset *classes_from, DlrtDataset *out, char *err, size_t errlen) {
  return png_dir(dir, classes_from, false, out, err, errlen);
}

int dlrt_png_dir_probe(const char *dir, const DlrtDataset *classes_from, DlrtDataset *out, char *err, size_t errlen) {
  return png_dir(dir, classes_from, true, out, err, errlen);
}
