/* check_png.c — PNG images (runtime/png.c) and folders of them as data sets
 * (runtime/pngdir.c): libpng's writer and reader agree, and the reader reads this suite's own
 * encoder (data_files.h) losslessly, palettes, 1-bit and 16-bit samples expanded; alpha and
 * damage refused; class folders loaded in sorted, stratified order with exact pixels, a test
 * folder taking the training classes by name; bad folders refused with the file named. */
#define _GNU_SOURCE
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>
#include "data_files.h"
#include "png.h"

/* ---- PNG files ------------------------------------------------------------------------ */

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
  write_bytes(P("%s/p.png", dir), b.p, b.len);
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
  write_bytes(P("%s/trns.png", dir), b.p, b.len);
  DlrtImage img;
  for (int k = 0; k < 3; k++) {
    const char *path = P("%s/%s.png", dir, (const char *[]){"ga", "rgba", "trns"}[k]);
    expect_error(dlrt_png_read(path, &img, err, sizeof err), NULL, path, "has an alpha channel");
  }
  free(b.p);
  b = png_bytes(4, 4, 8, 0, px, 4, NULL, 0, NULL, 0);
  write_bytes(P("%s/cut.png", dir), b.p, b.len - 20);
  expect_error(dlrt_png_read(P("%s/cut.png", dir), &img, err, sizeof err), NULL, P("%s/cut.png", dir), "invalid PNG");
  b.p[b.len - 13] ^= 1; /* the IDAT checksum, just before IEND */
  write_bytes(P("%s/crc.png", dir), b.p, b.len);
  expect_error(dlrt_png_read(P("%s/crc.png", dir), &img, err, sizeof err), NULL, P("%s/crc.png", dir), "invalid PNG");
  free(b.p);
  write_bytes(P("%s/text.png", dir), "hello", 5);
  expect_error(dlrt_png_read(P("%s/text.png", dir), &img, err, sizeof err), NULL, P("%s/text.png", dir),
               "not a PNG file");
  ck_assert_ptr_null(img.pixels);
}
END_TEST

/* ---- PNG class folders --------------------------------------------------------------- */

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
  write_bytes(P("%s/cat/.DS_Store", dir), "junk", 4); /* hidden: skipped */
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
  write_bytes(P("%s/b/notes.txt", dir), "not an image", 12);
  expect_error(dlrt_png_dir_load(dir, NULL, &d, err, sizeof err), &d, P("%s/b/notes.txt", dir), "not a PNG file");
  unlink(P("%s/b/notes.txt", dir));
  write_bytes(P("%s/README", dir), "hi", 2);
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

static Suite *png_suite(void) {
  Suite *s = suite_create("png");
  TCase *tc = tcase_create("formats");
  tcase_add_unchecked_fixture(tc, make_root, remove_root);
  tcase_add_test(tc, png_round_trips);
  tcase_add_test(tc, png_reader_expands_losslessly);
  tcase_add_test(tc, png_reader_refuses_alpha_and_damage);
  tcase_add_loop_test(tc, png_folder_loads_classes, 0, 2);
  tcase_add_test(tc, png_folder_matches_training_classes);
  tcase_add_test(tc, png_folder_refuses_bad_contents);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(png_suite()); }
