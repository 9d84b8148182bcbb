/* check_report.c — what dlc tells about a run: the evaluation of every test image
 * (train/evaluate.c: probabilities, confusion, the worst mistakes), its outputs (dlc eval
 * --confusion, --metrics, --predictions, --errors), the metrics read back, the SVG charts and
 * the HTML report (dlc train --report, dlc report), and the live progress line of dlc train
 * under a pseudo-terminal. The case "browser" opens a report in headless Chromium (Debian's
 * chromium): the page must parse with every chart's polyline holding a point per epoch, and
 * its screenshot must show the charts drawn; without chromium that case is skipped (exit 77)
 * with a message, and CI installs it. Trains examples/mlp.net on MNIST (DLC_TEST_DATA) for
 * 2 epochs, once per case, in an unchecked fixture. */
#define _GNU_SOURCE
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <pty.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "chart.h"
#include "checkpoint.h"
#include "eval_report.h"
#include "evaluate.h"
#include "font.h"
#include "helpers.h"
#include "html.h"
#include "metrics_read.h"
#include "png.h"
#include "report.h"

#define MLP DLC_SOURCE_DIR "/examples/mlp.net"
enum { TIMEOUT = 300, EPOCHS = 2 };

static const char *const CHROMIUM = "/usr/bin/chromium";

/* ---- helpers ---------------------------------------------------------------------------- */

static RunResult dlc_args(const char *first, ...) {
  char *argv[32] = {(char *)DLC_BINARY, (char *)first};
  int n = 2;
  va_list ap;
  va_start(ap, first);
  for (const char *a; (a = va_arg(ap, const char *)) != NULL && n < 31;) argv[n++] = (char *)a;
  va_end(ap);
  argv[n] = NULL;
  return run_program(NULL, argv, TIMEOUT);
}
#define dlc(...) dlc_args(__VA_ARGS__, (const char *)NULL)

static void assert_ok(RunResult r, const char *what) {
  if (r.status != 0) ck_abort_msg("%s: status %d; stderr:\n%s", what, r.status, r.err);
}

static void assert_contains(const char *what, const char *text, const char *needle) {
  if (!strstr(text, needle)) ck_abort_msg("%s does not contain \"%s\"; it is:\n%.4000s", what, needle, text);
}

static int count_of(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* What diag reports while fn runs, captured. */
static char *diagnostics_of(bool (*fn)(void *), void *ctx, bool *result) {
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&buf, &len);
  diag_set_stream(mem);
  diag_reset();
  *result = fn(ctx);
  diag_set_stream(NULL);
  fclose(mem);
  return buf;
}

/* ---- the shared training run ------------------------------------------------------------ */

static char *work;              /* the run's directory */
static char *ckpt, *metrics, *page;
static int train_status;
static char *train_err, *train_out;

static void train_once(void) {
  work = make_temp_dir();
  ckpt = path_join(work, "mlp.ck");
  metrics = path_join(work, "mlp.jsonl");
  page = path_join(work, "run.html");
  char epochs[8];
  snprintf(epochs, sizeof epochs, "%d", EPOCHS);
  RunResult r = dlc("train", MLP, "--epochs", epochs, "--data", DLC_TEST_DATA, "--save", ckpt, "--metrics", metrics,
                    "--report", page);
  train_status = r.status;
  train_err = r.err;
  train_out = r.out;
}

static void train_cleanup(void) {
  remove_tree(work);
  free(work);
  free(ckpt);
  free(metrics);
  free(page);
  free(train_err);
  free(train_out);
}

static void assert_trained(void) {
  if (train_status != 0) ck_abort_msg("dlc train failed (%d):\n%s", train_status, train_err);
}

/* ---- evaluate(): probabilities, confusion, the worst -------------------------------------- */

/* A model whose output is its input's first 10 pixels (W = [I 0]), with loss `loss`, and a
 * data set of float images whose first pixels are given: row i of first[] for image i. */
static Model *identity_model(const char *loss) {
  char text[512];
  snprintf(text, sizeof text,
           "input x : [784]\ntarget y : onehot(10)\nparam W : [10, 784] = zeros\nout = W @ x\nloss = %s\n"
           "train { batch = 2 }\n", loss);
  char *diags = NULL;
  Model *m = load_model_text(text, &diags);
  ck_assert_msg(m, "%s", diags);
  free(diags);
  ck_assert(model_build_training(m));
  return m;
}

static Trainer *identity_trainer(Model *m) {
  Trainer *t = trainer_new(m);
  ck_assert_ptr_nonnull(t);
  const Node *w = NULL;
  for (int i = 0; i < m->n_forward; i++)
    if (m->g->nodes[i]->op == OP_PARAM) w = m->g->nodes[i];
  float *W = t->arena + model_state_offsets(m)[w->id];
  for (int c = 0; c < 10; c++) W[c * 784 + c] = 1;
  return t;
}

static DlrtDataset float_images(int n, const float first[][10], const int *labels) {
  DlrtDataset d;
  ck_assert_int_eq(dlrt_dataset_alloc(&d, DLRT_PIXELS_F32, n, 1, 28, 28, 10), 0);
  for (int i = 0; i < n; i++) {
    memcpy(d.pixels_f32 + (size_t)i * 784, first[i], sizeof first[i]);
    d.labels[i] = labels[i];
  }
  return d;
}

START_TEST(logits_are_found_in_the_graph) {
  Model *a = identity_model("cross_entropy(out, y)"), *b = identity_model("sum((y - out)^2)");
  ck_assert(model_output_is_logits(a));
  ck_assert(!model_output_is_logits(b));
  model_free(a);
  model_free(b);
}
END_TEST

