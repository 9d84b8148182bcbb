/* check_npy.c — the NumPy .npy loader (runtime/npy.c): every shape as uint8 and float32,
 * labels in four dtypes, header versions 1 to 3, (N, D) vectors, float data off a 4-byte
 * boundary, written here byte for byte (data_files.h) and loading to exactly those values;
 * each malformed header, dtype, size or label refused with one line naming the file. */
#define _GNU_SOURCE
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "data_files.h"

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
  write_bytes(P("%s/t.npy", dir), "\x93NUMPX\x01\x00", 8);
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

static Suite *npy_suite(void) {
  Suite *s = suite_create("npy");
  TCase *tc = tcase_create("formats");
  tcase_add_unchecked_fixture(tc, make_root, remove_root);
  tcase_add_loop_test(tc, npy_loads_every_shape, 0, 9);
  tcase_add_test(tc, npy_misaligned_floats_load);
  tcase_add_test(tc, npy_refuses_malformed_files);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(npy_suite()); }
