/* check_data.c — Check suite for the data sets (runtime/dataset.h, batch.h, distort.h, png.h).
 * Every format is written here byte for byte, independently of the loaders (IDX raw and gzip,
 * CIFAR-10 batches, NumPy .npy, PNG through a minimal encoder of this file's own), in several
 * shapes (1x5x7, 3x4x6, 3x32x32) and class counts (2, 10, 300), and must load to exactly those
 * pixels and labels; each malformed case must be refused with one line naming the file. Then
 * views, batch assembly (with its speed) and distortions over channels. */
#define _GNU_SOURCE
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "batch.h"
#include "dataset.h"
#include "distort.h"
#include "helpers.h"
#include "png.h"

static char *root; /* the suite's temporary directory, removed at the end */
static char err[1024];

/* ---- files and paths ---------------------------------------------------------------- */

/* A fresh directory under root (a few may be in use at once). */
static const char *fresh_dir(void) {
  static char ring[4][512];
  static int next;
  char *dir = ring[next++ % 4];
  snprintf(dir, sizeof ring[0], "%s/t-XXXXXX", root);
  ck_assert_ptr_nonnull(mkdtemp(dir));
  return dir;
}

/* A formatted path in one of a few rotating buffers (no frees in the tests). */
static const char *P(const char *fmt, ...) {
  static char ring[8][600];
  static int next;
  char *p = ring[next++ % 8];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p, sizeof ring[0], fmt, ap);
  va_end(ap);
  return p;
}

typedef struct Buf {
  unsigned char *p;
  size_t len, cap;
} Buf;

static void put(Buf *b, const void *data, size_t n) {
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2 + 64;
    b->p = realloc(b->p, b->cap);
    ck_assert_ptr_nonnull(b->p);
  }
  if (n) memcpy(b->p + b->len, data, n);
  b->len += n;
}

