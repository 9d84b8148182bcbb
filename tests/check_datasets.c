/* check_datasets.c — data sets end to end, through the dlc executable: training from every
 * form of `data =` (IDX raw and gzip, .npy of uint8 and of float32 images, CIFAR-10's binary
 * batches by name and by folder, PNG folders with a test folder and with a held-out split,
 * RGB with normalize), relative paths from the .net file's directory; the checks before
 * anything is compiled (a set of another shape at `data =`, labels beyond the target's
 * classes, a split that hides a class) and malformed files named in their errors; `dlc check`'s
 * data line; a model trained on an .npy copy of MNIST images bit for bit the model trained on
 * the same images as `data = mnist` and as `idx(...)`; and `dlc predict`: PNGs written from
 * test images classified as `dlc eval` classifies them, the .npy of the same images answered
 * the same, class names, --json that parses, inputs of the wrong shape refused.
 *
 * The data are generated here, small (8x8 images of 3 classes that a small net tells apart
 * within an epoch); MNIST's first images come from DLC_TEST_DATA. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "checkpoint.h"
#include "dataset.h"
#define DLC_TIMEOUT TIMEOUT /* (enum below) */
#include "helpers.h"
#include "png.h"

enum { TIMEOUT = 120, SIDE = 8, CLASSES = 3, TRAIN_N = 240, TEST_N = 60 };

static char *root; /* the suite's temporary directory */

/* root/name (a static buffer per call site is not enough: a ring of them) */
static const char *P(const char *fmt, ...) {
  static char ring[16][1024];
  static int next;
  char *out = ring[next++ % 16];
  char name[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(name, sizeof name, fmt, ap);
  va_end(ap);
  snprintf(out, 1024, "%s/%s", root, name);
  return out;
}

/* ---- a small learnable set: class k is a bright bar in the k-th third of the image ---- */

typedef struct Set {
  int n, c, h, w;
  unsigned char *pix; /* n x c x h x w, CHW */
  int32_t *lab;
} Set;

static Set make_set(int n, int c, int h, int w, unsigned seed) {
  Set s = {n, c, h, w, malloc((size_t)n * c * h * w), malloc(sizeof(int32_t) * (size_t)n)};
  unsigned r = seed * 2654435761u + 1;
  for (int i = 0; i < n; i++) {
    int k = s.lab[i] = i % CLASSES; /* interleaved: any stretch holds every class */
    for (int ch = 0; ch < c; ch++)
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
          r = r * 1103515245u + 12345u;
          int noise = (int)(r >> 16) % 60, bar = x * CLASSES / w == k ? 160 : 0;
          s.pix[(((size_t)i * c + ch) * h + y) * w + x] = (unsigned char)(noise + bar + (ch == k % c ? 30 : 0));
        }
  }
  return s;
}

static void set_free(Set *s) {
  free(s->pix);
  free(s->lab);
}

/* ---- writers: IDX, .npy, CIFAR-10 batches, PNG folders ---- */

static void be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* Images (idx3, or idx4 with channels) and labels, raw or gzip. */
static void write_idx(const char *images, const char *labels, const Set *s, bool gz) {
  size_t per = (size_t)s->c * s->h * s->w, hdr = s->c > 1 ? 20 : 16;
  unsigned char *img = malloc(hdr + s->n * per), *lab = malloc(8 + (size_t)s->n);
  be32(img, s->c > 1 ? 0x804 : 0x803);
  be32(img + 4, (uint32_t)s->n);
  uint32_t dims[3] = {(uint32_t)s->c, (uint32_t)s->h, (uint32_t)s->w};
  for (int d = s->c > 1 ? 0 : 1, k = 0; d < 3; d++, k++) be32(img + 8 + 4 * k, dims[d]);
  memcpy(img + hdr, s->pix, s->n * per);
  be32(lab, 0x801);
  be32(lab + 4, (uint32_t)s->n);
  for (int i = 0; i < s->n; i++) lab[8 + i] = (unsigned char)s->lab[i];
  const char *paths[2] = {images, labels};
  unsigned char *bufs[2] = {img, lab};
  size_t lens[2] = {hdr + s->n * per, 8 + (size_t)s->n};
  for (int f = 0; f < 2; f++) {
    if (gz) {
      gzFile g = gzopen(paths[f], "wb");
      ck_assert_ptr_nonnull(g);
      ck_assert_int_eq(gzwrite(g, bufs[f], (unsigned)lens[f]), (int)lens[f]);
      ck_assert_int_eq(gzclose(g), Z_OK);
    } else {
      write_bytes(paths[f], bufs[f], lens[f]);
    }
  }
  free(img);
  free(lab);
}

/* An .npy file as np.save writes it (version 1.0, the header padded to 64 bytes). */
static void write_npy(const char *path, const char *descr, const char *shape, const void *data, size_t len) {
  char dict[256];
  snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
  size_t hlen = strlen(dict) + 1, total = 10 + hlen, pad = (64 - total % 64) % 64;
  unsigned char *b = malloc(total + pad + len);
  memcpy(b, "\x93NUMPY\x01\x00", 8);
  b[8] = (unsigned char)((hlen + pad) & 0xff), b[9] = (unsigned char)((hlen + pad) >> 8);
  memcpy(b + 10, dict, strlen(dict));
  memset(b + 10 + strlen(dict), ' ', pad);
  b[total + pad - 1] = '\n';
  memcpy(b + total + pad, data, len);
  write_bytes(path, b, total + pad + len);
  free(b);
}

