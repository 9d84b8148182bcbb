/* check_runtime.c — Check suite for the runtime's data loader (mnist.c) and RNG (rng.c).
 * Loader tests write tiny generated IDX files (5 images of 3x4) into a mkdtemp directory in
 * the DIR/mnist/ layout; the real-data test runs only when DLC_MNIST_DIR is set. */
#define _GNU_SOURCE
#include "distort.h"
#include "init.h"
#include "png.h"
#include "dlrt.h"
#include "pool.h"
#include "mnist.h"
#include "helpers.h"
#include "rng.h"
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

enum { N_IMG = 5, ROWS = 3, COLS = 4, N_PIX = N_IMG * ROWS * COLS };

static char tmpdir[64];  /* the DIR passed to dlrt_mnist_load */
static char mnistdir[96]; /* DIR/mnist, where the files go */

/* ---- temp directory fixtures ---------------------------------------------------------- */

/* Empties DIR/mnist (files, and the odd directory a test planted) so each test starts clean. */
static void clear_mnist_dir(void) {
  DIR *d = opendir(mnistdir);
  if (!d) return;
  struct dirent *e;
  char path[512];
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(path, sizeof path, "%s/%s", mnistdir, e->d_name);
    remove(path);
  }
  closedir(d);
}

/* Unchecked (runs once in the parent) so the directory is removed even when a forked test
 * dies before its own teardown would run. */
static void make_tmpdir(void) {
  strcpy(tmpdir, "/tmp/dlc-check-runtime-XXXXXX");
  if (!mkdtemp(tmpdir)) abort();
  snprintf(mnistdir, sizeof mnistdir, "%s/mnist", tmpdir);
  if (mkdir(mnistdir, 0700) != 0) abort();
}

static void remove_tmpdir(void) {
  clear_mnist_dir();
  rmdir(mnistdir);
  rmdir(tmpdir);
}

/* ---- generated IDX files ------------------------------------------------------------- */

typedef struct Blob {
  unsigned char data[4096];
  size_t len;
} Blob;

static void blob_be32(Blob *b, uint32_t v) {
  for (int i = 3; i >= 0; i--) b->data[b->len++] = (unsigned char)(v >> (8 * i));
}

static void blob_byte(Blob *b, unsigned v) { b->data[b->len++] = (unsigned char)v; }

static unsigned pixel_value(int i) { return (unsigned)(i * 37 + 11) & 0xff; }

/* An image file whose header says count x rows x cols and that holds npix pixel bytes. */
static Blob image_blob(uint32_t magic, uint32_t count, uint32_t rows, uint32_t cols, int npix) {
  Blob b = {{0}, 0};
  blob_be32(&b, magic);
  blob_be32(&b, count);
  blob_be32(&b, rows);
  blob_be32(&b, cols);
  for (int i = 0; i < npix; i++) blob_byte(&b, pixel_value(i));
  return b;
}

/* A label file claiming count labels and holding n of them, (i * 3) % 10. */
static Blob label_blob(uint32_t magic, uint32_t count, int n) {
  Blob b = {{0}, 0};
  blob_be32(&b, magic);
  blob_be32(&b, count);
  for (int i = 0; i < n; i++) blob_byte(&b, (unsigned)(i * 3) % 10);
  return b;
}

static Blob good_images(void) { return image_blob(0x803, N_IMG, ROWS, COLS, N_PIX); }
static Blob good_labels(void) { return label_blob(0x801, N_IMG, N_IMG); }

static void file_path(char *out, size_t n, const char *name) {
  snprintf(out, n, "%s/%s", mnistdir, name);
}

static void write_raw(const char *name, const Blob *b) {
  char path[512];
  file_path(path, sizeof path, name);
  write_bytes(path, b->data, b->len);
}

/* Writes NAME.gz with zlib, the format the loader falls back to. */
static void write_gz(const char *name, const Blob *b) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.gz", mnistdir, name);
  gzFile gz = gzopen(path, "wb");
  ck_assert_ptr_nonnull(gz);
  ck_assert_int_eq(gzwrite(gz, b->data, (unsigned)b->len), (int)b->len);
  ck_assert_int_eq(gzclose(gz), Z_OK);
}

static void write_images(const Blob *b) { write_raw("train-images-idx3-ubyte", b); }
static void write_labels(const Blob *b) { write_raw("train-labels-idx1-ubyte", b); }

static void write_good_pair(void) {
  Blob img = good_images(), lbl = good_labels();
  write_images(&img);
  write_labels(&lbl);
}

/* ---- assertions on a failed load ------------------------------------------------------ */

static char err[1024];