static void put_be32(Buf *b, uint32_t v) {
  unsigned char q[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
  put(b, q, 4);
}

static void put_le(Buf *b, uint64_t v, int size) {
  for (int i = 0; i < size; i++) put(b, (unsigned char[]){(unsigned char)(v >> (8 * i))}, 1);
}

static void write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

/* One gzip member holding data (deflate with the gzip wrapper: windowBits 16 + 15). */
static Buf gzip_bytes(const void *data, size_t len) {
  z_stream z = {0};
  ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Buf out = {0};
  out.cap = deflateBound(&z, len);
  out.p = malloc(out.cap);
  z.next_in = (unsigned char *)data, z.avail_in = (uInt)len, z.next_out = out.p, z.avail_out = (uInt)out.cap;
  ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.len = out.cap - z.avail_out;
  deflateEnd(&z);
  return out;
}

static void write_maybe_gz(const char *path, const Buf *b, bool gz) {
  if (!gz) return write_file(path, b->p, b->len);
  Buf g = gzip_bytes(b->p, b->len);
  write_file(path, g.p, g.len);
  free(g.p);
}

static unsigned char pat(size_t i, unsigned seed) { return (unsigned char)((i * 37 + seed * 101 + 11) % 251); }

/* Labels that use every class up to classes - 1 (so that inferring the count finds it). */
static int32_t label_of(int i, int count, int classes) { return i == count - 1 ? classes - 1 : (i * 7) % classes; }

/* A failed load: -1, one line starting "PATH: ", containing phrase; *d zeroed. */
static void expect_error(int rc, const DlrtDataset *d, const char *path, const char *phrase) {
  ck_assert_msg(rc == -1, "loaded, but should have failed with '%s'", phrase);
  ck_assert_msg(strncmp(err, path, strlen(path)) == 0 && strncmp(err + strlen(path), ": ", 2) == 0,
                "error '%s' does not start with '%s: '", err, path);
  ck_assert_msg(strstr(err, phrase) != NULL, "error '%s' lacks '%s'", err, phrase);
  ck_assert_msg(strchr(err, '\n') == NULL, "error '%s' is not one line", err);
  if (d) ck_assert_msg(d->count == 0 && d->pixels == NULL && d->labels == NULL, "the data set was not zeroed");
}

static void expect_shape(const DlrtDataset *d, int count, int channels, int rows, int cols, int classes) {
  ck_assert_int_eq(d->count, count);
  ck_assert_int_eq(d->channels, channels);
  ck_assert_int_eq(d->rows, rows);
  ck_assert_int_eq(d->cols, cols);
  ck_assert_int_eq(d->classes, classes);
}

/* ---- IDX ----------------------------------------------------------------------------- */

/* An IDX file: magic (type, ndims), the dimensions, the data. */
static Buf idx_bytes(unsigned type, int ndims, const uint32_t *dims, const void *data, size_t len) {
  Buf b = {0};
  put_be32(&b, type << 8 | (unsigned)ndims);
  for (int i = 0; i < ndims; i++) put_be32(&b, dims[i]);
  put(&b, data, len);
  return b;
}

static void write_idx(const char *path, bool gz, unsigned type, int ndims, const uint32_t *dims, const void *data,
                      size_t len) {
  Buf b = idx_bytes(type, ndims, dims, data, len);
  write_maybe_gz(path, &b, gz);
  free(b.p);
}

typedef struct SetShape {
  int channels, rows, cols, classes;
} SetShape;

static const SetShape SHAPES[] = {{1, 5, 7, 2}, {3, 4, 6, 10}, {3, 32, 32, 300}};

/* A pair for shape s in dir: images idx3 (one channel) or idx4, labels as bytes or (300
 * classes) 16-bit; returns the pixels and labels written. */
static void write_idx_pair(const char *dir, const SetShape *s, int count, bool gz, unsigned char *pix, int32_t *lab) {
  size_t per = (size_t)s->channels * (size_t)s->rows * (size_t)s->cols;
  for (size_t i = 0; i < (size_t)count * per; i++) pix[i] = pat(i, (unsigned)s->cols);
  uint32_t d4[4] = {(uint32_t)count, (uint32_t)s->channels, (uint32_t)s->rows, (uint32_t)s->cols};
  uint32_t d3[3] = {(uint32_t)count, (uint32_t)s->rows, (uint32_t)s->cols};
  if (s->channels == 1) write_idx(P("%s/images", dir), gz, 0x08, 3, d3, pix, (size_t)count * per);
  else write_idx(P("%s/images", dir), gz, 0x08, 4, d4, pix, (size_t)count * per);
  Buf lb = {0};
  for (int i = 0; i < count; i++) {
    lab[i] = label_of(i, count, s->classes);
    if (s->classes > 256) put(&lb, (unsigned char[]){(unsigned char)(lab[i] >> 8), (unsigned char)lab[i]}, 2);
    else put(&lb, (unsigned char[]){(unsigned char)lab[i]}, 1);
  }
  write_idx(P("%s/labels", dir), gz, s->classes > 256 ? 0x0B : 0x08, 1, (uint32_t[]){(uint32_t)count}, lb.p, lb.len);
  free(lb.p);
}

/* Every shape, raw and gzip, classes inferred and given: the exact pixels and labels. */
START_TEST(idx_loads_every_shape) {
  const SetShape *s = &SHAPES[_i / 2];
  bool gz = _i % 2;
  const char *dir = fresh_dir();
  int count = s->classes > 256 ? 301 : 6;
  size_t n = (size_t)count * (size_t)s->channels * (size_t)s->rows * (size_t)s->cols;
  unsigned char *pix = malloc(n);
  int32_t *lab = malloc(sizeof *lab * (size_t)count);
  write_idx_pair(dir, s, count, gz, pix, lab);
  for (int given = 0; given <= 1; given++) {
    DlrtDataset d;
    int classes = given ? s->classes + 5 : 0;
    ck_assert_msg(dlrt_idx_load(P("%s/images", dir), P("%s/labels", dir), classes, &d, err, sizeof err) == 0, "%s",
                  err);
    expect_shape(&d, count, s->channels, s->rows, s->cols, given ? s->classes + 5 : s->classes);
    ck_assert_int_eq(d.pixel_type, DLRT_PIXELS_U8);
    ck_assert_int_eq(memcmp(d.pixels, pix, n), 0);
    ck_assert_int_eq(memcmp(d.labels, lab, sizeof *lab * (size_t)count), 0);
    ck_assert_ptr_null(d.class_names);
    dlrt_dataset_free(&d);
  }
  free(pix);
  free(lab);
}
END_TEST

/* [count, n] (idx2) is count images of 1 x n; they distort as 1 x n images. */
START_TEST(idx_vectors_are_one_row_images) {
  const char *dir = fresh_dir();
  unsigned char pix[3 * 784];
  for (int i = 0; i < 3 * 784; i++) pix[i] = pat((size_t)i, 2);
  write_idx(P("%s/x", dir), false, 0x08, 2, (uint32_t[]){3, 784}, pix, sizeof pix);
  write_idx(P("%s/y", dir), false, 0x08, 1, (uint32_t[]){3}, (unsigned char[]){0, 1, 0}, 3);
  DlrtDataset d;
  ck_assert_msg(dlrt_idx_load(P("%s/x", dir), P("%s/y", dir), 10, &d, err, sizeof err) == 0, "%s", err);
  expect_shape(&d, 3, 1, 1, 784, 10);
  float x[3 * 784];
  DlrtDistort none = {.affine = true}, some = {.affine = true, .rotate = 10, .shift = 2, .elastic = true,
                                               .alpha = 1.5f, .sigma = 4};
  ck_assert_int_eq(dlrt_fill_batch_distorted(&d, (int[]){0, 1, 2}, 3, &none, 1, 0, 0, 0, 255, x), 0);
  for (int i = 0; i < 3 * 784; i++) ck_assert_float_eq(x[i], pix[i]);
  ck_assert_int_eq(dlrt_fill_batch_distorted(&d, (int[]){0, 1, 2}, 3, &some, 1, 0, 0, 0, 1, x), 0);
  for (int i = 0; i < 3 * 784; i++) ck_assert(x[i] >= 0 && x[i] <= 1);
  dlrt_dataset_free(&d);
}
END_TEST

/* Writes images with the header dims (3 images) holding `bytes` pixel bytes, good labels, and
 * loads them expecting phrase in an error about the images. */
static void expect_idx_images_error(const uint32_t *dims, int ndims, size_t bytes, const char *phrase) {
  const char *dir = fresh_dir();
  unsigned char *pix = calloc(bytes + 1, 1);
  write_idx(P("%s/i", dir), false, 0x08, ndims, dims, pix, bytes);
  write_idx(P("%s/l", dir), false, 0x08, 1, (uint32_t[]){3}, (unsigned char[]){0, 1, 2}, 3);
  DlrtDataset d;
  expect_error(dlrt_idx_load(P("%s/i", dir), P("%s/l", dir), 0, &d, err, sizeof err), &d, P("%s/i", dir), phrase);
  free(pix);
}

START_TEST(idx_refuses_bad_sizes) {
  /* 29x28 in the header, 28x28 in the file: the header is wrong, the file is not short */
  expect_idx_images_error((uint32_t[]){3, 29, 28}, 3, 3 * 28 * 28, "wrong dimensions: the header says 3 images");
  ck_assert_ptr_null(strstr(err, "truncated"));
  expect_idx_images_error((uint32_t[]){3, 5, 7}, 3, 3 * 35 - 1, "truncated: expected 105 bytes of pixels, got 104");
  expect_idx_images_error((uint32_t[]){3, 5, 7}, 3, 3 * 35 + 2, "2 extra bytes after the data");
  expect_idx_images_error((uint32_t[]){3, 3, 5, 7}, 4, 3 * 35, "wrong dimensions");
  expect_idx_images_error((uint32_t[]){3, 0, 5, 7}, 4, 0, "channels 0 out of range 1..4096");
  expect_idx_images_error((uint32_t[]){3, 32768, 32768}, 3, 0, "too large");
}
END_TEST

START_TEST(idx_refuses_wrong_kinds) {
  const char *dir = fresh_dir();
  unsigned char pix[3 * 35] = {0};
  write_idx(P("%s/i", dir), false, 0x08, 3, (uint32_t[]){3, 5, 7}, pix, sizeof pix);
  write_idx(P("%s/l", dir), false, 0x08, 1, (uint32_t[]){3}, (unsigned char[]){0, 1, 2}, 3);
  write_idx(P("%s/f", dir), false, 0x0D, 3, (uint32_t[]){3, 5, 7}, pix, sizeof pix); /* float images */
  DlrtDataset d;
  /* labels given as images, and the other way round */
  expect_error(dlrt_idx_load(P("%s/l", dir), P("%s/i", dir), 0, &d, err, sizeof err), &d, P("%s/l", dir),
               "wrong magic 0x00000801 (expected 0x00000802, 0x00000803 or 0x00000804, an IDX image file)");
  expect_error(dlrt_idx_load(P("%s/i", dir), P("%s/i", dir), 0, &d, err, sizeof err), &d, P("%s/i", dir),
               "wrong magic 0x00000803 (expected 0x00000801, 0x00000901, 0x00000b01 or 0x00000c01, an IDX label");
  expect_error(dlrt_idx_load(P("%s/f", dir), P("%s/l", dir), 0, &d, err, sizeof err), &d, P("%s/f", dir),
               "wrong magic 0x00000d03");
  expect_error(dlrt_idx_load(P("%s/none", dir), P("%s/l", dir), 0, &d, err, sizeof err), &d, P("%s/none", dir),
               "file not found");
  /* counts that disagree: the labels file is named */
  write_idx(P("%s/l2", dir), false, 0x08, 1, (uint32_t[]){2}, (unsigned char[]){0, 1}, 2);
  expect_error(dlrt_idx_load(P("%s/i", dir), P("%s/l2", dir), 0, &d, err, sizeof err), &d, P("%s/l2", dir),
               "2 labels, but");
}
END_TEST

START_TEST(idx_refuses_bad_labels) {
  const char *dir = fresh_dir();
  unsigned char pix[4 * 35] = {0};
  write_idx(P("%s/i", dir), false, 0x08, 3, (uint32_t[]){4, 5, 7}, pix, sizeof pix);
  write_idx(P("%s/l", dir), false, 0x08, 1, (uint32_t[]){4}, (unsigned char[]){0, 1, 9, 2}, 4);
  write_idx(P("%s/s", dir), false, 0x09, 1, (uint32_t[]){4}, (unsigned char[]){0, 1, 0xff, 2}, 4); /* -1 */
  write_idx(P("%s/w", dir), false, 0x0C, 1, (uint32_t[]){4}, (unsigned char[]){0, 0, 0, 1, 0, 0, 1, 44, 0, 0, 0, 0, 0, 0, 0, 2}, 16);
  DlrtDataset d;
  expect_error(dlrt_idx_load(P("%s/i", dir), P("%s/l", dir), 5, &d, err, sizeof err), &d, P("%s/l", dir),
               "label 9 at index 2 is out of range for 5 classes (0..4)");
  expect_error(dlrt_idx_load(P("%s/i", dir), P("%s/s", dir), 0, &d, err, sizeof err), &d, P("%s/s", dir),
               "label -1 at index 2 is negative");
  /* 32-bit labels: 300 at index 1 */
  ck_assert_msg(dlrt_idx_load(P("%s/i", dir), P("%s/w", dir), 0, &d, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(d.classes, 301);
  ck_assert_int_eq(d.labels[1], 300);
  dlrt_dataset_free(&d);
}
END_TEST

/* gzip: members one after another are one stream; anything else after the last is refused,
 * as is a cut-off stream; a raw file with a gzip name is read as raw. */
START_TEST(idx_gzip_streams_end_with_the_file) {
  const char *dir = fresh_dir();
  unsigned char pix[2 * 35];
  for (int i = 0; i < 70; i++) pix[i] = pat((size_t)i, 5);
  Buf raw = idx_bytes(0x08, 3, (uint32_t[]){2, 5, 7}, pix, sizeof pix);
  write_idx(P("%s/l", dir), true, 0x08, 1, (uint32_t[]){2}, (unsigned char[]){1, 0}, 2);
  Buf a = gzip_bytes(raw.p, 16), b = gzip_bytes(raw.p + 16, raw.len - 16), whole = {0};
  put(&whole, a.p, a.len);
  put(&whole, b.p, b.len);
  write_file(P("%s/two.gz", dir), whole.p, whole.len);
  DlrtDataset d;
  ck_assert_msg(dlrt_idx_load(P("%s/two.gz", dir), P("%s/l", dir), 0, &d, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(memcmp(d.pixels, pix, sizeof pix), 0);
  dlrt_dataset_free(&d);
  put(&whole, "junk!", 5);
  write_file(P("%s/junk.gz", dir), whole.p, whole.len);
  expect_error(dlrt_idx_load(P("%s/junk.gz", dir), P("%s/l", dir), 0, &d, err, sizeof err), &d,
               P("%s/junk.gz", dir), "5 bytes of garbage after the gzip data");
  write_file(P("%s/cut.gz", dir), whole.p, a.len + b.len - 7);
  expect_error(dlrt_idx_load(P("%s/cut.gz", dir), P("%s/l", dir), 0, &d, err, sizeof err), &d, P("%s/cut.gz", dir),
               "corrupt or truncated gzip data");
  write_file(P("%s/raw.gz", dir), raw.p, raw.len);
  ck_assert_msg(dlrt_idx_load(P("%s/raw.gz", dir), P("%s/l", dir), 0, &d, err, sizeof err) == 0, "%s", err);
  dlrt_dataset_free(&d);
  free(raw.p), free(a.p), free(b.p), free(whole.p);
}
END_TEST

/* ---- Fashion-MNIST ------------------------------------------------------------------- */

/* DIR/fashion-mnist comes first; without it, Debian's package (skipped when not installed). */
START_TEST(fashion_mnist_is_found) {
  const char *dir = fresh_dir();
  DlrtDataset d;
  if (access(DLRT_FASHION_MNIST_DEBIAN_DIR "/t10k-images-idx3-ubyte.gz", R_OK) != 0) {
    fprintf(stderr, "check_data: %s not installed (apt-get install dataset-fashion-mnist); skipping its test\n",
            DLRT_FASHION_MNIST_DEBIAN_DIR);
  } else {
    ck_assert_msg(dlrt_fashion_mnist_load(dir, "t10k", &d, err, sizeof err) == 0, "%s", err);
    expect_shape(&d, 10000, 1, 28, 28, 10);
    static const int first[10] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7}; /* ankle boot, pullover, trouser, ... */
    for (int i = 0; i < 10; i++) ck_assert_int_eq(d.labels[i], first[i]);
    ck_assert_str_eq(d.class_names[9], "Ankle boot");
    dlrt_dataset_free(&d);
  }
  ck_assert_int_eq(mkdir(P("%s/fashion-mnist", dir), 0700), 0);
  write_idx_pair(P("%s/fashion-mnist", dir), &(SetShape){1, 28, 28, 10}, 12, true, (unsigned char[12 * 784]){0},
                 (int32_t[12]){0});
  ck_assert_int_eq(rename(P("%s/fashion-mnist/images", dir), P("%s/fashion-mnist/t10k-images-idx3-ubyte.gz", dir)), 0);
  ck_assert_int_eq(rename(P("%s/fashion-mnist/labels", dir), P("%s/fashion-mnist/t10k-labels-idx1-ubyte.gz", dir)), 0);
  ck_assert_msg(dlrt_fashion_mnist_load(dir, "t10k", &d, err, sizeof err) == 0, "%s", err);
  expect_shape(&d, 12, 1, 28, 28, 10);
  dlrt_dataset_free(&d);
  /* a set neither has */
  expect_error(dlrt_fashion_mnist_load(dir, "valid", &d, err, sizeof err), &d,
               P("%s/fashion-mnist/valid-images-idx3-ubyte", dir), "file not found");
  ck_assert_ptr_nonnull(strstr(err, "Debian's dataset-fashion-mnist"));
}
END_TEST

/* ---- CIFAR-10 ------------------------------------------------------------------------ */

enum { CIFAR_PIX = 3 * 32 * 32, CIFAR_REC = 1 + CIFAR_PIX };

/* name in dir with n records, numbered from `first` on: label (k * 3) % 10, pixels pat(k). */
static void write_cifar(const char *dir, const char *name, int first, int n) {
  Buf b = {0};
  for (int k = first; k < first + n; k++) {
    put(&b, (unsigned char[]){(unsigned char)((k * 3) % 10)}, 1);
    for (int i = 0; i < CIFAR_PIX; i++) put(&b, (unsigned char[]){pat((size_t)i, (unsigned)k)}, 1);
  }
  write_file(P("%s/%s", dir, name), b.p, b.len);
  free(b.p);
}

static void write_cifar_set(const char *dir) {
  static const int counts[5] = {2, 1, 3, 1, 2};
  for (int f = 0, first = 0; f < 5; first += counts[f++]) write_cifar(dir, P("data_batch_%d.bin", f + 1), first, counts[f]);
  write_cifar(dir, "test_batch.bin", 100, 4);
}

static void expect_cifar_examples(const DlrtDataset *d, int first) {
  for (int k = 0; k < d->count; k++) {
    ck_assert_int_eq(d->labels[k], ((first + k) * 3) % 10);
    for (int i = 0; i < CIFAR_PIX; i++) ck_assert_uint_eq(d->pixels[(size_t)k * CIFAR_PIX + (size_t)i], pat((size_t)i, (unsigned)(first + k)));
  }
}

START_TEST(cifar10_loads_batches_in_order) {
  const char *dir = fresh_dir();
  write_cifar_set(dir);
  DlrtDataset train, test;
  ck_assert_msg(dlrt_cifar10_load(dir, false, &train, err, sizeof err) == 0, "%s", err);
  expect_shape(&train, 9, 3, 32, 32, 10);
  expect_cifar_examples(&train, 0);
  ck_assert_str_eq(train.class_names[0], "airplane");
  ck_assert_msg(dlrt_cifar10_load(dir, true, &test, err, sizeof err) == 0, "%s", err);
  expect_shape(&test, 4, 3, 32, 32, 10);
  expect_cifar_examples(&test, 100);
  ck_assert_int_eq(dlrt_dataset_match(&train, &test, "t", err, sizeof err), 0);
  dlrt_dataset_free(&train);
  dlrt_dataset_free(&test);
}
END_TEST

START_TEST(cifar10_refuses_bad_batches) {
  const char *dir = fresh_dir();
  DlrtDataset d;
  write_cifar_set(dir);
  unlink(P("%s/data_batch_4.bin", dir));
  expect_error(dlrt_cifar10_load(dir, false, &d, err, sizeof err), &d, P("%s/data_batch_4.bin", dir), "file not found");
  write_cifar(dir, "data_batch_4.bin", 6, 1);
  FILE *f = fopen(P("%s/data_batch_2.bin", dir), "ab");
  fputs("12345", f);
  fclose(f);
  expect_error(dlrt_cifar10_load(dir, false, &d, err, sizeof err), &d, P("%s/data_batch_2.bin", dir), "5 left over");
  write_cifar(dir, "data_batch_2.bin", 2, 1);
  f = fopen(P("%s/data_batch_3.bin", dir), "r+b");
  fseek(f, CIFAR_REC, SEEK_SET); /* the label of record 1 */
  fputc(10, f);
  fclose(f);
  expect_error(dlrt_cifar10_load(dir, false, &d, err, sizeof err), &d, P("%s/data_batch_3.bin", dir),
               "label 10 at index 1 is out of range for 10 classes (0..9)");
  write_file(P("%s/test_batch.bin", dir), "", 0);
  expect_error(dlrt_cifar10_load(dir, true, &d, err, sizeof err), &d, P("%s/test_batch.bin", dir), "empty: no records");
}
END_TEST

/* ---- NumPy .npy ---------------------------------------------------------------------- */

/* An .npy file as NumPy writes it: magic, version, header length, the dict padded with spaces
 * and ended by '\n' so that the data starts at a multiple of `align`. */
static Buf npy_bytes(int version, const char *dict, int align, const void *data, size_t len) {
  size_t lenbytes = version == 1 ? 2 : 4, hlen = strlen(dict) + 1;
  while ((8 + lenbytes + hlen) % (size_t)align) hlen++;
  Buf b = {0};
  put(&b, "\x93NUMPY", 6);
  put(&b, (unsigned char[]){(unsigned char)version, 0}, 2);
  put_le(&b, hlen, (int)lenbytes);
  put(&b, dict, strlen(dict));
  for (size_t i = strlen(dict) + 1; i < hlen; i++) put(&b, " ", 1);
  put(&b, "\n", 1);
  put(&b, data, len);
  return b;
}

static void write_npy(const char *path, int version, const char *dict, int align, const void *data, size_t len) {
  Buf b = npy_bytes(version, dict, align, data, len);
  write_file(path, b.p, b.len);
  free(b.p);
}

static const char *shape_tuple(int count, const SetShape *s, bool flat) {
  if (flat) return P("(%d, %d)", count, s->channels * s->rows * s->cols);
  if (s->channels == 1) return P("(%d, %d, %d)", count, s->rows, s->cols);
  return P("(%d, %d, %d, %d)", count, s->channels, s->rows, s->cols);
}

/* Every shape, as uint8 and float32, labels in four dtypes, header versions 1 to 3, and
 * (N, D) flat images. */
START_TEST(npy_loads_every_shape) {
  const SetShape *s = &SHAPES[_i % 3];
  bool f32 = _i / 3 % 2, flat = _i >= 6;
  int version = 1 + _i % 3, count = s->classes > 256 ? 301 : 6;
  static const char *const ldt[4] = {"|u1", "<i4", "<u2", "<i8"};
  const char *ldtype = s->classes > 256 ? ldt[2 + _i % 2] : ldt[_i % 4];
  size_t n = (size_t)count * (size_t)s->channels * (size_t)s->rows * (size_t)s->cols;
  unsigned char *pix = malloc(n);
  float *fpix = malloc(n * sizeof *fpix);
  for (size_t i = 0; i < n; i++) pix[i] = pat(i, 3), fpix[i] = (float)pat(i, 3) / 7.0f - 3.0f;
  const char *dir = fresh_dir();
  write_npy(P("%s/x.npy", dir), version,
            P("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", f32 ? "<f4" : "|u1", shape_tuple(count, s, flat)),
            64, f32 ? (void *)fpix : (void *)pix, f32 ? n * 4 : n);
  Buf lb = {0};
  int32_t *lab = malloc(sizeof *lab * (size_t)count);
  for (int i = 0; i < count; i++) lab[i] = label_of(i, count, s->classes), put_le(&lb, (uint64_t)lab[i], ldtype[2] - '0');
  write_npy(P("%s/y.npy", dir), version, P("{'descr': '%s', 'fortran_order': False, 'shape': (%d,), }", ldtype, count),
            64, lb.p, lb.len);
  DlrtDataset d;
  ck_assert_msg(dlrt_npy_load(P("%s/x.npy", dir), P("%s/y.npy", dir), 0, &d, err, sizeof err) == 0, "%s", err);
  if (flat) expect_shape(&d, count, 1, 1, s->channels * s->rows * s->cols, s->classes);
  else expect_shape(&d, count, s->channels, s->rows, s->cols, s->classes);
  ck_assert_int_eq(d.pixel_type, f32 ? DLRT_PIXELS_F32 : DLRT_PIXELS_U8);
  ck_assert_int_eq(memcmp(d.pixels, f32 ? (void *)fpix : (void *)pix, f32 ? n * 4 : n), 0);
  ck_assert_int_eq(memcmp(d.labels, lab, sizeof *lab * (size_t)count), 0);
  dlrt_dataset_free(&d);
  free(pix), free(fpix), free(lab), free(lb.p);
}
END_TEST

/* A header of another writer may leave float data off a 4-byte boundary: still exact. */
START_TEST(npy_misaligned_floats_load) {
  const char *dir = fresh_dir();
  float px[2 * 6] = {0.5f, -1, 2, 3.25f, 4, 5, 6, 7, 8, 9, 10, 1e-3f};
  char dict[128] = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 3)";
  while ((10 + strlen(dict) + 2) % 4 != 1) strcat(dict, " "); /* the data at an offset of 1 mod 4 */
  strcat(dict, "}");
  write_npy(P("%s/x.npy", dir), 1, dict, 1, px, sizeof px);
  write_npy(P("%s/y.npy", dir), 1, "{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": (2,)}", 1,
            (unsigned char[]){1, 0}, 2);
  DlrtDataset d;
  ck_assert_msg(dlrt_npy_load(P("%s/x.npy", dir), P("%s/y.npy", dir), 0, &d, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(memcmp(d.pixels_f32, px, sizeof px), 0);
  ck_assert_ptr_null(d.mem.map); /* copied, not mapped */
  dlrt_dataset_free(&d);
}
END_TEST

/* Writes x.npy from a dict (6 images of 2x3 uint8, unless the dict says otherwise) and a good
 * y.npy, or the other way round, and expects phrase in an error naming the bad file. */
static void expect_npy_error(bool bad_x, const char *dict, size_t bytes, const char *phrase) {
  const char *dir = fresh_dir();
  unsigned char data[512] = {0};
  const char *good_x = "{'descr': '|u1', 'fortran_order': False, 'shape': (6, 2, 3), }";
  const char *good_y = "{'descr': '|u1', 'fortran_order': False, 'shape': (6,), }";
  write_npy(P("%s/x.npy", dir), 1, bad_x ? dict : good_x, 64, data, bad_x ? bytes : 36);
  write_npy(P("%s/y.npy", dir), 1, bad_x ? good_y : dict, 64, data, bad_x ? 6 : bytes);
  DlrtDataset d;
  const char *bad = P("%s/%s.npy", dir, bad_x ? "x" : "y");
  expect_error(dlrt_npy_load(P("%s/x.npy", dir), P("%s/y.npy", dir), 4, &d, err, sizeof err), &d, bad, phrase);
}

START_TEST(npy_refuses_malformed_files) {
  expect_npy_error(true, "{'descr': '|u1', 'fortran_order': True, 'shape': (6, 2, 3), }", 36, "Fortran order");
  expect_npy_error(true, "{'descr': '>f4', 'fortran_order': False, 'shape': (6, 2, 3), }", 144, "big-endian");
  expect_npy_error(true, "{'descr': '<f8', 'fortran_order': False, 'shape': (6, 2, 3), }", 288,
                   "dtype '<f8': images must be uint8 ('|u1') or float32 ('<f4')");
  expect_npy_error(true, "{'descr': '|u1', 'fortran_order': False, 'shape': (6, 2, 3), }", 35,
                   "truncated: the shape needs 36 bytes of data, the file holds 35");
  expect_npy_error(true, "{'descr': '|u1', 'fortran_order': False, 'shape': (6, 2, 3), }", 37, "1 extra bytes");
  expect_npy_error(true, "{'descr': '|u1', 'fortran_order': False, 'shape': (6, 2, 3), 'x': 1}", 36, "key other than");
  expect_npy_error(true, "{'descr': '|u1', 'fortran_order': False, 'shape': (36), }", 36, "'shape' is not a tuple");
  expect_npy_error(true, "{'descr': '|u1', 'fortran_order': False, 'shape': (6,), }", 6, "images have shape (6,)");
  expect_npy_error(true, "{'descr': '|u1', 'shape': (6, 2, 3), }", 36, "lacks");
  expect_npy_error(true, "[1, 2]", 36, "not a dict literal");
  expect_npy_error(true, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6, 2, 3), }", 36, "structured");
  expect_npy_error(false, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", 24, "labels must be integers");
  expect_npy_error(false, "{'descr': '|u1', 'fortran_order': False, 'shape': (6, 1), }", 6, "expected (N,)");
  expect_npy_error(false, "{'descr': '|u1', 'fortran_order': False, 'shape': (5,), }", 5, "5 labels, but");
  /* labels: 4 classes given, and a label 9 (the data is zeros, then a 9 at index 3) */
  const char *dir = fresh_dir();
  write_npy(P("%s/x.npy", dir), 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (6, 2, 3), }", 64,
            (unsigned char[36]){0}, 36);
  write_npy(P("%s/y.npy", dir), 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (6,), }", 64,
            (unsigned char[]){0, 1, 2, 9, 0, 0}, 6);
  write_npy(P("%s/n.npy", dir), 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }", 64,
            (int32_t[]){0, 1, -3, 0, 0, 0}, 24);
  write_file(P("%s/t.npy", dir), "\x93NUMPX\x01\x00", 8);
  DlrtDataset d;
  expect_error(dlrt_npy_load(P("%s/x.npy", dir), P("%s/y.npy", dir), 4, &d, err, sizeof err), &d, P("%s/y.npy", dir),
               "label 9 at index 3 is out of range for 4 classes (0..3)");
  expect_error(dlrt_npy_load(P("%s/x.npy", dir), P("%s/n.npy", dir), 0, &d, err, sizeof err), &d, P("%s/n.npy", dir),
               "label -3 at index 2 is negative");
  expect_error(dlrt_npy_load(P("%s/t.npy", dir), P("%s/y.npy", dir), 0, &d, err, sizeof err), &d, P("%s/t.npy", dir),
               "not a NumPy .npy file");
  /* a NaN pixel */
  float px[6] = {0, 1, 2, NAN, 4, 5};
  write_npy(P("%s/f.npy", dir), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }", 64, px, sizeof px);
  write_npy(P("%s/g.npy", dir), 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }", 64,
            (unsigned char[]){0}, 1);
  expect_error(dlrt_npy_load(P("%s/f.npy", dir), P("%s/g.npy", dir), 0, &d, err, sizeof err), &d, P("%s/f.npy", dir),
               "value 3 of image 0 is nan; pixels must be finite");
}
END_TEST

