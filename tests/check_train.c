/* check_train.c (slow) — learning on real MNIST: the examples, compiled and trained by the
 * same code as `dlc train`, must reach accuracy bounds on a subset, and the CLI must write
 * the --metrics JSON lines of the contract. Needs DLC_TEST_DATA/mnist (scripts/fetch-mnist.sh);
 * missing data is a failure, not a skip, so that CI cannot pass without learning. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include "helpers.h"
#include "trainer.h"

static DlrtDataset train_set, test_set;

static void load_mnist(void) {
  char err[1024];
  dlrt_set_threads(1); /* as dlc train does by default: these products are too small for more */
  ck_assert_msg(dlrt_mnist_load(DLC_TEST_DATA, "train", &train_set, err, sizeof err) == 0, "%s", err);
  ck_assert_msg(dlrt_mnist_load(DLC_TEST_DATA, "t10k", &test_set, err, sizeof err) == 0, "%s", err);
}

static void free_mnist(void) {
  dlrt_dataset_free(&train_set);
  dlrt_dataset_free(&test_set);
}

/* Trains an example for `epochs` passes over the first `images` training images and
 * returns its error on the whole test set. */
static double train_example(const char *name, int images, int epochs) {
  char path[512];
  snprintf(path, sizeof path, "%s/examples/%s", DLC_SOURCE_DIR, name);
  Model *m = model_load(path, NULL);
  ck_assert_ptr_nonnull(m);
  model_build_training(m);
  Trainer *t = trainer_new(m);
  ck_assert_ptr_nonnull(t);
  double loss = 0;
  for (int e = 0; e < epochs; e++) loss = trainer_epoch(t, &train_set, images, e, NULL, NULL);
  ck_assert(isfinite(loss));
  double err = trainer_error(t, &test_set, 0);
  printf("%s: %d x %d images: loss %.4f, test error %.2f%%\n", name, epochs, images, loss, 100 * err);
  fflush(stdout);
  trainer_free(t);
  model_free(m);
  return err;
}

START_TEST(mlp_learns_on_a_subset) {
  /* LeCun's sigmoid MLP, 3 passes over 30,000 images (full runs: examples/README.md). */
  double err = train_example("mlp.net", 30000, 3);
  ck_assert_msg(err < 0.07, "mlp.net: test error %.2f%%", 100 * err);
}
END_TEST

START_TEST(mlp_relu_learns_on_a_subset) {
  double err = train_example("mlp_relu.net", 30000, 3);
  ck_assert_msg(err < 0.045, "mlp_relu.net: test error %.2f%%", 100 * err);
}
END_TEST

START_TEST(lenet_learns_on_a_subset) {
  /* Faithful LeNet-5 (connection table, subsampling, scaled tanh), two passes over 20,000
   * images: every conv, table and pooling op, forward and backward, has to be right. */
  double err = train_example("lenet.net", 20000, 2);
  ck_assert_msg(err < 0.045, "lenet.net: test error %.2f%%", 100 * err);
}
END_TEST

START_TEST(lenet_relu_learns_on_a_subset) {
  double err = train_example("lenet_relu.net", 20000, 1);
  ck_assert_msg(err < 0.045, "lenet_relu.net: test error %.2f%%", 100 * err);
}
END_TEST

START_TEST(resnet_learns_on_a_subset) {
  /* The residual net (batch norm, identity and strided skips, global average pooling), one
   * pass over 20,000 images (5.4%; a whole epoch gives 1.6%, three 0.56%). */
  double err = train_example("resnet.net", 20000, 1);
  ck_assert_msg(err < 0.08, "resnet.net: test error %.2f%%", 100 * err);
}
END_TEST

/* Same seed, same numbers: two runs of the same training agree exactly. */
START_TEST(training_is_reproducible) {
  double a = train_example("mlp.net", 3000, 1), b = train_example("mlp.net", 3000, 1);
  ck_assert_double_eq(a, b);
}
END_TEST