/* Loads "train" expecting failure; checks the error names PATH (relative to mnistdir, or the
 * directory itself when NAME is NULL) and contains PHRASE, and that nothing was left behind. */
static void expect_failure(const char *name, const char *phrase) {
  DlrtDataset d;
  memset(&d, 0xAB, sizeof d); /* the loader must zero it, not rely on us */
  err[0] = '\0';
  ck_assert_int_eq(dlrt_mnist_load(tmpdir, "train", &d, err, sizeof err), -1);
  char path[512];
  if (name)
    file_path(path, sizeof path, name);
  else
    snprintf(path, sizeof path, "%s", mnistdir);
  ck_assert_msg(strncmp(err, path, strlen(path)) == 0 && err[strlen(path)] == ':',
                "error '%s' does not start with '%s:'", err, path);
  ck_assert_msg(strstr(err, phrase) != NULL, "error '%s' lacks '%s'", err, phrase);
  ck_assert_msg(strchr(err, '\n') == NULL, "error '%s' is not one line", err);
  ck_assert_ptr_null(d.pixels);
  ck_assert_ptr_null(d.labels);
  ck_assert_int_eq(d.count, 0);
}

static void expect_good(const DlrtDataset *d) {
  ck_assert_int_eq(d->count, N_IMG);
  ck_assert_int_eq(d->rows, ROWS);
  ck_assert_int_eq(d->cols, COLS);
  for (int i = 0; i < N_PIX; i++) ck_assert_uint_eq(d->pixels[i], pixel_value(i));
  for (int i = 0; i < N_IMG; i++) ck_assert_uint_eq(d->labels[i], (unsigned)(i * 3) % 10);
}

/* ---- loader tests --------------------------------------------------------------------- */

START_TEST(test_load_raw) {
  write_good_pair();
  DlrtDataset d;
  ck_assert_msg(dlrt_mnist_load(tmpdir, "train", &d, err, sizeof err) == 0, "%s", err);
  expect_good(&d);
  dlrt_dataset_free(&d);
  ck_assert_ptr_null(d.pixels);
  dlrt_dataset_free(&d); /* freeing twice is harmless: free zeroes */
}
END_TEST

START_TEST(test_load_gzip) {
  Blob img = good_images(), lbl = good_labels();
  write_gz("train-images-idx3-ubyte", &img);
  write_gz("train-labels-idx1-ubyte", &lbl);
  DlrtDataset d;
  ck_assert_msg(dlrt_mnist_load(tmpdir, "train", &d, err, sizeof err) == 0, "%s", err);
  expect_good(&d);
  dlrt_dataset_free(&d);
}
END_TEST

START_TEST(test_load_mixed_and_trailing_slash) {
  Blob img = good_images(), lbl = good_labels();
  write_raw("t10k-images-idx3-ubyte", &img);
  write_gz("t10k-labels-idx1-ubyte", &lbl);
  char dir[128];
  snprintf(dir, sizeof dir, "%s/", tmpdir);
  DlrtDataset d;
  ck_assert_msg(dlrt_mnist_load(dir, "t10k", &d, err, sizeof err) == 0, "%s", err);
  expect_good(&d);
  dlrt_dataset_free(&d);
}
END_TEST

START_TEST(test_missing_images) {
  expect_failure("train-images-idx3-ubyte", "file not found (also tried ");
  ck_assert_ptr_nonnull(strstr(err, "train-images-idx3-ubyte.gz)"));
}
END_TEST

START_TEST(test_missing_labels) {
  Blob img = good_images();
  write_images(&img);
  expect_failure("train-labels-idx1-ubyte", "file not found");
}
END_TEST

START_TEST(test_wrong_magic) {
  Blob img = image_blob(0x801, N_IMG, ROWS, COLS, N_PIX), lbl = good_labels();
  write_images(&img);
  write_labels(&lbl);
  expect_failure("train-images-idx3-ubyte",
                 "wrong magic 0x00000801 (expected 0x00000803, an IDX image file)");
}
END_TEST

START_TEST(test_wrong_label_magic) {
  Blob img = good_images(), lbl = label_blob(0x803, N_IMG, N_IMG);
  write_images(&img);
  write_labels(&lbl);
  expect_failure("train-labels-idx1-ubyte", "wrong magic 0x00000803 (expected 0x00000801");
}
END_TEST

START_TEST(test_truncated_pixels) {
  Blob img = image_blob(0x803, N_IMG, ROWS, COLS, N_PIX - 5), lbl = good_labels();
  write_images(&img);
  write_labels(&lbl);
  expect_failure("train-images-idx3-ubyte", "truncated: expected 60 bytes of pixels, got 55");
}
END_TEST