/* Logits: the softmax; other outputs: their shares, negatives as 0, all 0 uniform. */
START_TEST(probabilities_of_each_kind) {
  static const float first[3][10] = {{2, 1, 0, 0, 0, 0, 0, 0, 0, 0},
                                     {0.5f, -3, 0.25f, 0.25f, 0, 0, 0, 0, 0, 0},
                                     {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1}};
  static const int labels[3] = {0, 2, 5};
  DlrtDataset d = float_images(3, first, labels);
  for (int kind = 0; kind < 2; kind++) {
    Model *m = identity_model(kind ? "sum((y - out)^2)" : "cross_entropy(out, y)");
    Trainer *t = identity_trainer(m);
    Evaluation e;
    ck_assert(evaluate(t, &d, 0, &e));
    ck_assert_int_eq(e.count, 3);
    ck_assert_int_eq(e.pred[0], 0);
    ck_assert_int_eq(e.pred[1], 0);
    ck_assert_int_eq(e.pred[2], 0); /* ties: the first, as the test error counts them */
    ck_assert_int_eq(e.wrong, 2);
    ck_assert_double_eq_tol(e.error, 2.0 / 3, 1e-12);
    if (!kind) {
      double z = exp(2) + exp(1) + 8;
      ck_assert_double_eq_tol(e.prob[0], exp(2) / z, 1e-6);
      z = exp(0.5) + exp(-3) + 2 * exp(0.25) + 6;
      ck_assert_double_eq_tol(e.prob[1], exp(0.5) / z, 1e-6);
      ck_assert_double_eq_tol(e.prob_label[1], exp(0.25) / z, 1e-6);
      ck_assert_double_eq_tol(e.prob[2], 0.1, 1e-6);
    } else {
      ck_assert_double_eq_tol(e.prob[0], 2.0 / 3, 1e-6);
      ck_assert_double_eq_tol(e.prob[1], 0.5, 1e-6); /* 0.5 of 0.5 + 0.25 + 0.25, the -3 as 0 */
      ck_assert_double_eq_tol(e.prob_label[1], 0.25, 1e-6);
      ck_assert_double_eq_tol(e.prob[2], 0.1, 1e-6); /* all negative: uniform */
    }
    /* confusion: row the true class */
    ck_assert_int_eq(e.confusion[0 * 10 + 0], 1);
    ck_assert_int_eq(e.confusion[2 * 10 + 0], 1);
    ck_assert_int_eq(e.confusion[5 * 10 + 0], 1);
    /* the worst: the lowest probability of the true class first */
    int idx[3];
    ck_assert_int_eq(evaluation_worst(&e, 3, idx), 2);
    ck_assert_int_eq(idx[0], 2); /* its true class had 0.1, image 1's 0.125 (softmax) or 0.25 */
    ck_assert_int_eq(idx[1], 1);
    evaluation_free(&e);
    trainer_free(t);
    model_free(m);
  }
  dlrt_dataset_free(&d);
}
END_TEST

/* A hand-made evaluation of 6 images of 3 classes. */
static Evaluation made_evaluation(void) {
  static int32_t label[6] = {0, 0, 1, 1, 2, 2}, pred[6] = {0, 1, 1, 0, 2, 0};
  static float prob[6] = {0.9f, 0.6f, 0.8f, 0.7f, 0.95f, 0.5f}, prob_label[6] = {0.9f, 0.3f, 0.8f, 0.1f, 0.95f, 0.3f};
  static int64_t confusion[9] = {1, 1, 0, 1, 1, 0, 1, 0, 1};
  return (Evaluation){6, 3, true, label, pred, prob, prob_label, confusion, 3, 0.5};
}

START_TEST(worst_mistakes_and_class_error) {
  Evaluation e = made_evaluation();
  int idx[6];
  ck_assert_int_eq(evaluation_worst(&e, 6, idx), 3);
  ck_assert_int_eq(idx[0], 3); /* 0.1 */
  ck_assert_int_eq(idx[1], 1); /* 0.3, then by index */
  ck_assert_int_eq(idx[2], 5);
  ck_assert_int_eq(evaluation_worst(&e, 1, idx), 1);
  int64_t images;
  ck_assert_double_eq(evaluation_class_error(&e, 0, &images), 0.5);
  ck_assert_int_eq(images, 2);
  e.confusion = (int64_t[9]){0};
  ck_assert(isnan(evaluation_class_error(&e, 1, &images)));
}
END_TEST

/* 6 grey 4x3 images, image k all k * 40 (so each is told apart), classes named. */
static DlrtDataset small_images(bool named) {
  DlrtDataset d;
  ck_assert_int_eq(dlrt_dataset_alloc(&d, DLRT_PIXELS_U8, 6, 1, 4, 3, 3), 0);
  for (int k = 0; k < 6; k++) memset(d.pixels + k * 12, k * 40, 12);
  if (named) {
    static const char *const names[3] = {"cat", "dog", "T-shirt/top"};
    d.mem.names = d.class_names = calloc(3, sizeof *d.class_names);
    d.mem.n_names = 3;
    for (int c = 0; c < 3; c++) d.class_names[c] = strdup(names[c]);
  }
  return d;
}

START_TEST(confusion_table_text) {
  Evaluation e = made_evaluation();
  for (int named = 0; named < 2; named++) {
    DlrtDataset d = small_images(named);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    eval_print_confusion(&e, &d, "test", f);
    fclose(f);
    assert_contains("table", text, "confusion matrix of 6 test images (rows: true class, columns: predicted class)");
    assert_contains("table", text, "images   error");
    assert_contains("table", text, named ? "\n  2 T-shirt/top   1   0   1        2  50.00%\n"
                                         : "\n  2      1   0   1        2  50.00%\n");
    assert_contains("table", text, "  all");
    assert_contains("table", text, "        6  50.00%\n");
    free(text);
    dlrt_dataset_free(&d);
  }
}
END_TEST

