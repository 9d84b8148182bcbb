/* check_reproduce.c — what docs/cli.md ("Reproducibility") promises is bit for bit the same,
 * each promise tested on short runs of the examples through `dlc train` on a slice of real
 * MNIST (DLC_TEST_DATA): the same seed, thread count and machine give the same checkpoint
 * tensors, even with two runs at once, with distortions made on a helper thread and with
 * undistorted batches made ahead on it or by the stepping thread; a step too small to split
 * gives the same bits on any thread count; a run
 * resumed from a checkpoint ends with the tensors of the run that never stopped (with the
 * parameters' moving averages too, which eval uses and which change no step); and a
 * constant travels in checkpoints unchanged, a checkpoint of an edited table loading with a
 * warning. Comparing whole tensors byte for byte, with a control that does differ (another
 * seed), so that a comparison that saw nothing cannot pass. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "checkpoint.h"
#include "helpers.h"

/* Training on the first 2,000 images: the other 58,000 are the validation split. */
#define SLICE "validation = 58000"

static char *dir; /* one per test, removed at its end */
static bool one_core; /* start_train's child runs on one core only (its first) */

static void make_run_dir(void) { dir = make_temp_dir(); }
static void remove_run_dir(void) {
  remove_tree(dir);
  free(dir);
}

static const char *example(const char *name) {
  static char path[600];
  snprintf(path, sizeof path, "%s/examples/%s", DLC_SOURCE_DIR, name);
  return path;
}

/* Starts `dlc train NET --data ... --set SLICE --save DIR/CK ARGS...` (NULL-terminated) as a
 * child with its output discarded; returns its pid. */
static pid_t start_train(const char *net, const char *ck, ...) {
  char *argv[32] = {DLC_BINARY, "train", (char *)net, "--data", DLC_TEST_DATA, "--set", SLICE, "--save", path_join(dir, ck)};
  int n = 9;
  va_list ap;
  va_start(ap, ck);
  for (char *a; (a = va_arg(ap, char *)) && n < 31;) argv[n++] = a;
  va_end(ap);
  argv[n] = NULL;
  fflush(NULL);
  pid_t pid = fork();
  ck_assert(pid >= 0);
  if (pid == 0) {
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(127);
    cpu_set_t cores, first;
    CPU_ZERO(&first);
    for (int c = 0; one_core && sched_getaffinity(0, sizeof cores, &cores) == 0 && c < CPU_SETSIZE; c++)
      if (CPU_ISSET(c, &cores)) {
        CPU_SET(c, &first);
        if (sched_setaffinity(0, sizeof first, &first) != 0) _exit(126);
        break;
      }
    execv(argv[0], argv);
    _exit(127);
  }
  free(argv[8]);
  return pid;
}