START_TEST(test_truncated_labels) {
  Blob img = good_images(), lbl = label_blob(0x801, N_IMG, N_IMG - 1);
  write_images(&img);
  write_labels(&lbl);
  expect_failure("train-labels-idx1-ubyte", "truncated: expected 5 bytes of labels, got 4");
}
END_TEST

START_TEST(test_truncated_header) {
  Blob img = good_images(), lbl = good_labels();
  img.len = 10;
  write_images(&img);
  write_labels(&lbl);
  expect_failure("train-images-idx3-ubyte", "truncated header: expected 16 bytes, got 10");
}
END_TEST

START_TEST(test_empty_file) {
  Blob img = {{0}, 0}, lbl = good_labels();
  write_images(&img);
  write_labels(&lbl);
  expect_failure("train-images-idx3-ubyte", "truncated header: expected 16 bytes, got 0");
}
END_TEST

START_TEST(test_extra_bytes) {
  Blob img = good_images(), lbl = good_labels();
  blob_byte(&img, 1);
  blob_byte(&img, 2);
  blob_byte(&img, 3);
  write_images(&img);
  write_labels(&lbl);
  expect_failure("train-images-idx3-ubyte", "3 extra bytes after the data");
}
END_TEST

START_TEST(test_count_mismatch) {
  Blob img = good_images(), lbl = label_blob(0x801, N_IMG - 1, N_IMG - 1);
  write_images(&img);
  write_labels(&lbl);
  expect_failure(NULL, "5 images but 4 labels");
}
END_TEST

START_TEST(test_label_out_of_range) {
  Blob img = good_images(), lbl = good_labels();
  lbl.data[8 + 2] = 10;
  write_images(&img);
  write_labels(&lbl);
  expect_failure("train-labels-idx1-ubyte", "label 10 at index 2 is out of range for 10 classes (0..9)");
}
END_TEST

START_TEST(test_rows_zero) {
  Blob img = image_blob(0x803, N_IMG, 0, COLS, 0), lbl = good_labels();
  write_images(&img);
  write_labels(&lbl);
  expect_failure("train-images-idx3-ubyte", "rows 0 out of range 1..32768");
}
END_TEST

START_TEST(test_cols_too_big) {
  Blob img = image_blob(0x803, 1, 1, 32769, 0), lbl = label_blob(0x801, 1, 1);
  write_images(&img);
  write_labels(&lbl);
  expect_failure("train-images-idx3-ubyte", "cols 32769 out of range 1..32768");
}
END_TEST

START_TEST(test_count_too_big) {
  Blob img = image_blob(0x803, 10000001, 1, 1, 0), lbl = good_labels();
  write_images(&img);
  write_labels(&lbl);
  expect_failure("train-images-idx3-ubyte", "image count 10000001 out of range");
}
END_TEST

/* The largest header the checks accept claims ~10 TB; the loader must report truncation
 * rather than try to allocate that (ASan or the OOM killer would catch it if it did). */
START_TEST(test_lying_header) {
  Blob img = image_blob(0x803, 10000000, 1024, 1024, 100), lbl = good_labels();
  write_images(&img);
  write_labels(&lbl);
  expect_failure("train-images-idx3-ubyte", "bytes of pixels, got 100");
}
END_TEST

START_TEST(test_truncated_gzip) {
  Blob img = good_images(), lbl = good_labels();
  write_gz("train-images-idx3-ubyte", &img);
  write_labels(&lbl);
  char path[512];
  file_path(path, sizeof path, "train-images-idx3-ubyte.gz");
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(truncate(path, st.st_size - 6), 0); /* cut into the gzip trailer */
  expect_failure("train-images-idx3-ubyte.gz", "gzip");
}
END_TEST

START_TEST(test_directory_in_place_of_file) {
  char path[512];
  file_path(path, sizeof path, "train-images-idx3-ubyte");
  ck_assert_int_eq(mkdir(path, 0700), 0);
  expect_failure("train-images-idx3-ubyte", "cannot open");
}
END_TEST

START_TEST(test_null_err_buffer) {
  DlrtDataset d;
  ck_assert_int_eq(dlrt_mnist_load(tmpdir, "train", &d, NULL, 0), -1);
  ck_assert_int_eq(dlrt_mnist_load(tmpdir, "train", &d, err, 1), -1);
  ck_assert_str_eq(err, "");
  ck_assert_int_eq(dlrt_mnist_load(NULL, "train", &d, err, sizeof err), -1);
  dlrt_dataset_free(NULL);
}
END_TEST

/* Random corruption of a good pair must give either success or a clean error; the
 * sanitizer build turns any out-of-bounds access here into a failure. */