/* `dlc train --metrics` writes one JSON object per epoch with the contract's fields. */
START_TEST(cli_writes_metrics) {
  char metrics[] = "/tmp/dlc-metrics-XXXXXX";
  int fd = mkstemp(metrics);
  ck_assert(fd >= 0);
  close(fd);
  char model[512];
  snprintf(model, sizeof model, "%s/examples/mlp.net", DLC_SOURCE_DIR);
  char *argv[] = {DLC_BINARY, "train", model, "--epochs", "2", "--data", DLC_TEST_DATA, "--metrics", metrics, NULL};
  RunResult r = run_program(NULL, argv, 300);
  ck_assert_msg(r.status == 0, "dlc train failed (%d): %s", r.status, r.err);
  ck_assert_ptr_nonnull(strstr(r.out, "epoch 2/2"));
  char *text = read_file(metrics);
  ck_assert_ptr_nonnull(text);
  int lines = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), lines++) {
    int epoch;
    double loss, err, seconds, rate;
    int got = sscanf(line, "{\"epoch\":%d,\"train_loss\":%lf,\"test_error\":%lf,\"seconds\":%lf,\"images_per_s\":%lf",
                     &epoch, &loss, &err, &seconds, &rate);
    ck_assert_msg(got == 5, "malformed metrics line: %s", line);
    ck_assert_int_eq(epoch, lines + 1);
    ck_assert(loss > 0 && loss < 1);
    ck_assert_msg(err > 0 && err < 0.09, "test_error %g is a fraction, and after an epoch below 0.09", err);
    ck_assert(seconds > 0 && rate > 1000);
    ck_assert_ptr_nonnull(strchr(line, '}'));
  }
  ck_assert_int_eq(lines, 2);
  free(text);
  unlink(metrics);
  run_result_free(&r);
}
END_TEST

/* Runs dlc with the given arguments (NULL-terminated), expecting success; returns stdout. */
static char *dlc_ok(char **args) {
  char *argv[24] = {DLC_BINARY};
  int n = 1;
  while (args[n - 1]) argv[n] = args[n - 1], n++;
  argv[n] = NULL;
  RunResult r = run_program(NULL, argv, 300);
  ck_assert_msg(r.status == 0, "dlc %s failed (%d): %s", args[0], r.status, r.err);
  free(r.err);
  return r.out;
}

/* The metric fields that must match between runs (not the timings). */
static void learning_fields(const char *line, char *out, size_t len) {
  const char *end = strstr(line, ",\"seconds\"");
  snprintf(out, len, "%.*s", end ? (int)(end - line) : (int)strlen(line), line);
}

static char *last_line(const char *path) {
  char *text = read_file(path);
  ck_assert_ptr_nonnull(text);
  char *last = text, *nl;
  while ((nl = strchr(last, '\n')) && nl[1]) last = nl + 1;
  char *copy = strdup(last);
  free(text);
  return copy;
}

/* Training 1 epoch, saving, and resuming for 2 more gives the metrics of 3 straight epochs (at
 * a constant rate: mlp.net's cosine schedule stretches with --epochs);
 * a run killed with SIGKILL at a random moment leaves a checkpoint that loads, and resuming
 * from it ends with the same metrics too. */
START_TEST(checkpoints_resume_exactly) {
  char dir[] = "/tmp/dlc-ckpt-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char model[512], straight[600], resumed[600], ck[600], killed[600];
  snprintf(model, sizeof model, "%s/examples/mlp.net", DLC_SOURCE_DIR);
  snprintf(straight, sizeof straight, "%s/straight.jsonl", dir);
  snprintf(resumed, sizeof resumed, "%s/resumed.jsonl", dir);
  snprintf(ck, sizeof ck, "%s/run.ck", dir);
  snprintf(killed, sizeof killed, "%s/killed.ck", dir);
  free(dlc_ok((char *[]){"train", model, "--epochs", "3", "--data", DLC_TEST_DATA, "--set", "schedule = constant", "--metrics", straight, NULL}));
  free(dlc_ok((char *[]){"train", model, "--epochs", "1", "--data", DLC_TEST_DATA, "--set", "schedule = constant", "--save", ck, NULL}));
  free(dlc_ok((char *[]){"train", model, "--epochs", "3", "--data", DLC_TEST_DATA, "--set", "schedule = constant", "--resume", ck, "--metrics",
                         resumed, NULL}));
  char a[256], b[256];
  char *la = last_line(straight), *lb = last_line(resumed);
  learning_fields(la, a, sizeof a);
  learning_fields(lb, b, sizeof b);
  ck_assert_str_eq(a, b);
  free(lb);

  /* Kill a run while it writes checkpoints, at a moment that varies from run to run. */
  pid_t pid = fork();
  ck_assert(pid >= 0);
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(DLC_BINARY, DLC_BINARY, "train", model, "--epochs", "3", "--data", DLC_TEST_DATA, "--set", "schedule = constant",
          "--save", killed, NULL);
    _exit(127);
  }
  for (int i = 0; i < 3000 && access(killed, F_OK) != 0; i++) usleep(2000); /* the first checkpoint */
  ck_assert_msg(access(killed, F_OK) == 0, "no checkpoint after 6 s");
  usleep((useconds_t)(1000 * (getpid() % 400)));
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  char *out = dlc_ok((char *[]){"eval", model, "--load", killed, "--data", DLC_TEST_DATA, NULL});
  ck_assert_ptr_nonnull(strstr(out, "test_error"));
  free(out);
  char again[600];
  snprintf(again, sizeof again, "%s/again.jsonl", dir);
  free(dlc_ok((char *[]){"train", model, "--epochs", "3", "--data", DLC_TEST_DATA, "--set", "schedule = constant", "--resume", killed, "--metrics",
                         again, NULL}));
  /* Killed after its last save, the run may have nothing left to do: then compare its file. */
  char *lc = read_file(again);
  if (lc && *lc) {
    free(lc);
    lc = last_line(again);
    learning_fields(lc, b, sizeof b);
    ck_assert_str_eq(a, b);
  }
  free(lc);
  free(la);
  remove_tree(dir);
}
END_TEST

