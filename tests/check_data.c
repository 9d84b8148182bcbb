/* check_data.c — the loaders of data files (runtime/dataset.h): IDX raw and gzip in several
 * shapes (1x5x7, 3x4x6, 3x32x32) and class counts (2, 10, 300), Fashion-MNIST where it is
 * found, CIFAR-10's batches, each written here byte for byte (data_files.h) and loading to
 * exactly those pixels and labels, each malformed case refused with one line naming the file;
 * and a FIFO refused by every loader without blocking. check_npy.c, check_png.c and
 * check_batch.c have the other formats and what is made of a loaded set. */
#define _GNU_SOURCE
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "batch.h"
#include "data_files.h"
#include "distort.h"
#include "png.h"

/* ---- IDX ----------------------------------------------------------------------------- */

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

/* [count, n] (idx2) is count images of 1 x n; the runtime distorts them as 1 x n images
 * without fault (dlc itself refuses `distort` with a set of vectors: front/train_data.c). */
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
  write_bytes(P("%s/two.gz", dir), whole.p, whole.len);
  DlrtDataset d;
  ck_assert_msg(dlrt_idx_load(P("%s/two.gz", dir), P("%s/l", dir), 0, &d, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(memcmp(d.pixels, pix, sizeof pix), 0);
  dlrt_dataset_free(&d);
  put(&whole, "junk!", 5);
  write_bytes(P("%s/junk.gz", dir), whole.p, whole.len);
  expect_error(dlrt_idx_load(P("%s/junk.gz", dir), P("%s/l", dir), 0, &d, err, sizeof err), &d,
               P("%s/junk.gz", dir), "5 bytes of garbage after the gzip data");
  write_bytes(P("%s/cut.gz", dir), whole.p, a.len + b.len - 7);
  expect_error(dlrt_idx_load(P("%s/cut.gz", dir), P("%s/l", dir), 0, &d, err, sizeof err), &d, P("%s/cut.gz", dir),
               "corrupt or truncated gzip data");
  write_bytes(P("%s/raw.gz", dir), raw.p, raw.len);
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
  write_bytes(P("%s/%s", dir, name), b.p, b.len);
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
  write_bytes(P("%s/test_batch.bin", dir), "", 0);
  expect_error(dlrt_cifar10_load(dir, true, &d, err, sizeof err), &d, P("%s/test_batch.bin", dir), "empty: no records");
}
END_TEST

/* ---- FIFOs ---------------------------------------------------------------------------- */

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
  suite_add_tcase(s, tc);
  /* a FIFO must not block: a few seconds are plenty, a hang fails the test */
  tc = tcase_create("fifo");
  tcase_add_unchecked_fixture(tc, make_root, remove_root);
  tcase_set_timeout(tc, 10);
  tcase_add_test(tc, fifo_is_refused_without_blocking);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(data_suite()); }
