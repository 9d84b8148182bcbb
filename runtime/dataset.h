/* dataset.h — the one data set type every loader fills, and the loaders: MNIST-style IDX
 * directories (mnist, fashion-mnist), any IDX pair, CIFAR-10's binary batches, NumPy .npy
 * pairs and folders of PNG files, one folder per class.
 *
 * Every loader returns 0, or -1 with *out zeroed (nothing left allocated) and a one-line
 * "PATH: MESSAGE" in err (when err and errlen are non-zero), PATH naming the file to fix.
 * Data files must be regular files: a FIFO, device or socket is refused, never read. */
#ifndef DLRT_DATASET_H
#define DLRT_DATASET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum DlrtPixelType {
  DLRT_PIXELS_U8,  /* bytes 0..255: pixels = range(lo, hi) maps 0 to lo and 255 to hi */
  DLRT_PIXELS_F32, /* finite floats, taken as they are: 0.0 maps to lo and 1.0 to hi */
} DlrtPixelType;

/* What dlrt_dataset_free releases; all zero in a view (dlrt_dataset_slice) or a data set a
 * caller assembled itself. */
typedef struct DlrtDatasetMemory {
  void *map;        /* a private file mapping the pixels point into (munmap) */
  size_t map_size;
  void *pixels;     /* pixels decoded into memory (free) */
  int32_t *labels;  /* (free) */
  char **names;     /* class names, each malloc'd (free) */
  int n_names;
} DlrtDatasetMemory;

/* count examples, each channels x rows x cols values stored plane by plane (CHW: all of
 * channel 0 row by row, then channel 1, ...), examples one after another. */
typedef struct DlrtDataset {
  int count, rows, cols;
  int channels;             /* 1: grey, 3: RGB (red, green, blue planes), or any number */
  int classes;              /* every label is in 0..classes-1 */
  DlrtPixelType pixel_type;
  union {
    unsigned char *pixels;  /* DLRT_PIXELS_U8: count * channels * rows * cols bytes */
    float *pixels_f32;      /* DLRT_PIXELS_F32: as many floats */
  };
  int32_t *labels;          /* count labels */
  char **class_names;       /* classes names (folder names, or the set's own), or NULL */
  DlrtDatasetMemory mem;
} DlrtDataset;

/* Values per example: channels * rows * cols. */
static inline size_t dlrt_example_size(const DlrtDataset *d) {
  return (size_t)d->channels * (size_t)d->rows * (size_t)d->cols;
}

/* Limits every loader applies (the compiler indexes an example's values with int). */
enum {
  DLRT_MAX_COUNT = 10000000,       /* examples in one set */
  DLRT_MAX_SIDE = 32768,           /* rows, cols */
  DLRT_MAX_CHANNELS = 4096,
  DLRT_MAX_EXAMPLE = 1 << 28,      /* values in one example */
  DLRT_MAX_CLASSES = 1 << 20,
};

/* Frees what a loader or dlrt_dataset_alloc allocated and zeroes *d; nothing to do for a
 * view; safe on a zeroed data set, twice, or NULL. */
void dlrt_dataset_free(DlrtDataset *d);

/* Allocates a zero-filled data set for a caller to fill (tests, generated data). Returns 0,
 * or -1 with *d zeroed when the sizes are out of the limits or memory runs out. */
int dlrt_dataset_alloc(DlrtDataset *d, DlrtPixelType type, int count, int channels, int rows, int cols,
                       int classes);

/* Examples first .. first + count - 1 of d as a view: it shares d's memory (d must outlive
 * it, and freeing it does nothing). A range outside d gives an empty view (count 0). */
DlrtDataset dlrt_dataset_slice(const DlrtDataset *d, int first, int count);

/* "1x28x28" style (channels x rows x cols) into buf; returns buf. */
const char *dlrt_dataset_shape_str(const DlrtDataset *d, char *buf, size_t len);

/* Whether a test set fits a training set: the same example shape, pixel type and classes
 * (and class names, when both have them); the test set may have fewer classes. 0, or -1 with
 * "TEST_PATH: MESSAGE". */
int dlrt_dataset_match(const DlrtDataset *train, const DlrtDataset *test, const char *test_path, char *err,
                       size_t errlen);

/* ---- loaders ------------------------------------------------------------------------- */

/* MNIST: DIR/mnist/{PREFIX}-images-idx3-ubyte and {PREFIX}-labels-idx1-ubyte, PREFIX "train"
 * or "t10k"; each raw, or gzip-compressed under NAME.gz (NAME is tried first). 10 classes. */
int dlrt_mnist_load(const char *dir, const char *prefix, DlrtDataset *out, char *err, size_t errlen);