/* x as uint8 (or float32 in 0..1) of shape (N, H, W) or (N, C, H, W), y as int64. */
static void write_npy_pair(const char *x, const char *y, const Set *s, bool f32) {
  char shape[64];
  size_t values = (size_t)s->n * s->c * s->h * s->w;
  if (s->c > 1) snprintf(shape, sizeof shape, "(%d, %d, %d, %d)", s->n, s->c, s->h, s->w);
  else snprintf(shape, sizeof shape, "(%d, %d, %d)", s->n, s->h, s->w);
  if (f32) {
    float *f = malloc(sizeof(float) * values);
    for (size_t i = 0; i < values; i++) f[i] = s->pix[i] / 255.0f;
    write_npy(x, "<f4", shape, f, sizeof(float) * values);
    free(f);
  } else {
    write_npy(x, "|u1", shape, s->pix, values);
  }
  int64_t *l = malloc(sizeof(int64_t) * (size_t)s->n);
  for (int i = 0; i < s->n; i++) l[i] = s->lab[i];
  snprintf(shape, sizeof shape, "(%d,)", s->n);
  write_npy(y, "<i8", shape, l, sizeof(int64_t) * (size_t)s->n);
  free(l);
}

/* CIFAR-10's six files, the training set spread over the five. */
static void write_cifar(const char *dir, const Set *train, const Set *test) {
  enum { RECORD = 3073 };
  make_dir(dir);
  for (int f = 0; f < 6; f++) {
    const Set *s = f < 5 ? train : test;
    int first = f < 5 ? s->n * f / 5 : 0, last = f < 5 ? s->n * (f + 1) / 5 : s->n;
    unsigned char *b = malloc((size_t)(last - first) * RECORD);
    for (int i = first; i < last; i++) {
      b[(size_t)(i - first) * RECORD] = (unsigned char)s->lab[i];
      memcpy(b + (size_t)(i - first) * RECORD + 1, s->pix + (size_t)i * 3072, 3072);
    }
    char name[64];
    if (f < 5) snprintf(name, sizeof name, "%s/data_batch_%d.bin", dir, f + 1);
    else snprintf(name, sizeof name, "%s/test_batch.bin", dir);
    write_bytes(name, b, (size_t)(last - first) * RECORD);
    free(b);
  }
}

/* Example i of s as a PNG (planes interleaved into RGB when it has three channels). */
static void write_png_of(const char *path, const Set *s, int i) {
  size_t plane = (size_t)s->h * s->w;
  unsigned char *rgb = malloc(plane * s->c);
  for (int c = 0; c < s->c; c++)
    for (size_t p = 0; p < plane; p++) rgb[p * s->c + c] = s->pix[((size_t)i * s->c + c) * plane + p];
  char err[1024];
  ck_assert_msg(dlrt_png_write(path, rgb, s->w, s->h, s->c, err, sizeof err) == 0, "%s", err);
  free(rgb);
}

static const char *const CLASS_NAMES[CLASSES] = {"left", "middle", "right"};

/* dir/CLASS/NNNN.png for every example of s. */
static void write_png_folder(const char *dir, const Set *s) {
  make_dir(dir);
  for (int k = 0; k < CLASSES; k++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, CLASS_NAMES[k]);
    make_dir(path);
  }
  for (int i = 0; i < s->n; i++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%04d.png", dir, CLASS_NAMES[s->lab[i]], i);
    write_png_of(path, s, i);
  }
}

/* A small model of c x 8 x 8 images, its data set `data`, written beside the data; its path
 * stays valid for the next 8 calls (P's for 16: write_net's are kept apart). */
static const char *write_net(const char *name, int c, const char *data, const char *more) {
  static char paths[8][1024];
  static int next;
  char text[4096];
  snprintf(text, sizeof text,
           "input  x : [%d, %d, %d]\ntarget y : onehot(%d)\n"
           "h    = relu(dense(flatten(x), 24, init: he))\nout  = dense(h, %d)\nloss = cross_entropy(out, y)\n"
           "train {\n  data = %s\n  optimizer = adam(lr: 0.01); batch = 16; epochs = 2; seed = 1\n%s}\n",
           c, SIDE, SIDE, CLASSES, CLASSES, data, more ? more : "");
  char *path = paths[next++ % 8];
  snprintf(path, 1024, "%s", P("%s", name));
  write_text(path, text);
  return path;
}

/* The test error of the last epoch line of dlc train's stdout, as a fraction. */
static double last_test_error(const char *out) {
  const char *p = NULL;
  for (const char *q = strstr(out, "test_error "); q; q = strstr(q + 1, "test_error ")) p = q;
  ck_assert_msg(p != NULL, "no test_error in:\n%s", out);
  return atof(p + strlen("test_error ")) / 100;
}