/* Early stopping: trained on 1,000 images and validated on the other 59,000, the net
 * overfits within a few epochs; training stops `patience` epochs after the best validation
 * error, --save-best holds the parameters of that epoch, and a run resumed from the last
 * checkpoint stops at once, where the straight run did. */
START_TEST(early_stopping_keeps_the_best) {
  char dir[] = "/tmp/dlc-best-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char model[512], metrics[600], best[600], ck[600];
  snprintf(model, sizeof model, "%s/examples/mlp_relu.net", DLC_SOURCE_DIR);
  snprintf(metrics, sizeof metrics, "%s/m.jsonl", dir);
  snprintf(best, sizeof best, "%s/best.ck", dir);
  snprintf(ck, sizeof ck, "%s/run.ck", dir);
  char *out = dlc_ok((char *[]){"train", model, "--epochs", "60", "--validation", "59000", "--patience", "2",
                                "--save-best", best, "--save", ck, "--metrics", metrics, "--data", DLC_TEST_DATA, NULL});
  char *text = read_file(metrics);
  ck_assert_ptr_nonnull(text);
  int epochs = 0, best_epoch = 0;
  double best_val = 2, best_test = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    const char *v = strstr(line, "\"val_error\":"), *te = strstr(line, "\"test_error\":");
    ck_assert_msg(v && te, "no val_error or test_error in %s", line);
    double val = strtod(v + strlen("\"val_error\":"), NULL);
    epochs++;
    if (val < best_val) best_val = val, best_epoch = epochs, best_test = strtod(te + strlen("\"test_error\":"), NULL);
  }
  free(text);
  ck_assert_msg(epochs < 60 && epochs == best_epoch + 2, "%d epochs, the best was epoch %d", epochs, best_epoch);
  char want[128];
  snprintf(want, sizeof want, "early stop after epoch %d", epochs);
  ck_assert_msg(strstr(out, want), "no '%s' in:\n%s", want, out);
  free(out);
  out = dlc_ok((char *[]){"eval", model, "--load", best, "--data", DLC_TEST_DATA, NULL});
  snprintf(want, sizeof want, "test_error %.2f%%", 100 * best_test);
  ck_assert_msg(strstr(out, want), "the best checkpoint (epoch %d) should give %s: %s", best_epoch, want, out);
  free(out);
  out = dlc_ok((char *[]){"train", model, "--epochs", "60", "--validation", "59000", "--patience", "2", "--resume", ck,
                          "--data", DLC_TEST_DATA, NULL});
  snprintf(want, sizeof want, "early stop after epoch %d", epochs);
  ck_assert_msg(strstr(out, want) && !strstr(out, "/60  train_loss"), "the resumed run trained on:\n%s", out);
  free(out);
  remove_tree(dir);
}
END_TEST

/* From `dlc check FILE --scales` output: column `col` (1: mean, 2: std, 3: gradient std, of
 * a value; 1: std, 2: gradient std, of a parameter) of the row named `name`. */
static double scale_of(const char *out, const char *name, int col) {
  const char *at = strstr(out, "scales at initialisation");
  ck_assert_ptr_nonnull(at);
  char key[64];
  snprintf(key, sizeof key, "\n  %s ", name);
  const char *row = strstr(at, key);
  ck_assert_msg(row, "no row '%s' in:\n%s", name, at);
  row += strlen(key);
  double v[4] = {0};
  int line;
  ck_assert_int_ge(sscanf(row, "%d %lf %lf %lf", &line, &v[1], &v[2], &v[3]), col + 1);
  return v[col];
}

/* The lecture's point, measured: through 20 tanh layers, weights of N(0, 0.01²) shrink the
 * activations and the first layers' gradients to nothing, while LeCun's scale (tanh) and
 * He's (ReLU) keep both within a small factor from the first layer to the last. */
