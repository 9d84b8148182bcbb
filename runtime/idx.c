/* idx.c — IDX files (the format of MNIST and its relatives), alone or as the pairs of an
 * MNIST-style directory: a big-endian magic 0x0000TTNN (data type TT, NN dimensions), NN
 * big-endian dimensions, then the data. Images stay in the file's mapping when it is raw and
 * are decompressed once when it is gzip; labels become int32. Headers, sizes and labels are
 * checked before anything is trusted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "datafile.h"
#include "idx.h"

/* The IDX data types dlc reads (codes 0x08.. ; 0x0D float32 and 0x0E float64 are not). */
typedef struct IdxType {
  unsigned code;
  int size;
  bool is_signed;
} IdxType;

static const IdxType TYPES[] = {{0x08, 1, false}, {0x09, 1, true}, {0x0B, 2, true}, {0x0C, 4, true}};

/* What one IDX file must be; kind and what only feed messages. */
typedef struct IdxSpec {
  const char *kind;  /* "image" / "label" */
  const char *what;  /* payload noun: "pixels" / "labels" */
  unsigned ndims;    /* bit n set: n dimensions accepted */
  unsigned types;    /* bit i set: TYPES[i] accepted */
} IdxSpec;

/* The files of an MNIST-style directory are what their names say: idx3-ubyte, idx1-ubyte. */
static const IdxSpec MNIST_IMAGES = {"image", "pixels", 1u << 3, 1u << 0};
static const IdxSpec MNIST_LABELS = {"label", "labels", 1u << 1, 1u << 0};
static const IdxSpec ANY_IMAGES = {"image", "pixels", 1u << 2 | 1u << 3 | 1u << 4, 1u << 0};
static const IdxSpec ANY_LABELS = {"label", "labels", 1u << 1, 1u << 0 | 1u << 1 | 1u << 2 | 1u << 3};

/* One file being read. */
typedef struct IdxFile {
  DataSource src;
  const char *path;
  char *err;
  size_t errlen;
  const IdxSpec *spec;
  IdxType type;
  int ndims;
  uint32_t dims[4];
  const unsigned char *data; /* the payload: in src's mapping, or heap */
  unsigned char *heap;
} IdxFile;

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int lowest_bit(unsigned mask) { return __builtin_ctz(mask); }

/* The magics spec accepts: "0x00000803", or "0x00000802, 0x00000803 or 0x00000804". */
static void expected_magics(const IdxSpec *spec, char *buf, size_t len) {
  unsigned magics[16];
  int n = 0;
  for (int t = 0; t < 4; t++)
    for (unsigned d = 1; d <= 4; d++)
      if (spec->types >> t & 1 && spec->ndims >> d & 1) magics[n++] = TYPES[t].code << 8 | d;
  size_t at = 0;
  buf[0] = 0;
  for (int i = 0; i < n && at < len; i++)
    at += (size_t)snprintf(buf + at, len - at, "%s0x%08x", i == 0 ? "" : i == n - 1 ? " or " : ", ", magics[i]);
}

/* Checks the magic number (before the dimensions are read, so that a short file of the
 * wrong kind is reported as the wrong kind rather than as truncated). */
static int check_magic(IdxFile *f, uint32_t magic) {
  unsigned code = magic >> 8, nd = magic & 0xff;
  for (int t = 0; magic >> 16 == 0 && t < 4; t++)
    if (TYPES[t].code == code && f->spec->types >> t & 1 && nd <= 4 && f->spec->ndims >> nd & 1) {
      f->type = TYPES[t];
      f->ndims = (int)nd;
      return 0;
    }
  char want[128];
  expected_magics(f->spec, want, sizeof want);
  return dlrt_fail(f->err, f->errlen, f->path, "wrong magic 0x%08x (expected %s, an IDX %s file)", (unsigned)magic,
                   want, f->spec->kind);
}

