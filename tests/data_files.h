/* data_files.h — data files written byte for byte, independently of the loaders, for the
 * suites that load them: bytes built in a Buf (big- and little-endian numbers, gzip), IDX,
 * NumPy .npy and PNG files (a minimal encoder of their own, not libpng), class folders of PNG
 * images; the loader suites' directory and error buffer, with what a failed load must look
 * like; and a small MNIST-style data directory for `dlc train --data` (check_cli_data.c,
 * check_commands.c). */
#ifndef DLC_TEST_DATA_FILES_H
#define DLC_TEST_DATA_FILES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dataset.h"
#include "helpers.h"

/* ---- the loader suites' fixture ---- */

extern char *root;      /* the suite's temporary directory: make_root, remove_root */
extern char err[1024];  /* the loaders' error buffer */
void make_root(void);
void remove_root(void);
/* A fresh directory under root (a few may be in use at once). */
const char *fresh_dir(void);
/* A formatted path in one of a few rotating buffers (no frees in the tests). */
const char *P(const char *fmt, ...);

/* A failed load: rc -1, err one line starting "PATH: " and containing phrase; *d zeroed. */
void expect_error(int rc, const DlrtDataset *d, const char *path, const char *phrase);
void expect_shape(const DlrtDataset *d, int count, int channels, int rows, int cols, int classes);

/* ---- bytes ---- */

typedef struct Buf {
  unsigned char *p;
  size_t len, cap;
} Buf;

void put(Buf *b, const void *data, size_t n);
void put_be32(Buf *b, uint32_t v);
void put_le(Buf *b, uint64_t v, int size);
/* One gzip member holding data. */
Buf gzip_bytes(const void *data, size_t len);
void write_maybe_gz(const char *path, const Buf *b, bool gz);

/* Pixel i of pattern `seed`; labels that use every class up to classes - 1. */
unsigned char pat(size_t i, unsigned seed);
int32_t label_of(int i, int count, int classes);

/* ---- IDX, .npy, PNG ---- */

/* An IDX file: magic (type, ndims), the dimensions, the data. */
Buf idx_bytes(unsigned type, int ndims, const uint32_t *dims, const void *data, size_t len);
void write_idx(const char *path, bool gz, unsigned type, int ndims, const uint32_t *dims, const void *data, size_t len);

typedef struct SetShape {
  int channels, rows, cols, classes;
} SetShape;

/* 1x5x7 of 2 classes, 3x4x6 of 10, 3x32x32 of 300. */
extern const SetShape SHAPES[3];
/* DIR/images (idx3 for one channel, else idx4) and DIR/labels (bytes, or 16-bit beyond 256
 * classes) of count examples of shape s; the pixels and labels written into pix and lab. */
void write_idx_pair(const char *dir, const SetShape *s, int count, bool gz, unsigned char *pix, int32_t *lab);

/* An .npy file as NumPy writes it, the data starting at a multiple of `align`. */
Buf npy_bytes(int version, const char *dict, int align, const void *data, size_t len);
void write_npy(const char *path, int version, const char *dict, int align, const void *data, size_t len);

/* A PNG: IHDR, PLTE and tRNS when given, one IDAT of unfiltered rows, IEND. */
Buf png_bytes(int w, int h, int depth, int colour, const unsigned char *rows, size_t rowbytes,
              const unsigned char *plte, int nplte, const unsigned char *trns, int ntrns);
void write_png(const char *path, int w, int h, int depth, int colour, const unsigned char *rows, size_t rowbytes);
/* DIR/CLASS/NAME: image k of a folder set, w x h x ch, every byte pat(., k). */
void write_class_image(const char *dir, const char *cls, const char *name, int k, int w, int h, int ch);

/* ---- an MNIST-style data directory: DIR/mnist/ ---- */

typedef struct DataDir {
  char *dir, *mnist;
} DataDir;

/* A temporary DIR with DIR/mnist/ empty; data_dir_free removes it. */
DataDir data_dir_new(void);
void data_dir_free(DataDir *d);
/* DIR/mnist/name (malloc'd). */
char *mnist_file(const DataDir *d, const char *name);
/* An IDX file of count 28x28 images with magic, cut to its first keep bytes; labels 0, 1, ...
 * of at most 16 images. */
void write_mnist_images(const char *path, uint32_t magic, uint32_t count, size_t keep);
void write_mnist_labels(const char *path, uint32_t count);
/* A valid 3-image set `prefix` (train or t10k). */
void write_valid_set(const DataDir *d, const char *prefix);
#endif
