/* mnist.c — IDX reader for MNIST-style datasets: opening raw-or-gzip files, header and
 * payload validation, and the "PATH: MESSAGE" error reporting promised by mnist.h. */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* open/fstat/O_CLOEXEC even under strict -std=c11 */
#endif
#include "mnist.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_MAGIC_IMAGES 0x00000803u /* unsigned byte data, 3 dimensions */
#define IDX_MAGIC_LABELS 0x00000801u /* unsigned byte data, 1 dimension */
#define MAX_COUNT 10000000u
#define MAX_SIDE 1024u
#define FIRST_CHUNK ((size_t)1 << 20)
#define MAX_GZREAD ((size_t)1 << 30) /* gzread takes unsigned and returns int */

/* One file being read. path is the name actually opened (NAME or NAME.gz) so that
 * messages point at the file the user must fix. */
typedef struct IdxReader {
  gzFile gz;
  char *path;
  char *err;
  size_t errlen;
} IdxReader;

/* What one IDX file must look like; kind and what only feed error messages. check, if set,
 * validates the payload while the reader (and so the opened path) is still at hand. */
typedef struct IdxSpec {
  uint32_t magic;
  int ndims;
  const char *kind; /* "image" / "label" */
  const char *what; /* payload noun: "pixels" / "labels" */
  int (*check)(IdxReader *r, const unsigned char *data, size_t n);
} IdxSpec;

static void vset_err(char *err, size_t errlen, const char *fmt, va_list ap) {
  if (err && errlen) vsnprintf(err, errlen, fmt, ap);
}

static void __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vset_err(err, errlen, fmt, ap);
  va_end(ap);
}

/* Writes "PATH: MESSAGE" for the reader's file. */
static void __attribute__((format(printf, 2, 3))) fail(IdxReader *r, const char *fmt, ...) {
  if (!r->err || !r->errlen) return;
  int n = snprintf(r->err, r->errlen, "%s: ", r->path);
  if (n < 0 || (size_t)n >= r->errlen) return;
  va_list ap;
  va_start(ap, fmt);
  vset_err(r->err + n, r->errlen - (size_t)n, fmt, ap);
  va_end(ap);
}

/* malloc'd concatenation of a, b and c; NULL only when out of memory. */
static char *concat3(const char *a, const char *b, const char *c) {
  size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
  char *s = malloc(la + lb + lc + 1);
  if (!s) return NULL;
  memcpy(s, a, la);
  memcpy(s + la, b, lb);
  memcpy(s + la + lb, c, lc + 1);
  return s;
}

/* DIR/mnist, without doubling a slash the user already typed ("data/" -> "data/mnist"). */
static char *mnist_dir(const char *dir) {
  size_t n = strlen(dir);
  const char *sep = (n > 0 && dir[n - 1] == '/') ? "" : "/";
  return concat3(dir, sep, "mnist");
}

/* Opens one candidate name. Returns an fd, or -1 with errno set; directories are refused
 * here because gzread on one fails with a far less helpful message. */
static int open_regular(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    errno = EISDIR;
    return -1;
  }
  return fd;
}

/* Opens NAME, falling back to NAME.gz only when NAME does not exist (so a raw file that is
 * unreadable is reported as such, not hidden behind a "not found" for the .gz). gzdopen reads
 * both formats: data without a gzip header is passed through unchanged. */
static int reader_open(IdxReader *r, const char *name) {
  r->path = concat3(name, "", "");
  if (!r->path) return fail(r, "out of memory"), -1;
  int fd = open_regular(name);
  if (fd < 0 && errno == ENOENT) {
    char *gzname = concat3(name, ".gz", "");
    if (!gzname) return fail(r, "out of memory"), -1;
    fd = open_regular(gzname);
    if (fd < 0 && errno == ENOENT) {
      fail(r, "file not found (also tried %s)", gzname);
      free(gzname);
      return -1;
    }
    free(r->path);
    r->path = gzname;
  }
  if (fd < 0) return fail(r, "cannot open: %s", strerror(errno)), -1;
  r->gz = gzdopen(fd, "rb");
  if (!r->gz) {
    close(fd);
    return fail(r, "out of memory"), -1;
  }
  gzbuffer(r->gz, 1u << 17); /* before the first read; larger reads are markedly faster */
  return 0;
}