/* Trains the file; asserts it ran every epoch and learnt (the bars are easy to tell apart). */
static RunResult train_ok(const char *net, const char *extra) {
  RunResult r = extra ? dlc("train", net, extra) : dlc("train", net);
  assert_ok(r);
  assert_contains("stdout", r.out, "epoch 2/2");
  ck_assert_msg(last_test_error(r.out) < 0.2, "did not learn:\n%s", r.out);
  return r;
}

/* ---- fixtures: the sets, in every format, written once ---- */

static Set grey_train, grey_test, rgb_train, rgb_test, cifar_train, cifar_test;

static void setup(void) {
  root = make_temp_dir();
  grey_train = make_set(TRAIN_N, 1, SIDE, SIDE, 1), grey_test = make_set(TEST_N, 1, SIDE, SIDE, 2);
  rgb_train = make_set(TRAIN_N, 3, SIDE, SIDE, 3), rgb_test = make_set(TEST_N, 3, SIDE, SIDE, 4);
  cifar_train = make_set(TRAIN_N, 3, 32, 32, 5), cifar_test = make_set(TEST_N, 3, 32, 32, 6);
  write_idx(P("train-images"), P("train-labels"), &grey_train, false);
  write_idx(P("test-images.gz"), P("test-labels.gz"), &grey_test, true);
  write_npy_pair(P("x.npy"), P("y.npy"), &grey_train, false);
  write_npy_pair(P("tx.npy"), P("ty.npy"), &grey_test, false);
  write_npy_pair(P("xf.npy"), P("yf.npy"), &grey_train, true);
  write_npy_pair(P("txf.npy"), P("tyf.npy"), &grey_test, true);
  write_npy_pair(P("rgb_x.npy"), P("rgb_y.npy"), &rgb_train, false);
  make_dir(P("data"));
  write_cifar(P("data/cifar-10-batches-bin"), &cifar_train, &cifar_test);
  write_png_folder(P("shapes"), &grey_train);
  write_png_folder(P("shapes-test"), &grey_test);
  write_png_folder(P("colours"), &rgb_train);
}

static void teardown(void) {
  remove_tree(root);
  free(root);
  Set *sets[] = {&grey_train, &grey_test, &rgb_train, &rgb_test, &cifar_train, &cifar_test};
  for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) set_free(sets[i]);
}

/* ---- training from every form of data = ---- */

START_TEST(trains_from_idx_files) {
  /* raw training files, gzip test files; relative to the .net file's directory, run from
   * elsewhere */
  const char *net = write_net("idx.net", 1,
                              "idx(train: \"train-images\", labels: \"train-labels\", test: \"test-images.gz\", "
                              "test_labels: \"test-labels.gz\")", NULL);
  RunResult r = dlc_in("/", "train", net);
  assert_ok(r);
  ck_assert_msg(last_test_error(r.out) < 0.2, "did not learn:\n%s", r.out);
  run_result_free(&r);
  r = dlc("check", net);
  assert_ok(r);
  assert_contains("stdout", r.out, "data   idx(\"");
  assert_contains("stdout", r.out, ": 240 training and 60 test examples of [1, 8, 8] (uint8), 3 classes\n");
  run_result_free(&r);
}
END_TEST

START_TEST(trains_from_npy_files) {
  RunResult r = train_ok(write_net("npy.net", 1, "npy(x: \"x.npy\", y: \"y.npy\", test_x: \"tx.npy\", test_y: \"ty.npy\")",
                                   NULL), NULL);
  run_result_free(&r);
  /* float32 images in 0..1 are the bytes / 255, as uint8 pixels become: (nearly) the same inputs */
  RunResult f = train_ok(write_net("npyf.net", 1, "npy(x: \"xf.npy\", y: \"yf.npy\", test_x: \"txf.npy\", test_y: \"tyf.npy\")",
                                   NULL), NULL);
  r = train_ok(P("npy.net"), NULL);
  ck_assert_double_eq_tol(last_test_error(f.out), last_test_error(r.out), 0.05);
  run_result_free(&f);
  run_result_free(&r);
  r = dlc("check", P("npyf.net"));
  assert_ok(r);
  assert_contains("stdout", r.out, "240 training and 60 test examples of [1, 8, 8] (float32), 3 classes");
  run_result_free(&r);
}
END_TEST

