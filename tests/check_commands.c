/* check_commands.c — the commands at work on examples/mlp.net and small models, through the
 * dlc binary: data-parallel threads (and batch norm over them), --profile's table and its
 * rows per call, training compiled only, `dlc check --scales` and `--after PASS`, --set over
 * the train block, augment-preview, `dlc compile`; and what `dlc check`, `graph`, `ir` (LLVM,
 * optimised and vectorised, assembly, one function), `gradcheck` and the developer variables
 * print. */
#define _GNU_SOURCE
#define DLC_TIMEOUT TIMEOUT /* (enum below) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "data_files.h"

#define MLP DLC_SOURCE_DIR "/examples/mlp.net"

enum { TIMEOUT = 60 };

/* ---- dlc train's options and the other commands ----------------------------------------- */

/* --threads: data-parallel where the step is big enough (batch norm included: its sums over
 * the batch are added up across the threads, tests/check_mpi.c); the MLP's step and this
 * small batch-norm model's are too small: both train on one thread and say why. */
START_TEST(threads_and_batch_norm) {
  DataDir d = data_dir_new();
  write_valid_set(&d, "train");
  write_valid_set(&d, "t10k");
  RunResult r = dlc("train", MLP, "--data", d.dir, "--epochs", "1", "--threads", "2");
  assert_ok(r);
  assert_contains("stdout", r.out, "epoch 1/1");
  assert_contains("stderr", r.err, "dlc: note: a step of 3.2 MFLOP is too small to split over 2 threads");
  run_result_free(&r);
  char *bn = write_temp_file("bn.net", "input x : [784]\n"
                                       "target y : onehot(10)\n"
                                       "h = relu(batchnorm(dense(x, 16)))\n"
                                       "out = dense(h, 10)\n"
                                       "loss = cross_entropy(out, y)\n"
                                       "train { batch = 2 }\n");
  r = dlc("train", bn, "--data", d.dir, "--epochs", "1", "--threads", "2");
  assert_ok(r);
  assert_contains("stderr", r.err, "dlc: note: a step of 0.1 MFLOP is too small to split over 2 threads");
  run_result_free(&r);
  remove_temp_file(bn);
  data_dir_free(&d);
}
END_TEST

/* `dlc train --compile-only --time`: parse to JIT'd functions, no data needed, the stages
 * timed (on every core when there are several: the JIT compiles pieces in parallel). */
START_TEST(train_compile_only) {
  RunResult r = dlc("train", DLC_SOURCE_DIR "/examples/lenet.net", "--compile-only", "--time", "--data", "/nonexistent");
  assert_ok(r);
  assert_contains("stdout", r.out, "compile time ");
  assert_contains("stdout", r.out, " ms, machine code ");
  if (sysconf(_SC_NPROCESSORS_ONLN) > 1) { /* --compile-only waits for dlc_forward too */
    assert_contains("stdout", r.out, " threads)");
    assert_contains("stdout", r.out, "; then dlc_forward in the background, ");
  }
  ck_assert_ptr_null(strstr(r.out, "epoch"));
  run_result_free(&r);
}
END_TEST

/* `dlc profile` runs steps on the training set and prints the table per layer and pass. */
START_TEST(profile_table) {
  DataDir d = data_dir_new();
  write_valid_set(&d, "train");
  RunResult r = dlc("profile", MLP, "--data", d.dir, "--steps", "3", "--batch", "1");
  data_dir_free(&d);
  assert_ok(r);
  static const char *const want[] = {"profile: 3 steps of 1 images on average", "peak: ",
                                     "layer (source line)", "mlp.net:13  h    = sigmoid(W1 @ x + b1)",
                                     "forward", "backward", "update", "the whole step", "the nodes that took the most:"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) assert_contains("stdout", r.out, want[i]);
  run_result_free(&r);
}
END_TEST

/* A user function called twice: a row for each call, on the call's line; the heaviest nodes
 * name the body's line and the call's. */
START_TEST(profile_rows_per_call) {
  DataDir d = data_dir_new();
  write_valid_set(&d, "train");
  char *net = write_temp_file("twice.net", "input x : [784]\ntarget y : onehot(10)\n"
                                           "def block(v, n) = relu(dense(v, n))\n"
                                           "h1 = block(x, 64)\nh2 = block(h1, 32)\n"
                                           "out = dense(h2, 10)\nloss = cross_entropy(out, y)\n");
  RunResult r = dlc("profile", net, "--data", d.dir, "--steps", "3", "--batch", "1");
  remove_temp_file(net);
  data_dir_free(&d);
  assert_ok(r);
  static const char *const want[] = {"\n  twice.net:4  h1 = block(x, 64)", "\n  twice.net:5  h2 = block(h1, 32)",
                                     "twice.net:3 (called on line "}; /* which ones are heaviest varies */
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) assert_contains("stdout", r.out, want[i]);
  ck_assert_ptr_null(strstr(r.out, "\n  twice.net:3  def"));
  run_result_free(&r);
}
END_TEST