START_TEST(init_scales_decide_whether_gradients_vanish) {
  char model[512];
  snprintf(model, sizeof model, "%s/examples/mlp.net", DLC_SOURCE_DIR);
  char *out = dlc_ok((char *[]){"check", model, "--scales", "--data", DLC_TEST_DATA, NULL});
  double w1 = scale_of(out, "W1", 1); /* lecun: U(+-sqrt(3/784)), std 1/28 */
  ck_assert_msg(fabs(w1 * 28 - 1) < 0.02, "W1's std %g, expected 1/28", w1);
  free(out);
  static const struct { const char *file; double lo, hi; } cases[] = {
      {"deep_tanh_small.net", 0, 1e-12},
      {"deep_tanh.net", 0.1, 10},
      {"deep_relu.net", 0.1, 10},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    snprintf(model, sizeof model, "%s/examples/%s", DLC_SOURCE_DIR, cases[i].file);
    out = dlc_ok((char *[]){"check", model, "--scales", "--data", DLC_TEST_DATA, NULL});
    double act = scale_of(out, "h20", 2) / scale_of(out, "h1", 2);
    double grad = scale_of(out, "h1", 3) / scale_of(out, "h20", 3);
    ck_assert_msg(grad >= cases[i].lo && grad <= cases[i].hi, "%s: h1's gradient / h20's = %g", cases[i].file, grad);
    ck_assert_msg(act >= cases[i].lo && act <= cases[i].hi, "%s: h20's spread / h1's = %g", cases[i].file, act);
    free(out);
  }
}
END_TEST

/* Distortions are drawn per (seed, epoch, position), on a helper thread: two runs agree
 * exactly, a run resumed after its first epoch ends as the straight run does, and training
 * on distorted images still learns. (A constant learning rate: the file's cosine schedule
 * spans --epochs, which differs between the runs cut short and the straight one.) */
START_TEST(distorted_training_is_reproducible) {
  char dir[] = "/tmp/dlc-distort-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char model[512], a[600], b[600], c[600], ck[600];
  snprintf(model, sizeof model, "%s/examples/mlp_distort.net", DLC_SOURCE_DIR);
  snprintf(a, sizeof a, "%s/a.jsonl", dir);
  snprintf(b, sizeof b, "%s/b.jsonl", dir);
  snprintf(c, sizeof c, "%s/c.jsonl", dir);
  snprintf(ck, sizeof ck, "%s/run.ck", dir);
  free(dlc_ok((char *[]){"train", model, "--epochs", "2", "--data", DLC_TEST_DATA, "--set", "schedule = constant", "--metrics", a, NULL}));
  free(dlc_ok((char *[]){"train", model, "--epochs", "2", "--data", DLC_TEST_DATA, "--set", "schedule = constant", "--metrics", b, NULL}));
  free(dlc_ok((char *[]){"train", model, "--epochs", "1", "--data", DLC_TEST_DATA, "--set", "schedule = constant", "--save", ck, NULL}));
  free(dlc_ok((char *[]){"train", model, "--epochs", "2", "--data", DLC_TEST_DATA, "--set", "schedule = constant", "--resume", ck, "--metrics", c, NULL}));
  char fa[256], fb[256], fc[256];
  char *la = last_line(a), *lb = last_line(b), *lc = last_line(c);
  learning_fields(la, fa, sizeof fa);
  learning_fields(lb, fb, sizeof fb);
  learning_fields(lc, fc, sizeof fc);
  ck_assert_str_eq(fa, fb);
  ck_assert_str_eq(fa, fc);
  ck_assert_msg(strstr(la, "\"augment_seconds\":"), "no augment_seconds in %s", la);
  double err = strtod(strstr(la, "\"test_error\":") + strlen("\"test_error\":"), NULL);
  ck_assert_msg(err < 0.07, "mlp_distort.net: test error %.2f%% after 2 epochs", 100 * err);
  free(la);
  free(lb);
  free(lc);
  remove_tree(dir);
}
END_TEST

/* `dlc compile` writes an object and a header that a plain C program (examples/embed) links
 * with the runtime: for faithful LeNet-5, it classifies the test set exactly as `dlc eval`
 * does with the same checkpoint. */