/* ---- PNG ----------------------------------------------------------------------------- */

static void put_chunk(Buf *b, const char *type, const void *data, size_t len) {
  put_be32(b, (uint32_t)len);
  size_t at = b->len;
  put(b, type, 4);
  put(b, data, len);
  put_be32(b, (uint32_t)crc32(0, b->p + at, (uInt)(len + 4)));
}

/* A PNG encoded here, not by libpng: IHDR, PLTE and tRNS when given, one IDAT of unfiltered
 * rows (rowbytes each, packed as the bit depth says), IEND. */
static Buf png_bytes(int w, int h, int depth, int colour, const unsigned char *rows, size_t rowbytes,
                     const unsigned char *plte, int nplte, const unsigned char *trns, int ntrns) {
  Buf b = {0}, raw = {0};
  put(&b, "\x89PNG\r\n\x1a\n", 8);
  Buf ihdr = {0};
  put_be32(&ihdr, (uint32_t)w);
  put_be32(&ihdr, (uint32_t)h);
  put(&ihdr, (unsigned char[]){(unsigned char)depth, (unsigned char)colour, 0, 0, 0}, 5);
  put_chunk(&b, "IHDR", ihdr.p, ihdr.len);
  if (plte) put_chunk(&b, "PLTE", plte, (size_t)nplte * 3);
  if (trns) put_chunk(&b, "tRNS", trns, (size_t)ntrns);
  for (int y = 0; y < h; y++) put(&raw, "", 1), put(&raw, rows + (size_t)y * rowbytes, rowbytes);
  uLongf zlen = compressBound(raw.len);
  unsigned char *z = malloc(zlen);
  ck_assert_int_eq(compress(z, &zlen, raw.p, raw.len), Z_OK);
  put_chunk(&b, "IDAT", z, zlen);
  put_chunk(&b, "IEND", NULL, 0);
  free(z), free(raw.p), free(ihdr.p);
  return b;
}