/* Fashion-MNIST, the same files, looked for in DIR/fashion-mnist/, then where Debian's
 * dataset-fashion-mnist package puts them (DLRT_FASHION_MNIST_DEBIAN_DIR). 10 classes, named. */
#define DLRT_FASHION_MNIST_DEBIAN_DIR "/usr/share/datasets/fashion-mnist"
int dlrt_fashion_mnist_load(const char *dir, const char *prefix, DlrtDataset *out, char *err, size_t errlen);

/* Any directory of MNIST-style files: DIR/{PREFIX}-images-idx3-ubyte[.gz] and
 * DIR/{PREFIX}-labels-idx1-ubyte[.gz]. classes: 0 to take the largest label + 1. */
int dlrt_idx_dir_load(const char *dir, const char *prefix, int classes, DlrtDataset *out, char *err,
                      size_t errlen);

/* Any IDX pair, each file raw or gzip (recognised by its content, whatever its name):
 * images of unsigned bytes, [count, rows, cols] (idx3), [count, channels, rows, cols] (idx4)
 * or [count, n] (idx2: 1 x n "images"); labels [count] of unsigned or signed bytes, 16- or
 * 32-bit integers (idx1). classes: 0 to take the largest label + 1; otherwise every label
 * must be below it. A gzip file must end where its (last) gzip stream ends. */
int dlrt_idx_load(const char *images, const char *labels, int classes, DlrtDataset *out, char *err,
                  size_t errlen);

/* CIFAR-10's binary version from DIR: the training set is data_batch_1.bin .. data_batch_5.bin
 * in that order, the test set test_batch.bin. Each file holds records of one label byte
 * (0..9) and 3x32x32 pixel bytes (red plane, green, blue), any number of them. */
int dlrt_cifar10_load(const char *dir, bool test, DlrtDataset *out, char *err, size_t errlen);

/* NumPy .npy files (format versions 1, 2 and 3, C order): images x of dtype uint8 ('|u1') or
 * float32 ('<f4'), shape (N, H, W), (N, C, H, W) or (N, D); labels y of any integer dtype up
 * to 64 bits, shape (N,). classes as for dlrt_idx_load. Float pixels must be finite. */
int dlrt_npy_load(const char *x, const char *y, int classes, DlrtDataset *out, char *err, size_t errlen);

/* A folder with one subfolder per class, each holding PNG files (names starting with '.' are
 * skipped): the sorted subfolder names are the classes, 0, 1, ...; every image 8-bit grey or
 * RGB after libpng's lossless expansions (palettes, 1/2/4-bit grey; 16-bit samples scaled to
 * 8), all the same size and channel count; an alpha channel is refused. Examples are ordered
 * so that every stretch of the set holds each class in proportion (class by class would put
 * only the last classes into a held-out tail). With classes_from (a training set's), the
 * folders are matched to its class names instead (a test folder may lack classes). */
int dlrt_png_dir_load(const char *dir, const DlrtDataset *classes_from, DlrtDataset *out, char *err,
                      size_t errlen);

/* The images of a .npy file alone (x as dlrt_npy_load reads it): labels NULL, classes 0. For
 * classifying arrays of new images (dlc predict). */
int dlrt_npy_load_images(const char *x, DlrtDataset *out, char *err, size_t errlen);

/* ---- probes: a data set's sizes without its pixels ------------------------------------ */

/* Each probe reads what its loader would, but not the pixels: the headers (and a raw file's
 * size against its header, without touching the rest), and for IDX and .npy the labels (they
 * are small: they give the class count, and each is checked). *out then has the set's count,
 * shape, pixel type, classes and class names, and no pixels or labels (both NULL); free it with
 * dlrt_dataset_free. What a probe cannot see without reading the pixels (a damaged gzip stream
 * or PNG past the first image, a NaN among float pixels, a CIFAR-10 label out of range) the
 * load reports. `dlc check` probes, so that it stays quick on large sets. */
int dlrt_mnist_probe(const char *dir, const char *prefix, DlrtDataset *out, char *err, size_t errlen);
int dlrt_fashion_mnist_probe(const char *dir, const char *prefix, DlrtDataset *out, char *err, size_t errlen);
int dlrt_idx_probe(const char *images, const char *labels, int classes, DlrtDataset *out, char *err, size_t errlen);
int dlrt_cifar10_probe(const char *dir, bool test, DlrtDataset *out, char *err, size_t errlen);
int dlrt_npy_probe(const char *x, const char *y, int classes, DlrtDataset *out, char *err, size_t errlen);
/* (reads the first image of the stratified order, which fixes the shape) */
int dlrt_png_dir_probe(const char *dir, const DlrtDataset *classes_from, DlrtDataset *out, char *err,
                       size_t errlen);
#endif