START_TEST(predictions_and_metrics_files) {
  Evaluation e = made_evaluation();
  DlrtDataset d = small_images(true);
  char *dir = make_temp_dir(), *csv = path_join(dir, "p.csv"), *json = path_join(dir, "m.json"), err[512];
  ck_assert_msg(eval_write_predictions(&e, csv, err, sizeof err) == 0, "%s", err);
  char *text = read_file(csv);
  ck_assert_str_eq(text, "index,label,prediction,probability\n0,0,0,0.9\n1,0,1,0.6\n2,1,1,0.8\n3,1,0,0.7\n"
                         "4,2,2,0.95\n5,2,0,0.5\n");
  free(text);
  ck_assert_msg(eval_write_metrics(&e, &d, "m.net", "m.ck", json, err, sizeof err) == 0, "%s", err);
  json_error_t jerr;
  json_t *o = json_load_file(json, 0, &jerr);
  ck_assert_msg(o, "%s", jerr.text);
  ck_assert_int_eq(json_integer_value(json_object_get(o, "images")), 6);
  ck_assert_int_eq(json_integer_value(json_object_get(o, "wrong")), 3);
  ck_assert_double_eq(json_real_value(json_object_get(o, "test_error")), 0.5);
  ck_assert_str_eq(json_string_value(json_object_get(o, "probability")), "softmax");
  ck_assert_str_eq(json_string_value(json_array_get(json_object_get(o, "class_names"), 2)), "T-shirt/top");
  json_t *conf = json_object_get(o, "confusion");
  ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(conf, 2), 0)), 1);
  ck_assert_double_eq(json_real_value(json_array_get(json_object_get(o, "class_error"), 1)), 0.5);
  json_decref(o);
  remove_tree(dir);
  free(dir), free(csv), free(json);
  dlrt_dataset_free(&d);
}
END_TEST

/* The grid puts the worst first, each image enlarged where its cell starts: the cells are as
 * wide as the widest label ("T-shirt/top", 65 pixels at the font's size) and 10 apart, under
 * two lines of heading. */
START_TEST(errors_grid_layout) {
  Evaluation e = made_evaluation();
  DlrtDataset d = small_images(true);
  RgbImage g = errors_grid(&e, &d);
  int scale = 4, cell_w = font_width("T-shirt/top", 1), y = 8 + 2 * (FONT_H + 4);
  ck_assert_int_eq(cell_w, 65);
  ck_assert_int_ge(g.w, 2 * 8 + 3 * cell_w + 2 * 10); /* (or the heading's width) */
  static const int worst[3] = {3, 1, 5};
  for (int i = 0; i < 3; i++) {
    int x = 8 + i * (cell_w + 10);
    for (int dy = 0; dy < 4 * scale; dy++)
      for (int dx = 0; dx < 3 * scale; dx++) { /* image worst[i], every pixel worst[i] * 40 */
        const unsigned char *p = g.pixels + 3 * ((size_t)(y + dy) * (size_t)g.w + (size_t)(x + dx));
        ck_assert_msg(p[0] == worst[i] * 40 && p[1] == p[0] && p[2] == p[0], "cell %d at (%d, %d) holds %d, not image %d",
                      i, dx, dy, p[0], worst[i]);
      }
    const unsigned char *beside = g.pixels + 3 * ((size_t)y * (size_t)g.w + (size_t)(x + 3 * scale));
    ck_assert_int_eq(beside[0], 255); /* the image ends there */
  }
  /* green and red labels are drawn */
  int green = 0, red = 0;
  for (size_t i = 0; i < (size_t)g.w * g.h; i++) {
    const unsigned char *p = g.pixels + 3 * i;
    green += p[0] == 0 && p[1] == 128 && p[2] == 0;
    red += p[0] == 200 && p[1] == 0 && p[2] == 0;
  }
  ck_assert_int_gt(green, 50);
  ck_assert_int_gt(red, 50);
  free(g.pixels);
  dlrt_dataset_free(&d);
}
END_TEST

/* ---- the font, base64, escaping ---- */

