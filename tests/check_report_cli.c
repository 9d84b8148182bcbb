/* check_report_cli.c — the report and the evaluation's outputs end to end, through dlc: dlc
 * train --report and "lr" in --metrics; a failed run's page; dlc eval --confusion, --metrics,
 * --predictions and --errors against MNIST's labels and each other, and checked before any
 * work; dlc report (the model from the checkpoint's source or --net) and its errors; the live
 * progress line of dlc train under a pseudo-terminal, and the plain one off it. The case
 * "browser" opens a report in headless Chromium (Debian's chromium): the page must parse with
 * every chart's polyline holding a point per epoch, and its screenshot must show the charts
 * drawn; without chromium ($DLC_CHROMIUM, else /usr/bin/chromium) that case is skipped
 * (exit 77) with a message, and CI installs it.
 * Trains examples/mlp.net on MNIST (DLC_TEST_DATA) for 2 epochs, once per case, in an
 * unchecked fixture. */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "checkpoint.h"
#include "eval_report.h"
#include "font.h"
#include "data_files.h"
#include "helpers.h"
#include "png.h"
#include "report_checks.h"

#define MLP DLC_SOURCE_DIR "/examples/mlp.net"
enum { TIMEOUT = 300, EPOCHS = 2 }; /* (dlc runs: helpers.h's 300 s) */

/* Debian's chromium, or the browser $DLC_CHROMIUM names */
static const char *chromium(void) {
  const char *path = getenv("DLC_CHROMIUM");
  return path && *path ? path : "/usr/bin/chromium";
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
                    "--report", page, "--set", "schedule = constant");
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

/* ---- the command line: dlc train --report, dlc eval's outputs, dlc report --------------- */