static int read_header(IdxFile *f) {
  unsigned char hdr[4 + 4 * 4];
  long long got = source_read(&f->src, hdr, 4);
  if (got < 0) return -1;
  size_t hdrlen = 4 + 4 * (size_t)lowest_bit(f->spec->ndims);
  if (got == 4) {
    if (check_magic(f, be32(hdr)) != 0) return -1;
    hdrlen = 4 + 4 * (size_t)f->ndims;
    long long more = source_read(&f->src, hdr + 4, hdrlen - 4);
    if (more < 0) return -1;
    got += more;
  }
  if ((size_t)got < hdrlen)
    return dlrt_fail(f->err, f->errlen, f->path, "truncated header: expected %zu bytes, got %lld", hdrlen, got);
  for (int i = 0; i < f->ndims; i++) f->dims[i] = be32(hdr + 4 + 4 * i);
  return 0;
}

static int check_range(IdxFile *f, const char *name, uint32_t v, uint32_t max) {
  if (v >= 1 && v <= max) return 0;
  return dlrt_fail(f->err, f->errlen, f->path, "%s %u out of range 1..%u", name, (unsigned)v, (unsigned)max);
}

/* An image file's dimensions as channels, rows, cols (idx2: one row; idx3: one channel). */
static void image_dims(const IdxFile *f, uint32_t *c, uint32_t *r, uint32_t *w) {
  *c = f->ndims == 4 ? f->dims[1] : 1;
  *r = f->ndims == 4 ? f->dims[2] : f->ndims == 3 ? f->dims[1] : 1;
  *w = f->dims[f->ndims - 1];
}

static int check_dims(IdxFile *f) {
  char name[32];
  snprintf(name, sizeof name, "%s count", f->spec->kind);
  if (check_range(f, name, f->dims[0], DLRT_MAX_COUNT)) return -1;
  if (f->ndims == 1) return 0;
  uint32_t c, r, w;
  image_dims(f, &c, &r, &w);
  if ((f->ndims == 4 && check_range(f, "channels", c, DLRT_MAX_CHANNELS)) ||
      (f->ndims >= 3 && check_range(f, "rows", r, DLRT_MAX_SIDE)) || check_range(f, "cols", w, DLRT_MAX_SIDE))
    return -1;
  if ((uint64_t)c * r * w > DLRT_MAX_EXAMPLE)
    return dlrt_fail(f->err, f->errlen, f->path, "images of %ux%ux%u values are too large (at most %d)", c, r, w,
                     DLRT_MAX_EXAMPLE);
  return 0;
}

/* When the pixels the file holds make whole images of another size that shares a side (or
 * the plane) with the header's, the header's dimensions are wrong, not the file short or
 * long: say so. */
static bool wrong_dimensions(IdxFile *f, uint64_t want, uint64_t have) {
  if (f->ndims == 1 || have == 0 || have % f->dims[0] != 0) return false;
  uint32_t c, r, w;
  image_dims(f, &c, &r, &w);
  uint64_t per = have / f->dims[0];
  if (per % w != 0 && per % r != 0 && per % ((uint64_t)r * w) != 0) return false;
  dlrt_fail(f->err, f->errlen, f->path,
            "wrong dimensions: the header says %u images of %ux%ux%u (%llu bytes of pixels), but the file holds "
            "%llu bytes, %llu per image",
            (unsigned)f->dims[0], c, r, w, (unsigned long long)want, (unsigned long long)have,
            (unsigned long long)per);
  return true;
}

