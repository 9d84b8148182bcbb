/* check_batch.c — what is made of a loaded data set (runtime/dataset.h, batch.h,
 * distort.h): slices that are views, a test set matched against its training set, batch
 * assembly mapping every channel (and its speed, reported), and distortions drawn once per
 * image for every channel, on any size and on float pixels. */
#define _GNU_SOURCE
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "batch.h"
#include "data_files.h"
#include "distort.h"

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

/* Batch assembly stays a small part of an epoch: it is timed (shuffled batches of 64 from
 * 4,000 RGB 32x32 images, normalised) and reported; the bound only catches a gross slowdown
 * (a step of LeNet-5 costs about 50 ns per input value). */
START_TEST(batch_assembly_is_fast) {
  enum { N = 4000, B = 64, CIFAR_PIX = 3 * 32 * 32 };
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
    double t0 = seconds_now();
    for (int b = 0; b + B <= N; b += B) dlrt_fill_batch_mapped(&d, perm + b, B, 10, &map, x, y);
    double ns = (seconds_now() - t0) * 1e9 / ((double)(N / B * B) * CIFAR_PIX);
    best = ns < best ? ns : best;
  }
  fprintf(stderr, "check_batch: batch assembly %.2f ns per value (uint8 RGB, normalised)\n", best);
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

static Suite *batch_suite(void) {
  Suite *s = suite_create("batch");
  TCase *tc = tcase_create("batches");
  tcase_add_test(tc, slices_are_views);
  tcase_add_test(tc, match_names_the_test_set);
  tcase_add_test(tc, batches_map_every_channel);
  tcase_add_test(tc, batch_assembly_is_fast);
  tcase_add_test(tc, distortion_is_one_transform_for_every_channel);
  tcase_add_test(tc, distortion_takes_any_size_and_floats);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(batch_suite()); }