static void finished(pid_t pid, const char *what) {
  int status;
  ck_assert(waitpid(pid, &status, 0) == pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: dlc train failed (status %d)", what, status);
}

#define TRAIN(net, ck, ...) finished(start_train(net, ck, __VA_ARGS__, (char *)NULL), ck)

static Ckpt load(const char *ck) {
  char *path = path_join(dir, ck), err[1024];
  Ckpt c;
  ck_assert_msg(dlrt_ckpt_load(path, &c, err, sizeof err) == 0, "%s", err);
  free(path);
  return c;
}

/* Whether two checkpoints (in dir) hold the same tensors (names, shapes, every byte) and the
 * same training position; names the first difference in why. */
static bool same_run(const char *a_ck, const char *b_ck, char *why, size_t len) {
  char *a_path = path_join(dir, a_ck), *b_path = path_join(dir, b_ck);
  bool same = same_tensors(a_path, b_path, why, len);
  free(a_path), free(b_path);
  Ckpt a = load(a_ck), b = load(b_ck);
  static const char *const position[] = {"epochs_done", "step", "rng"};
  for (size_t k = 0; same && k < sizeof position / sizeof *position; k++) {
    const char *u = dlrt_ckpt_meta(&a, position[k]), *v = dlrt_ckpt_meta(&b, position[k]);
    same = u && v && strcmp(u, v) == 0;
    if (!same) snprintf(why, len, "'%s' differs: %s, %s", position[k], u ? u : "-", v ? v : "-");
  }
  dlrt_ckpt_free(&a);
  dlrt_ckpt_free(&b);
  return same;
}

static void assert_same(const char *a, const char *b) {
  char why[256];
  ck_assert_msg(same_run(a, b, why, sizeof why), "%s and %s: %s", a, b, why);
}

/* Same seed, same machine, same threads: the same bits, with two runs at once (they share
 * nothing), with distortions drawn on the prefetch thread, and with SGD's momentum; another
 * seed gives other bits (so the comparison sees something). */
START_TEST(same_seed_same_bits) {
  pid_t a = start_train(example("mlp_distort.net"), "a.ck", "--epochs", "1", (char *)NULL);
  pid_t b = start_train(example("mlp_distort.net"), "b.ck", "--epochs", "1", (char *)NULL);
  finished(a, "a.ck");
  finished(b, "b.ck");
  assert_same("a.ck", "b.ck");
  TRAIN(example("mlp_distort.net"), "seed2.ck", "--epochs", "1", "--seed", "2");
  char why[256];
  ck_assert_msg(!same_run("a.ck", "seed2.ck", why, sizeof why), "seeds 1 and 2 gave the same tensors");
  TRAIN(example("mlp_relu.net"), "m1.ck", "--epochs", "1");
  TRAIN(example("mlp_relu.net"), "m2.ck", "--epochs", "1");
  assert_same("m1.ck", "m2.ck");
}
END_TEST

/* Undistorted batches are made ahead on the helper thread when a core is free for it, else
 * on the stepping thread between steps (train/ahead.c): the same rows either way, with
 * batches that the helper's chunks of 4 rows straddle and a last batch of fewer (2,000 =
 * 66 x 30 + 20). A process on one core has none free; on a machine of one core both runs
 * take that way and agree trivially. */
START_TEST(batches_made_ahead_same_bits) {
  TRAIN(example("mlp_relu.net"), "ahead.ck", "--epochs", "2", "--batch", "30");
  one_core = true;
  TRAIN(example("mlp_relu.net"), "between.ck", "--epochs", "2", "--batch", "30");
  one_core = false;
  assert_same("ahead.ck", "between.ck");
}
END_TEST

/* Data-parallel training (LeNet-5 on two threads): each thread's share of a batch and the
 * order its gradients are summed in depend on the thread count alone, so two runs on two
 * threads agree bit for bit (one thread sums in another order: docs/cli.md). */
START_TEST(same_threads_same_bits) {
  TRAIN(example("lenet.net"), "t2a.ck", "--epochs", "1", "--threads", "2");
  TRAIN(example("lenet.net"), "t2b.ck", "--epochs", "1", "--threads", "2");
  assert_same("t2a.ck", "t2b.ck");
}
END_TEST

/* A step too small to split (mlp.net's, under 16 MFLOP per thread) runs on one thread
 * whatever --threads says: the same bits on one thread and on two. */
START_TEST(threads_do_not_split_a_small_step) {
  TRAIN(example("mlp.net"), "t1.ck", "--epochs", "1", "--threads", "1");
  TRAIN(example("mlp.net"), "t2.ck", "--epochs", "1", "--threads", "2");
  assert_same("t1.ck", "t2.ck");
}
END_TEST

/* One epoch, saved, resumed for a second: the tensors and the training position of two
 * epochs straight (SGD with momentum and weight decay, and a learning rate that changes
 * across the break: a step schedule, since a cosine one stretches with --epochs). */
START_TEST(resume_same_bits) {
  static const char step[] = "schedule = step(every: 1, gamma: 0.5)",
                    sgd[] = "optimizer = sgd(lr: 0.05, momentum: 0.9, weight_decay: 0.0005)";
  const char *net = example("mlp_relu.net");
  TRAIN(net, "straight.ck", "--epochs", "2", "--set", step, "--set", sgd);
  TRAIN(net, "resumed.ck", "--epochs", "1", "--set", step, "--set", sgd);
  char *resume = path_join(dir, "resumed.ck");
  TRAIN(net, "resumed.ck", "--epochs", "2", "--set", step, "--set", sgd, "--resume", resume);
  free(resume);
  assert_same("straight.ck", "resumed.ck");
}
END_TEST

/* The same with the parameters' moving average (average = ema(d)): the averages are in the
 * checkpoint beside the parameters, and a resumed run ends with both as the straight one. */
START_TEST(resume_same_bits_with_average) {
  static const char avg[] = "average = ema(0.99)", sgd[] = "optimizer = sgd(lr: 0.05, momentum: 0.9)";
  const char *net = example("mlp_relu.net");
  TRAIN(net, "straight.ck", "--epochs", "2", "--set", avg, "--set", sgd);
  TRAIN(net, "resumed.ck", "--epochs", "1", "--set", avg, "--set", sgd);
  char *resume = path_join(dir, "resumed.ck");
  TRAIN(net, "resumed.ck", "--epochs", "2", "--set", avg, "--set", sgd, "--resume", resume);
  assert_same("straight.ck", "resumed.ck");
  Ckpt c = load("straight.ck");
  int averages = 0;
  for (int i = 0; i < c.n; i++) {
    char name[256];
    snprintf(name, sizeof name, "%s.average", c.tensors[i].name);
    const CkptTensor *a = dlrt_ckpt_tensor(&c, name);
    if (!a) continue;
    averages++;
    size_t n = 1;
    for (int d = 0; d < a->rank; d++) n *= (size_t)a->dim[d];
    ck_assert_msg(memcmp(a->data, c.tensors[i].data, n * sizeof(float)) != 0, "%s equals its parameter", name);
  }
  ck_assert_int_eq(averages, 4); /* two dense layers' weights and biases */
  dlrt_ckpt_free(&c);
  /* a checkpoint without averages does not resume a run that keeps them */
  TRAIN(net, "plain.ck", "--epochs", "1", "--set", sgd);
  char *plain = path_join(dir, "plain.ck"), *again = path_join(dir, "again.ck");
  RunResult r = run_command(NULL, 120, DLC_BINARY, "train", net, "--data", DLC_TEST_DATA, "--set", SLICE, "--set", avg,
                            "--set", sgd, "--epochs", "2", "--resume", plain, "--save", again, (char *)NULL);
  ck_assert_msg(r.status == 1 && strstr(r.err, "plain.ck: error: has no '") &&
                    strstr(r.err, ".average' of this model (it was trained without average = ema(...)"),
                "%s", r.err);
  run_result_free(&r);
  free(plain), free(again), free(resume);
}
END_TEST

/* The last "test_error N%" of a training run's output. */
static double last_test_error(const char *out) {
  double e = -1;
  for (const char *p = out; (p = strstr(p, "test_error ")); p++) e = atof(p + strlen("test_error "));
  return e;
}

/* Averaging changes no step: the parameters of a run with average = ema(d) are those of the
 * run without, bit for bit. Its test error is the average's (here, far from the parameters'
 * after 32 steps of a 100-step average), and dlc eval of its checkpoint gives that error,
 * with the .net file that asks for the average and with one that does not. */
START_TEST(eval_uses_the_average) {
  const char *net = example("mlp_relu.net");
  char *ck_avg = path_join(dir, "avg.ck"), *ck_raw = path_join(dir, "raw.ck");
  RunResult a = run_command(NULL, 120, DLC_BINARY, "train", net, "--data", DLC_TEST_DATA, "--set", SLICE, "--set",
                            "average = ema(0.99)", "--epochs", "1", "--save", ck_avg, (char *)NULL);
  RunResult b = run_command(NULL, 120, DLC_BINARY, "train", net, "--data", DLC_TEST_DATA, "--set", SLICE, "--epochs", "1",
                            "--save", ck_raw, (char *)NULL);
  ck_assert_msg(a.status == 0 && b.status == 0, "%s%s", a.err, b.err);
  ck_assert_msg(strstr(a.err, "dlc: average = ema(0.99): val_error and test_error are those of the parameters' moving average"),
                "%s", a.err);
  double avg_error = last_test_error(a.out), raw_error = last_test_error(b.out);
  ck_assert_msg(avg_error > 0 && raw_error > 0 && avg_error != raw_error, "test errors %g (average) and %g (parameters)",
                avg_error, raw_error);
  Ckpt ca, cb;
  char err[1024];
  ck_assert_msg(dlrt_ckpt_load(ck_avg, &ca, err, sizeof err) == 0 && dlrt_ckpt_load(ck_raw, &cb, err, sizeof err) == 0, "%s", err);
  for (int i = 0; i < cb.n; i++) {
    const CkptTensor *t = dlrt_ckpt_tensor(&ca, cb.tensors[i].name);
    ck_assert_msg(t, "%s missing", cb.tensors[i].name);
    size_t n = 1;
    for (int d = 0; d < t->rank; d++) n *= (size_t)t->dim[d];
    ck_assert_msg(memcmp(t->data, cb.tensors[i].data, n * sizeof(float)) == 0, "%s differs with the average on",
                  t->name);
  }
  dlrt_ckpt_free(&ca);
  dlrt_ckpt_free(&cb);
  char *with = path_join(dir, "with.net"), *text = calloc(1, 1 << 16), *avg_text;
  FILE *f = fopen(net, "r");
  ck_assert(f && text && fread(text, 1, (1 << 16) - 1, f) > 0);
  fclose(f);
  char *brace = strrchr(text, '}');
  ck_assert_ptr_nonnull(brace);
  *brace = 0;
  ck_assert(asprintf(&avg_text, "%s; average = ema(0.99) }\n", text) > 0);
  write_text(with, avg_text);
  const char *nets[] = {net, with};
  for (int k = 0; k < 2; k++) {
    RunResult e = run_command(NULL, 120, DLC_BINARY, "eval", nets[k], "--load", ck_avg, "--data", DLC_TEST_DATA, (char *)NULL);
    ck_assert_msg(e.status == 0, "%s", e.err);
    double eval_error = last_test_error(e.out);
    ck_assert_msg(eval_error == avg_error, "%s: eval %g%%, training %g%%", nets[k], eval_error, avg_error);
    run_result_free(&e);
  }
  /* dlc export writes the averages in the parameters' places (its bytes hold h.W.average's,
   * not h.W's) */
  char *onnx = path_join(dir, "avg.onnx");
  RunResult x = run_command(NULL, 120, DLC_BINARY, "export", net, "--load", ck_avg, "-o", onnx, (char *)NULL);
  ck_assert_msg(x.status == 0, "%s", x.err);
  run_result_free(&x);
  f = fopen(onnx, "rb");
  ck_assert_ptr_nonnull(f);
  static char bytes[1 << 20];
  size_t got = fread(bytes, 1, sizeof bytes, f);
  fclose(f);
  ck_assert_msg(dlrt_ckpt_load(ck_avg, &ca, err, sizeof err) == 0, "%s", err);
  const CkptTensor *w = dlrt_ckpt_tensor(&ca, "h.W"), *wa = dlrt_ckpt_tensor(&ca, "h.W.average");
  ck_assert(w && wa);
  size_t wn = sizeof(float) * (size_t)w->dim[0] * (size_t)w->dim[1];
  ck_assert_msg(memmem(bytes, got, wa->data, wn), "the ONNX file does not hold h.W.average");
  ck_assert_msg(!memmem(bytes, got, w->data, wn), "the ONNX file holds h.W");
  dlrt_ckpt_free(&ca);
  free(onnx);
  free(avg_text), free(text), free(with);
  run_result_free(&a), run_result_free(&b);
  free(ck_avg), free(ck_raw);
}
END_TEST

static const char *rbf_net(const char *first_row) {
  static char text[1024];
  snprintf(text, sizeof text,
           "input x : [784]\ntarget y : onehot(10)\n"
           "table glyphs = {\n  %s\n  [X . . . . X]\n  [. X X X X .]\n  [X X . . X X]\n  [. . X X . .]\n}\n"
           "protos = reshape(constant(glyphs, on: 1, off: -1), [10, 3])\n"
           "h = tanh(dense(x, 3))\n"
           "rbf = sum((h - protos)^2, axis: 1)\n"
           "out = -rbf\n"
           "loss = sum(y * rbf) + log(exp(-1) + sum(exp(-rbf)))\n"
           "train { optimizer = sgd(lr: 0.01, momentum: 0.9); batch = 50 }\n",
           first_row);
  return text;
}

/* A constant is in the checkpoint as the file gives it, after training (not trained), and
 * `dlc check` lists it apart from the parameters; a checkpoint made before its table was
 * edited loads with a warning naming the line that changed. */
START_TEST(constants_travel_in_checkpoints) {
  char *net = path_join(dir, "rbf.net");
  write_text(net, rbf_net("[X X . . X X]"));
  TRAIN(net, "rbf.ck", "--epochs", "1");
  Ckpt c = load("rbf.ck");
  const CkptTensor *t = dlrt_ckpt_tensor(&c, "protos.value");
  ck_assert_ptr_nonnull(t);
  ck_assert(t->rank == 2 && t->dim[0] == 5 && t->dim[1] == 6);
  static const float row0[6] = {1, 1, -1, -1, 1, 1}, row4[6] = {-1, -1, 1, 1, -1, -1};
  ck_assert_int_eq(memcmp(t->data, row0, sizeof row0), 0);
  ck_assert_int_eq(memcmp((float *)t->data + 24, row4, sizeof row4), 0);
  ck_assert_ptr_null(dlrt_ckpt_tensor(&c, "protos.value.velocity")); /* no optimiser state */
  dlrt_ckpt_free(&c);

  RunResult r = run_program(NULL, (char *[]){DLC_BINARY, "check", net, NULL}, 60);
  ck_assert_msg(r.status == 0, "%s", r.err);
  ck_assert_msg(strstr(r.out, "  constant             shape                values  (not trained)\n"
                              "  protos.value         [5, 6]                   30  line 10\n"),
                "dlc check lists no constant:\n%s", r.out);
  const char *total = strstr(r.out, "\n  total ");
  ck_assert_msg(total && strncmp(total + 1 + strcspn(total + 1, "\n") - 4, "2355", 4) == 0, "%s", r.out); /* 3*784 + 3 */
  run_result_free(&r);

  char *ck = path_join(dir, "rbf.ck");
  write_text(net, rbf_net("[X X X . X X]"));
  r = run_program(NULL, (char *[]){DLC_BINARY, "eval", net, "--load", ck, "--data", DLC_TEST_DATA, NULL}, 120);
  ck_assert_msg(r.status == 0, "%s", r.err);
  ck_assert_msg(strstr(r.err, "rbf.ck: warning: was saved by another version of") &&
                    strstr(r.err, "its line 4 was '  [X X . . X X]', now '  [X X X . X X]'"),
                "no warning about the edited table:\n%s", r.err);
  run_result_free(&r);
  free(ck);
  free(net);
}
END_TEST

static Suite *reproduce_suite(void) {
  Suite *s = suite_create("reproduce");
  TCase *tc = tcase_create("reproduce");
  tcase_add_checked_fixture(tc, make_run_dir, remove_run_dir);
  tcase_add_test(tc, same_seed_same_bits);
  tcase_add_test(tc, same_threads_same_bits);
  tcase_add_test(tc, batches_made_ahead_same_bits);
  tcase_add_test(tc, threads_do_not_split_a_small_step);
  tcase_add_test(tc, resume_same_bits);
  tcase_add_test(tc, resume_same_bits_with_average);
  tcase_add_test(tc, eval_uses_the_average);
  tcase_add_test(tc, constants_travel_in_checkpoints);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(reproduce_suite()); }