START_TEST(font_draws_glyphs) {
  unsigned char img[3 * 20 * 10];
  memset(img, 0, sizeof img);
  static const unsigned char white[3] = {255, 255, 255};
  ck_assert_int_eq(font_draw(img, 20, 10, 0, 0, "1a", 1, white), 11);
  ck_assert_int_eq(font_width("1a", 2), 22);
  /* '1': 00100 01100 00100 ... 01110 */
  static const char *const one[7] = {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."};
  for (int y = 0; y < 7; y++)
    for (int x = 0; x < 5; x++)
      ck_assert_msg((img[3 * (y * 20 + x)] == 255) == (one[y][x] == '#'), "'1' at (%d, %d)", x, y);
  /* lower case is drawn in capitals: 'a' as 'A' (01110 10001 ...) */
  ck_assert_int_eq(img[3 * (0 * 20 + 6)], 0);
  ck_assert_int_eq(img[3 * (0 * 20 + 7)], 255);
  ck_assert_int_eq(img[3 * (1 * 20 + 6)], 255);
  /* clipped, not written outside */
  font_draw(img, 20, 10, 18, 8, "W", 3, white);
}
END_TEST

START_TEST(base64_and_escaping) {
  static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; i++) { /* RFC 4648's vectors */
    Text t = {0};
    text_puts(&t, "");
    text_base64(&t, (const unsigned char *)plain[i], strlen(plain[i]));
    ck_assert_str_eq(t.s, coded[i]);
    text_free(&t);
  }
  Text t = {0};
  text_escaped(&t, "<a href=\"x\">&'</a>");
  ck_assert_str_eq(t.s, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
  text_free(&t);
}
END_TEST

/* ---- the metrics read back ---- */

typedef struct ParseCase {
  const char *text;
  RunMetrics r;
} ParseCase;

static bool parse_case(void *ctx) {
  ParseCase *c = ctx;
  return metrics_parse("run.jsonl", c->text, strlen(c->text), &c->r);
}

START_TEST(metrics_are_read_back) {
  ParseCase c = {"{\"epoch\":3,\"train_loss\":0.5,\"test_error\":0.1,\"seconds\":2,\"images_per_s\":30000}\n"
                 "{\"epoch\":4,\"train_loss\":0.25,\"test_error\":0.05,\"seconds\":2,\"images_per_s\":31000,"
                 "\"val_error\":0.06,\"lr\":0.01,\"eval_seconds\":0.1,\"future_field\":[1]}\n",
                 {0}};
  bool ok;
  char *diags = diagnostics_of(parse_case, &c, &ok);
  ck_assert_msg(ok, "%s", diags);
  ck_assert_int_eq(c.r.n, 2);
  ck_assert_int_eq(c.r.epochs[0].epoch, 3);
  ck_assert(isnan(c.r.epochs[0].lr) && isnan(c.r.epochs[0].val_error));
  ck_assert_double_eq(c.r.epochs[1].lr, 0.01);
  ck_assert_double_eq(c.r.epochs[1].val_error, 0.06);
  ck_assert_double_eq(c.r.epochs[1].images_per_s, 31000);
  run_metrics_free(&c.r);
  free(diags);
}
END_TEST

/* Every kind of bad metrics is an error at its line (and column where JSON says). */
START_TEST(bad_metrics_name_the_line) {
  static const char good[] = "{\"epoch\":1,\"train_loss\":0.5,\"test_error\":0.1,\"seconds\":2,\"images_per_s\":3}\n";
  static const struct { const char *rest, *want; } cases[] = {
      {"", "run.jsonl: error: is empty: no epoch to report"},
      {"{\"epoch\":2,\"train_loss\":0.5,\"test_error\":0.1 \"seconds\":2}\n",
       "run.jsonl:2:46: error: '}' expected near '\"seconds\"'"}, /* the caret under the token */
      {"\n", "run.jsonl:2:1: error: an empty line"},
      {"[1, 2]\n", "run.jsonl:2:1: error: not a JSON object"},
      {"{\"train_loss\":0.5}\n", "run.jsonl:2:1: error: no \"epoch\""},
      {"{\"epoch\":3,\"train_loss\":0.5,\"test_error\":0.1,\"seconds\":2,\"images_per_s\":3}\n",
       "run.jsonl:2:1: error: epoch 3 follows epoch 1"},
      {"{\"epoch\":2,\"train_loss\":0.5,\"seconds\":2,\"images_per_s\":3}\n",
       "run.jsonl:2:1: error: no \"test_error\": every epoch's line has it"},
      {"{\"epoch\":2,\"train_loss\":0.5,\"test_error\":7,\"seconds\":2,\"images_per_s\":3}\n",
       "run.jsonl:2:1: error: \"test_error\" is 7, outside 0..1"},
      {"{\"epoch\":2,\"train_loss\":\"low\",\"test_error\":0.1,\"seconds\":2,\"images_per_s\":3}\n",
       "run.jsonl:2:1: error: \"train_loss\" is not a number"},
      {"{\"epoch\":2,\"epoch\":2}\n", "run.jsonl:2:"},
      {"{\"epoch\":2,\"train_loss\":0.5,\"test_error\":0.1,\"seconds\":2,\"images_per_s\":3}", NULL}, /* no final newline: fine */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char text[512];
    snprintf(text, sizeof text, "%s%s", i == 0 ? "" : good, cases[i].rest);
    ParseCase c = {text, {0}};
    bool ok;
    char *diags = diagnostics_of(parse_case, &c, &ok);
    if (!cases[i].want) ck_assert_msg(ok && c.r.n == 2, "case %zu: %s", i, diags);
    else {
      ck_assert_msg(!ok, "case %zu parsed: %s", i, text);
      assert_contains("the diagnostics", diags, cases[i].want);
    }
    run_metrics_free(&c.r);
    free(diags);
  }
  /* a NUL byte: not text */
  ParseCase c = {"{\"epoch\":1}\n\0x", {0}};
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&buf, &len);
  diag_set_stream(mem);
  bool ok = metrics_parse("run.jsonl", c.text, 14, &c.r);
  diag_set_stream(NULL);
  fclose(mem);
  ck_assert(!ok);
  assert_contains("the diagnostics", buf, "run.jsonl: error: line 2 holds a NUL byte");
  free(buf);
}
END_TEST

/* ---- charts and the page ---- */

/* The points of the polyline whose data-series is `series` in html (-1: none). */
static int polyline_points(const char *html, const char *series) {
  char key[96];
  snprintf(key, sizeof key, "data-series=\"%s\"", series);
  const char *p = strstr(html, key);
  if (!p) return -1;
  const char *start = strstr(p, "points=\"");
  ck_assert_ptr_nonnull(start);
  start += strlen("points=\"");
  int n = 0;
  for (const char *q = start; *q && *q != '"'; q++)
    if ((q == start || q[-1] == ' ') && *q != ' ') n++;
  return n;
}

START_TEST(chart_has_a_point_per_value) {
  double x[5] = {1, 2, 3, 4, 5}, a[5] = {0.5, 0.4, NAN, 0.2, 0.1}, none[5] = {NAN, NAN, NAN, NAN, NAN};
  Chart c = {"c", "Loss <per> epoch", "loss", false, 5, x, {{"a", "#123456", a}, {"b", "#654321", none}}, 2};
  Text t = {0};
  chart_svg(&t, &c);
  ck_assert_int_eq(polyline_points(t.s, "a"), 4);
  ck_assert_int_eq(polyline_points(t.s, "b"), -1); /* no values: no line */
  ck_assert_int_eq(count_of(t.s, "<circle"), 4);
  assert_contains("svg", t.s, "Loss &lt;per&gt; epoch");
  assert_contains("svg", t.s, ">0.5</text>"); /* a round tick */
  text_free(&t);
  /* a chart of nothing says so */
  Chart empty = {"e", "Empty", "x", false, 0, x, {{"a", "#000", a}}, 1};
  chart_svg(&t, &empty);
  assert_contains("svg", t.s, "no values yet");
  ck_assert_int_eq(polyline_points(t.s, "a"), -1);
  text_free(&t);
}
END_TEST

