/* mnist.h — loader for MNIST-style IDX files (images + labels), raw or gzip-compressed.
 * Every malformed input is reported as a one-line "PATH: MESSAGE" error, never a crash. */
#ifndef DLRT_MNIST_H
#define DLRT_MNIST_H
#include <stddef.h>

typedef struct DlrtDataset {
  int count, rows, cols;  /* images: count x rows x cols */
  unsigned char *pixels;  /* count*rows*cols bytes, row-major, as in the file */
  unsigned char *labels;  /* count bytes, each 0..9 */
} DlrtDataset;

/* Loads DIR/mnist/{PREFIX}-images-idx3-ubyte and {PREFIX}-labels-idx1-ubyte, where PREFIX is
 * "train" or "t10k". Each file may be raw, or gzip-compressed under NAME.gz (the raw name is
 * tried first). Returns 0 on success. On failure returns -1, leaves *out zeroed with nothing
 * allocated, and writes a one-line "PATH: MESSAGE" into err (if err and errlen are non-zero). */
int dlrt_mnist_load(const char *dir, const char *prefix, DlrtDataset *out, char *err,
                    size_t errlen);

/* Frees what dlrt_mnist_load allocated and zeroes *d; safe on a zeroed dataset or NULL. */
void dlrt_dataset_free(DlrtDataset *d);
#endif