/* Takes the payload that the dimensions describe, then checks nothing follows it. */
static int read_body(IdxFile *f) {
  uint64_t want = f->dims[0] * (uint64_t)f->type.size;
  for (int i = 1; i < f->ndims; i++) want *= f->dims[i];
#if SIZE_MAX < UINT64_MAX
  if (want > SIZE_MAX)
    return dlrt_fail(f->err, f->errlen, f->path, "%llu bytes of %s do not fit in memory", (unsigned long long)want,
                     f->spec->what);
#endif
  size_t got;
  int rc = source_take(&f->src, (size_t)want, &f->data, &f->heap, &got);
  if (rc < 0) return -1;
  if (rc == 1) {
    if (wrong_dimensions(f, want, got)) return -1;
    return dlrt_fail(f->err, f->errlen, f->path, "truncated: expected %llu bytes of %s, got %zu",
                     (unsigned long long)want, f->spec->what, got);
  }
  long long extra = source_rest(&f->src);
  if (extra < 0) return -1;
  if (extra > 0 && !wrong_dimensions(f, want, want + (uint64_t)extra))
    return dlrt_fail(f->err, f->errlen, f->path, "%lld extra bytes after the data", extra);
  return extra > 0 ? -1 : 0;
}

static void idx_close(IdxFile *f) {
  source_close(&f->src);
  free(f->heap);
  f->heap = NULL;
}

/* Opens and reads a whole file; on failure everything is closed again. With headers_only (a
 * probe), the payload is not read: a raw file's size is still checked against its header (the
 * mapping is not touched), a gzip file's cannot be without inflating it, and is not. */
static int idx_open(IdxFile *f, const char *path, const IdxSpec *spec, bool headers_only, char *err, size_t errlen) {
  memset(f, 0, sizeof *f);
  f->path = path, f->spec = spec, f->err = err, f->errlen = errlen;
  int rc = source_open(&f->src, path, headers_only, err, errlen);
  if (rc != 0) return rc;
  if (read_header(f) == 0 && check_dims(f) == 0 && ((headers_only && f->src.gz) || read_body(f) == 0)) return 0;
  idx_close(f);
  return -1;
}

/* The images become the data set's pixels: the mapping moves over (raw), or the buffer. */
static void take_images(IdxFile *img, DlrtDataset *out) {
  uint32_t c, r, w;
  image_dims(img, &c, &r, &w);
  out->count = (int)img->dims[0], out->channels = (int)c, out->rows = (int)r, out->cols = (int)w;
  out->pixel_type = DLRT_PIXELS_U8;
  out->pixels = (unsigned char *)img->data;
  if (img->heap) out->mem.pixels = img->heap, img->heap = NULL;
  else source_give_map(&img->src, out);
}

/* Joins a loaded pair: labels converted and range-checked, counts cross-checked (a mismatch
 * reported against mismatch_path, or the labels file), the images moved into out. */
static int join_pair(IdxFile *img, IdxFile *lbl, int classes, const char *mismatch_path, DlrtDataset *out, char *err,
                     size_t errlen) {
  if (lbl->dims[0] != img->dims[0]) {
    if (mismatch_path)
      return dlrt_fail(err, errlen, mismatch_path, "%u images but %u labels", (unsigned)img->dims[0],
                       (unsigned)lbl->dims[0]);
    return dlrt_fail(err, errlen, lbl->path, "%u labels, but %s holds %u images", (unsigned)lbl->dims[0], img->path,
                     (unsigned)img->dims[0]);
  }
  LabelType lt = {lbl->type.size, lbl->type.is_signed, true};
  if (data_labels(lbl->data, lbl->dims[0], lt, lbl->path, &classes, &out->mem.labels, err, errlen) != 0) return -1;
  out->labels = out->mem.labels;
  out->classes = classes;
  take_images(img, out);
  return 0;
}

static int load_pair(const char *images, const char *labels, int classes, bool probe, DlrtDataset *out, char *err,
                     size_t errlen) {
  if (!out) return dlrt_fail(err, errlen, "dlrt_idx_load", "no output data set");
  memset(out, 0, sizeof *out);
  if (!images || !labels) return dlrt_fail(err, errlen, "dlrt_idx_load", "images and labels are required");
  if (classes < 0 || classes > DLRT_MAX_CLASSES)
    return dlrt_fail(err, errlen, labels, "%d classes out of range 0..%d", classes, DLRT_MAX_CLASSES);
  IdxFile img, lbl;
  int rc = -1;
  if (idx_open(&img, images, &ANY_IMAGES, probe, err, errlen) == 0) {
    if (idx_open(&lbl, labels, &ANY_LABELS, false, err, errlen) == 0) {
      rc = join_pair(&img, &lbl, classes, NULL, out, err, errlen);
      idx_close(&lbl);
    }
    idx_close(&img);
  }
  if (rc != 0) dlrt_dataset_free(out);
  else if (probe) data_probe_result(out);
  return rc;
}

