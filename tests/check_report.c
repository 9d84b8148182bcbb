/* check_report.c — what dlc makes of an evaluation and a run, piece by piece: what a model's
 * outputs mean (train/scores.c); evaluate()'s scores, confusion matrix and worst mistakes
 * (train/evaluate.c) on a model with known outputs; the confusion table, predictions CSV, metrics JSON and the grid of mistakes
 * (report/eval_report.c) and its font; base64 and escaping; the metrics read back and every
 * kind of bad line; the SVG charts; the HTML page, self-contained, refreshing only while
 * live. check_report_cli.c runs the commands end to end. */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "chart.h"
#include "eval_report.h"
#include "evaluate.h"
#include "font.h"
#include "helpers.h"
#include "html.h"
#include "metrics_read.h"
#include "report.h"
#include "report_checks.h"

/* What diag reports while fn runs, captured. */
static char *diagnostics_of(bool (*fn)(void *), void *ctx, bool *result) {
  capture_begin();
  *result = fn(ctx);
  return capture_end();
}

/* ---- what the outputs mean; evaluate(): scores, confusion, the worst ---------------------- */

/* A model whose output is `out` of its input's first 10 pixels (W = [I 0]: W @ x), with loss
 * `loss`, and a data set of float images whose first pixels are given: row i of first[] for
 * image i. */