/* `dlc check --scales` reads training images: without them, a data error, not a crash; with
 * them (three tiny ones), a table row for every named value and parameter. */
START_TEST(check_scales) {
  DataDir d = data_dir_new();
  RunResult r = dlc("check", MLP, "--scales", "--data", d.dir);
  assert_fails_with(r, 1, "file not found");
  run_result_free(&r);
  write_valid_set(&d, "train");
  r = dlc("check", MLP, "--scales", "--data", d.dir);
  data_dir_free(&d);
  ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
  assert_contains("stdout", r.out, "the first 3 training images");
  static const char *const rows[] = {"\n  h ", "\n  out ", "\n  W1 ", "\n  b2 "};
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) assert_contains("stdout", r.out, rows[i]);
  run_result_free(&r);
}
END_TEST

/* --set overrides any train setting with the file's own checks, and its mistakes are
 * located in the "--set" text with a caret, like the file's. */
START_TEST(set_overrides_train_settings) {
  RunResult r = dlc("check", MLP, "--set", "optimizer = adam(lr: 0.002)", "--set", "schedule = cosine", "--set",
                    "validation = 5000; patience = 3", "--set", "average = ema(0.999)");
  ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
  assert_contains("stdout", r.out, "adam lr 0.002 beta1 0.9");
  assert_contains("stdout", r.out, ", average ema(0.999), cosine schedule");
  assert_contains("stdout", r.out, "cosine schedule");
  assert_contains("stdout", r.out, "validation 5000, patience 3");
  run_result_free(&r);
  static const struct { const char *set, *want; } cases[] = {
      {"optimizer = adm", "--set:1:21: error: unknown optimizer 'adm' (expected sgd, adam, adamw, rmsprop or adagrad;"
                          " see docs/language.md); did you mean 'adam'?\n  train { optimizer = adm }\n"
                          "                      ^\n"},
      {"epochs = ", "--set:1:19: error: unexpected '}'"},
      {"colour = 3", "--set:1:9: error: unknown train setting 'colour'"},
      {"lr = 1; lr = 2", "the learning rate is set twice"},
      {"patience = 0", "'patience' must be a whole number from 1 to 100000"},
      {"}\ninput z : [3]\ntrain {", "only train settings can be given on the command line"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    r = dlc("check", MLP, "--set", cases[i].set);
    assert_fails_with(r, 1, cases[i].want);
    run_result_free(&r);
  }
}
END_TEST

/* `dlc augment-preview` writes a PNG of the distortions the file declares (here through
 * --set), and says so when it declares none. */
START_TEST(augment_preview) {
  DataDir d = data_dir_new();
  write_valid_set(&d, "train");
  char *png = NULL;
  ck_assert_int_ge(asprintf(&png, "%s/preview.png", d.dir), 0);
  RunResult r = dlc("augment-preview", MLP, "--data", d.dir, "--out", png);
  assert_fails_with(r, 1, "declares no distortion to preview");
  run_result_free(&r);
  r = dlc("augment-preview", MLP, "--data", d.dir, "--out", png, "--set", "distort = affine(rotate: 10) + elastic");
  assert_ok(r);
  assert_contains("stdout", r.out, "3 training images (left column) and 8 distortions of each");
  char *text = read_file(png);
  ck_assert_ptr_nonnull(text);
  ck_assert_int_eq(memcmp(text, "\x89PNG", 4), 0);
  free(text);
  run_result_free(&r);
  unlink(png);
  free(png);
  data_dir_free(&d);
}
END_TEST

/* `dlc compile` needs -o, writes the object and its header, and reports a path it cannot
 * write; the header declares both functions and the slots a program needs. */
START_TEST(compile_object) {
  RunResult r = dlc("compile", MLP);
  assert_fails_with(r, 1, "'compile' needs -o FILE.o");
  run_result_free(&r);
  r = dlc("compile", MLP, "-o", "/nonexistent-dir/model.o");
  assert_fails_with(r, 1, "/nonexistent-dir/model.o: error: ");
  run_result_free(&r);
  char dir[] = "/tmp/dlc-compile-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char *obj = NULL, *hdr = NULL;
  ck_assert_int_ge(asprintf(&obj, "%s/net.o", dir), 0);
  ck_assert_int_ge(asprintf(&hdr, "%s/net.h", dir), 0);
  r = dlc("compile", MLP, "-o", obj, "--time");
  assert_ok(r);
  assert_contains("stdout", r.out, "compile time ");
  assert_contains("stdout", r.out, " ms, machine code ");
  char *object = read_file(obj), *header = read_file(hdr);
  ck_assert_ptr_nonnull(object);
  ck_assert_int_eq(memcmp(object, "\x7f" "ELF", 4), 0);
  ck_assert_ptr_nonnull(header);
  static const char *const decls[] = {"void dlc_forward(float *state, float *scratch",
                                      "void dlc_train_step(float *state, float *scratch",
                                      "#define DLC_FEED_INPUT 0",
                                      "#define DLC_MODEL_ARENA_FLOATS",
                                      "#define DLC_MODEL_STATE_FLOATS",
                                      "{\"W1\", 1, 0, 78400}"};
  for (size_t i = 0; i < sizeof decls / sizeof *decls; i++) assert_contains("the header", header, decls[i]);
  free(object);
  free(header);
  unlink(obj);
  unlink(hdr);
  rmdir(dir);
  free(obj);
  free(hdr);
  run_result_free(&r);
}
END_TEST

/* `dlc check --after PASS` reports the step as that pass left it: on LeNet-5, CSE removes
 * nodes (the backward pass rebuilds what the forward pass has), none of the others add any. */
static int step_nodes(const char *after) {
  char path[512];
  snprintf(path, sizeof path, "%s/examples/lenet.net", DLC_SOURCE_DIR);
  RunResult r = dlc("check", path, "--after", after);
  assert_ok(r);
  const char *at = strstr(r.out, " with autodiff and the update, ");
  int step = 0;
  ck_assert_msg(at && sscanf(at, " with autodiff and the update, %d in the training step", &step) == 1, "%s", r.out);
  run_result_free(&r);
  return step;
}

START_TEST(check_after_pass) {
  int none = step_nodes("none"), fold = step_nodes("fold"), simplify = step_nodes("simplify"), all = step_nodes("cse");
  ck_assert_int_le(fold, none);
  ck_assert_int_le(simplify, fold);
  ck_assert_msg(all < simplify, "cse removed nothing: %d -> %d", simplify, all);
}
END_TEST

/* ---- what the inspection commands print ------------------------------------------------- */

START_TEST(check_mlp) {
  RunResult r = dlc("check", MLP);
  assert_ok(r);
  assert_contains("dlc check", r.out, ": ok");
  assert_contains("dlc check", r.out, "79510");
  run_result_free(&r);
}
END_TEST

START_TEST(graph_mlp) {
  RunResult r = dlc("graph", MLP);
  assert_ok(r);
  assert_contains("dlc graph", r.out, "gemm");
  assert_contains("dlc graph", r.out, "[backward]");
  run_result_free(&r);
  r = dlc("graph", "--dot", MLP);
  assert_ok(r);
  ck_assert_msg(starts_with(r.out, "digraph"), "dlc graph --dot: %.200s", r.out);
  run_result_free(&r);
}
END_TEST

START_TEST(ir_llvm) {
  RunResult r = dlc("ir", MLP, "--stage", "llvm");
  assert_ok(r);
  assert_contains("dlc ir --stage llvm", r.out, "define void @dlc_train_step");
  assert_contains("dlc ir --stage llvm", r.out, "define void @dlc_forward");
  assert_contains("dlc ir --stage llvm", r.out, "call void @dlrt_gemm");
  run_result_free(&r);
}
END_TEST

/* --stage opt: the lowering's vector loops survive the optimisation, which leaves fewer
 * instructions than it was given. */
START_TEST(ir_opt_vectorised) {
  RunResult r = dlc("ir", MLP, "--stage", "opt"), raw = dlc("ir", MLP, "--stage", "llvm");
  assert_ok(r);
  assert_ok(raw);
  assert_contains("dlc ir --stage opt", r.out, "fmul <16 x float>");
  int optimised = 0, generated = 0;
  for (const char *p = r.out; (p = strstr(p, "\n  ")); p++) optimised++;
  for (const char *p = raw.out; (p = strstr(p, "\n  ")); p++) generated++;
  ck_assert_msg(optimised < generated, "%d instructions after optimisation, %d before", optimised, generated);
  run_result_free(&r);
  run_result_free(&raw);
}
END_TEST

START_TEST(ir_one_function) {
  RunResult r = dlc("ir", MLP, "--fn", "dlc_forward");
  assert_ok(r);
  assert_contains("dlc ir --fn dlc_forward", r.out, "define void @dlc_forward(");
  ck_assert_ptr_null(strstr(r.out, "define void @dlc_train_step("));
  run_result_free(&r);
  r = dlc("ir", MLP, "--stage", "asm", "--fn", "dlc_train_step");
  assert_ok(r);
  assert_contains("dlc ir --stage asm --fn dlc_train_step", r.out, "dlc_train_step:");
  ck_assert_ptr_null(strstr(r.out, "dlc_forward:"));
  run_result_free(&r);
  r = dlc("ir", MLP, "--fn", "main");
  ck_assert_int_eq(r.status, 1);
  run_result_free(&r);
}
END_TEST

START_TEST(ir_asm) {
  RunResult r = dlc("ir", MLP, "--stage", "asm");
  assert_ok(r);
  assert_contains("dlc ir --stage asm", r.out, "dlc_train_step:");
  run_result_free(&r);
}
END_TEST

/* The developer variables (docs/cli.md, Environment): DLC_ISA=avx2 makes code without
 * AVX-512 registers, DLC_CONV_KERNEL forces a way to run convolutions, and a value either
 * cannot take is an error naming the variable, before any work. */
START_TEST(developer_variables) {
  const char *cnn = DLC_SOURCE_DIR "/bench/models/cnn.net";
  setenv("DLC_ISA", "sse9", 1);
  RunResult r = dlc("check", MLP);
  assert_fails_with(r, 1, "DLC_ISA: error: 'sse9' is not an instruction set dlc generates code for (host, avx2)");
  run_result_free(&r);
  setenv("DLC_ISA", "avx2", 1);
  r = dlc("ir", cnn, "--stage", "asm");
  if (r.status == 0) { /* (a CPU without AVX2 says so instead) */
    ck_assert_msg(!strstr(r.out, "%zmm"), "AVX-512 registers in the AVX2 code");
    assert_contains("dlc ir --stage asm (AVX2)", r.out, "%ymm");
  } else {
    assert_fails_with(r, 1, "DLC_ISA: error: this CPU cannot run AVX2 code");
  }
  run_result_free(&r);
  unsetenv("DLC_ISA");
  setenv("DLC_CONV_KERNEL", "fastest", 1);
  r = dlc("check", cnn);
  assert_fails_with(r, 1, "DLC_CONV_KERNEL: error: 'fastest' is not a way to run convolutions (auto, im2col, taps, tiled, winograd)");
  run_result_free(&r);
  static const char *const ways[][2] = {{"im2col", "= im2col("}, {"tiled", " tiled "}, {"taps", "= conv_dw("}, {"winograd", " winograd"}};
  for (int i = 0; i < 4; i++) {
    setenv("DLC_CONV_KERNEL", ways[i][0], 1);
    r = dlc("graph", cnn);
    assert_ok(r);
    assert_contains("dlc graph", r.out, ways[i][1]);
    if (i == 2) ck_assert_msg(!strstr(r.out, " tiled "), "DLC_CONV_KERNEL=taps: tiles");
    run_result_free(&r);
  }
  unsetenv("DLC_CONV_KERNEL");
}
END_TEST

START_TEST(gradcheck_mlp) {
  RunResult r = dlc("gradcheck", MLP);
  assert_ok(r);
  assert_contains("dlc gradcheck", r.out, "ok");
  run_result_free(&r);
}
END_TEST

/* Every example's gradients, LeNet-5's connection table and subsampling included. */
START_TEST(gradcheck_examples) {
  static const char *const files[] = {"mlp_relu.net", "lenet.net", "lenet_relu.net"};
  char path[512];
  snprintf(path, sizeof path, DLC_SOURCE_DIR "/examples/%s", files[_i]);
  RunResult r = dlc("gradcheck", path);
  assert_ok(r);
  assert_contains("dlc gradcheck", r.out, "gradient elements against finite differences: ok");
  ck_assert_ptr_null(strstr(r.out, "MISMATCH"));
  run_result_free(&r);
}
END_TEST

/* ---- the suite -------------------------------------------------------------------------- */

static Suite *commands_suite(void) {
  Suite *s = suite_create("commands");
  TCase *tc = add_tcase(s, "commands", 120);
  tcase_add_test(tc, threads_and_batch_norm);
  tcase_add_test(tc, profile_table);
  tcase_add_test(tc, profile_rows_per_call);
  tcase_add_test(tc, train_compile_only);
  tcase_add_test(tc, check_scales);
  tcase_add_test(tc, set_overrides_train_settings);
  tcase_add_test(tc, augment_preview);
  tcase_add_test(tc, compile_object);
  tcase_add_test(tc, check_after_pass);
  tc = add_tcase(s, "inspect", 120);
  tcase_add_test(tc, check_mlp);
  tcase_add_test(tc, graph_mlp);
  tcase_add_test(tc, ir_llvm);
  tcase_add_test(tc, ir_opt_vectorised);
  tcase_add_test(tc, ir_asm);
  tcase_add_test(tc, ir_one_function);
  tcase_add_test(tc, gradcheck_mlp);
  tcase_add_test(tc, developer_variables);
  tcase_add_loop_test(tc, gradcheck_examples, 0, 3);
  return s;
}

int main(void) { return run_suite(commands_suite()); }