int dlrt_idx_load(const char *images, const char *labels, int classes, DlrtDataset *out, char *err, size_t errlen) {
  return load_pair(images, labels, classes, false, out, err, errlen);
}

int dlrt_idx_probe(const char *images, const char *labels, int classes, DlrtDataset *out, char *err, size_t errlen) {
  return load_pair(images, labels, classes, true, out, err, errlen);
}

/* ---- MNIST-style directories ---- */

/* Whether PATH is there at all: a file that exists but cannot be read counts, so that the
 * error is about the file the user has rather than a "not found" for another name. */
static bool present(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 || errno != ENOENT;
}

/* DIR/PREFIX-KIND (raw) and DIR/PREFIX-KIND.gz, malloc'd (either NULL when out of memory). */
static void names(const char *dir, const char *prefix, const char *kind, char **path, char **gz) {
  size_t n = strlen(prefix) + strlen(kind) + 5;
  char *name = malloc(n);
  *path = *gz = NULL;
  if (!name) return;
  snprintf(name, n, "%s-%s", prefix, kind);
  *path = data_join(dir, name);
  strcat(name, ".gz");
  *gz = data_join(dir, name);
  free(name);
}

/* The name to read: NAME, or NAME.gz when only that exists. NULL after "file not found (also
 * tried NAME.gz)" or running out of memory. */
static char *find_file(const char *dir, const char *prefix, const char *kind, char *err, size_t errlen) {
  char *path, *gz;
  names(dir, prefix, kind, &path, &gz);
  char *found = !path || !gz ? NULL : present(path) ? path : present(gz) ? gz : NULL;
  if (!path || !gz) dlrt_fail(err, errlen, dir, "out of memory");
  else if (!found) dlrt_fail(err, errlen, path, "file not found (also tried %s)", gz);
  if (found != path) free(path);
  if (found != gz) free(gz);
  return found;
}

bool idx_dir_has_set(const char *dir, const char *prefix) {
  char *path, *gz;
  names(dir, prefix, "images-idx3-ubyte", &path, &gz);
  bool yes = path && gz && (present(path) || present(gz));
  free(path);
  free(gz);
  return yes;
}

/* Finds and reads a whole file of an MNIST-style directory; *path is kept for messages. */
static int open_in_dir(IdxFile *f, char **path, const char *dir, const char *prefix, const char *kind,
                       const IdxSpec *spec, bool headers_only, char *err, size_t errlen) {
  *path = find_file(dir, prefix, kind, err, errlen);
  return *path ? idx_open(f, *path, spec, headers_only, err, errlen) : -1;
}

/* The images are read before the labels are looked for, so that what is wrong with the
 * images is reported first. */
int idx_load_dir(const char *dir, const char *prefix, int classes, bool probe, DlrtDataset *out, char *err,
                 size_t errlen) {
  IdxFile img, lbl;
  char *img_path = NULL, *lbl_path = NULL;
  int rc = -1;
  if (open_in_dir(&img, &img_path, dir, prefix, "images-idx3-ubyte", &MNIST_IMAGES, probe, err, errlen) == 0) {
    if (open_in_dir(&lbl, &lbl_path, dir, prefix, "labels-idx1-ubyte", &MNIST_LABELS, false, err, errlen) == 0) {
      rc = join_pair(&img, &lbl, classes, dir, out, err, errlen);
      idx_close(&lbl);
    }
    idx_close(&img);
  }
  free(img_path);
  free(lbl_path);
  if (rc == 0 && probe) data_probe_result(out);
  return rc;
}