START_TEST(train_writes_lr_and_the_report) {
  assert_trained();
  char *text = read_file(metrics);
  ck_assert_int_eq(count_of(text, "\"lr\":1}"), EPOCHS); /* mlp.net: SGD at lr 1, made constant */
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
  /* exp of large values: infinite at the second step of the first epoch */
  char *net = write_temp_file("inf.net", DIVERGING_NET);
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
  assert_ok(r);
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
  /* (mlp.net's out is a sigmoid per class: its values are scores, not probabilities) */
  ck_assert(strncmp(text, "index,label,prediction,score\n", 29) == 0);
  int rows = 0, mistakes = 0;
  int64_t confusion[100] = {0};
  for (char *p = strchr(text, '\n') + 1; *p; p = strchr(p, '\n') + 1, rows++) {
    int index, label, pred;
    double prob;
    ck_assert_int_eq(sscanf(p, "%d,%d,%d,%lf", &index, &label, &pred, &prob), 4);
    ck_assert_int_eq(index, rows);
    ck_assert_int_eq(label, test.labels[rows]);
    ck_assert_msg(prob > 0 && prob < 1, "the predicted class's score %g", prob);
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
  ck_assert_str_eq(json_string_value(json_object_get(o, "scores")), "out (sigmoid)");
  ck_assert(json_is_false(json_object_get(o, "probabilities")));
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
  ck_assert(!file_exists(csv));
  free(csv);
}
END_TEST

/* One image, one number: the worst mistake on the training run's page, the same image's row
 * of dlc eval --predictions and dlc predict on a PNG of it give the same class and score (to
 * the page's two decimals; eval and predict to float rounding, their batches being of other
 * sizes), and the page and predict say what the number is in the same words. */
START_TEST(eval_report_and_predict_agree) {
  assert_trained();
  char *html = read_file(page), *csv = path_join(work, "same.csv"), *png = path_join(work, "same.png");
  const char *fig = strstr(html, "<figcaption>#");
  ck_assert_ptr_nonnull(fig);
  int index = -1, pred_on_page = -1;
  double on_page = -1;
  ck_assert_int_eq(sscanf(fig, "<figcaption>#%d<br>", &index), 1);
  const char *span = strstr(fig, "<span class=\"pred\">");
  ck_assert_ptr_nonnull(span);
  ck_assert_int_eq(sscanf(span + strlen("<span class=\"pred\">"), "%d %lf", &pred_on_page, &on_page), 2);
  assert_contains("page", html, "(scores: the values of 'out', a sigmoid per class (each 0..1; they do not sum to 1))");
  /* dlc eval's row of that image */
  RunResult r = dlc("eval", MLP, "--load", ckpt, "--data", DLC_TEST_DATA, "--predictions", csv);
  assert_ok(r);
  run_result_free(&r);
  char *text = read_file(csv), row[32];
  snprintf(row, sizeof row, "\n%d,", index);
  const char *at = strstr(text, row);
  ck_assert_ptr_nonnull(at);
  int label = -1, pred_in_csv = -1;
  double in_csv = -1;
  ck_assert_int_eq(sscanf(at + strlen(row), "%d,%d,%lf", &label, &pred_in_csv, &in_csv), 3);
  free(text);
  /* dlc predict on the image as a PNG */
  DlrtDataset test;
  char err[512];
  ck_assert_msg(dlrt_mnist_load(DLC_TEST_DATA, "t10k", &test, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(label, test.labels[index]);
  ck_assert_msg(dlrt_png_write(png, test.pixels + (size_t)index * 784, 28, 28, 1, err, sizeof err) == 0, "%s", err);
  dlrt_dataset_free(&test);
  r = dlc("predict", MLP, "--load", ckpt, png, "--top", "1", "--json");
  assert_ok(r);
  assert_contains("stdout", r.out, "\"scores\": \"out (sigmoid)\",\n  \"probabilities\": false,");
  const char *top = strstr(r.out, "\"top\": [{\"class\": ");
  ck_assert_ptr_nonnull(top);
  int pred_by_predict = -1;
  double by_predict = -1;
  ck_assert_int_eq(sscanf(top + strlen("\"top\": [{\"class\": "), "%d", &pred_by_predict), 1);
  const char *score = strstr(top, "\"score\": ");
  ck_assert_ptr_nonnull(score);
  ck_assert_int_eq(sscanf(score + strlen("\"score\": "), "%lf", &by_predict), 1);
  run_result_free(&r);
  r = dlc("predict", MLP, "--load", ckpt, png, "--top", "1");
  assert_ok(r);
  assert_contains("stdout", r.out, ": scores: the values of 'out', a sigmoid per class (each 0..1; they do not sum to 1)\n");
  run_result_free(&r);
  ck_assert_int_ne(pred_in_csv, label);
  ck_assert_int_eq(pred_on_page, pred_in_csv);
  ck_assert_int_eq(pred_by_predict, pred_in_csv);
  ck_assert_msg(fabs(by_predict - in_csv) <= 1e-5, "image %d: dlc predict says %.6g, dlc eval %.6g", index, by_predict,
                in_csv);
  ck_assert_msg(fabs(on_page - in_csv) <= 0.005 + 1e-5, "image %d: the page says %.2f, dlc eval %.6g", index, on_page,
                in_csv);
  free(html), free(csv), free(png);
}
END_TEST

START_TEST(report_command) {
  assert_trained();
  char *out = path_join(work, "after.html");
  /* the model from the checkpoint's own source */
  RunResult r = dlc("report", metrics, "--load", ckpt, "--data", DLC_TEST_DATA, "-o", out);
  assert_ok(r);
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
  assert_ok(r);
  html = read_file(out);
  ck_assert_ptr_null(strstr(html, "Confusion"));
  ck_assert_ptr_null(strstr(html, "<h2>Model</h2>"));
  ck_assert_int_eq(polyline_points(html, "training loss"), EPOCHS);
  free(html);
  run_result_free(&r);
  /* --net: the summary without a checkpoint */
  r = dlc("report", metrics, "--net", MLP, "-o", out);
  assert_ok(r);
  html = read_file(out);
  assert_contains("page", html, "<h2>Model</h2>");
  free(html);
  run_result_free(&r);
  free(out);
}
END_TEST

/* A model taken from a checkpoint's saved source reads its relative data paths from its .net
 * file's directory as the checkpoint names it: from elsewhere they are not found, and dlc says
 * why and what to do; from where training ran the page is made. */
START_TEST(report_from_saved_source_elsewhere) {
  char *run = make_temp_dir(), *elsewhere = make_temp_dir();
  unsigned char px[6 * 4];
  int64_t labels[6];
  for (int i = 0; i < 6; i++) {
    labels[i] = i % 2;
    for (int k = 0; k < 4; k++) px[4 * i + k] = (unsigned char)(labels[i] ? 200 : 20);
  }
  char *x = path_join(run, "x.npy"), *y = path_join(run, "y.npy");
  write_npy(x, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (6, 2, 2), }", 1, px, sizeof px);
  write_npy(y, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (6,), }", 1, labels, sizeof labels);
  char *net = path_join(run, "tiny.net");
  write_text(net, "input x : [1, 2, 2]\ntarget y : onehot(2)\nout = dense(flatten(x), 2)\nloss = cross_entropy(out, y)\n"
                  "train { data = npy(x: \"x.npy\", y: \"y.npy\", test_x: \"x.npy\", test_y: \"y.npy\"); "
                  "batch = 2; epochs = 1 }\n");
  RunResult r = dlc_in(run, "train", "tiny.net", "--save", "tiny.ck", "--metrics", "tiny.jsonl");
  assert_ok(r);
  run_result_free(&r);
  char *ck = path_join(run, "tiny.ck"), *m = path_join(run, "tiny.jsonl");
  r = dlc_in(elsewhere, "report", m, "--load", ck, "-o", "page.html");
  ck_assert_int_eq(r.status, 1);
  assert_contains("stderr", r.err, "x.npy");
  assert_contains("stderr", r.err, "note: the model is the source");
  assert_contains("stderr", r.err, "--net FILE.net");
  run_result_free(&r);
  r = dlc_in(elsewhere, "report", m, "--load", ck, "--net", net, "-o", "page.html");
  assert_ok(r);
  run_result_free(&r);
  r = dlc_in(run, "report", "tiny.jsonl", "--load", "tiny.ck", "-o", "page.html");
  assert_ok(r);
  run_result_free(&r);
  remove_tree(run);
  remove_tree(elsewhere);
  free(x), free(y), free(net), free(ck), free(m), free(run), free(elsewhere);
}
END_TEST

START_TEST(report_command_errors) {
  assert_trained();
  char *out = path_join(work, "bad.html"), *empty = path_join(work, "empty.jsonl"), *bad = path_join(work, "bad.jsonl");
  char *bare = path_join(work, "bare.ck");
  FILE *f = fopen(empty, "w");
  fclose(f);
  write_text(bad, "{\"epoch\":1,\"train_loss\":0.5,\"test_error\":0.1,\"seconds\":2,\"images_per_s\":3}\nnot json\n");
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
  ck_assert(!file_exists(out));
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
  char *common[] = {(char *)chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync", user_dir};
  enum { N_COMMON = sizeof common / sizeof *common };
  char *argv[N_COMMON + 4];
  memcpy(argv, common, sizeof common);
  argv[N_COMMON] = "--dump-dom", argv[N_COMMON + 1] = url, argv[N_COMMON + 2] = NULL;
  RunResult r = run_program(NULL, argv, 120);
  assert_ok(r);
  assert_contains("the DOM", r.out, "<svg id=\"chart-loss\"");
  static const char *const series[4] = {"training loss", "test error", "learning rate", "images/s"};
  for (int s = 0; s < 4; s++) ck_assert_int_eq(polyline_points(r.out, series[s]), EPOCHS);
  ck_assert_int_eq(count_of(r.out, "<img "), ERRORS_SHOWN);
  run_result_free(&r);
  argv[N_COMMON] = shot_arg, argv[N_COMMON + 1] = "--window-size=1200,1600", argv[N_COMMON + 2] = url;
  argv[N_COMMON + 3] = NULL;
  r = run_program(NULL, argv, 120);
  assert_ok(r);
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
  Suite *s = suite_create("report_cli");
  TCase *cli = tcase_create("cli");
  tcase_add_unchecked_fixture(cli, train_once, train_cleanup);
  tcase_set_timeout(cli, TIMEOUT);
  tcase_add_test(cli, train_writes_lr_and_the_report);
  tcase_add_test(cli, failed_run_page_stops_refreshing);
  tcase_add_test(cli, eval_outputs);
  tcase_add_test(cli, eval_outputs_checked_first);
  tcase_add_test(cli, eval_report_and_predict_agree);
  tcase_add_test(cli, report_command);
  tcase_add_test(cli, report_command_errors);
  tcase_add_test(cli, report_from_saved_source_elsewhere);
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
  if (only && strcmp(only, "browser") == 0 && access(chromium(), X_OK) != 0) {
    printf("check_report_cli: SKIPPED: %s is not installed (apt-get install chromium; scripts/install-deps.sh "
           "installs it), so the report is not opened in a browser\n", chromium());
    return 77; /* CTest's SKIP_RETURN_CODE */
  }
  return run_suite(suite());
}