START_TEST(test_random_corruption) {
  DlrtRng rng;
  dlrt_rng_seed(&rng, 1234);
  for (int iter = 0; iter < 300; iter++) {
    Blob img = good_images(), lbl = good_labels();
    Blob *b = dlrt_rng_below(&rng, 2) ? &img : &lbl;
    size_t at = dlrt_rng_below(&rng, (uint32_t)b->len);
    b->data[at] = (unsigned char)dlrt_rng_below(&rng, 256);
    if (dlrt_rng_below(&rng, 4) == 0) b->len = dlrt_rng_below(&rng, (uint32_t)b->len + 1);
    write_images(&img);
    write_labels(&lbl);
    DlrtDataset d;
    err[0] = '\0';
    int rc = dlrt_mnist_load(tmpdir, "train", &d, err, sizeof err);
    ck_assert_msg(rc == 0 || strstr(err, mnistdir) == err, "rc %d, error '%s'", rc, err);
    dlrt_dataset_free(&d);
  }
}
END_TEST

/* ---- real MNIST (opt-in) -------------------------------------------------------------- */

static int real_file_exists(const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/mnist/%s", dir, name);
  if (access(path, R_OK) == 0) return 1;
  strncat(path, ".gz", sizeof path - strlen(path) - 1);
  return access(path, R_OK) == 0;
}