START_TEST(trains_from_cifar10_batches) {
  /* by name, under --data DIR; and by folder; normalised per channel */
  const char *norm = "  normalize(mean: [0.3, 0.3, 0.3], std: [0.25, 0.25, 0.25])\n";
  char text[4096];
  snprintf(text, sizeof text,
           "input  x : [3, 32, 32]\ntarget y : onehot(10)\nout = dense(global_avgpool(x), 10)\n"
           "loss = cross_entropy(out, y)\ntrain { data = cifar10; optimizer = adam(lr: 0.05); batch = 16; epochs = 2\n%s}\n",
           norm);
  write_text(P("cifar.net"), text);
  RunResult r = dlc("train", P("cifar.net"), "--data", P("data"));
  assert_ok(r);
  assert_contains("stdout", r.out, "epoch 2/2");
  run_result_free(&r);
  r = dlc("check", P("cifar.net"), "--data", P("data"));
  assert_ok(r);
  assert_contains("stdout", r.out, "data   cifar10: 240 training and 60 test examples of [3, 32, 32] (uint8), 10 classes: "
                                   "airplane, automobile, bird,");
  assert_contains("stdout", r.out, "normalize (mean/std) 0.3/0.25 0.3/0.25 0.3/0.25");
  run_result_free(&r);
  r = dlc("train", P("cifar.net"), "--set", "data = cifar10(\"" "data/cifar-10-batches-bin\")", "--epochs", "1");
  assert_fails(r, "data/cifar-10-batches-bin/data_batch_1.bin: error: file not found"); /* --set: from the working directory */
  run_result_free(&r);
  r = dlc_in(root, "train", P("cifar.net"), "--set", "data = cifar10(\"data/cifar-10-batches-bin\")", "--epochs", "1");
  assert_ok(r);
  run_result_free(&r);
  /* the named set missing: where to get it */
  r = dlc("train", P("cifar.net"), "--data", P("nowhere"));
  assert_fails(r, "cifar-10-batches-bin/data_batch_1.bin: error: file not found");
  assert_contains("stderr", r.err, "(unpack CIFAR-10's binary version");
  run_result_free(&r);
}
END_TEST

START_TEST(trains_from_png_folders) {
  RunResult r = train_ok(write_net("png.net", 1, "images(\"shapes\", test: \"shapes-test\")", NULL), NULL);
  run_result_free(&r);
  /* without a test folder: the last 20% held out, said on stderr */
  r = train_ok(write_net("png_holdout.net", 1, "images(\"shapes\")", NULL), NULL);
  assert_contains("stderr", r.err, "has no test set: its last 48 examples (holdout 0.2) are the test set, the other 192 the "
                                   "training set");
  run_result_free(&r);
  r = dlc("check", P("png_holdout.net"));
  assert_ok(r);
  assert_contains("stdout", r.out, "192 training and 48 test examples (held out: the last 48 of 240) of [1, 8, 8] (uint8), "
                                   "3 classes: left, middle, right");
  run_result_free(&r);
  /* RGB, normalised, a different holdout */
  r = train_ok(write_net("colours.net", 3, "images(\"colours\", holdout: 0.25)",
                         "  normalize(mean: [0.4, 0.4, 0.4], std: [0.3, 0.3, 0.3])\n"), NULL);
  run_result_free(&r);
}
END_TEST

/* A .npy set without a test set is split the same way; one ordered by class, which would hide
 * classes from training, is refused. */
START_TEST(holdout_refuses_a_set_ordered_by_class) {
  Set s = make_set(90, 1, SIDE, SIDE, 9);
  for (int i = 0; i < s.n; i++) s.lab[i] = i * CLASSES / s.n; /* 30 of class 0, then 1, then 2 */
  write_npy_pair(P("sorted_x.npy"), P("sorted_y.npy"), &s, false);
  /* shuffled, but the class held out never trained on */
  for (int i = 0; i < s.n; i++) s.lab[i] = i < 72 ? i % 2 : 2;
  write_npy_pair(P("hidden_x.npy"), P("hidden_y.npy"), &s, false);
  set_free(&s);
  Set one = make_set(1, 1, SIDE, SIDE, 10);
  write_npy_pair(P("one_x.npy"), P("one_y.npy"), &one, false);
  set_free(&one);
  RunResult o = dlc("train", write_net("one.net", 1, "npy(x: \"one_x.npy\", y: \"one_y.npy\")", NULL));
  assert_fails(o, "one.net:7:10: error: npy(\"");
  assert_contains("stderr", o.err, "one_x.npy\") holds one example: a test set needs another");
  run_result_free(&o);
  RunResult h = dlc("train", write_net("hidden.net", 1, "npy(x: \"hidden_x.npy\", y: \"hidden_y.npy\")", NULL));
  assert_fails(h, "hidden.net:7:10: error: the held-out test set (the last 18 of 90 examples) has class 2, which the 72 "
                  "examples trained on never show");
  run_result_free(&h);
  RunResult r = dlc("train", write_net("sorted.net", 1, "npy(x: \"sorted_x.npy\", y: \"sorted_y.npy\")", NULL));
  assert_fails(r, "sorted.net:7:10: error: the examples are sorted by class, so the held-out test set (the last 18 of "
                  "90) holds only the last classes; shuffle them, or give a test set");
  ck_assert_ptr_null(strstr(r.out, "epoch"));
  run_result_free(&r);
}
END_TEST

/* ---- checked before anything is compiled ---- */

START_TEST(shape_mismatch_at_data) {
  const char *net = write_net("rgb_as_grey.net", 1, "npy(x: \"rgb_x.npy\", y: \"rgb_y.npy\")", NULL);
  RunResult r = dlc("train", net);
  char *want = NULL;
  ck_assert_int_ge(asprintf(&want, "%s:7:10: error: data set npy(\"%s\") gives examples of [3, 8, 8] (192 values), but the "
                                   "input 'x' is [1, 8, 8] (64 values)\n    data = npy(x: \"rgb_x.npy\", y: \"rgb_y.npy\")\n"
                                   "           ^\n%s:1:8: note: 'x' is declared here\n",
                           net, P("rgb_x.npy"), net), 0);
  assert_fails(r, want);
  ck_assert_ptr_null(strstr(r.err, "compiled")); /* before the compile */
  run_result_free(&r);
  r = dlc("check", net); /* from the headers */
  assert_fails(r, want);
  run_result_free(&r);
  free(want);
}
END_TEST

