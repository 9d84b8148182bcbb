/* check_diag.c — diagnostics that teach. Owns: the "did you mean" helper (support/suggest.c)
 * and its use by the command line. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "helpers.h"
#include "suggest.h"

#define MLP DLC_SOURCE_DIR "/examples/mlp.net"

enum { TIMEOUT = 60, MAX_ARGS = 16 };

/* Runs argv0 (dlc if NULL) with the NULL-terminated arguments in directory cwd. */
static RunResult run_in(const char *cwd, const char *argv0, ...) {
  char *argv[MAX_ARGS + 2] = {(char *)(argv0 ? argv0 : DLC_BINARY)};
  int n = 1;
  va_list ap;
  va_start(ap, argv0);
  for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
    ck_assert_int_lt(n, MAX_ARGS);
    argv[n++] = (char *)a;
  }
  va_end(ap);
  argv[n] = NULL;
  return run_program(cwd, argv, TIMEOUT);
}

#define dlc(...) run_in(NULL, NULL, __VA_ARGS__, (const char *)NULL)

static void assert_contains(const char *what, const char *text, const char *needle) {
  if (!strstr(text, needle)) ck_abort_msg("%s does not contain \"%s\"; it is:\n%s", what, needle, text);
}

static void assert_status(RunResult r, int status) {
  if (r.status != status) ck_abort_msg("status %d, expected %d; stderr:\n%s", r.status, status, r.err);
}

/* ---- "did you mean" ---------------------------------------------------------------------- */

START_TEST(suggest_distances) {
  ck_assert_int_eq(suggest_distance("optimiser", "optimizer"), 1);
  ck_assert_int_eq(suggest_distance("mnsit", "mnist"), 1); /* two letters swapped: one edit */
  ck_assert_int_eq(suggest_distance("Dense", "dense"), 0); /* case does not count */
  ck_assert_int_eq(suggest_distance("", "pad"), 3);
  ck_assert_int_eq(suggest_distance("kitten", "sitting"), 3);
}
END_TEST

START_TEST(suggest_nearest_names) {
  static const char *const conv[] = {"stride", "pad", "connect", "init", "bias"};
  ck_assert_str_eq(suggest_nearest("padding", conv, 5), "pad"); /* the longer spelling */
  ck_assert_str_eq(suggest_nearest("strides", conv, 5), "stride");
  ck_assert_ptr_null(suggest_nearest("dilation", conv, 5)); /* nothing like it */
  static const char *const settings[] = {"data", "optimizer", "lr", "epochs", "batch"};
  ck_assert_str_eq(suggest_nearest("optimiser", settings, 5), "optimizer");
  ck_assert_str_eq(suggest_nearest("num_epochs", settings, 5), "epochs");
  ck_assert_str_eq(suggest_nearest("batch_size", settings, 5), "batch");
  ck_assert_ptr_null(suggest_nearest("l", settings, 5)); /* one letter off a two-letter name is too far */
  static const char *const names[] = {"x", "y", "W", NULL, "hidden"};
  ck_assert_ptr_null(suggest_nearest("V", names, 5));
  ck_assert_str_eq(suggest_nearest("w", names, 5), "W");
  ck_assert_str_eq(suggest_nearest("hiden", names, 5), "hidden");
  char buf[64];
  ck_assert_str_eq(suggest_hint("adm", (const char *const[]){"sgd", "adam"}, 2, "", buf, sizeof buf),
                   "; did you mean 'adam'?");
  ck_assert_str_eq(suggest_hint("frob", conv, 5, ":", buf, sizeof buf), "");
  ck_assert_str_eq(suggest_list(conv, 5, ":", "and", buf, sizeof buf), "stride:, pad:, connect:, init: and bias:");
  ck_assert_str_eq(suggest_list(conv, 1, "", "or", buf, sizeof buf), "stride");
}
END_TEST

START_TEST(unknown_command_suggests) {
  RunResult r = dlc("trian", MLP);
  assert_status(r, 1);
  assert_contains("stderr", r.err, "dlc: error: unknown command 'trian'; did you mean 'train'?\n");
  run_result_free(&r);
  r = dlc("frobnicate", MLP);
  assert_status(r, 1);
  assert_contains("stderr", r.err, "dlc: error: unknown command 'frobnicate'\n");
  run_result_free(&r);
}
END_TEST

START_TEST(unknown_option_suggests) {
  RunResult r = dlc("train", MLP, "--epoch", "3");
  assert_status(r, 1);
  assert_contains("stderr", r.err,
                  "dlc: error: unknown option '--epoch' for 'train' (see dlc train --help); did you mean '--epochs'?\n");
  run_result_free(&r);
  r = dlc("check", MLP, "--epochs", "3"); /* another command's option */
  assert_status(r, 1);
  assert_contains("stderr", r.err, "dlc: error: unknown option '--epochs' for 'check': only train takes it (see dlc check --help)\n");
  run_result_free(&r);
  r = dlc("check", MLP, "--save", "x.ck");
  assert_status(r, 1);
  assert_contains("stderr", r.err, "only train takes it");
  run_result_free(&r);
  r = dlc("check", MLP, "--batch-size", "8");
  assert_status(r, 1);
  assert_contains("stderr", r.err, "did you mean '--batch'?");
  run_result_free(&r);
  r = dlc("ir", MLP, "--stage", "asmb");
  assert_status(r, 1);
  assert_contains("stderr", r.err, "--stage expects graph, llvm, opt or asm, got 'asmb'; did you mean 'asm'?\n");
  run_result_free(&r);
  r = dlc("check", MLP, "--after", "cce");
  assert_status(r, 1);
  assert_contains("stderr", r.err, "got 'cce'; did you mean 'cse'?\n");
  run_result_free(&r);
}
END_TEST

/* ---- the suite -------------------------------------------------------------------------- */

static TCase *tcase(Suite *s, const char *name) {
  TCase *tc = tcase_create(name);
  tcase_set_timeout(tc, 120);
  suite_add_tcase(s, tc);
  return tc;
}

int main(void) {
  Suite *s = suite_create("diag");
  TCase *tc = tcase(s, "suggestions");
  tcase_add_test(tc, suggest_distances);
  tcase_add_test(tc, suggest_nearest_names);
  tcase_add_test(tc, unknown_command_suggests);
  tcase_add_test(tc, unknown_option_suggests);
  return run_suite(s);
}