START_TEST(test_real_mnist) {
  const char *dir = getenv("DLC_MNIST_DIR");
  if (!dir || !*dir) return; /* opt-in: passes trivially when unset */
  static const char *names[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
  for (int i = 0; i < 4; i++)
    if (!real_file_exists(dir, names[i])) {
      fprintf(stderr, "check_runtime: %s/mnist/%s missing; skipping real MNIST test\n", dir,
              names[i]);
      return;
    }
  DlrtDataset train, test;
  ck_assert_msg(dlrt_mnist_load(dir, "train", &train, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(train.count, 60000);
  ck_assert_int_eq(train.rows, 28);
  ck_assert_int_eq(train.cols, 28);
  ck_assert_msg(dlrt_mnist_load(dir, "t10k", &test, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(test.count, 10000);
  ck_assert_int_eq(test.rows, 28);
  ck_assert_int_eq(test.cols, 28);
  static const unsigned char first[10] = {7, 2, 1, 0, 4, 1, 4, 9, 5, 9};
  for (int i = 0; i < 10; i++) ck_assert_uint_eq(test.labels[i], first[i]);
  dlrt_dataset_free(&train);
  dlrt_dataset_free(&test);
}
END_TEST

/* ---- RNG tests ------------------------------------------------------------------------ */

START_TEST(test_rng_same_seed) {
  DlrtRng a, b;
  dlrt_rng_seed(&a, 42);
  dlrt_rng_seed(&b, 42);
  for (int i = 0; i < 1000; i++) ck_assert_uint_eq(dlrt_rng_next(&a), dlrt_rng_next(&b));
}
END_TEST

/* Pinned outputs (from an independent Python transcription of splitmix64 + xoshiro256**):
 * a change here means every seeded experiment silently changes. */
START_TEST(test_rng_known_values) {
  static const uint64_t seed0[3] = {0x99ec5f36cb75f2b4ull, 0xbf6e1f784956452aull,
                                    0x1a5f849d4933e6e0ull};
  static const uint64_t seed42[3] = {0x15780b2e0c2ec716ull, 0x6104d9866d113a7eull,
                                     0xae17533239e499a1ull};
  DlrtRng r;
  dlrt_rng_seed(&r, 0);
  for (int i = 0; i < 3; i++) ck_assert_uint_eq(dlrt_rng_next(&r), seed0[i]);
  dlrt_rng_seed(&r, 42);
  for (int i = 0; i < 3; i++) ck_assert_uint_eq(dlrt_rng_next(&r), seed42[i]);
}
END_TEST

START_TEST(test_rng_different_seed) {
  DlrtRng a, b;
  dlrt_rng_seed(&a, 42);
  dlrt_rng_seed(&b, 43);
  int same = 0;
  for (int i = 0; i < 100; i++) same += dlrt_rng_next(&a) == dlrt_rng_next(&b);
  ck_assert_int_eq(same, 0);
}
END_TEST

START_TEST(test_rng_uniform) {
  DlrtRng r;
  dlrt_rng_seed(&r, 7);
  double sum = 0;
  for (int i = 0; i < 100000; i++) {
    double u = dlrt_rng_uniform(&r);
    ck_assert(u >= 0.0 && u < 1.0);
    ck_assert(u * 0x1.0p53 == floor(u * 0x1.0p53)); /* on the 2^-53 grid */
    sum += u;
  }
  ck_assert_double_eq_tol(sum / 100000, 0.5, 0.01);
}
END_TEST

START_TEST(test_rng_normal) {
  DlrtRng r;
  dlrt_rng_seed(&r, 8);
  double sum = 0, sumsq = 0;
  const int n = 100000;
  for (int i = 0; i < n; i++) {
    double x = dlrt_rng_normal(&r);
    ck_assert(isfinite(x));
    sum += x;
    sumsq += x * x;
  }
  double mean = sum / n, var = sumsq / n - mean * mean;
  ck_assert_double_eq_tol(mean, 0.0, 0.02);
  ck_assert_double_eq_tol(var, 1.0, 0.03);
}
END_TEST

START_TEST(test_rng_below) {
  DlrtRng r;
  dlrt_rng_seed(&r, 9);
  int hist[7] = {0};
  for (int i = 0; i < 70000; i++) {
    uint32_t k = dlrt_rng_below(&r, 7);
    ck_assert_uint_lt(k, 7);
    hist[k]++;
  }
  for (int k = 0; k < 7; k++) ck_assert_int_lt(abs(hist[k] - 10000), 500); /* ~5 sigma */
  for (int i = 0; i < 100; i++) ck_assert_uint_eq(dlrt_rng_below(&r, 1), 0);
  ck_assert_uint_eq(dlrt_rng_below(&r, 0), 0);
  for (int i = 0; i < 1000; i++) ck_assert_uint_lt(dlrt_rng_below(&r, 0x80000001u), 0x80000001u);
}
END_TEST

START_TEST(test_rng_shuffle) {
  enum { N = 1000 };
  int perm[N], seen[N] = {0}, moved = 0;
  for (int i = 0; i < N; i++) perm[i] = i;
  DlrtRng r;
  dlrt_rng_seed(&r, 10);
  dlrt_rng_shuffle(&r, perm, N);
  for (int i = 0; i < N; i++) {
    ck_assert(perm[i] >= 0 && perm[i] < N);
    seen[perm[i]]++;
    moved += perm[i] != i;
  }
  for (int i = 0; i < N; i++) ck_assert_int_eq(seen[i], 1);
  ck_assert_int_gt(moved, N / 2);
  int one = 5;
  dlrt_rng_shuffle(&r, &one, 1);
  ck_assert_int_eq(one, 5);
  dlrt_rng_shuffle(&r, NULL, 0);
}
END_TEST

/* ---- suite ---------------------------------------------------------------------------- */

static TCase *loader_tcase(void) {
  TCase *tc = tcase_create("mnist");
  tcase_add_unchecked_fixture(tc, make_tmpdir, remove_tmpdir);
  tcase_add_checked_fixture(tc, clear_mnist_dir, NULL);
  tcase_add_test(tc, test_load_raw);
  tcase_add_test(tc, test_load_gzip);
  tcase_add_test(tc, test_load_mixed_and_trailing_slash);
  tcase_add_test(tc, test_missing_images);
  tcase_add_test(tc, test_missing_labels);
  tcase_add_test(tc, test_wrong_magic);
  tcase_add_test(tc, test_wrong_label_magic);
  tcase_add_test(tc, test_truncated_pixels);
  tcase_add_test(tc, test_truncated_labels);
  tcase_add_test(tc, test_truncated_header);
  tcase_add_test(tc, test_empty_file);
  tcase_add_test(tc, test_extra_bytes);
  tcase_add_test(tc, test_count_mismatch);
  tcase_add_test(tc, test_label_out_of_range);
  tcase_add_test(tc, test_rows_zero);
  tcase_add_test(tc, test_cols_too_big);
  tcase_add_test(tc, test_count_too_big);
  tcase_add_test(tc, test_lying_header);
  tcase_add_test(tc, test_truncated_gzip);
  tcase_add_test(tc, test_directory_in_place_of_file);
  tcase_add_test(tc, test_null_err_buffer);
  tcase_add_test(tc, test_random_corruption);
  return tc;
}

static TCase *real_tcase(void) {
  TCase *tc = tcase_create("mnist-real");
  tcase_set_timeout(tc, 120); /* 55 MB of IDX, possibly under a sanitizer */
  tcase_add_test(tc, test_real_mnist);
  return tc;
}

static TCase *rng_tcase(void) {
  TCase *tc = tcase_create("rng");
  tcase_add_test(tc, test_rng_same_seed);
  tcase_add_test(tc, test_rng_known_values);
  tcase_add_test(tc, test_rng_different_seed);
  tcase_add_test(tc, test_rng_uniform);
  tcase_add_test(tc, test_rng_normal);
  tcase_add_test(tc, test_rng_below);
  tcase_add_test(tc, test_rng_shuffle);
  return tc;
}

/* Each initialiser draws values of the mean and variance it promises (fan_in 50, fan_out 20,
 * 200,000 draws: standard errors near 0.3% of the variance), and the same seed the same values;
 * a constant's data (0, 1, 2, 3, 0, 1, ...: mean 1.5, variance 1.25) is copied and draws
 * nothing. */
START_TEST(initialisers_have_their_moments) {
  enum { N = 200000 };
  float *data = malloc(sizeof(float) * N);
  for (int i = 0; i < N; i++) data[i] = (float)(i % 4);
  struct { DlrtInit init; double mean, var; } cases[] = {
      {{INIT_ZEROS, 0, 0, 50, 20, NULL}, 0, 0},
      {{INIT_CONST, 0.25f, 0, 50, 20, NULL}, 0.25, 0},
      {{INIT_UNIFORM, -1, 3, 50, 20, NULL}, 1, 16.0 / 12},
      {{INIT_NORMAL, 0.5f, 2, 50, 20, NULL}, 0.5, 4},
      {{INIT_LECUN, 0, 0, 50, 20, NULL}, 0, 1.0 / 50},
      {{INIT_LECUN_NORMAL, 0, 0, 50, 20, NULL}, 0, 1.0 / 50},
      {{INIT_XAVIER, 0, 0, 50, 20, NULL}, 0, 2.0 / 70},
      {{INIT_XAVIER_NORMAL, 0, 0, 50, 20, NULL}, 0, 2.0 / 70},
      {{INIT_HE, 0, 0, 50, 20, NULL}, 0, 2.0 / 50},
      {{INIT_HE_UNIFORM, 0, 0, 50, 20, NULL}, 0, 2.0 / 50},
      {{INIT_DATA, 0, 0, 50, 20, data}, 1.5, 1.25},
  };
  ck_assert_int_eq(sizeof cases / sizeof *cases, INIT_KIND_COUNT);
  float *v = malloc(sizeof(float) * N), *w = malloc(sizeof(float) * N);
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    DlrtRng r1, r2, fresh;
    dlrt_rng_seed(&r1, 7);
    dlrt_rng_seed(&r2, 7);
    dlrt_rng_seed(&fresh, 7);
    dlrt_init_fill(&cases[k].init, v, N, &r1);
    dlrt_init_fill(&cases[k].init, w, N, &r2);
    ck_assert_int_eq(memcmp(v, w, sizeof(float) * N), 0);
    if (cases[k].init.kind == INIT_DATA) {
      ck_assert_int_eq(memcmp(v, data, sizeof(float) * N), 0);
      ck_assert_int_eq(memcmp(&r1, &fresh, sizeof r1), 0); /* no draw */
    }
    double m = 0, q = 0;
    for (int i = 0; i < N; i++) m += v[i];
    m /= N;
    for (int i = 0; i < N; i++) q += (v[i] - m) * (v[i] - m);
    q /= N;
    double scale = sqrt(cases[k].var) + 1e-9;
    ck_assert_msg(fabs(m - cases[k].mean) < 0.02 * scale + 1e-6, "%s: mean %g", dlrt_init_name(cases[k].init.kind), m);
    ck_assert_msg(fabs(q - cases[k].var) < 0.02 * cases[k].var + 1e-9, "%s: variance %g, not %g",
                  dlrt_init_name(cases[k].init.kind), q, cases[k].var);
  }
  ck_assert_ptr_null(dlrt_init_name(INIT_DATA)); /* no file names it */
  free(v);
  free(w);
  free(data);
}
END_TEST

/* ---- distortions --------------------------------------------------------------------- */

enum { SIDE = 28, PIX = SIDE * SIDE };

/* Three 28x28 images: a filled 8x8 square in the centre, a vertical bar, a diagonal. */
static unsigned char shapes[3 * PIX];
static int32_t shape_labels[3] = {0, 1, 2};
static DlrtDataset shape_set(void) {
  memset(shapes, 0, sizeof shapes);
  for (int y = 10; y < 18; y++)
    for (int x = 10; x < 18; x++) shapes[y * SIDE + x] = 255;
  for (int y = 4; y < 24; y++) shapes[PIX + y * SIDE + 13] = shapes[PIX + y * SIDE + 14] = 200;
  for (int k = 4; k < 24; k++) shapes[2 * PIX + k * SIDE + k] = 255;
  return (DlrtDataset){.count = 3, .rows = SIDE, .cols = SIDE, .channels = 1, .classes = 3, .pixels = shapes,
                       .labels = shape_labels};
}

static double total(const float *v, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += v[i];
  return s;
}

/* With every range 0 the affine map is the identity: the batch is the images, exactly. */
START_TEST(distort_identity) {
  DlrtDataset d = shape_set();
  DlrtDistort none = {.affine = true};
  int idx[3] = {0, 1, 2};
  float x[3 * PIX];
  dlrt_fill_batch_distorted(&d, idx, 3, &none, 1, 0, 0, 0, 255, x);
  for (int i = 0; i < 3 * PIX; i++) ck_assert_float_eq(x[i], shapes[i]);
  /* ... and pixel values map to lo..hi as the plain batch does */
  dlrt_fill_batch_distorted(&d, idx, 1, &none, 1, 0, 0, -0.1f, 1.175f, x);
  ck_assert_float_eq_tol(x[0], -0.1f, 1e-6);
  ck_assert_float_eq_tol(x[14 * SIDE + 14], 1.175f, 1e-6);
}
END_TEST

/* Same seed, epoch and position: the same image; another epoch or seed: another. */
START_TEST(distort_is_keyed_by_seed_epoch_position) {
  DlrtDataset d = shape_set();
  DlrtDistort dist = {.affine = true, .rotate = 15, .scale = 0.15f, .shear = 0.2f, .shift = 2,
                      .elastic = true, .alpha = 1.5f, .sigma = 4};
  int idx = 1;
  float a[PIX], b[PIX], c[PIX], e[PIX];
  dlrt_fill_batch_distorted(&d, &idx, 1, &dist, 5, 3, 100, 0, 1, a);
  dlrt_fill_batch_distorted(&d, &idx, 1, &dist, 5, 3, 100, 0, 1, b);
  dlrt_fill_batch_distorted(&d, &idx, 1, &dist, 5, 4, 100, 0, 1, c);
  dlrt_fill_batch_distorted(&d, &idx, 1, &dist, 6, 3, 100, 0, 1, e);
  ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
  ck_assert_int_ne(memcmp(a, c, sizeof a), 0);
  ck_assert_int_ne(memcmp(a, e, sizeof a), 0);
  /* a batch gives each image the distortion of its position: image k of a batch starting at
   * position 99 is the image at position 99 + k alone */
  int two[2] = {0, 1};
  float batch[2 * PIX];
  dlrt_fill_batch_distorted(&d, two, 2, &dist, 5, 3, 99, 0, 1, batch);
  ck_assert_int_eq(memcmp(batch + PIX, a, sizeof a), 0);
}
END_TEST

/* Distortions move ink, they do not make or lose much of it: over many draws a centred square
 * keeps its mass within the zoom's range (1 - s)^2 .. (1 + s)^2, and shifts alone move its
 * centre by at most `shift` pixels per axis. */
START_TEST(distort_moves_ink) {
  DlrtDataset d = shape_set();
  DlrtDistort shift = {.affine = true, .shift = 2}, zoom = {.affine = true, .scale = 0.1f, .rotate = 10};
  int idx = 0;
  float x[PIX];
  double mass = 64 * 255.0; /* the 8x8 square of 255s */
  for (int k = 0; k < 200; k++) {
    dlrt_fill_batch_distorted(&d, &idx, 1, &shift, 1, 0, k, 0, 255, x);
    double m = total(x, PIX), cy = 0, cx = 0;
    for (int y = 0; y < SIDE; y++)
      for (int xx = 0; xx < SIDE; xx++) cy += y * x[y * SIDE + xx], cx += xx * x[y * SIDE + xx];
    cy /= m, cx /= m;
    ck_assert_msg(fabs(m - mass) < 1e-3 * mass, "a shift changed the mass: %g", m);
    ck_assert_msg(fabs(cy - 13.5) <= 2.0001 && fabs(cx - 13.5) <= 2.0001, "centre (%g, %g)", cy, cx);
    dlrt_fill_batch_distorted(&d, &idx, 1, &zoom, 1, 0, k, 0, 255, x);
    m = total(x, PIX);
    ck_assert_msg(m > 0.8 * mass && m < 1.22 * mass, "zoom by at most 10%% gave mass %g of %g", m, mass);
  }
}
END_TEST

/* The PNG writer's output: a PNG file whose header says 8-bit greyscale of the right size,
 * and whose pixels libpng reads back exactly (check_png tests RGB and the reader's errors). */
START_TEST(png_round_trip) {
  enum { W = 5, H = 3 };
  unsigned char pix[W * H];
  for (int i = 0; i < W * H; i++) pix[i] = (unsigned char)(i * 17);
  char path[] = "/tmp/dlc-png-XXXXXX", err[256];
  int fd = mkstemp(path);
  ck_assert(fd >= 0);
  close(fd);
  ck_assert_int_eq(dlrt_png_write_gray(path, pix, W, H, err, sizeof err), 0);
  FILE *f = fopen(path, "rb");
  unsigned char buf[4096];
  size_t len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  ck_assert_uint_gt(len, 33);
  ck_assert_int_eq(memcmp(buf, "\x89PNG\r\n\x1a\n", 8), 0);
  ck_assert_int_eq(memcmp(buf + 12, "IHDR", 4), 0);
  ck_assert_int_eq(buf[19], W);
  ck_assert_int_eq(buf[23], H);
  ck_assert_int_eq(buf[24], 8);
  ck_assert_int_eq(buf[25], 0);
  ck_assert_int_eq(memcmp(buf + len - 8, "IEND", 4), 0);
  DlrtImage img;
  ck_assert_msg(dlrt_png_read(path, &img, err, sizeof err) == 0, "%s", err);
  unlink(path);
  ck_assert_int_eq(img.width, W);
  ck_assert_int_eq(img.height, H);
  ck_assert_int_eq(img.channels, 1);
  ck_assert_int_eq(memcmp(img.pixels, pix, sizeof pix), 0);
  dlrt_image_free(&img);
  ck_assert_int_ne(dlrt_png_write_gray("/nonexistent-dir/x.png", pix, W, H, err, sizeof err), 0);
  ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/x.png: cannot write"));
}
END_TEST

/* ---- the thread pool and the gradient sum -------------------------------------------- */

typedef struct PoolProbe {
  int round;
  int seen[4]; /* the round each worker last ran */
  int runs[4];
} PoolProbe;

static void probe_task(void *ctx, int w) {
  PoolProbe *p = ctx;
  ck_assert_int_eq(p->seen[w], p->round - 1); /* the previous round finished before this one */
  p->seen[w] = p->round;
  p->runs[w]++;
}

/* Every worker runs every task exactly once, and dlrt_pool_run returns only after all have:
 * 20,000 back-to-back rounds (spinning workers), then rounds with pauses (sleeping ones). */
START_TEST(pool_runs_each_task_once_on_every_worker) {
  for (int workers = 1; workers <= 4; workers++) {
    DlrtPool *pool = dlrt_pool_new(workers);
    ck_assert_ptr_nonnull(pool);
    ck_assert_int_eq(dlrt_pool_workers(pool), workers);
    PoolProbe p = {0};
    for (p.round = 1; p.round <= 20000; p.round++) dlrt_pool_run(pool, probe_task, &p);
    for (int k = 0; k < 3; k++, p.round++) {
      usleep(2000);
      dlrt_pool_run(pool, probe_task, &p);
    }
    for (int w = 0; w < workers; w++) ck_assert_int_eq(p.runs[w], 20003);
    dlrt_pool_free(pool);
  }
}
END_TEST

START_TEST(weighted_sum_of_gradients) {
  float a[37], b[37], c[37], dst[37];
  for (int i = 0; i < 37; i++) a[i] = (float)i, b[i] = (float)(100 - i), c[i] = 1, dst[i] = -1;
  const float *src[3] = {a, b, c};
  const float weight[3] = {0.5f, 0.25f, 2};
  dlrt_weighted_sum(dst, src, weight, 3, 3, 35);
  for (int i = 0; i < 37; i++)
    ck_assert_float_eq(dst[i], i < 3 || i >= 35 ? -1 : 0.5f * (float)i + 0.25f * (float)(100 - i) + 2);
  dlrt_weighted_sum(a, src, weight, 1, 0, 37); /* in place: dst may be src[0] */
  for (int i = 0; i < 37; i++) ck_assert_float_eq(a[i], 0.5f * (float)i);
}
END_TEST

static Suite *runtime_suite(void) {
  Suite *s = suite_create("runtime");
  suite_add_tcase(s, loader_tcase());
  suite_add_tcase(s, real_tcase());
  suite_add_tcase(s, rng_tcase());
  TCase *tc = tcase_create("init");
  tcase_add_test(tc, initialisers_have_their_moments);
  suite_add_tcase(s, tc);
  tc = tcase_create("distort");
  tcase_add_test(tc, distort_identity);
  tcase_add_test(tc, distort_is_keyed_by_seed_epoch_position);
  tcase_add_test(tc, distort_moves_ink);
  tcase_add_test(tc, png_round_trip);
  suite_add_tcase(s, tc);
  tc = tcase_create("threads");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, pool_runs_each_task_once_on_every_worker);
  tcase_add_test(tc, weighted_sum_of_gradients);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(runtime_suite());
  srunner_run_all(sr, CK_ENV); /* CK_VERBOSITY=verbose lists each test */
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