/* Self-contained: nothing loaded from anywhere, no script; refreshing only while live. */
static void assert_self_contained(const char *html) {
  ck_assert_msg(!strstr(html, "<script"), "the page has a script");
  ck_assert_msg(!strstr(html, "http://") && !strstr(html, "https://"), "the page names a URL");
  ck_assert_msg(!strstr(html, "<link"), "the page links a resource");
  for (const char *p = strstr(html, "src=\""); p; p = strstr(p + 1, "src=\""))
    ck_assert_msg(strncmp(p + 5, "data:", 5) == 0, "a src that is not a data: URI: %.60s", p);
  ck_assert_msg(!strstr(html, "url("), "the style loads something");
}

START_TEST(page_from_parts) {
  RunMetrics r = {0};
  for (int e = 1; e <= 3; e++) {
    EpochMetrics m = {e, 1.0 / e, 0.1 / e, 1, 1000 * e, e == 2 ? 0.05 : NAN, 0.1, 0.5};
    run_metrics_add(&r, &m);
  }
  Evaluation e = made_evaluation();
  DlrtDataset d = small_images(true);
  ReportPage p = {.title = "net <1>", .status = "Training", .live = true, .epochs_planned = 10, .metrics = &r,
                  .summary = "  W : [10, 784]", .profile = "profile <table>", .eval = &e, .eval_set = &d,
                  .eval_what = "The test set"};
  char *html = report_html(&p);
  assert_self_contained(html);
  assert_contains("page", html, "<meta http-equiv=\"refresh\" content=\"5\">");
  assert_contains("page", html, "<h1>net &lt;1&gt;</h1>");
  ck_assert_int_eq(polyline_points(html, "training loss"), 3);
  ck_assert_int_eq(polyline_points(html, "test error"), 3);
  ck_assert_int_eq(polyline_points(html, "validation error"), 1);
  ck_assert_int_eq(polyline_points(html, "learning rate"), 3);
  ck_assert_int_eq(polyline_points(html, "images/s"), 3);
  assert_contains("page", html, "3 of 10");
  assert_contains("page", html, "<pre>  W : [10, 784]</pre>");
  assert_contains("page", html, "<pre>profile &lt;table&gt;</pre>");
  assert_contains("page", html, "<th>T-shirt/top</th>");
  ck_assert_int_eq(count_of(html, "src=\"data:image/png;base64,"), 3); /* the 3 mistakes */
  free(html);
  p.live = false;
  p.eval = NULL;
  p.profile = NULL;
  html = report_html(&p);
  ck_assert_ptr_null(strstr(html, "http-equiv"));
  ck_assert_ptr_null(strstr(html, "Confusion"));
  ck_assert_ptr_null(strstr(html, "Profile"));
  free(html);
  run_metrics_free(&r);
  dlrt_dataset_free(&d);
}
END_TEST

/* ---- the command line: dlc train --report, dlc eval's outputs, dlc report --------------- */

START_TEST(train_writes_lr_and_the_report) {
  assert_trained();
  char *text = read_file(metrics);
  ck_assert_int_eq(count_of(text, "\"lr\":1}"), EPOCHS); /* mlp.net: SGD at lr 1, constant */
  free(text);
  char *html = read_file(page);
  ck_assert_ptr_nonnull(html);
  assert_self_contained(html);
  ck_assert_msg(!strstr(html, "http-equiv"), "the finished run's page still refreshes");
  assert_contains("page", html, "Finished: 2 of 2 epochs.");
  for (int s = 0; s < 4; s++) {
    static const char *const series[4] = {"training loss", "test error", "learning rate", "images/s"};
    ck_assert_int_eq(polyline_points(html, series[s]), EPOCHS);
  }
  ck_assert_int_eq(polyline_points(html, "validation error"), -1);
  assert_contains("page", html, "<h2>Confusion matrix</h2>");
  assert_contains("page", html, "The test set after epoch 2: 10000 images");
  ck_assert_int_eq(count_of(html, "src=\"data:image/png;base64,"), ERRORS_SHOWN);
  assert_contains("page", html, "<h2>Model</h2><pre>  input  x            [784]");
  free(html);
}
END_TEST

/* The page while training runs refreshes, and a run that fails says so and stops refreshing. */
START_TEST(failed_run_page_stops_refreshing) {
  char *dir = make_temp_dir(), *html_path = path_join(dir, "r.html");
  /* a loss of 1e39 (infinity in float) times anything: not finite in the first epoch */
  char *net = write_temp_file("inf.net", "input x : [784]\ntarget y : onehot(10)\nout = dense(x, 10)\n"
                                         "loss = cross_entropy(out, y) * 1e39\n");
  RunResult r = dlc("train", net, "--epochs", "2", "--data", DLC_TEST_DATA, "--report", html_path);
  remove_temp_file(net);
  ck_assert_int_eq(r.status, 1);
  assert_contains("stderr", r.err, "training diverged");
  char *html = read_file(html_path);
  ck_assert_ptr_nonnull(html);
  assert_contains("page", html, "Stopped by an error after epoch 0 of 2");
  ck_assert_ptr_null(strstr(html, "http-equiv"));
  free(html);
  run_result_free(&r);
  remove_tree(dir);
  free(dir), free(html_path);
}
END_TEST

