/* check_train.c (slow) — learning on real MNIST: the examples, compiled and trained by the
 * same code as `dlc train`, must reach accuracy bounds on a subset, and the CLI must write
 * the --metrics JSON lines of the contract. Needs DLC_TEST_DATA/mnist (scripts/fetch-mnist.sh);
 * missing data is a failure, not a skip, so that CI cannot pass without learning. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static Suite *train_suite(void) {
  Suite *s = suite_create("train");
  TCase *tc = tcase_create("mnist");
  tcase_set_timeout(tc, 600);
  tcase_add_unchecked_fixture(tc, load_mnist, free_mnist);
  tcase_add_test(tc, mlp_learns_on_a_subset);
  tcase_add_test(tc, mlp_relu_learns_on_a_subset);
  tcase_add_test(tc, lenet_learns_on_a_subset);
  tcase_add_test(tc, lenet_relu_learns_on_a_subset);
  tcase_add_test(tc, training_is_reproducible);
  tcase_add_test(tc, cli_writes_metrics);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(train_suite()); }