static void reader_close(IdxReader *r) {
  if (r->gz) gzclose(r->gz);
  free(r->path);
  r->gz = NULL;
  r->path = NULL;
}

/* Reads up to n bytes, stopping early only at end of data. Returns the byte count, or -1
 * after reporting a gzip/IO error (zlib signals a cut-off .gz as an error, not as EOF). */
static long long read_upto(IdxReader *r, unsigned char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    size_t want = n - got < MAX_GZREAD ? n - got : MAX_GZREAD;
    int k = gzread(r->gz, buf + got, (unsigned)want);
    if (k <= 0) break;
    got += (size_t)k;
  }
  int errnum = Z_OK;
  const char *msg = gzerror(r->gz, &errnum);
  if (errnum == Z_ERRNO) return fail(r, "read error: %s", strerror(errno)), -1;
  if (errnum != Z_OK) return fail(r, "corrupt or truncated gzip data: %s", msg), -1;
  return (long long)got;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Reads and checks the magic number, then the big-endian dimensions into dims. The magic is
 * checked before the dimensions are read so that a short file of the wrong kind is reported
 * as the wrong kind rather than as truncated. */
static int read_header(IdxReader *r, const IdxSpec *spec, uint32_t *dims) {
  unsigned char hdr[4 + 4 * 3];
  size_t hdrlen = 4 + 4 * (size_t)spec->ndims;
  long long got = read_upto(r, hdr, 4);
  if (got < 0) return -1;
  if (got == 4) {
    uint32_t magic = be32(hdr);
    if (magic != spec->magic)
      return fail(r, "wrong magic 0x%08x (expected 0x%08x, an IDX %s file)", (unsigned)magic,
                  (unsigned)spec->magic, spec->kind),
             -1;
    long long more = read_upto(r, hdr + 4, hdrlen - 4);
    if (more < 0) return -1;
    got += more;
  }
  if ((size_t)got < hdrlen)
    return fail(r, "truncated header: expected %zu bytes, got %lld", hdrlen, got), -1;
  for (int i = 0; i < spec->ndims; i++) dims[i] = be32(hdr + 4 + 4 * i);
  return 0;
}

static int check_range(IdxReader *r, const char *name, uint32_t v, uint32_t max) {
  if (v >= 1 && v <= max) return 0;
  return fail(r, "%s %u out of range 1..%u", name, (unsigned)v, (unsigned)max), -1;
}

static int check_dims(IdxReader *r, const IdxSpec *spec, const uint32_t *dims) {
  char name[32];
  snprintf(name, sizeof name, "%s count", spec->kind);
  if (check_range(r, name, dims[0], MAX_COUNT)) return -1;
  if (spec->ndims == 3) {
    if (check_range(r, "rows", dims[1], MAX_SIDE)) return -1;
    if (check_range(r, "cols", dims[2], MAX_SIDE)) return -1;
  }
  return 0;
}

/* Reads exactly want payload bytes. The buffer grows as data actually arrives, so a header
 * that lies about its size costs at most twice the real file size, never the claimed size. */
static unsigned char *read_payload(IdxReader *r, const IdxSpec *spec, size_t want) {
  size_t cap = want < FIRST_CHUNK ? want : FIRST_CHUNK, got = 0;
  unsigned char *buf = malloc(cap);
  if (!buf) return fail(r, "out of memory"), NULL;
  for (;;) {
    long long k = read_upto(r, buf + got, cap - got);
    if (k < 0) break;
    got += (size_t)k;
    if (got < cap) {
      fail(r, "truncated: expected %zu bytes of %s, got %zu", want, spec->what, got);
      break;
    }
    if (got == want) return buf;
    cap = cap > want / 2 ? want : cap * 2;
    unsigned char *grown = realloc(buf, cap);
    if (!grown) {
      fail(r, "out of memory reading %zu bytes of %s", want, spec->what);
      break;
    }
    buf = grown;
  }
  free(buf);
  return NULL;
}

static int check_labels(IdxReader *r, const unsigned char *labels, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (labels[i] > 9) return fail(r, "label %d at index %zu is not a digit 0-9", labels[i], i), -1;
  return 0;
}