START_TEST(compiled_object_classifies_like_eval) {
  char dir[] = "/tmp/dlc-embed-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char model[512], ck[600], obj[600], prog[600], src[600];
  snprintf(model, sizeof model, "%s/examples/lenet.net", DLC_SOURCE_DIR);
  snprintf(src, sizeof src, "%s/examples/embed/classify.c", DLC_SOURCE_DIR);
  snprintf(ck, sizeof ck, "%s/lenet.ck", dir);
  snprintf(obj, sizeof obj, "%s/model.o", dir);
  snprintf(prog, sizeof prog, "%s/classify", dir);
  free(dlc_ok((char *[]){"train", model, "--epochs", "1", "--data", DLC_TEST_DATA, "--save", ck, "--set",
                         "validation = 50000", NULL}));
  free(dlc_ok((char *[]){"compile", model, "-o", obj, NULL}));
  char include[640];
  snprintf(include, sizeof include, "-I%s", dir);
  char *cc[] = {"/usr/bin/cc", "-O1", "-Wall", "-Wextra", "-Werror", include, "-I" DLC_RUNTIME_INCLUDE, src, obj,
                DLC_RUNTIME_LIB, DLC_OPENBLAS_LIB, "-lz", "-lm", "-o", prog, DLC_EMBED_SANITIZE, NULL};
  if (!*DLC_EMBED_SANITIZE) cc[15] = NULL;
  RunResult r = run_program(NULL, cc, 120);
  ck_assert_msg(r.status == 0, "cc failed (%d): %s", r.status, r.err);
  run_result_free(&r);
  char *run[] = {prog, ck, DLC_TEST_DATA, NULL};
  r = run_program(NULL, run, 120);
  ck_assert_msg(r.status == 0, "classify failed (%d): %s", r.status, r.err);
  char *eval = dlc_ok((char *[]){"eval", model, "--load", ck, "--data", DLC_TEST_DATA, NULL});
  const char *want = strstr(eval, "test_error ");
  ck_assert_ptr_nonnull(want);
  ck_assert_msg(strncmp(r.out, want, strlen(r.out) - 1) == 0, "embedded: %s; dlc eval: %s", r.out, eval);
  free(eval);
  run_result_free(&r);
  remove_tree(dir);
}
END_TEST

/* A checkpoint of another model, a truncated one, and garbage: clear errors, status 1. */
START_TEST(bad_checkpoints_are_errors) {
  char dir[] = "/tmp/dlc-ckpt-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char mlp[512], relu[512], ck[600], cut[600];
  snprintf(mlp, sizeof mlp, "%s/examples/mlp.net", DLC_SOURCE_DIR);
  snprintf(relu, sizeof relu, "%s/examples/mlp_relu.net", DLC_SOURCE_DIR);
  snprintf(ck, sizeof ck, "%s/mlp.ck", dir);
  snprintf(cut, sizeof cut, "%s/cut.ck", dir);
  free(dlc_ok((char *[]){"train", mlp, "--epochs", "1", "--data", DLC_TEST_DATA, "--save", ck, NULL}));
  char *whole = read_file(ck);
  FILE *f = fopen(cut, "wb");
  fwrite(whole, 1, 4000, f); /* past the header (about 2 KB), short of the tensors */
  fclose(f);
  free(whole);
  struct { const char *model, *ckpt, *says; } cases[] = {
      {relu, ck, "is it another model's checkpoint?"},
      {mlp, cut, "not a valid checkpoint"},
      {mlp, mlp, "truncated or not a checkpoint"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *argv[] = {DLC_BINARY, "eval", (char *)cases[i].model, "--load", (char *)cases[i].ckpt, "--data", DLC_TEST_DATA, NULL};
    RunResult r = run_program(NULL, argv, 120);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, cases[i].says) && strstr(r.err, ": error: "), "case %zu: %s", i, r.err);
    run_result_free(&r);
  }
  remove_tree(dir);
}
END_TEST

static Suite *train_suite(void) {
  Suite *s = suite_create("train");
  TCase *tc = tcase_create("mnist");
  tcase_set_timeout(tc, 600);
  tcase_add_unchecked_fixture(tc, load_mnist, free_mnist);
  tcase_add_test(tc, mlp_learns_on_a_subset);
  tcase_add_test(tc, mlp_relu_learns_on_a_subset);
  tcase_add_test(tc, lenet_learns_on_a_subset);
  tcase_add_test(tc, lenet_relu_learns_on_a_subset);
  tcase_add_test(tc, resnet_learns_on_a_subset);
  tcase_add_test(tc, training_is_reproducible);
  tcase_add_test(tc, cli_writes_metrics);
  tcase_add_test(tc, checkpoints_resume_exactly);
  tcase_add_test(tc, bad_checkpoints_are_errors);
  tcase_add_test(tc, early_stopping_keeps_the_best);
  tcase_add_test(tc, init_scales_decide_whether_gradients_vanish);
  tcase_add_test(tc, distorted_training_is_reproducible);
  tcase_add_test(tc, compiled_object_classifies_like_eval);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(train_suite()); }