START_TEST(eval_outputs) {
  assert_trained();
  char *csv = path_join(work, "p.csv"), *json = path_join(work, "e.json"), *png = path_join(work, "e.png");
  RunResult r = dlc("eval", MLP, "--load", ckpt, "--data", DLC_TEST_DATA, "--confusion", "--metrics", json,
                    "--predictions", csv, "--errors", png);
  assert_ok(r, "dlc eval");
  int wrong = -1;
  const char *line = strstr(r.out, "test_error ");
  ck_assert_ptr_nonnull(line);
  ck_assert_int_eq(sscanf(strchr(line, '(') + 1, "%d of 10000", &wrong), 1);
  assert_contains("stdout", r.out, "confusion matrix of 10000 test images (rows: true class, columns: predicted class)");
  /* the predictions: every test image in order, its label MNIST's, its mistakes as counted */
  DlrtDataset test;
  char err[512];
  ck_assert_msg(dlrt_mnist_load(DLC_TEST_DATA, "t10k", &test, err, sizeof err) == 0, "%s", err);
  char *text = read_file(csv);
  ck_assert(strncmp(text, "index,label,prediction,probability\n", 35) == 0);
  int rows = 0, mistakes = 0;
  int64_t confusion[100] = {0};
  for (char *p = strchr(text, '\n') + 1; *p; p = strchr(p, '\n') + 1, rows++) {
    int index, label, pred;
    double prob;
    ck_assert_int_eq(sscanf(p, "%d,%d,%d,%lf", &index, &label, &pred, &prob), 4);
    ck_assert_int_eq(index, rows);
    ck_assert_int_eq(label, test.labels[rows]);
    ck_assert_msg(prob >= 0.1 - 1e-6 && prob <= 1, "the predicted class's probability %g", prob);
    mistakes += label != pred;
    confusion[label * 10 + pred]++;
  }
  ck_assert_int_eq(rows, 10000);
  ck_assert_int_eq(mistakes, wrong);
  free(text);
  /* the metrics: the same confusion matrix, and each class's error from it */
  json_error_t jerr;
  json_t *o = json_load_file(json, 0, &jerr);
  ck_assert_msg(o, "%s", jerr.text);
  ck_assert_int_eq(json_integer_value(json_object_get(o, "wrong")), wrong);
  ck_assert_str_eq(json_string_value(json_object_get(o, "probability")), "share"); /* sigmoid outputs */
  ck_assert_ptr_null(json_object_get(o, "class_names")); /* MNIST's are the digits */
  for (int c = 0; c < 10; c++) {
    int64_t all = 0;
    for (int k = 0; k < 10; k++) {
      int64_t v = json_integer_value(json_array_get(json_array_get(json_object_get(o, "confusion"), c), k));
      ck_assert_int_eq(v, confusion[c * 10 + k]);
      all += v;
    }
    double want = (double)(all - confusion[c * 11]) / (double)all;
    ck_assert_double_eq_tol(json_real_value(json_array_get(json_object_get(o, "class_error"), c)), want, 1e-6);
    /* and the printed table's row */
    char row[128];
    snprintf(row, sizeof row, "\n  %d    ", c);
    const char *at = strstr(r.out, row);
    ck_assert_ptr_nonnull(at);
    long long first;
    ck_assert_int_eq(sscanf(at + strlen(row), "%lld", &first), 1);
    ck_assert_int_eq(first, confusion[c * 10]);
  }
  json_decref(o);
  /* the grid: 8 across, 5 down, RGB */
  DlrtImage img;
  ck_assert_msg(dlrt_png_read(png, &img, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(img.channels, 3);
  ck_assert_int_eq(img.width, 2 * 8 + 8 * 84 + 7 * 10);
  ck_assert_int_eq(img.height, 2 * 8 + 2 * (FONT_H + 4) + 5 * (84 + 2 * (2 * FONT_H + 3) + 2 + 10));
  dlrt_image_free(&img);
  dlrt_dataset_free(&test);
  run_result_free(&r);
  free(csv), free(json), free(png);
}
END_TEST

/* Every output is checked before any work: none over an input, none twice, none in a
 * missing directory; nothing is written. */
START_TEST(eval_outputs_checked_first) {
  assert_trained();
  char *csv = path_join(work, "never.csv");
  static const struct { const char *flag, *value, *want; } cases[] = {
      {"--metrics", MLP, "is the .net file"},
      {"--errors", "/nonexistent/dir/e.png", "/nonexistent/dir/e.png"},
      {"--metrics", NULL, "--predictions"}, /* the same file as --predictions */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    RunResult r = dlc("eval", MLP, "--load", ckpt, "--data", DLC_TEST_DATA, cases[i].flag,
                      cases[i].value ? cases[i].value : csv, "--predictions", csv);
    ck_assert_msg(r.status == 1, "case %zu: status %d", i, r.status);
    assert_contains("stderr", r.err, cases[i].want);
    ck_assert_msg(!strstr(r.out, "test_error"), "case %zu evaluated before failing: %s", i, r.out);
    run_result_free(&r);
  }
  ck_assert(!exists(csv));
  free(csv);
}
END_TEST

START_TEST(report_command) {
  assert_trained();
  char *out = path_join(work, "after.html");
  /* the model from the checkpoint's own source */
  RunResult r = dlc("report", metrics, "--load", ckpt, "--data", DLC_TEST_DATA, "-o", out);
  assert_ok(r, "dlc report --load");
  char *html = read_file(out);
  assert_self_contained(html);
  assert_contains("page", html, "<h1>" MLP "</h1>");
  assert_contains("page", html, "epochs 1 to 2.");
  ck_assert_int_eq(polyline_points(html, "test error"), EPOCHS);
  assert_contains("page", html, "<h2>Confusion matrix</h2>");
  ck_assert_int_eq(count_of(html, "src=\"data:image/png;base64,"), ERRORS_SHOWN);
  assert_contains("page", html, "<h2>Model</h2>");
  /* the same evaluation as the training run's last page (the same parameters) */
  char *trained = read_file(page);
  const char *a = strstr(html, "<table class=\"confusion\">"), *b = strstr(trained, "<table class=\"confusion\">");
  ck_assert(a && b);
  ck_assert_int_eq(strncmp(a, b, (size_t)(strstr(a, "</table>") - a)), 0);
  free(trained);
  free(html);
  run_result_free(&r);
  /* metrics alone: charts only */
  r = dlc("report", metrics, "-o", out);
  assert_ok(r, "dlc report");
  html = read_file(out);
  ck_assert_ptr_null(strstr(html, "Confusion"));
  ck_assert_ptr_null(strstr(html, "<h2>Model</h2>"));
  ck_assert_int_eq(polyline_points(html, "training loss"), EPOCHS);
  free(html);
  run_result_free(&r);
  /* --net: the summary without a checkpoint */
  r = dlc("report", metrics, "--net", MLP, "-o", out);
  assert_ok(r, "dlc report --net");
  html = read_file(out);
  assert_contains("page", html, "<h2>Model</h2>");
  free(html);
  run_result_free(&r);
  free(out);
}
END_TEST

START_TEST(report_command_errors) {
  assert_trained();
  char *out = path_join(work, "bad.html"), *empty = path_join(work, "empty.jsonl"), *bad = path_join(work, "bad.jsonl");
  char *bare = path_join(work, "bare.ck");
  FILE *f = fopen(empty, "w");
  fclose(f);
  f = fopen(bad, "w");
  fputs("{\"epoch\":1,\"train_loss\":0.5,\"test_error\":0.1,\"seconds\":2,\"images_per_s\":3}\nnot json\n", f);
  fclose(f);
  /* a safetensors file without dlc's metadata: no source to take the model from */
  float v = 1;
  CkptTensor tensor = {"W1", 1, {1}, &v};
  char err[512];
  ck_assert_msg(dlrt_ckpt_save(bare, &tensor, 1, NULL, 0, err, sizeof err) == 0, "%s", err);
  char missing[600];
  snprintf(missing, sizeof missing, "%s/none.jsonl", work);
  static char want_bad[700], want_empty[700], want_missing[700], want_bare[700];
  snprintf(want_bad, sizeof want_bad, "%s:2:1: error: '[' or '{' expected near 'not'", bad);
  snprintf(want_empty, sizeof want_empty, "%s: error: is empty", empty);
  snprintf(want_missing, sizeof want_missing, "%s: error: cannot read the metrics", missing);
  snprintf(want_bare, sizeof want_bare, "%s: error: holds no .net source", bare);
  struct { const char *metrics, *load, *want; } cases[] = {
      {bad, NULL, want_bad},
      {empty, NULL, want_empty},
      {missing, NULL, want_missing},
      {metrics, bare, want_bare},
      {metrics, NULL, NULL}, /* -o over the metrics */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const char *o = cases[i].want ? out : metrics;
    RunResult r = cases[i].load ? dlc("report", cases[i].metrics, "--load", cases[i].load, "-o", o)
                                : dlc("report", cases[i].metrics, "-o", o);
    ck_assert_msg(r.status == 1, "case %zu: status %d: %s", i, r.status, r.err);
    assert_contains("stderr", r.err, cases[i].want ? cases[i].want : "is the metrics file, an input of this command");
    run_result_free(&r);
  }
  ck_assert(!exists(out));
  RunResult r = dlc("report", metrics);
  ck_assert_int_eq(r.status, 1);
  assert_contains("stderr", r.err, "'report' needs -o FILE.html");
  run_result_free(&r);
  free(out), free(empty), free(bad), free(bare);
}
END_TEST

/* ---- the progress line ---- */

/* Runs dlc with argv under a pseudo-terminal `columns` wide; everything it wrote to it. */
static char *run_in_terminal(char *const argv[], int columns, int *status) {
  struct winsize ws = {.ws_row = 40, .ws_col = (unsigned short)columns};
  int master;
  pid_t pid = forkpty(&master, NULL, NULL, &ws);
  ck_assert(pid >= 0);
  if (pid == 0) {
    execv(argv[0], argv);
    _exit(127);
  }
  char *out = calloc(1, 1);
  size_t len = 0;
  time_t deadline = time(NULL) + TIMEOUT;
  for (;;) {
    struct pollfd p = {master, POLLIN, 0};
    if (time(NULL) > deadline) {
      kill(pid, SIGKILL);
      break;
    }
    if (poll(&p, 1, 1000) <= 0) continue;
    char buf[4096];
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break; /* EIO: the child closed the terminal */
    out = realloc(out, len + (size_t)n + 1);
    memcpy(out + len, buf, (size_t)n);
    len += (size_t)n;
    out[len] = 0;
  }
  close(master);
  waitpid(pid, status, 0);
  return out;
}

START_TEST(progress_line_on_a_terminal) {
  char *argv[] = {DLC_BINARY, "train", MLP, "--epochs", "2", "--data", DLC_TEST_DATA, NULL};
  int status;
  char *out = run_in_terminal(argv, 150, &status);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "dlc train under a terminal failed:\n%s", out);
  assert_contains("terminal", out, "\repoch 1/2 [");
  assert_contains("terminal", out, "  loss ");
  assert_contains("terminal", out, " img/s  left: epoch ");
  assert_contains("terminal", out, ", run ");
  assert_contains("terminal", out, "\033[K");
  /* the last line of an epoch (all its images) shows its mean loss: the summary's train_loss */
  for (int e = 1; e <= 2; e++) {
    char head[64], summary[64];
    snprintf(head, sizeof head, "\repoch %d/2 [", e);
    snprintf(summary, sizeof summary, "epoch %d/2  train_loss ", e);
    const char *end = strstr(out, summary), *last = NULL;
    ck_assert_ptr_nonnull(end);
    for (const char *p = strstr(out, head); p && p < end; p = strstr(p + 1, head)) last = p;
    ck_assert_ptr_nonnull(last);
    assert_contains("the epoch's last progress line", last, "60000/60000  loss ");
    double running, mean;
    ck_assert_int_eq(sscanf(strstr(last, "60000/60000  loss ") + 18, "%lf", &running), 1);
    ck_assert_int_eq(sscanf(end + strlen(summary), "%lf", &mean), 1);
    ck_assert_double_eq_tol(running, mean, 1e-4);
  }
  /* narrow: no bar, nothing wraps */
  free(out);
  out = run_in_terminal(argv, 80, &status);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ck_assert_ptr_null(strstr(out, "\repoch 1/2 ["));
  for (const char *p = strstr(out, "\repoch 1/2 "); p; p = strstr(p + 1, "\repoch 1/2 "))
    ck_assert_msg(strcspn(p + 1, "\r\033") <= 80, "a progress line wider than the terminal: %.120s", p + 1);
  free(out);
}
END_TEST

/* Off a terminal the progress stays the plain lines per quarter, nothing else. */
START_TEST(progress_off_a_terminal_unchanged) {
  assert_trained();
  int quarters = 0;
  for (char *line = train_err; *line;) {
    size_t n = strcspn(line, "\n");
    char text[512];
    snprintf(text, sizeof text, "%.*s", (int)n, line);
    int e, es, done, total, rate;
    char tail;
    if (strncmp(text, "dlc: ", 5) != 0) {
      ck_assert_msg(sscanf(text, "epoch %d/%d: %d/%d images, %d img/s%c", &e, &es, &done, &total, &rate, &tail) == 5,
                    "an unexpected line on stderr: \"%s\"", text);
      quarters++;
    }
    ck_assert_msg(!strpbrk(text, "\r\033"), "control characters off a terminal: \"%s\"", text);
    line += n + (line[n] == '\n');
  }
  ck_assert_int_eq(quarters, 3 * EPOCHS);
}
END_TEST

/* ---- the browser ---- */

/* The report of the training run opened in headless Chromium: the DOM it built has every
 * chart's polyline with a point per epoch, and its screenshot (1200x1600) shows the charts'
 * colours drawn. */
START_TEST(report_in_chromium) {
  assert_trained();
  char *profile = path_join(work, "chromium-profile"), *shot = path_join(work, "shot.png"), url[700], shot_arg[700],
       user_dir[700];
  snprintf(url, sizeof url, "file://%s", page);
  snprintf(shot_arg, sizeof shot_arg, "--screenshot=%s", shot);
  snprintf(user_dir, sizeof user_dir, "--user-data-dir=%s", profile);
  char *common[] = {(char *)CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync", user_dir};
  enum { N_COMMON = sizeof common / sizeof *common };
  char *argv[N_COMMON + 4];
  memcpy(argv, common, sizeof common);
  argv[N_COMMON] = "--dump-dom", argv[N_COMMON + 1] = url, argv[N_COMMON + 2] = NULL;
  RunResult r = run_program(NULL, argv, 120);
  assert_ok(r, "chromium --dump-dom");
  assert_contains("the DOM", r.out, "<svg id=\"chart-loss\"");
  static const char *const series[4] = {"training loss", "test error", "learning rate", "images/s"};
  for (int s = 0; s < 4; s++) ck_assert_int_eq(polyline_points(r.out, series[s]), EPOCHS);
  ck_assert_int_eq(count_of(r.out, "<img "), ERRORS_SHOWN);
  run_result_free(&r);
  argv[N_COMMON] = shot_arg, argv[N_COMMON + 1] = "--window-size=1200,1600", argv[N_COMMON + 2] = url;
  argv[N_COMMON + 3] = NULL;
  r = run_program(NULL, argv, 120);
  assert_ok(r, "chromium --screenshot");
  DlrtImage img;
  char err[512];
  ck_assert_msg(dlrt_png_read(shot, &img, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(img.width, 1200);
  ck_assert_int_eq(img.height, 1600);
  /* the series' colours, as drawn (lines and dots): not a blank page */
  static const unsigned char colours[4][3] = {{0x1f, 0x77, 0xb4}, {0xd6, 0x27, 0x28}, {0x94, 0x67, 0xbd}, {0xff, 0x7f, 0x0e}};
  for (int c = 0; c < 4; c++) {
    int n = 0;
    for (size_t i = 0; i < (size_t)img.width * img.height; i++) {
      const unsigned char *p = img.pixels + (size_t)img.channels * i;
      n += abs(p[0] - colours[c][0]) < 8 && abs(p[1] - colours[c][1]) < 8 && abs(p[2] - colours[c][2]) < 8;
    }
    ck_assert_msg(n > 30, "the screenshot shows %d pixels of %s's colour", n, series[c]);
  }
  dlrt_image_free(&img);
  run_result_free(&r);
  free(profile), free(shot);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("report");
  TCase *unit = tcase_create("unit");
  tcase_add_test(unit, logits_are_found_in_the_graph);
  tcase_add_test(unit, probabilities_of_each_kind);
  tcase_add_test(unit, worst_mistakes_and_class_error);
  tcase_add_test(unit, confusion_table_text);
  tcase_add_test(unit, predictions_and_metrics_files);
  tcase_add_test(unit, errors_grid_layout);
  tcase_add_test(unit, font_draws_glyphs);
  tcase_add_test(unit, base64_and_escaping);
  tcase_add_test(unit, metrics_are_read_back);
  tcase_add_test(unit, bad_metrics_name_the_line);
  tcase_add_test(unit, chart_has_a_point_per_value);
  tcase_add_test(unit, page_from_parts);
  suite_add_tcase(s, unit);
  TCase *cli = tcase_create("cli");
  tcase_add_unchecked_fixture(cli, train_once, train_cleanup);
  tcase_set_timeout(cli, TIMEOUT);
  tcase_add_test(cli, train_writes_lr_and_the_report);
  tcase_add_test(cli, failed_run_page_stops_refreshing);
  tcase_add_test(cli, eval_outputs);
  tcase_add_test(cli, eval_outputs_checked_first);
  tcase_add_test(cli, report_command);
  tcase_add_test(cli, report_command_errors);
  tcase_add_test(cli, progress_line_on_a_terminal);
  tcase_add_test(cli, progress_off_a_terminal_unchanged);
  suite_add_tcase(s, cli);
  TCase *browser = tcase_create("browser");
  tcase_add_unchecked_fixture(browser, train_once, train_cleanup);
  tcase_set_timeout(browser, TIMEOUT);
  tcase_add_test(browser, report_in_chromium);
  suite_add_tcase(s, browser);
  return s;
}

int main(void) {
  const char *only = getenv("CK_RUN_CASE");
  if (only && strcmp(only, "browser") == 0 && access(CHROMIUM, X_OK) != 0) {
    printf("check_report: SKIPPED: %s is not installed (apt-get install chromium; scripts/install-deps.sh "
           "installs it), so the report is not opened in a browser\n", CHROMIUM);
    return 77; /* CTest's SKIP_RETURN_CODE */
  }
  return run_suite(suite());
}