static Model *identity_model(const char *out, const char *loss) {
  char text[512];
  snprintf(text, sizeof text,
           "input x : [784]\ntarget y : onehot(10)\nparam W : [10, 784] = zeros\nout = %s\nloss = %s\n"
           "train { batch = 2 }\n", out, loss);
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

/* The kind of scores from out and the loss; a softmax out stays itself under cross_entropy. */
START_TEST(score_kinds_from_the_graph) {
  static const struct {
    const char *out, *loss;
    ScoreKind kind;
  } cases[] = {
      {"W @ x", "cross_entropy(out, y)", SCORES_LOGITS},
      {"W @ x", "-sum(y * log_softmax(out))", SCORES_LOGITS},
      {"log_softmax(W @ x)", "-sum(y * out)", SCORES_LOGITS},
      {"softmax(W @ x)", "-sum(y * log(out))", SCORES_SOFTMAX},
      {"softmax(W @ x)", "cross_entropy(out, y)", SCORES_SOFTMAX},
      {"sigmoid(W @ x)", "sum((y - out)^2)", SCORES_SIGMOID},
      {"W @ x", "sum((y - out)^2)", SCORES_RAW},
      {"tanh(W @ x)", "sum((y - out)^2)", SCORES_RAW},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    Model *m = identity_model(cases[i].out, cases[i].loss);
    ck_assert_msg(score_kind(m) == cases[i].kind, "out = %s, loss = %s: kind %d, not %d", cases[i].out,
                  cases[i].loss, (int)score_kind(m), (int)cases[i].kind);
    model_free(m);
  }
  ck_assert(score_is_probability(SCORES_LOGITS) && score_is_probability(SCORES_SOFTMAX));
  ck_assert(!score_is_probability(SCORES_SIGMOID) && !score_is_probability(SCORES_RAW));
  ck_assert_str_eq(score_word(SCORES_SOFTMAX), "probability");
  ck_assert_str_eq(score_word(SCORES_SIGMOID), "score");
}
END_TEST

/* Logits: the softmax; other outputs (here a linear one): their values as they are. */
START_TEST(scores_of_each_kind) {
  static const float first[3][10] = {{2, 1, 0, 0, 0, 0, 0, 0, 0, 0},
                                     {0.5f, -3, 0.25f, 0.25f, 0, 0, 0, 0, 0, 0},
                                     {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1}};
  static const int labels[3] = {0, 2, 5};
  DlrtDataset d = float_images(3, first, labels);
  for (int kind = 0; kind < 2; kind++) {
    Model *m = identity_model("W @ x", kind ? "sum((y - out)^2)" : "cross_entropy(out, y)");
    Trainer *t = identity_trainer(m);
    Evaluation e;
    ck_assert(evaluate(t, &d, 0, &e));
    ck_assert_int_eq(e.count, 3);
    ck_assert_int_eq(e.pred[0], 0);
    ck_assert_int_eq(e.pred[1], 0);
    ck_assert_int_eq(e.pred[2], 0); /* ties: the first, as the test error counts them */
    ck_assert_int_eq(e.wrong, 2);
    ck_assert_double_eq_tol(e.error, 2.0 / 3, 1e-12);
    ck_assert_int_eq(e.kind, kind ? SCORES_RAW : SCORES_LOGITS);
    if (!kind) {
      double z = exp(2) + exp(1) + 8;
      ck_assert_double_eq_tol(e.score[0], exp(2) / z, 1e-6);
      z = exp(0.5) + exp(-3) + 2 * exp(0.25) + 6;
      ck_assert_double_eq_tol(e.score[1], exp(0.5) / z, 1e-6);
      ck_assert_double_eq_tol(e.score_label[1], exp(0.25) / z, 1e-6);
      ck_assert_double_eq_tol(e.score[2], 0.1, 1e-6);
    } else { /* the outputs themselves: not normalised, negatives kept */
      ck_assert_double_eq(e.score[0], 2);
      ck_assert_double_eq(e.score[1], 0.5);
      ck_assert_double_eq(e.score_label[1], 0.25);
      ck_assert_double_eq(e.score[2], -1);
    }
    /* confusion: row the true class */
    ck_assert_int_eq(e.confusion[0 * 10 + 0], 1);
    ck_assert_int_eq(e.confusion[2 * 10 + 0], 1);
    ck_assert_int_eq(e.confusion[5 * 10 + 0], 1);
    /* the worst: the lowest score of the true class first */
    int idx[3];
    ck_assert_int_eq(evaluation_worst(&e, 3, idx), 2);
    ck_assert_int_eq(idx[0], 2); /* its true class had 0.1 (softmax) or -1, image 1's 0.125 or 0.25 */
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
  static float score[6] = {0.9f, 0.6f, 0.8f, 0.7f, 0.95f, 0.5f}, score_label[6] = {0.9f, 0.3f, 0.8f, 0.1f, 0.95f, 0.3f};
  static int64_t confusion[9] = {1, 1, 0, 1, 1, 0, 1, 0, 1};
  return (Evaluation){6, 3, SCORES_LOGITS, label, pred, score, score_label, confusion, 3, 0.5};
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
  ck_assert_str_eq(json_string_value(json_object_get(o, "scores")), "softmax(out)");
  ck_assert(json_is_true(json_object_get(o, "probabilities")));
  ck_assert_str_eq(json_string_value(json_array_get(json_object_get(o, "class_names"), 2)), "T-shirt/top");
  json_t *conf = json_object_get(o, "confusion");
  ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(conf, 2), 0)), 1);
  ck_assert_double_eq(json_real_value(json_array_get(json_object_get(o, "class_error"), 1)), 0.5);
  json_decref(o);
  /* sigmoid outputs: scores, said so in the column and the metrics */
  e.kind = SCORES_SIGMOID;
  ck_assert_msg(eval_write_predictions(&e, csv, err, sizeof err) == 0, "%s", err);
  text = read_file(csv);
  ck_assert_str_eq(text, "index,label,prediction,score\n0,0,0,0.9\n1,0,1,0.6\n2,1,1,0.8\n3,1,0,0.7\n"
                         "4,2,2,0.95\n5,2,0,0.5\n");
  free(text);
  ck_assert_msg(eval_write_metrics(&e, &d, "m.net", "m.ck", json, err, sizeof err) == 0, "%s", err);
  o = json_load_file(json, 0, &jerr);
  ck_assert_msg(o, "%s", jerr.text);
  ck_assert_str_eq(json_string_value(json_object_get(o, "scores")), "out (sigmoid)");
  ck_assert(json_is_false(json_object_get(o, "probabilities")));
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
  assert_contains("page", html, "misclassified (probabilities: the softmax of 'out' (its values are logits)).");
  assert_contains("page", html, "the lowest probability of the true class");
  assert_contains("page", html, "<span class=\"pred\">cat 0.70</span>"); /* image 3, the worst */
  free(html);
  e.kind = SCORES_SIGMOID; /* the same words as dlc predict's */
  html = report_html(&p);
  assert_contains("page", html, "(scores: the values of 'out', a sigmoid per class (each 0..1; they do not sum to 1)).");
  assert_contains("page", html, "the lowest score of the true class");
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

static Suite *suite(void) {
  Suite *s = suite_create("report");
  TCase *t = tcase_create("unit");
  tcase_add_test(t, score_kinds_from_the_graph);
  tcase_add_test(t, scores_of_each_kind);
  tcase_add_test(t, worst_mistakes_and_class_error);
  tcase_add_test(t, confusion_table_text);
  tcase_add_test(t, predictions_and_metrics_files);
  tcase_add_test(t, errors_grid_layout);
  tcase_add_test(t, font_draws_glyphs);
  tcase_add_test(t, base64_and_escaping);
  tcase_add_test(t, metrics_are_read_back);
  tcase_add_test(t, bad_metrics_name_the_line);
  tcase_add_test(t, chart_has_a_point_per_value);
  tcase_add_test(t, page_from_parts);
  suite_add_tcase(s, t);
  return s;
}

int main(void) { return run_suite(suite()); }