/* Distortions move pixels along rows and columns: a set of vectors with `distort` is an error
 * at the distort setting before anything is compiled (dlc check says so too), also where the
 * model makes its input an image, since the set's examples are what is distorted; a set of
 * images fed to a vector input distorts, as mlp_distort.net does MNIST's. */
START_TEST(distortions_need_images) {
  write_npy(P("vec_x.npy"), "|u1", "(240, 64)", grey_train.pix, (size_t)TRAIN_N * SIDE * SIDE);
  static const char *const form = "input x : %s\ntarget y : onehot(3)\nout = dense(flatten(x), 3)\n"
                                  "loss = cross_entropy(out, y)\ntrain {\n  data = npy(x: \"%s\", y: \"y.npy\")\n"
                                  "  distort = affine(rotate: 10)\n  epochs = 1\n}\n";
  char text[512], *want = NULL;
  snprintf(text, sizeof text, form, "[64]", "vec_x.npy");
  write_text(P("vec.net"), text);
  ck_assert_int_ge(asprintf(&want, "%s:7:13: error: distortions need images (channels x rows x cols with rows, cols > "
                                   "1), but data set npy(\"%s\") gives examples of [1, 1, 64]\n"
                                   "    distort = affine(rotate: 10)\n              ^\n"
                                   "%s:6:10: note: the data set is given here\n",
                           P("vec.net"), P("vec_x.npy"), P("vec.net")), 0);
  RunResult r = dlc("train", P("vec.net"));
  assert_fails(r, want);
  ck_assert_ptr_null(strstr(r.err, "compiled"));
  run_result_free(&r);
  r = dlc("check", P("vec.net"));
  assert_fails(r, want);
  run_result_free(&r);
  free(want);
  /* the model reshaping the vectors into images changes nothing */
  snprintf(text, sizeof text, form, "[1, 8, 8]", "vec_x.npy");
  write_text(P("vec_img.net"), text);
  r = dlc("check", P("vec_img.net"));
  assert_fails(r, ":7:13: error: distortions need images (channels x rows x cols with rows, cols > 1)");
  run_result_free(&r);
  /* nor does a distortion given on the command line: the error is at --set */
  snprintf(text, sizeof text, form, "[64]", "vec_x.npy");
  *strstr(text, "  distort") = 0;
  strcat(text, "}\n");
  write_text(P("vec_plain.net"), text);
  r = dlc("check", P("vec_plain.net"));
  assert_ok(r);
  run_result_free(&r);
  r = dlc("check", P("vec_plain.net"), "--set", "distort = elastic(alpha: 2)");
  assert_fails(r, "error: distortions need images (channels x rows x cols with rows, cols > 1), but data set npy(");
  run_result_free(&r);
  /* images (8 x 8) into a vector input: distorted, and trained */
  snprintf(text, sizeof text, form, "[64]", "x.npy");
  write_text(P("img_vec.net"), text);
  r = dlc("train", P("img_vec.net"));
  assert_ok(r);
  assert_contains("stdout", r.out, "epoch 1/1");
  run_result_free(&r);
}
END_TEST

START_TEST(labels_beyond_the_target) {
  Set s = make_set(30, 1, SIDE, SIDE, 7);
  s.lab[17] = 5; /* onehot(3) */
  write_npy_pair(P("big_x.npy"), P("big_y.npy"), &s, false);
  write_npy_pair(P("big_tx.npy"), P("big_ty.npy"), &s, false);
  set_free(&s);
  const char *net = write_net("big.net", 1, "npy(x: \"big_x.npy\", y: \"big_y.npy\", test_x: \"big_tx.npy\", test_y: "
                                            "\"big_ty.npy\")", NULL);
  RunResult r = dlc("train", net);
  assert_fails(r, "big.net:7:10: error: data set npy(\"");
  assert_contains("stderr", r.err, "\") has 6 classes, so the target 'y' must be onehot(6) or more, not onehot(3)");
  char *note = NULL;
  ck_assert_int_ge(asprintf(&note, "%s: note: label 5 of example 17 is the first beyond 0..2", P("big_y.npy")), 0);
  assert_contains("stderr", r.err, note);
  free(note);
  run_result_free(&r);
}
END_TEST