static void write_png(const char *path, int w, int h, int depth, int colour, const unsigned char *rows,
                      size_t rowbytes) {
  Buf b = png_bytes(w, h, depth, colour, rows, rowbytes, NULL, 0, NULL, 0);
  write_file(path, b.p, b.len);
  free(b.p);
}

static void expect_image(const char *path, int w, int h, int channels, const unsigned char *pix) {
  DlrtImage img;
  ck_assert_msg(dlrt_png_read(path, &img, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(img.width, w);
  ck_assert_int_eq(img.height, h);
  ck_assert_int_eq(img.channels, channels);
  ck_assert_int_eq(memcmp(img.pixels, pix, (size_t)w * (size_t)h * (size_t)channels), 0);
  dlrt_image_free(&img);
}

/* The writer (libpng) and the reader (libpng) agree, grey and RGB; the reader agrees with this
 * file's own encoder too. */
START_TEST(png_round_trips) {
  const char *dir = fresh_dir();
  unsigned char pix[7 * 5 * 3];
  for (int i = 0; i < 7 * 5 * 3; i++) pix[i] = pat((size_t)i, 9);
  for (int ch = 1; ch <= 3; ch += 2) {
    ck_assert_msg(dlrt_png_write(P("%s/w%d.png", dir, ch), pix, 7, 5, ch, err, sizeof err) == 0, "%s", err);
    expect_image(P("%s/w%d.png", dir, ch), 7, 5, ch, pix);
    write_png(P("%s/o%d.png", dir, ch), 7, 5, 8, ch == 3 ? 2 : 0, pix, (size_t)7 * (size_t)ch);
    expect_image(P("%s/o%d.png", dir, ch), 7, 5, ch, pix);
  }
  expect_error(dlrt_png_write(P("%s/x.png", dir), pix, 7, 5, 2, err, sizeof err), NULL, P("%s/x.png", dir),
               "grey or RGB");
}
END_TEST

/* Palettes become RGB, 1-bit grey 8-bit, 16-bit samples 8-bit (rounded). */
START_TEST(png_reader_expands_losslessly) {
  const char *dir = fresh_dir();
  unsigned char plte[6] = {10, 20, 30, 200, 150, 100}, idx[4] = {0, 1, 1, 0};
  Buf b = png_bytes(2, 2, 8, 3, idx, 2, plte, 2, NULL, 0);
  write_file(P("%s/p.png", dir), b.p, b.len);
  free(b.p);
  expect_image(P("%s/p.png", dir), 2, 2, 3, (unsigned char[]){10, 20, 30, 200, 150, 100, 200, 150, 100, 10, 20, 30});
  write_png(P("%s/b.png", dir), 3, 1, 1, 0, (unsigned char[]){0xA0}, 1); /* bits 1 0 1 */
  expect_image(P("%s/b.png", dir), 3, 1, 1, (unsigned char[]){255, 0, 255});
  write_png(P("%s/s.png", dir), 2, 1, 16, 0, (unsigned char[]){0x12, 0x34, 0xff, 0xff}, 4);
  expect_image(P("%s/s.png", dir), 2, 1, 1, (unsigned char[]){(unsigned char)lround(0x1234 * 255.0 / 65535), 255});
}
END_TEST

START_TEST(png_reader_refuses_alpha_and_damage) {
  const char *dir = fresh_dir();
  unsigned char px[4 * 4 * 4] = {0};
  write_png(P("%s/ga.png", dir), 2, 2, 8, 4, px, 4);
  write_png(P("%s/rgba.png", dir), 2, 2, 8, 6, px, 8);
  Buf b = png_bytes(2, 2, 8, 3, px, 2, (unsigned char[3]){0}, 1, (unsigned char[]){0}, 1);
  write_file(P("%s/trns.png", dir), b.p, b.len);
  DlrtImage img;
  for (int k = 0; k < 3; k++) {
    const char *path = P("%s/%s.png", dir, (const char *[]){"ga", "rgba", "trns"}[k]);
    expect_error(dlrt_png_read(path, &img, err, sizeof err), NULL, path, "has an alpha channel");
  }
  free(b.p);
  b = png_bytes(4, 4, 8, 0, px, 4, NULL, 0, NULL, 0);
  write_file(P("%s/cut.png", dir), b.p, b.len - 20);
  expect_error(dlrt_png_read(P("%s/cut.png", dir), &img, err, sizeof err), NULL, P("%s/cut.png", dir), "invalid PNG");
  b.p[b.len - 13] ^= 1; /* the IDAT checksum, just before IEND */
  write_file(P("%s/crc.png", dir), b.p, b.len);
  expect_error(dlrt_png_read(P("%s/crc.png", dir), &img, err, sizeof err), NULL, P("%s/crc.png", dir), "invalid PNG");
  free(b.p);
  write_file(P("%s/text.png", dir), "hello", 5);
  expect_error(dlrt_png_read(P("%s/text.png", dir), &img, err, sizeof err), NULL, P("%s/text.png", dir),
               "not a PNG file");
  ck_assert_ptr_null(img.pixels);
}
END_TEST

/* ---- PNG class folders --------------------------------------------------------------- */

/* Image k of a folder set: w x h x ch, every byte pat(., k). */
static void write_class_image(const char *dir, const char *cls, const char *name, int k, int w, int h, int ch) {
  mkdir(P("%s/%s", dir, cls), 0700);
  unsigned char pix[64 * 64 * 3];
  for (int i = 0; i < w * h * ch; i++) pix[i] = pat((size_t)i, (unsigned)k);
  write_png(P("%s/%s/%s", dir, cls, name), w, h, 8, ch == 3 ? 2 : 0, pix, (size_t)w * (size_t)ch);
}

/* Example e must be image k, its interleaved pixels now plane by plane. */
static void expect_folder_example(const DlrtDataset *d, int e, int k, int label) {
  ck_assert_int_eq(d->labels[e], label);
  size_t plane = (size_t)d->rows * (size_t)d->cols;
  for (int c = 0; c < d->channels; c++)
    for (size_t p = 0; p < plane; p++)
      ck_assert_uint_eq(d->pixels[((size_t)e * (size_t)d->channels + (size_t)c) * plane + p],
                        pat(p * (size_t)d->channels + (size_t)c, (unsigned)k));
}

/* Classes cat (3 images), dog (1), emu (2), grey or RGB: sorted class names, exact pixels in
 * CHW, and the stratified order: by (rank + 0.5) / class size, ties by class. */
START_TEST(png_folder_loads_classes) {
  int ch = _i ? 3 : 1, w = _i ? 6 : 7, h = _i ? 4 : 5;
  const char *dir = fresh_dir();
  write_class_image(dir, "emu", "b.png", 4, w, h, ch);
  write_class_image(dir, "emu", "a.png", 3, w, h, ch);
  write_class_image(dir, "dog", "x.png", 5, w, h, ch);
  for (int k = 0; k < 3; k++) write_class_image(dir, "cat", P("%d.png", k), k, w, h, ch);
  write_file(P("%s/cat/.DS_Store", dir), "junk", 4); /* hidden: skipped */
  DlrtDataset d;
  ck_assert_msg(dlrt_png_dir_load(dir, NULL, &d, err, sizeof err) == 0, "%s", err);
  expect_shape(&d, 6, ch, h, w, 3);
  ck_assert_str_eq(d.class_names[0], "cat");
  ck_assert_str_eq(d.class_names[1], "dog");
  ck_assert_str_eq(d.class_names[2], "emu");
  /* keys: cat 1/6, 3/6, 5/6; dog 1/2; emu (a.png) 1/4, (b.png) 3/4 */
  static const int image[6] = {0, 3, 1, 5, 4, 2}, label[6] = {0, 2, 0, 1, 2, 0};
  for (int e = 0; e < 6; e++) expect_folder_example(&d, e, image[e], label[e]);
  dlrt_dataset_free(&d);
}
END_TEST

/* A test folder takes the training set's classes by name, and may lack some. */
START_TEST(png_folder_matches_training_classes) {
  const char *train_dir = fresh_dir(), *test_dir = fresh_dir();
  for (int c = 0; c < 3; c++) write_class_image(train_dir, (const char *[]){"ant", "bee", "cow"}[c], "1.png", c, 5, 5, 1);
  write_class_image(test_dir, "cow", "9.png", 9, 5, 5, 1);
  write_class_image(test_dir, "ant", "8.png", 8, 5, 5, 1);
  DlrtDataset train, test;
  ck_assert_msg(dlrt_png_dir_load(train_dir, NULL, &train, err, sizeof err) == 0, "%s", err);
  ck_assert_msg(dlrt_png_dir_load(test_dir, &train, &test, err, sizeof err) == 0, "%s", err);
  expect_shape(&test, 2, 1, 5, 5, 3);
  expect_folder_example(&test, 0, 8, 0); /* ant */
  expect_folder_example(&test, 1, 9, 2); /* cow */
  ck_assert_str_eq(test.class_names[2], "cow");
  ck_assert_int_eq(dlrt_dataset_match(&train, &test, test_dir, err, sizeof err), 0);
  dlrt_dataset_free(&test);
  write_class_image(test_dir, "yak", "1.png", 1, 5, 5, 1);
  expect_error(dlrt_png_dir_load(test_dir, &train, &test, err, sizeof err), &test, P("%s/yak", test_dir),
               "'yak' is not one of the training set's classes");
  DlrtDataset other;
  ck_assert_int_eq(dlrt_dataset_alloc(&other, DLRT_PIXELS_U8, 1, 1, 5, 5, 3), 0);
  expect_error(dlrt_png_dir_load(test_dir, &other, &test, err, sizeof err), &test, test_dir, "no class names");
  dlrt_dataset_free(&other);
  dlrt_dataset_free(&train);
}
END_TEST

START_TEST(png_folder_refuses_bad_contents) {
  DlrtDataset d;
  const char *dir = fresh_dir();
  write_class_image(dir, "a", "1.png", 1, 5, 7, 1);
  write_class_image(dir, "b", "1.png", 2, 6, 7, 1);
  expect_error(dlrt_png_dir_load(dir, NULL, &d, err, sizeof err), &d, P("%s/b/1.png", dir),
               "6x7 grey, but");
  ck_assert_ptr_nonnull(strstr(err, "a/1.png is 5x7 grey: all images must be alike"));
  write_class_image(dir, "b", "1.png", 2, 5, 7, 3);
  expect_error(dlrt_png_dir_load(dir, NULL, &d, err, sizeof err), &d, P("%s/b/1.png", dir), "5x7 RGB, but");
  write_class_image(dir, "b", "1.png", 2, 5, 7, 1);
  write_file(P("%s/b/notes.txt", dir), "not an image", 12);
  expect_error(dlrt_png_dir_load(dir, NULL, &d, err, sizeof err), &d, P("%s/b/notes.txt", dir), "not a PNG file");
  unlink(P("%s/b/notes.txt", dir));
  write_file(P("%s/README", dir), "hi", 2);
  expect_error(dlrt_png_dir_load(dir, NULL, &d, err, sizeof err), &d, P("%s/README", dir), "not a folder");
  unlink(P("%s/README", dir));
  mkdir(P("%s/c", dir), 0700);
  expect_error(dlrt_png_dir_load(dir, NULL, &d, err, sizeof err), &d, P("%s/c", dir), "no images in this class folder");
  const char *empty = fresh_dir();
  expect_error(dlrt_png_dir_load(empty, NULL, &d, err, sizeof err), &d, empty, "no class folders");
  expect_error(dlrt_png_dir_load(P("%s/nowhere", empty), NULL, &d, err, sizeof err), &d, P("%s/nowhere", empty),
               "folder not found");
}
END_TEST

/* A FIFO as a data file is refused at once, never read (reading one blocks until a writer
 * comes); this test case has a short timeout, so a hang fails it. */
START_TEST(fifo_is_refused_without_blocking) {
  const char *dir = fresh_dir();
  ck_assert_int_eq(mkfifo(P("%s/fifo", dir), 0600), 0);
  unsigned char pix[35] = {0};
  write_idx(P("%s/i", dir), false, 0x08, 3, (uint32_t[]){1, 5, 7}, pix, sizeof pix);
  write_idx(P("%s/l", dir), false, 0x08, 1, (uint32_t[]){1}, (unsigned char[]){0}, 1);
  DlrtDataset d;
  const char *fifo = P("%s/fifo", dir);
  expect_error(dlrt_idx_load(fifo, P("%s/l", dir), 0, &d, err, sizeof err), &d, fifo, "not a regular file (a FIFO)");
  expect_error(dlrt_idx_load(P("%s/i", dir), fifo, 0, &d, err, sizeof err), &d, fifo, "not a regular file");
  expect_error(dlrt_npy_load(fifo, fifo, 0, &d, err, sizeof err), &d, fifo, "not a regular file");
  DlrtImage img;
  expect_error(dlrt_png_read(fifo, &img, err, sizeof err), NULL, fifo, "not a regular file");
  ck_assert_int_eq(rename(fifo, P("%s/test_batch.bin", dir)), 0);
  expect_error(dlrt_cifar10_load(dir, true, &d, err, sizeof err), &d, P("%s/test_batch.bin", dir),
               "not a regular file");
  const char *folder = fresh_dir();
  write_class_image(folder, "a", "1.png", 1, 5, 7, 1);
  ck_assert_int_eq(mkdir(P("%s/b", folder), 0700), 0);
  ck_assert_int_eq(mkfifo(P("%s/b/pipe.png", folder), 0600), 0);
  expect_error(dlrt_png_dir_load(folder, NULL, &d, err, sizeof err), &d, P("%s/b/pipe.png", folder),
               "not a regular file");
}
END_TEST

/* ---- views and matching -------------------------------------------------------------- */

START_TEST(slices_are_views) {
  DlrtDataset d, f;
  ck_assert_int_eq(dlrt_dataset_alloc(&d, DLRT_PIXELS_U8, 10, 3, 4, 6, 5), 0);
  ck_assert_int_eq(dlrt_dataset_alloc(&f, DLRT_PIXELS_F32, 10, 1, 2, 2, 5), 0);
  for (int i = 0; i < 10; i++) d.labels[i] = i % 5, f.pixels_f32[i * 4] = (float)i;
  DlrtDataset v = dlrt_dataset_slice(&d, 7, 3), w = dlrt_dataset_slice(&f, 2, 8);
  expect_shape(&v, 3, 3, 4, 6, 5);
  ck_assert_ptr_eq(v.pixels, d.pixels + 7 * 72);
  ck_assert_ptr_eq(v.labels, d.labels + 7);
  ck_assert_float_eq(w.pixels_f32[0], 2);
  dlrt_dataset_free(&v); /* a view owns nothing */
  ck_assert_int_eq(dlrt_dataset_slice(&d, 8, 3).count, 0);
  ck_assert_int_eq(dlrt_dataset_slice(&d, -1, 3).count, 0);
  ck_assert_int_eq(d.labels[9], 4); /* still there */
  ck_assert_int_eq(dlrt_dataset_alloc(&v, DLRT_PIXELS_U8, 1, 1, 32769, 1, 2), -1);
  dlrt_dataset_free(&d);
  dlrt_dataset_free(&f);
}
END_TEST

START_TEST(match_names_the_test_set) {
  DlrtDataset a, b, c, e;
  dlrt_dataset_alloc(&a, DLRT_PIXELS_U8, 2, 1, 5, 7, 10);
  dlrt_dataset_alloc(&b, DLRT_PIXELS_U8, 2, 3, 4, 6, 10);
  dlrt_dataset_alloc(&c, DLRT_PIXELS_F32, 2, 1, 5, 7, 10);
  dlrt_dataset_alloc(&e, DLRT_PIXELS_U8, 2, 1, 5, 7, 12);
  expect_error(dlrt_dataset_match(&a, &b, "test.npy", err, sizeof err), NULL, "test.npy",
               "examples are 3x4x6, but the training examples are 1x5x7");
  expect_error(dlrt_dataset_match(&a, &c, "test.npy", err, sizeof err), NULL, "test.npy",
               "pixels are float32, but the training pixels are uint8");
  expect_error(dlrt_dataset_match(&a, &e, "t", err, sizeof err), NULL, "t", "has 12 classes, but the training set has 10");
  ck_assert_int_eq(dlrt_dataset_match(&e, &a, "t", err, sizeof err), 0); /* fewer classes are fine */
  dlrt_dataset_free(&a), dlrt_dataset_free(&b), dlrt_dataset_free(&c), dlrt_dataset_free(&e);
}
END_TEST

/* ---- batch assembly ------------------------------------------------------------------ */

/* uint8 v becomes ((lo + (hi - lo) v / 255) - mean[c]) / std[c]; float32 p (lo + (hi - lo) p
 * - mean[c]) / std[c]; without normalisation exactly lo + v * ((hi - lo) / 255) as before. */
START_TEST(batches_map_every_channel) {
  DlrtDataset d, f;
  ck_assert_int_eq(dlrt_dataset_alloc(&d, DLRT_PIXELS_U8, 3, 3, 4, 6, 300), 0);
  ck_assert_int_eq(dlrt_dataset_alloc(&f, DLRT_PIXELS_F32, 3, 3, 4, 6, 300), 0);
  for (int i = 0; i < 3 * 72; i++) d.pixels[i] = pat((size_t)i, 1), f.pixels_f32[i] = (float)pat((size_t)i, 1) / 100;
  d.labels[0] = 299, d.labels[1] = 0, d.labels[2] = 7;
  static const float mean[3] = {0.5f, 0.25f, -1}, std[3] = {2, 0.5f, 4};
  DlrtPixelMap map = {-1, 1, mean, std};
  float x[3 * 72], y[3 * 300];
  int idx[3] = {2, 0, 1};
  dlrt_fill_batch_mapped(&d, idx, 3, 300, &map, x, y);
  for (int r = 0; r < 3; r++)
    for (int i = 0; i < 72; i++) {
      int c = i / 24;
      double want = ((-1 + 2.0 * d.pixels[idx[r] * 72 + i] / 255) - mean[c]) / std[c];
      ck_assert_double_eq_tol(x[r * 72 + i], want, 1e-5);
    }
  ck_assert_float_eq(y[0 * 300 + 7], 1);
  ck_assert_float_eq(y[1 * 300 + 299], 1);
  dlrt_fill_batch_mapped(&f, idx, 3, 300, &map, x, NULL);
  for (int i = 0; i < 72; i++)
    ck_assert_double_eq_tol(x[i], ((-1 + 2.0 * f.pixels_f32[2 * 72 + i]) - mean[i / 24]) / std[i / 24], 1e-5);
  dlrt_fill_batch(&d, idx, 3, 300, -0.1f, 1.175f, x, y);
  float scale = (1.175f - -0.1f) / 255.0f;
  for (int i = 0; i < 72; i++) ck_assert_msg(x[i] == -0.1f + (float)d.pixels[2 * 72 + i] * scale, "value %d", i);
  d.labels[2] = 300; /* beyond the model's classes: an empty row, nothing written outside y */
  dlrt_fill_labels(&d, idx, 1, 300, y);
  for (int k = 0; k < 300; k++) ck_assert_float_eq(y[k], 0);
  dlrt_dataset_free(&d);
  dlrt_dataset_free(&f);
}
END_TEST

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Batch assembly stays a small part of an epoch: it is timed (shuffled batches of 64 from
 * 4,000 RGB 32x32 images, normalised) and reported; the bound only catches a gross slowdown
 * (a step of LeNet-5 costs about 50 ns per input value). */
START_TEST(batch_assembly_is_fast) {
  enum { N = 4000, B = 64 };
  DlrtDataset d;
  ck_assert_int_eq(dlrt_dataset_alloc(&d, DLRT_PIXELS_U8, N, 3, 32, 32, 10), 0);
  for (size_t i = 0; i < (size_t)N * CIFAR_PIX; i++) d.pixels[i] = pat(i, 4);
  int *perm = malloc(sizeof *perm * N);
  for (int i = 0; i < N; i++) perm[i] = (i * 7919) % N;
  float *x = malloc(sizeof *x * B * CIFAR_PIX), y[B * 10];
  static const float mean[3] = {0.49f, 0.48f, 0.45f}, std[3] = {0.25f, 0.24f, 0.26f};
  DlrtPixelMap map = {0, 1, mean, std};
  double best = 1e9;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = now();
    for (int b = 0; b + B <= N; b += B) dlrt_fill_batch_mapped(&d, perm + b, B, 10, &map, x, y);
    double ns = (now() - t0) * 1e9 / ((double)(N / B * B) * CIFAR_PIX);
    best = ns < best ? ns : best;
  }
  fprintf(stderr, "check_data: batch assembly %.2f ns per value (uint8 RGB, normalised)\n", best);
  ck_assert_msg(best < 20, "batch assembly takes %.1f ns per value", best);
  free(perm);
  free(x);
  dlrt_dataset_free(&d);
}
END_TEST

/* ---- distortions over channels ------------------------------------------------------- */

static const DlrtDistort ALL = {.affine = true, .rotate = 15, .scale = 0.15f, .shear = 0.2f, .shift = 2,
                                .elastic = true, .alpha = 1.5f, .sigma = 4};

/* An RGB image whose three planes are one grey image distorts, plane by plane, exactly as the
 * grey image does: the transform is drawn once and the grey stream is unchanged. */
START_TEST(distortion_is_one_transform_for_every_channel) {
  enum { S = 20, PL = S * S };
  DlrtDataset grey, rgb;
  dlrt_dataset_alloc(&grey, DLRT_PIXELS_U8, 2, 1, S, S, 2);
  dlrt_dataset_alloc(&rgb, DLRT_PIXELS_U8, 2, 3, S, S, 2);
  for (int k = 0; k < 2; k++)
    for (int p = 0; p < PL; p++) {
      unsigned char v = (p / S > 5 && p / S < 14 && p % S > 6) ? 250 : (unsigned char)(p % 7);
      grey.pixels[k * PL + p] = v;
      for (int c = 0; c < 3; c++) rgb.pixels[(k * 3 + c) * PL + p] = v;
    }
  float g[2 * PL], x[2 * 3 * PL];
  int idx[2] = {1, 0};
  ck_assert_int_eq(dlrt_fill_batch_distorted(&grey, idx, 2, &ALL, 3, 1, 40, -1, 1, g), 0);
  ck_assert_int_eq(dlrt_fill_batch_distorted(&rgb, idx, 2, &ALL, 3, 1, 40, -1, 1, x), 0);
  for (int k = 0; k < 2; k++)
    for (int c = 0; c < 3; c++) ck_assert_int_eq(memcmp(x + (k * 3 + c) * PL, g + k * PL, sizeof(float) * PL), 0);
  bool moved = false;
  for (int p = 0; p < PL; p++) moved |= g[p] != -1 + 2 * grey.pixels[PL + p] / 255.0f;
  ck_assert(moved);
  /* normalisation per channel after distortion */
  static const float mean[3] = {0, 1, 2}, std[3] = {1, 2, 4};
  DlrtPixelMap map = {-1, 1, mean, std};
  ck_assert_int_eq(dlrt_fill_batch_distorted_mapped(&rgb, idx, 2, &ALL, 3, 1, 40, &map, x), 0);
  for (int c = 0; c < 3; c++)
    for (int p = 0; p < PL; p++) ck_assert_double_eq_tol(x[c * PL + p], (g[p] - mean[c]) / std[c], 1e-5);
  dlrt_dataset_free(&grey);
  dlrt_dataset_free(&rgb);
}
END_TEST

/* Images larger than any stack buffer distort; float pixels distort as their uint8 twins. */
START_TEST(distortion_takes_any_size_and_floats) {
  enum { W = 150, H = 90, PL = W * H };
  DlrtDataset u, f;
  dlrt_dataset_alloc(&u, DLRT_PIXELS_U8, 1, 1, H, W, 2);
  dlrt_dataset_alloc(&f, DLRT_PIXELS_F32, 1, 1, H, W, 2);
  for (int p = 0; p < PL; p++) u.pixels[p] = (p / W - 45) * (p / W - 45) + (p % W - 75) * (p % W - 75) < 900 ? 255 : 0;
  for (int p = 0; p < PL; p++) f.pixels_f32[p] = u.pixels[p] / 255.0f;
  float *a = malloc(sizeof(float) * PL), *b = malloc(sizeof(float) * PL);
  DlrtDistort none = {.affine = true};
  ck_assert_int_eq(dlrt_fill_batch_distorted(&u, (int[]){0}, 1, &none, 1, 0, 0, 0, 255, a), 0);
  for (int p = 0; p < PL; p++) ck_assert_float_eq(a[p], u.pixels[p]);
  ck_assert_int_eq(dlrt_fill_batch_distorted(&u, (int[]){0}, 1, &ALL, 1, 0, 0, 0, 1, a), 0);
  ck_assert_int_eq(dlrt_fill_batch_distorted(&f, (int[]){0}, 1, &ALL, 1, 0, 0, 0, 1, b), 0);
  double mass = 0, before = 0;
  for (int p = 0; p < PL; p++) {
    ck_assert_double_eq_tol(a[p], b[p], 1e-5);
    mass += a[p], before += f.pixels_f32[p];
  }
  ck_assert_msg(mass > 0.7 * before && mass < 1.4 * before, "mass %g of %g", mass, before);
  free(a), free(b);
  dlrt_dataset_free(&u);
  dlrt_dataset_free(&f);
}
END_TEST

static void make_root(void) { root = make_temp_dir(); }

static void remove_root(void) {
  remove_tree(root);
  free(root);
}

static Suite *data_suite(void) {
  Suite *s = suite_create("data");
  TCase *tc = tcase_create("formats");
  tcase_add_unchecked_fixture(tc, make_root, remove_root);
  tcase_add_loop_test(tc, idx_loads_every_shape, 0, 6);
  tcase_add_test(tc, idx_vectors_are_one_row_images);
  tcase_add_test(tc, idx_refuses_bad_sizes);
  tcase_add_test(tc, idx_refuses_wrong_kinds);
  tcase_add_test(tc, idx_refuses_bad_labels);
  tcase_add_test(tc, idx_gzip_streams_end_with_the_file);
  tcase_add_test(tc, fashion_mnist_is_found);
  tcase_add_test(tc, cifar10_loads_batches_in_order);
  tcase_add_test(tc, cifar10_refuses_bad_batches);
  tcase_add_loop_test(tc, npy_loads_every_shape, 0, 9);
  tcase_add_test(tc, npy_misaligned_floats_load);
  tcase_add_test(tc, npy_refuses_malformed_files);
  tcase_add_test(tc, png_round_trips);
  tcase_add_test(tc, png_reader_expands_losslessly);
  tcase_add_test(tc, png_reader_refuses_alpha_and_damage);
  tcase_add_loop_test(tc, png_folder_loads_classes, 0, 2);
  tcase_add_test(tc, png_folder_matches_training_classes);
  tcase_add_test(tc, png_folder_refuses_bad_contents);
  suite_add_tcase(s, tc);
  /* a FIFO must not block: a few seconds are plenty, a hang fails the test */
  tc = tcase_create("fifo");
  tcase_add_unchecked_fixture(tc, make_root, remove_root);
  tcase_set_timeout(tc, 10);
  tcase_add_test(tc, fifo_is_refused_without_blocking);
  suite_add_tcase(s, tc);
  tc = tcase_create("batches");
  tcase_add_test(tc, slices_are_views);
  tcase_add_test(tc, match_names_the_test_set);
  tcase_add_test(tc, batches_map_every_channel);
  tcase_add_test(tc, batch_assembly_is_fast);
  tcase_add_test(tc, distortion_is_one_transform_for_every_channel);
  tcase_add_test(tc, distortion_takes_any_size_and_floats);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(data_suite()); }
