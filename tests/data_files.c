/* data_files.c — data files written byte for byte for the suites; see data_files.h. */
#define _GNU_SOURCE
#include "data_files.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

char *root;
char err[1024];

void make_root(void) { root = make_temp_dir(); }

void remove_root(void) {
  remove_tree(root);
  free(root);
}

const char *fresh_dir(void) {
  static char ring[4][512];
  static int next;
  char *dir = ring[next++ % 4];
  snprintf(dir, sizeof ring[0], "%s/t-XXXXXX", root);
  ck_assert_ptr_nonnull(mkdtemp(dir));
  return dir;
}

const char *P(const char *fmt, ...) {
  static char ring[8][600];
  static int next;
  char *p = ring[next++ % 8];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p, sizeof ring[0], fmt, ap);
  va_end(ap);
  return p;
}

void put(Buf *b, const void *data, size_t n) {
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2 + 64;
    b->p = realloc(b->p, b->cap);
    ck_assert_ptr_nonnull(b->p);
  }
  if (n) memcpy(b->p + b->len, data, n);
  b->len += n;
}

void put_be32(Buf *b, uint32_t v) {
  unsigned char q[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
  put(b, q, 4);
}

void put_le(Buf *b, uint64_t v, int size) {
  for (int i = 0; i < size; i++) put(b, (unsigned char[]){(unsigned char)(v >> (8 * i))}, 1);
}

/* One gzip member holding data (deflate with the gzip wrapper: windowBits 16 + 15). */
Buf gzip_bytes(const void *data, size_t len) {
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

void write_maybe_gz(const char *path, const Buf *b, bool gz) {
  if (!gz) return write_bytes(path, b->p, b->len);
  Buf g = gzip_bytes(b->p, b->len);
  write_bytes(path, g.p, g.len);
  free(g.p);
}

unsigned char pat(size_t i, unsigned seed) { return (unsigned char)((i * 37 + seed * 101 + 11) % 251); }

/* Labels that use every class up to classes - 1 (so that inferring the count finds it). */
int32_t label_of(int i, int count, int classes) { return i == count - 1 ? classes - 1 : (i * 7) % classes; }

void expect_error(int rc, const DlrtDataset *d, const char *path, const char *phrase) {
  ck_assert_msg(rc == -1, "loaded, but should have failed with '%s'", phrase);
  ck_assert_msg(strncmp(err, path, strlen(path)) == 0 && strncmp(err + strlen(path), ": ", 2) == 0,
                "error '%s' does not start with '%s: '", err, path);
  ck_assert_msg(strstr(err, phrase) != NULL, "error '%s' lacks '%s'", err, phrase);
  ck_assert_msg(strchr(err, '\n') == NULL, "error '%s' is not one line", err);
  if (d) ck_assert_msg(d->count == 0 && d->pixels == NULL && d->labels == NULL, "the data set was not zeroed");
}

void expect_shape(const DlrtDataset *d, int count, int channels, int rows, int cols, int classes) {
  ck_assert_int_eq(d->count, count);
  ck_assert_int_eq(d->channels, channels);
  ck_assert_int_eq(d->rows, rows);
  ck_assert_int_eq(d->cols, cols);
  ck_assert_int_eq(d->classes, classes);
}

Buf idx_bytes(unsigned type, int ndims, const uint32_t *dims, const void *data, size_t len) {
  Buf b = {0};
  put_be32(&b, type << 8 | (unsigned)ndims);
  for (int i = 0; i < ndims; i++) put_be32(&b, dims[i]);
  put(&b, data, len);
  return b;
}

void write_idx(const char *path, bool gz, unsigned type, int ndims, const uint32_t *dims, const void *data, size_t len) {
  Buf b = idx_bytes(type, ndims, dims, data, len);
  write_maybe_gz(path, &b, gz);
  free(b.p);
}

const SetShape SHAPES[3] = {{1, 5, 7, 2}, {3, 4, 6, 10}, {3, 32, 32, 300}};

void write_idx_pair(const char *dir, const SetShape *s, int count, bool gz, unsigned char *pix, int32_t *lab) {
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

/* An .npy file as NumPy writes it: magic, version, header length, the dict padded with spaces
 * and ended by '\n' so that the data starts at a multiple of `align`. */
Buf npy_bytes(int version, const char *dict, int align, const void *data, size_t len) {
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

void write_npy(const char *path, int version, const char *dict, int align, const void *data, size_t len) {
  Buf b = npy_bytes(version, dict, align, data, len);
  write_bytes(path, b.p, b.len);
  free(b.p);
}

void put_chunk(Buf *b, const char *type, const void *data, size_t len) {
  put_be32(b, (uint32_t)len);
  size_t at = b->len;
  put(b, type, 4);
  put(b, data, len);
  put_be32(b, (uint32_t)crc32(0, b->p + at, (uInt)(len + 4)));
}

/* A PNG encoded here, not by libpng: IHDR, PLTE and tRNS when given, one IDAT of unfiltered
 * rows (rowbytes each, packed as the bit depth says), IEND. */
Buf png_bytes(int w, int h, int depth, int colour, const unsigned char *rows, size_t rowbytes,
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

void write_png(const char *path, int w, int h, int depth, int colour, const unsigned char *rows, size_t rowbytes) {
  Buf b = png_bytes(w, h, depth, colour, rows, rowbytes, NULL, 0, NULL, 0);
  write_bytes(path, b.p, b.len);
  free(b.p);
}

void write_class_image(const char *dir, const char *cls, const char *name, int k, int w, int h, int ch) {
  mkdir(P("%s/%s", dir, cls), 0700);
  unsigned char pix[64 * 64 * 3];
  for (int i = 0; i < w * h * ch; i++) pix[i] = pat((size_t)i, (unsigned)k);
  write_png(P("%s/%s/%s", dir, cls, name), w, h, 8, ch == 3 ? 2 : 0, pix, (size_t)w * (size_t)ch);
}

/* ---- an MNIST-style data directory ---- */

void write_mnist_images(const char *path, uint32_t magic, uint32_t count, size_t keep) {
  Buf b = {0};
  put_be32(&b, magic);
  put_be32(&b, count);
  put_be32(&b, 28);
  put_be32(&b, 28);
  for (size_t i = 16; i < 16 + (size_t)count * 28 * 28; i++) put(&b, (unsigned char[]){(unsigned char)(i * 7)}, 1);
  write_bytes(path, b.p, keep < b.len ? keep : b.len);
  free(b.p);
}

void write_mnist_labels(const char *path, uint32_t count) {
  ck_assert_uint_le(count, 16);
  Buf b = {0};
  put_be32(&b, 0x00000801);
  put_be32(&b, count);
  for (uint32_t i = 0; i < count; i++) put(&b, (unsigned char[]){(unsigned char)(i % 10)}, 1);
  write_bytes(path, b.p, b.len);
  free(b.p);
}

DataDir data_dir_new(void) {
  DataDir d = {make_temp_dir(), NULL};
  d.mnist = path_join(d.dir, "mnist");
  make_dir(d.mnist);
  return d;
}

void data_dir_free(DataDir *d) {
  remove_tree(d->dir);
  free(d->dir);
  free(d->mnist);
}

char *mnist_file(const DataDir *d, const char *name) { return path_join(d->mnist, name); }

void write_valid_set(const DataDir *d, const char *prefix) {
  char name[64];
  snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
  char *img = mnist_file(d, name);
  snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
  char *lbl = mnist_file(d, name);
  write_mnist_images(img, 0x00000803, 3, SIZE_MAX);
  write_mnist_labels(lbl, 3);
  free(img);
  free(lbl);
}