/* Malformed files: an error that names the file, status 1, no training. */
START_TEST(malformed_files_are_named) {
  write_text(P("bad.npy"), "\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'}");
  RunResult r = dlc("train", write_net("bad_npy.net", 1, "npy(x: \"bad.npy\", y: \"y.npy\")", NULL));
  char *want = NULL;
  ck_assert_int_ge(asprintf(&want, "%s: error: ", P("bad.npy")), 0);
  assert_fails(r, want);
  free(want);
  run_result_free(&r);
  write_bytes(P("short-images"), "\x00\x00\x08\x03\x00\x00\x00\x05", 8); /* a truncated header */
  r = dlc("train", write_net("bad_idx.net", 1, "idx(train: \"short-images\", labels: \"train-labels\")", NULL));
  ck_assert_int_ge(asprintf(&want, "%s: error: truncated header", P("short-images")), 0);
  assert_fails(r, want);
  free(want);
  run_result_free(&r);
  write_text(P("shapes/middle/notes.txt"), "not an image");
  r = dlc("train", write_net("bad_png.net", 1, "images(\"shapes\")", NULL));
  ck_assert_int_ge(asprintf(&want, "%s: error: not a PNG file", P("shapes/middle/notes.txt")), 0);
  assert_fails(r, want);
  free(want);
  unlink(P("shapes/middle/notes.txt"));
  run_result_free(&r);
  r = dlc("train", write_net("missing.net", 1, "npy(x: \"nope.npy\", y: \"y.npy\")", NULL));
  ck_assert_int_ge(asprintf(&want, "%s: error: file not found", P("nope.npy")), 0);
  assert_fails(r, want);
  free(want);
  run_result_free(&r);
}
END_TEST

/* ---- an .npy copy of MNIST trains bit for bit as MNIST does ---- */

/* The first n images of MNIST's set `prefix` from DLC_TEST_DATA. */
static Set mnist_head(const char *prefix, int n) {
  DlrtDataset d;
  char err[1024];
  ck_assert_msg(dlrt_mnist_load(DLC_TEST_DATA, prefix, &d, err, sizeof err) == 0, "%s", err);
  Set s = {n, 1, 28, 28, malloc((size_t)n * 784), malloc(sizeof(int32_t) * (size_t)n)};
  memcpy(s.pix, d.pixels, (size_t)n * 784);
  memcpy(s.lab, d.labels, sizeof(int32_t) * (size_t)n);
  dlrt_dataset_free(&d);
  return s;
}

/* Whether two checkpoints hold the same tensors, bit for bit. */
static void assert_same_tensors(const char *a, const char *b) {
  char why[256];
  ck_assert_msg(same_tensors(a, b, why, sizeof why), "%s and %s: %s", a, b, why);
}

/* The epoch lines up to their test error (the timings that follow differ from run to run). */
static char *epoch_figures(const char *out) {
  char *s = strdup(out), *o = s;
  for (const char *line = out; *line;) {
    const char *nl = strchr(line, '\n'), *end = strstr(line, "%  ");
    if (!nl) nl = line + strlen(line);
    if (end && end < nl) {
      memcpy(o, line, (size_t)(end - line) + 1);
      o += end - line + 1;
      *o++ = '\n';
    }
    line = *nl ? nl + 1 : nl;
  }
  *o = 0;
  return s;
}

START_TEST(npy_copy_of_mnist_trains_bit_for_bit) {
  Set train = mnist_head("train", 3000), test = mnist_head("t10k", 1000);
  make_dir(P("m"));
  make_dir(P("m/mnist"));
  write_idx(P("m/mnist/train-images-idx3-ubyte"), P("m/mnist/train-labels-idx1-ubyte"), &train, false);
  write_idx(P("m/mnist/t10k-images-idx3-ubyte.gz"), P("m/mnist/t10k-labels-idx1-ubyte.gz"), &test, true);
  write_npy_pair(P("m/x.npy"), P("m/y.npy"), &train, false);
  write_npy_pair(P("m/tx.npy"), P("m/ty.npy"), &test, false);
  set_free(&train);
  set_free(&test);
  static const char *const data[] = {
      "mnist",
      "npy(x: \"m/x.npy\", y: \"m/y.npy\", test_x: \"m/tx.npy\", test_y: \"m/ty.npy\")",
      "idx(train: \"m/mnist/train-images-idx3-ubyte\", labels: \"m/mnist/train-labels-idx1-ubyte\", "
      "test: \"m/mnist/t10k-images-idx3-ubyte.gz\", test_labels: \"m/mnist/t10k-labels-idx1-ubyte.gz\")"};
  char *first = NULL;
  for (int k = 0; k < 3; k++) {
    char text[2048], name[32], ck[32];
    snprintf(text, sizeof text,
             "input x : [784]\ntarget y : onehot(10)\nh = relu(dense(x, 32, init: he))\nout = dense(h, 10)\n"
             "loss = cross_entropy(out, y)\ntrain { data = %s; optimizer = sgd(lr: 0.05, momentum: 0.9); "
             "pixels = range(-0.1, 1.175); batch = 32; epochs = 2; seed = 3 }\n", data[k]);
    snprintf(name, sizeof name, "m%d.net", k);
    snprintf(ck, sizeof ck, "m%d.ck", k);
    write_text(P("%s", name), text);
    RunResult r = dlc("train", P("%s", name), "--data", P("m"), "--save", P("%s", ck));
    assert_ok(r);
    char *figures = epoch_figures(r.out);
    ck_assert_msg(strstr(figures, "epoch 2/2"), "%s", r.out);
    if (k == 0) first = figures;
    else {
      ck_assert_str_eq(figures, first); /* losses and test errors to every printed digit */
      free(figures);
      assert_same_tensors(P("m0.ck"), P("%s", ck)); /* and every weight bit for bit */
    }
    run_result_free(&r);
  }
  free(first);
}
END_TEST

