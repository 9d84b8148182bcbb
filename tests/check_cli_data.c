/* check_cli_data.c — the data-file errors of `dlc train` on small generated MNIST-style
 * directories (data_files.h): missing files, a missing test set, truncated images, a wrong
 * magic, counts that disagree, images of another size, each an error naming the file (or
 * `data =`) with status 1; and validation options the training set cannot spare. */
#define _GNU_SOURCE
#define DLC_TIMEOUT TIMEOUT /* (enum below) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data_files.h"

#define MLP DLC_SOURCE_DIR "/examples/mlp.net"

enum { TIMEOUT = 60 };

/* ---- data-file errors of `dlc train` ---------------------------------------------------- */

/* The first line of text that starts with prefix (up to its newline), or NULL. */
static const char *line_starting(const char *text, const char *prefix) {
  for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
    if (starts_with(p, prefix)) return p;
  return NULL;
}

/* Runs `dlc train mlp.net --data DIR --epochs 1`, removes DIR, and then asserts status 1 and,
 * as the contract for data-file errors says, a line "PATH: error: MESSAGE" whose MESSAGE
 * contains want. */
static void assert_data_error(DataDir *d, const char *path, const char *want) {
  RunResult r = dlc("train", MLP, "--data", d->dir, "--epochs", "1");
  char *prefix = NULL, *msg = NULL;
  ck_assert_int_ge(asprintf(&prefix, "%s: error: ", path), 0);
  const char *line = line_starting(r.err, prefix), *end = line ? strchr(line, '\n') : NULL;
  if (line) msg = strndup(line, end ? (size_t)(end - line) : strlen(line));
  data_dir_free(d);
  if (r.status != 1) ck_abort_msg("status %d, expected 1; stderr:\n%s", r.status, r.err);
  if (!msg)
    ck_abort_msg("no line starts with \"%s\" (data-file errors must be PATH: error: MESSAGE); stderr:\n%s", prefix,
                 r.err);
  assert_contains("the PATH: error: line", msg, want);
  free(msg);
  free(prefix);
  run_result_free(&r);
}

START_TEST(data_missing_files) {
  DataDir d = data_dir_new();
  char *img = mnist_file(&d, "train-images-idx3-ubyte");
  assert_data_error(&d, img, "file not found");
  free(img);
}
END_TEST

START_TEST(data_missing_test_set) {
  DataDir d = data_dir_new();
  write_valid_set(&d, "train");
  char *img = mnist_file(&d, "t10k-images-idx3-ubyte");
  assert_data_error(&d, img, "file not found");
  free(img);
}
END_TEST

START_TEST(data_truncated_images) {
  DataDir d = data_dir_new();
  write_valid_set(&d, "t10k");
  char *img = mnist_file(&d, "train-images-idx3-ubyte"), *lbl = mnist_file(&d, "train-labels-idx1-ubyte");
  write_mnist_images(img, 0x00000803, 3, 16 + 1000); /* the header promises 3 * 784 pixels */
  write_mnist_labels(lbl, 3);
  assert_data_error(&d, img, "truncated");
  free(img);
  free(lbl);
}
END_TEST

START_TEST(data_wrong_magic) {
  DataDir d = data_dir_new();
  write_valid_set(&d, "t10k");
  char *img = mnist_file(&d, "train-images-idx3-ubyte"), *lbl = mnist_file(&d, "train-labels-idx1-ubyte");
  write_mnist_images(img, 0x00000801, 3, SIZE_MAX);
  write_mnist_labels(lbl, 3);
  assert_data_error(&d, img, "wrong magic 0x00000801");
  free(img);
  free(lbl);
}
END_TEST

/* Images of another size than the input's: reported at `data =`. */
START_TEST(data_wrong_image_size) {
  DataDir d = data_dir_new();
  char *img = mnist_file(&d, "train-images-idx3-ubyte"), *lbl = mnist_file(&d, "train-labels-idx1-ubyte");
  write_idx(img, false, 0x08, 3, (uint32_t[]){3, 14, 14}, (unsigned char[3 * 14 * 14]){0}, 3 * 14 * 14);
  write_mnist_labels(lbl, 3);
  write_valid_set(&d, "t10k");
  RunResult r = dlc("train", MLP, "--data", d.dir, "--epochs", "1");
  data_dir_free(&d);
  assert_fails_with(r, 1, "error: data set 'mnist' gives examples of [1, 14, 14] (196 values), but the input 'x' is [784]");
  run_result_free(&r);
  free(img);
  free(lbl);
}
END_TEST

START_TEST(data_count_mismatch) {
  DataDir d = data_dir_new();
  write_valid_set(&d, "t10k");
  char *img = mnist_file(&d, "train-images-idx3-ubyte"), *lbl = mnist_file(&d, "train-labels-idx1-ubyte");
  write_mnist_images(img, 0x00000803, 3, SIZE_MAX);
  write_mnist_labels(lbl, 2);
  char *mnist = strdup(d.mnist);
  assert_data_error(&d, mnist, "3 images but 2 labels");
  free(mnist);
  free(img);
  free(lbl);
}
END_TEST

/* Validation options need a split the training set can spare; each mistake is a clear error
 * before any training. */
START_TEST(validation_errors) {
  static const struct { const char *flag, *value, *want; } cases[] = {
      {"--validation", "3", "--validation 3 holds out every image of the 3-image training set"},
      {"--patience", "2", "--patience needs a validation split"},
      {"--save-best", "best.ck", "--save-best needs a validation split"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    DataDir d = data_dir_new();
    write_valid_set(&d, "train");
    write_valid_set(&d, "t10k");
    RunResult r = dlc("train", MLP, "--data", d.dir, "--epochs", "1", cases[i].flag, cases[i].value);
    data_dir_free(&d);
    assert_fails_with(r, 1, cases[i].want);
    ck_assert_msg(!strstr(r.out, "epoch 1/"), "trained despite the error: %s", r.out);
    run_result_free(&r);
  }
  /* patience from --set, the split from --validation: the order of overrides does not matter */
  DataDir d = data_dir_new();
  write_valid_set(&d, "train");
  write_valid_set(&d, "t10k");
  RunResult r = dlc("train", MLP, "--data", d.dir, "--epochs", "1", "--set", "patience = 2", "--validation", "1");
  data_dir_free(&d);
  assert_ok(r);
  assert_contains("stdout", r.out, "val_error");
  run_result_free(&r);
}
END_TEST

/* ---- the suite -------------------------------------------------------------------------- */

static Suite *cli_data_suite(void) {
  Suite *s = suite_create("cli_data");
  TCase *tc = add_tcase(s, "data_errors", 120);
  tcase_add_test(tc, data_missing_files);
  tcase_add_test(tc, data_missing_test_set);
  tcase_add_test(tc, data_truncated_images);
  tcase_add_test(tc, data_wrong_magic);
  tcase_add_test(tc, data_count_mismatch);
  tcase_add_test(tc, data_wrong_image_size);
  tcase_add_test(tc, validation_errors);
  return s;
}

int main(void) { return run_suite(cli_data_suite()); }
