/* npy.c — NumPy's .npy format (numpy.lib.format, versions 1.0, 2.0 and 3.0): the magic
 * "\x93NUMPY", a version, a little-endian header length, a header that is a Python dict
 * literal {'descr': ..., 'fortran_order': ..., 'shape': (...)}, then the array in C order.
 * The header is parsed strictly (nothing but those three keys); images stay in the file's
 * mapping, labels become int32. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "datafile.h"

enum { MAX_RANK = 8 };

typedef struct NpyHeader {
  char descr[16];
  bool fortran_order;
  int rank;
  uint64_t shape[MAX_RANK];
  size_t data_offset; /* where the array starts in the file */
} NpyHeader;

/* ---- the header dict ---- */

typedef struct Cursor {
  const char *p, *end;
} Cursor;

static void skip_space(Cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static bool eat(Cursor *c, char ch) {
  skip_space(c);
  if (c->p < c->end && *c->p == ch) return c->p++, true;
  return false;
}

/* A quoted string (either quote, no escapes: no key or dtype needs one) into buf. */
static bool string_lit(Cursor *c, char *buf, size_t len) {
  skip_space(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return false;
  char q = *c->p++;
  const char *start = c->p;
  while (c->p < c->end && *c->p != q && *c->p != '\\') c->p++;
  if (c->p >= c->end || *c->p != q || (size_t)(c->p - start) >= len) return false;
  memcpy(buf, start, (size_t)(c->p - start));
  buf[c->p - start] = 0;
  c->p++;
  return true;
}

static bool word(Cursor *c, const char *w) {
  skip_space(c);
  size_t n = strlen(w);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return false;
  c->p += n;
  return true;
}

/* A tuple of whole numbers: (), (N,), (N, M) or (N, M,); (N) is not a tuple. */
static bool shape_lit(Cursor *c, NpyHeader *h) {
  if (!eat(c, '(')) return false;
  h->rank = 0;
  for (;;) {
    if (eat(c, ')')) return h->rank != 1;
    skip_space(c);
    if (h->rank == MAX_RANK || c->p >= c->end || *c->p < '0' || *c->p > '9') return false;
    uint64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
      if (v > (UINT64_MAX - 9) / 10) return false;
      v = v * 10 + (uint64_t)(*c->p++ - '0');
    }
    h->shape[h->rank++] = v;
    if (eat(c, ',')) {
      if (eat(c, ')')) return true;
    } else {
      return eat(c, ')') && h->rank != 1;
    }
  }
}

/* The dict, each of its three keys exactly once; on failure *what says what went wrong. */
static bool parse_dict(Cursor *c, NpyHeader *h, const char **what) {
  bool seen[3] = {false, false, false};
  *what = "the header is not a dict literal";
  if (!eat(c, '{')) return false;
  while (!eat(c, '}')) {
    char key[32];
    if (!string_lit(c, key, sizeof key) || !eat(c, ':')) return *what = "the header is not a dict of quoted keys", false;
    int k = strcmp(key, "descr") == 0 ? 0 : strcmp(key, "fortran_order") == 0 ? 1 : strcmp(key, "shape") == 0 ? 2 : -1;
    if (k < 0) return *what = "the header has a key other than 'descr', 'fortran_order' and 'shape'", false;
    if (seen[k]) return *what = "the header repeats a key", false;
    seen[k] = true;
    bool ok = k == 0   ? string_lit(c, h->descr, sizeof h->descr)
              : k == 1 ? (word(c, "True") ? (h->fortran_order = true) : word(c, "False"))
                       : shape_lit(c, h);
    if (!ok)
      return *what = k == 0   ? "'descr' is not a simple dtype string (structured dtypes are not read)"
                     : k == 1 ? "'fortran_order' is not True or False"
                              : "'shape' is not a tuple of whole numbers",
             false;
    if (!eat(c, ',')) {
      if (!eat(c, '}')) return *what = "the header dict is malformed", false;
      break;
    }
  }
  skip_space(c);
  if (c->p != c->end) return *what = "the header has text after its dict", false;
  if (!seen[0] || !seen[1] || !seen[2]) return *what = "the header lacks 'descr', 'fortran_order' or 'shape'", false;
  return true;
}

/* Magic, version and header length, then the dict. */
static int read_header(const DataMap *m, const char *path, NpyHeader *h, char *err, size_t errlen) {
  memset(h, 0, sizeof *h);
  const unsigned char *d = m->data;
  if (m->size < 10 || memcmp(d, "\x93NUMPY", 6) != 0)
    return dlrt_fail(err, errlen, path, "not a NumPy .npy file (no \\x93NUMPY magic)");
  if (d[6] < 1 || d[6] > 3 || d[7] != 0)
    return dlrt_fail(err, errlen, path, ".npy format version %d.%d is not 1.0, 2.0 or 3.0", d[6], d[7]);
  size_t lenbytes = d[6] == 1 ? 2 : 4, hlen = d[8] | (size_t)d[9] << 8;
  if (lenbytes == 4) {
    if (m->size < 12) return dlrt_fail(err, errlen, path, "truncated header");
    hlen |= (size_t)d[10] << 16 | (size_t)d[11] << 24;
  }
  h->data_offset = 8 + lenbytes + hlen;
  if (h->data_offset > m->size)
    return dlrt_fail(err, errlen, path, "truncated header: expected %zu bytes, got %zu", h->data_offset, m->size);
  Cursor c = {(const char *)d + 8 + lenbytes, (const char *)d + h->data_offset};
  const char *what;
  if (!parse_dict(&c, h, &what)) return dlrt_fail(err, errlen, path, "%s", what);
  if (h->fortran_order)
    return dlrt_fail(err, errlen, path, "the array is in Fortran order; save np.ascontiguousarray(a) instead");
  return 0;
}

/* ---- dtypes ---- */

static const char *const LABEL_DTYPES[] = {"|u1", "|i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", NULL};

/* A label dtype's encoding; false when it is not one. */
static bool label_dtype(const char *descr, LabelType *t) {
  for (int i = 0; LABEL_DTYPES[i]; i++)
    if (strcmp(descr, LABEL_DTYPES[i]) == 0) {
      *t = (LabelType){descr[2] - '0', descr[1] == 'i', false};
      return true;
    }
  return false;
}

/* Why a dtype is refused, in the user's terms. */
static const char *dtype_hint(const char *descr, bool images) {
  if (descr[0] == '>') return "big-endian data: save a.astype(a.dtype.newbyteorder('<'))";
  if (images) return "images must be uint8 ('|u1') or float32 ('<f4'): save x.astype(np.float32)";
  return "labels must be integers ('|u1', '<i4', '<i8', ...): save y.astype(np.int64)";
}

/* ---- the two files ---- */

typedef struct NpyFile {
  const char *path;
  DataMap map;
  NpyHeader h;
  uint64_t count, bytes;
} NpyFile;

static void npy_close(NpyFile *f) { data_unmap(&f->map); }

/* Maps the file (lazily: not read ahead) and reads its header: one entry per example, at
 * least one. */
static int npy_open(NpyFile *f, const char *path, bool lazy, char *err, size_t errlen) {
  f->path = path;
  if ((lazy ? data_map_lazy : data_map)(path, &f->map, err, errlen) != 0 ||
      read_header(&f->map, path, &f->h, err, errlen) != 0)
    return -1;
  if (f->h.rank == 0) return dlrt_fail(err, errlen, path, "the array is a scalar, not one entry per example");
  f->count = f->h.shape[0];
  if (f->count < 1 || f->count > DLRT_MAX_COUNT)
    return dlrt_fail(err, errlen, path, "%llu examples, out of range 1..%d", (unsigned long long)f->count,
                     DLRT_MAX_COUNT);
  return 0;
}

/* The data must be exactly as long as the shape and the item size say. */
static int check_size(NpyFile *f, int itemsize, char *err, size_t errlen) {
  uint64_t n = (uint64_t)itemsize;
  for (int i = 0; i < f->h.rank; i++) {
    if (f->h.shape[i] == 0 || n > UINT64_MAX / f->h.shape[i])
      return dlrt_fail(err, errlen, f->path, "dimension %d of the shape is %llu", i, (unsigned long long)f->h.shape[i]);
    n *= f->h.shape[i];
  }
  f->bytes = n;
  uint64_t have = f->map.size - f->h.data_offset;
  if (have < n)
    return dlrt_fail(err, errlen, f->path, "truncated: the shape needs %llu bytes of data, the file holds %llu",
                     (unsigned long long)n, (unsigned long long)have);
  if (have > n)
    return dlrt_fail(err, errlen, f->path, "%llu extra bytes after the data", (unsigned long long)(have - n));
  return 0;
}

static const char *shape_str(const NpyHeader *h, char *buf, size_t len) {
  size_t at = (size_t)snprintf(buf, len, "(");
  for (int i = 0; i < h->rank && at < len; i++)
    at += (size_t)snprintf(buf + at, len - at, i == 0 ? "%llu%s" : " %llu%s", (unsigned long long)h->shape[i],
                           h->rank == 1 || i + 1 < h->rank ? "," : "");
  if (at < len) snprintf(buf + at, len - at, ")");
  return buf;
}

/* The images' dtype and shape: (N, D) is N images of 1 x D, (N, H, W) of one channel. */
static int image_layout(const NpyFile *f, DlrtDataset *d, char *err, size_t errlen) {
  const NpyHeader *h = &f->h;
  char buf[160];
  if (h->rank < 2 || h->rank > 4)
    return dlrt_fail(err, errlen, f->path, "images have shape %s; expected (N, H, W), (N, C, H, W) or (N, D)",
                     shape_str(h, buf, sizeof buf));
  uint64_t c = h->rank == 4 ? h->shape[1] : 1, r = h->rank >= 3 ? h->shape[h->rank - 2] : 1, w = h->shape[h->rank - 1];
  if (c > DLRT_MAX_CHANNELS || r > DLRT_MAX_SIDE || w > DLRT_MAX_SIDE || c * r * w > DLRT_MAX_EXAMPLE)
    return dlrt_fail(err, errlen, f->path, "images of shape %s are too large (sides up to %d, %d channels, %d values)",
                     shape_str(h, buf, sizeof buf), DLRT_MAX_SIDE, DLRT_MAX_CHANNELS, DLRT_MAX_EXAMPLE);
  d->count = (int)f->count, d->channels = (int)c, d->rows = (int)r, d->cols = (int)w;
  return 0;
}

/* Float pixels must be numbers: one NaN would silently turn every weight it reaches into NaN. */
static int check_finite(const float *p, const DlrtDataset *d, const char *path, char *err, size_t errlen) {
  size_t per = dlrt_example_size(d), n = (size_t)d->count * per;
  for (size_t i = 0; i < n; i++)
    if (!isfinite(p[i]))
      return dlrt_fail(err, errlen, path, "value %zu of image %zu is %g; pixels must be finite", i % per, i / per,
                       (double)p[i]);
  return 0;
}

/* The pixels stay in the mapping; float data that a foreign writer left misaligned for
 * float access (NumPy aligns to 64 bytes) is copied once instead. */
static int take_pixels(NpyFile *x, DlrtDataset *d, char *err, size_t errlen) {
  unsigned char *data = x->map.data + x->h.data_offset;
  if (d->pixel_type == DLRT_PIXELS_F32 && x->h.data_offset % sizeof(float) != 0) {
    if (!(d->mem.pixels = malloc(x->bytes))) return dlrt_fail(err, errlen, x->path, "out of memory");
    memcpy(d->mem.pixels, data, x->bytes);
    data = d->mem.pixels;
  }
  d->pixels = data;
  if (d->pixel_type == DLRT_PIXELS_F32 && check_finite(d->pixels_f32, d, x->path, err, errlen) != 0) return -1;
  if (!d->mem.pixels) {
    d->mem.map = x->map.data, d->mem.map_size = x->map.size;
    x->map = (DataMap){NULL, 0};
  }
  return 0;
}

/* The images: dtype, size, layout. */
static int load_x(NpyFile *x, const char *path, bool lazy, DlrtDataset *out, char *err, size_t errlen) {
  if (npy_open(x, path, lazy, err, errlen) != 0) return -1;
  bool f32 = strcmp(x->h.descr, "<f4") == 0;
  if (!f32 && strcmp(x->h.descr, "|u1") != 0)
    return dlrt_fail(err, errlen, path, "dtype '%s': %s", x->h.descr, dtype_hint(x->h.descr, true));
  out->pixel_type = f32 ? DLRT_PIXELS_F32 : DLRT_PIXELS_U8;
  return check_size(x, f32 ? 4 : 1, err, errlen) == 0 ? image_layout(x, out, err, errlen) : -1;
}

/* The labels: dtype, shape (N,) with x's N, size, then each label converted and checked. */
static int load_y(NpyFile *y, const char *path, const NpyFile *x, DlrtDataset *out, int classes, char *err,
                  size_t errlen) {
  LabelType lt;
  char buf[160];
  if (npy_open(y, path, false, err, errlen) != 0) return -1;
  if (!label_dtype(y->h.descr, &lt))
    return dlrt_fail(err, errlen, path, "dtype '%s': %s", y->h.descr, dtype_hint(y->h.descr, false));
  if (y->h.rank != 1)
    return dlrt_fail(err, errlen, path, "labels have shape %s; expected (N,): save y.ravel()",
                     shape_str(&y->h, buf, sizeof buf));
  if (y->count != x->count)
    return dlrt_fail(err, errlen, path, "%llu labels, but %s holds %llu images", (unsigned long long)y->count, x->path,
                     (unsigned long long)x->count);
  if (check_size(y, lt.size, err, errlen) != 0 ||
      data_labels(y->map.data + y->h.data_offset, y->count, lt, path, &classes, &out->mem.labels, err, errlen) != 0)
    return -1;
  out->labels = out->mem.labels;
  out->classes = classes;
  return 0;
}

/* What a load reads: everything; the headers and labels (a probe); the images alone. */
typedef enum Reading { READ_ALL, READ_PROBE, READ_IMAGES } Reading;

static int load(const char *xp, const char *yp, int classes, Reading r, DlrtDataset *out, char *err, size_t errlen) {
  NpyFile x = {0}, y = {0};
  int rc = load_x(&x, xp, r == READ_PROBE, out, err, errlen) == 0 &&
                   (r == READ_IMAGES || load_y(&y, yp, &x, out, classes, err, errlen) == 0) &&
                   (r == READ_PROBE || take_pixels(&x, out, err, errlen) == 0)
               ? 0
               : -1;
  npy_close(&y);
  npy_close(&x);
  if (rc == 0 && r == READ_PROBE) data_probe_result(out);
  return rc;
}

static int npy(const char *x, const char *y, int classes, Reading r, DlrtDataset *out, char *err, size_t errlen) {
  if (!out) return dlrt_fail(err, errlen, "dlrt_npy_load", "no output data set");
  memset(out, 0, sizeof *out);
  if (!x || (!y && r != READ_IMAGES)) return dlrt_fail(err, errlen, "dlrt_npy_load", "x and y are required");
  if (classes < 0 || classes > DLRT_MAX_CLASSES)
    return dlrt_fail(err, errlen, y ? y : x, "%d classes out of range 0..%d", classes, DLRT_MAX_CLASSES);
  int rc = load(x, y, classes, r, out, err, errlen);
  if (rc != 0) dlrt_dataset_free(out);
  return rc;
}

int dlrt_npy_load(const char *x, const char *y, int classes, DlrtDataset *out, char *err, size_t errlen) {
  return npy(x, y, classes, READ_ALL, out, err, errlen);
}

int dlrt_npy_probe(const char *x, const char *y, int classes, DlrtDataset *out, char *err, size_t errlen) {
  return npy(x, y, classes, READ_PROBE, out, err, errlen);
}

int dlrt_npy_load_images(const char *x, DlrtDataset *out, char *err, size_t errlen) {
  return npy(x, NULL, 0, READ_IMAGES, out, err, errlen);
}