/* ---- dlc predict ---- */

/* Runs python3 on a script with arguments; its stdout. */
static char *python(const char *script, const char *arg) {
  char *argv[] = {"/usr/bin/python3", "-c", (char *)script, (char *)arg, NULL};
  RunResult r = run_program(NULL, argv, TIMEOUT);
  if (r.status != 0) ck_abort_msg("python3: status %d\n%s", r.status, r.err);
  free(r.err);
  return r.out;
}

START_TEST(predict_agrees_with_eval) {
  const char *net = write_net("p.net", 1, "npy(x: \"x.npy\", y: \"y.npy\", test_x: \"tx.npy\", test_y: \"ty.npy\")",
                              "  classes = [\"L\", \"M\", \"R\"]\n");
  RunResult r = dlc("train", net, "--save", P("p.ck"));
  assert_ok(r);
  run_result_free(&r);
  r = dlc("eval", net, "--load", P("p.ck"), "--predictions", P("p.csv"));
  assert_ok(r);
  int wrong = -1, total = -1;
  const char *at = strstr(r.out, "test_error ");
  ck_assert_ptr_nonnull(at);
  ck_assert_int_eq(sscanf(strchr(at, '(') + 1, "%d of %d", &wrong, &total), 2);
  ck_assert_int_eq(total, TEST_N);
  run_result_free(&r);
  /* the test images as PNGs, in a folder, named in their order */
  make_dir(P("pngs"));
  for (int i = 0; i < TEST_N; i++) write_png_of(P("pngs/%03d.png", i), &grey_test, i);
  r = dlc("predict", net, "--load", P("p.ck"), P("pngs"), "--top", "1", "--json");
  assert_ok(r);
  write_text(P("p.json"), r.out);
  run_result_free(&r);
  /* the JSON parses, its top classes miss as many test images as dlc eval says, and each
   * image's class and probability are those of dlc eval --predictions (to float rounding:
   * the batches are of other sizes) */
  char labels[TEST_N * 2 + 1];
  for (int i = 0; i < TEST_N; i++) labels[2 * i] = (char)('0' + grey_test.lab[i]), labels[2 * i + 1] = ' ';
  labels[2 * TEST_N] = 0;
  write_text(P("labels.txt"), labels);
  char *out = python("import json, sys\n"
                     "d = json.load(open(sys.argv[1] + '/p.json'))\n"
                     "y = [int(v) for v in open(sys.argv[1] + '/labels.txt').read().split()]\n"
                     "assert d['scores'] == 'softmax(out)' and d['probabilities'] and d['classes'] == ['L', 'M', 'R']\n"
                     "p = d['predictions']\n"
                     "assert [q['input'].split('/')[-1] for q in p] == ['%03d.png' % i for i in range(len(y))]\n"
                     "assert all(q['top'][0]['name'] == 'LMR'[q['top'][0]['class']] for q in p)\n"
                     "rows = open(sys.argv[1] + '/p.csv').read().split()\n"
                     "assert rows[0] == 'index,label,prediction,probability' and len(rows) == len(p) + 1\n"
                     "for q, row in zip(p, rows[1:]):\n"
                     "    i, label, pred, prob = row.split(',')\n"
                     "    assert q['top'][0]['class'] == int(pred), (q, row)\n"
                     "    assert abs(q['top'][0]['score'] - float(prob)) <= 1e-5, (q, row)\n"
                     "print(sum(q['top'][0]['class'] != t for q, t in zip(p, y)))\n",
                     root);
  ck_assert_int_eq(atoi(out), wrong);
  free(out);
  /* the .npy of the same images: the same answers, in the same words */
  r = dlc("predict", net, "--load", P("p.ck"), P("pngs"), "--top", "2");
  RunResult n = dlc("predict", net, "--load", P("p.ck"), P("tx.npy"), "--top", "2");
  assert_ok(r);
  assert_ok(n);
  assert_contains("stdout", r.out, "probabilities: the softmax of 'out'");
  const char *a = strchr(r.out, '\n') + 1, *b = strchr(n.out, '\n') + 1;
  for (int i = 0; i < TEST_N; i++) { /* "PATH: M 97.1%, L 2.0%" against "tx.npy[i]: M 97.1%, L 2.0%" */
    const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
    const char *ca = strstr(a, ": "), *cb = strstr(b, ": ");
    ck_assert_msg(ea - ca == eb - cb && memcmp(ca, cb, (size_t)(ea - ca)) == 0, "PNG and .npy differ:\n%.*s\n%.*s",
                  (int)(ea - a), a, (int)(eb - b), b);
    a = ea + 1, b = eb + 1;
  }
  run_result_free(&r);
  run_result_free(&n);
}
END_TEST