static const IdxSpec IMAGES = {IDX_MAGIC_IMAGES, 3, "image", "pixels", NULL};
static const IdxSpec LABELS = {IDX_MAGIC_LABELS, 1, "label", "labels", check_labels};

/* Anything after the payload means the header and the file disagree: refuse it rather than
 * silently train on a misparsed file. Counts every extra byte for the message. */
static int check_no_trailing(IdxReader *r) {
  unsigned char scratch[1 << 16];
  unsigned long long extra = 0;
  long long k;
  while ((k = read_upto(r, scratch, sizeof scratch)) > 0) extra += (unsigned long long)k;
  if (k < 0) return -1;
  if (extra) return fail(r, "%llu extra bytes after the data", extra), -1;
  return 0;
}

/* Reads the payload that dims describe, then checks nothing follows it and that its values
 * are valid. Returns it, or NULL with err written. */
static unsigned char *read_body(IdxReader *r, const IdxSpec *spec, const uint32_t *dims) {
  uint64_t want = dims[0];
  for (int i = 1; i < spec->ndims; i++) want *= dims[i];
#if SIZE_MAX < UINT64_MAX
  if (want > SIZE_MAX)
    return fail(r, "%llu bytes of %s do not fit in memory", (unsigned long long)want, spec->what),
           NULL;
#endif
  unsigned char *data = read_payload(r, spec, (size_t)want);
  if (!data) return NULL;
  if (check_no_trailing(r) == 0 && (!spec->check || spec->check(r, data, (size_t)want) == 0))
    return data;
  free(data);
  return NULL;
}

/* Loads one IDX file whose path is NAME (or NAME.gz). Returns the payload and fills dims,
 * or NULL with err written. */
static unsigned char *load_idx(const char *name, const IdxSpec *spec, uint32_t *dims, char *err,
                               size_t errlen) {
  IdxReader r = {NULL, NULL, err, errlen};
  unsigned char *data = NULL;
  if (reader_open(&r, name) == 0 && read_header(&r, spec, dims) == 0 &&
      check_dims(&r, spec, dims) == 0)
    data = read_body(&r, spec, dims);
  reader_close(&r);
  return data;
}

/* Loads the images, then the labels, then cross-checks them. Paths are built here so that
 * every message names the exact file. */
static int load_pair(const char *dir, const char *prefix, DlrtDataset *out, char *err,
                     size_t errlen) {
  char *img_name = concat3(dir, "/", prefix);
  char *img_path = img_name ? concat3(img_name, "-images-idx3-ubyte", "") : NULL;
  char *lbl_path = img_name ? concat3(img_name, "-labels-idx1-ubyte", "") : NULL;
  uint32_t idims[3], ldims[1];
  int rc = -1;
  if (!img_path || !lbl_path) {
    set_err(err, errlen, "%s: out of memory", dir);
  } else if ((out->pixels = load_idx(img_path, &IMAGES, idims, err, errlen)) &&
             (out->labels = load_idx(lbl_path, &LABELS, ldims, err, errlen))) {
    out->count = (int)idims[0];
    out->rows = (int)idims[1];
    out->cols = (int)idims[2];
    if (ldims[0] != idims[0])
      set_err(err, errlen, "%s: %u images but %u labels", dir, (unsigned)idims[0],
              (unsigned)ldims[0]);
    else
      rc = 0;
  }
  free(img_name);
  free(img_path);
  free(lbl_path);
  return rc;
}

int dlrt_mnist_load(const char *dir, const char *prefix, DlrtDataset *out, char *err,
                    size_t errlen) {
  if (!out) return set_err(err, errlen, "dlrt_mnist_load: no output dataset"), -1;
  memset(out, 0, sizeof *out);
  if (!dir || !prefix)
    return set_err(err, errlen, "dlrt_mnist_load: dir and prefix are required"), -1;
  char *mdir = mnist_dir(dir);
  if (!mdir) return set_err(err, errlen, "%s: out of memory", dir), -1;
  int rc = load_pair(mdir, prefix, out, err, errlen);
  free(mdir);
  if (rc != 0) dlrt_dataset_free(out);
  return rc;
}

void dlrt_dataset_free(DlrtDataset *d) {
  if (!d) return;
  free(d->pixels);
  free(d->labels);
  memset(d, 0, sizeof *d);
}