START_TEST(predict_refuses_what_does_not_fit) {
  const char *net = write_net("q.net", 1, "npy(x: \"x.npy\", y: \"y.npy\", test_x: \"tx.npy\", test_y: \"ty.npy\")", NULL);
  RunResult r = dlc("train", net, "--save", P("q.ck"), "--epochs", "1");
  assert_ok(r);
  run_result_free(&r);
  write_png_of(P("rgb.png"), &rgb_test, 0);
  write_png_of(P("ok.png"), &grey_test, 0);
  r = dlc("predict", net, "--load", P("q.ck"), P("ok.png"), P("rgb.png"));
  char *want = NULL;
  ck_assert_int_ge(asprintf(&want, "%s: error: is 8x8 RGB, but the model takes 8x8 grey ([1, 8, 8] per example)",
                            P("rgb.png")), 0);
  assert_fails(r, want);
  ck_assert_str_eq(r.out, ""); /* nothing printed: every input is read first */
  free(want);
  run_result_free(&r);
  r = dlc("predict", net, "--load", P("q.ck"), P("rgb_x.npy"));
  assert_fails(r, "rgb_x.npy: error: is 8x8 RGB, but the model takes 8x8 grey");
  run_result_free(&r);
  r = dlc("predict", net, "--load", P("q.ck"), P("labels-nowhere.png"));
  assert_fails(r, "labels-nowhere.png: error: file not found");
  run_result_free(&r);
  r = dlc("predict", net, "--load", P("q.ck"), P("y.npy")); /* labels, not images */
  assert_fails(r, "y.npy: error: ");
  run_result_free(&r);
  r = dlc("predict", net, "--load", P("q.ck"), P("data"));
  assert_fails(r, "holds no .png files to classify");
  run_result_free(&r);
  r = dlc("predict", net, "--load", P("q.ck"));
  assert_fails(r, "'predict' needs at least one INPUT");
  run_result_free(&r);
  /* names from the folders of an image set, top K beyond the classes: all of them */
  const char *png_net = write_net("qp.net", 1, "images(\"shapes\")", NULL);
  r = dlc("train", png_net, "--save", P("qp.ck"), "--epochs", "1");
  assert_ok(r);
  run_result_free(&r);
  r = dlc("predict", png_net, "--load", P("qp.ck"), P("ok.png"), "--top", "9");
  assert_ok(r);
  ck_assert_msg(strstr(r.out, "left ") && strstr(r.out, "middle ") && strstr(r.out, "right "), "%s", r.out);
  run_result_free(&r);
}
END_TEST

/* A model whose out is a sigmoid per class (trained with a sum of squares) says its numbers
 * are not probabilities. */
START_TEST(predict_says_what_the_numbers_are) {
  write_text(P("sig.net"), "input x : [64]\ntarget y : onehot(3)\nout = sigmoid(dense(x, 3))\nloss = sum((y - out)^2)\n"
                           "train { data = npy(x: \"x.npy\", y: \"y.npy\", test_x: \"tx.npy\", test_y: \"ty.npy\"); epochs = 1 }\n");
  RunResult r = dlc("train", P("sig.net"), "--save", P("sig.ck"));
  assert_ok(r);
  run_result_free(&r);
  write_png_of(P("one.png"), &grey_test, 1);
  r = dlc("predict", P("sig.net"), "--load", P("sig.ck"), P("tx.npy"), "--json");
  assert_ok(r);
  assert_contains("stdout", r.out, "\"scores\": \"out (sigmoid)\",\n  \"probabilities\": false,");
  run_result_free(&r);
  r = dlc("predict", P("sig.net"), "--load", P("sig.ck"), P("one.png"));
  assert_ok(r); /* (a vector input takes the data set's shape, 1 x 8 x 8, from its headers) */
  assert_contains("stdout", r.out, "scores: the values of 'out', a sigmoid per class (each 0..1; they do not sum to 1)");
  run_result_free(&r);
}
END_TEST

/* augment-preview of RGB images is an RGB PNG. */
START_TEST(preview_of_rgb_images) {
  const char *net = write_net("prev.net", 3, "images(\"colours\")", "  distort = affine(rotate: 10)\n");
  RunResult r = dlc("augment-preview", net, "--out", P("prev.png"));
  assert_ok(r);
  run_result_free(&r);
  DlrtImage img;
  char err[1024];
  ck_assert_msg(dlrt_png_read(P("prev.png"), &img, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(img.channels, 3);
  dlrt_image_free(&img);
}
END_TEST

static Suite *datasets_suite(void) {
  Suite *s = suite_create("datasets");
  TCase *tc = tcase_create("end to end");
  tcase_add_unchecked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, trains_from_idx_files);
  tcase_add_test(tc, trains_from_npy_files);
  tcase_add_test(tc, trains_from_cifar10_batches);
  tcase_add_test(tc, trains_from_png_folders);
  tcase_add_test(tc, holdout_refuses_a_set_ordered_by_class);
  tcase_add_test(tc, shape_mismatch_at_data);
  tcase_add_test(tc, distortions_need_images);
  tcase_add_test(tc, labels_beyond_the_target);
  tcase_add_test(tc, malformed_files_are_named);
  tcase_add_test(tc, npy_copy_of_mnist_trains_bit_for_bit);
  tcase_add_test(tc, predict_agrees_with_eval);
  tcase_add_test(tc, predict_refuses_what_does_not_fit);
  tcase_add_test(tc, predict_says_what_the_numbers_are);
  tcase_add_test(tc, preview_of_rgb_images);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(datasets_suite()); }
