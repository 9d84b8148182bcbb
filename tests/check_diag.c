/* check_diag.c — diagnostics that teach. Owns: the golden warnings in tests/warnings/ (every
 * NAME.net must make `dlc check NAME.net` exit 0 and print exactly NAME.err, and with
 * --Werror exit 1 and print it with each warning an error); the "did you mean" helper
 * (support/suggest.c) and its use by the command line. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "helpers.h"
#include "suggest.h"

#define WARNINGS_DIR DLC_SOURCE_DIR "/tests/warnings"
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

/* ---- golden warnings: tests/warnings/NAME.net and NAME.err ------------------------------- */

/* text with each "FILE:L:C: warning: MESSAGE" line made "FILE:L:C: error: MESSAGE [--Werror]". */
static char *as_errors(const char *text) {
  size_t n = strlen(text), lines = 1;
  for (const char *p = text; *p; p++) lines += *p == '\n';
  char *out = malloc(n + lines * 16 + 1), *o = out;
  for (const char *line = text; *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    const char *w = memmem(line, len, ": warning: ", 11);
    if (w) {
      o = mempcpy(o, line, (size_t)(w - line));
      o = stpcpy(o, ": error: ");
      o = mempcpy(o, w + 11, len - (size_t)(w + 11 - line));
      o = stpcpy(o, " [--Werror]");
    } else {
      o = mempcpy(o, line, len);
    }
    if (end) *o++ = '\n';
    line += len + (end != NULL);
  }
  *o = 0;
  return out;
}

START_TEST(warning_files_match) {
  DIR *d = opendir(WARNINGS_DIR);
  ck_assert_ptr_nonnull(d);
  int cases = 0, failed = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    size_t len = strlen(e->d_name);
    if (len < 5 || strcmp(e->d_name + len - 4, ".net") != 0) continue;
    char *errpath = NULL;
    ck_assert_int_ge(asprintf(&errpath, "%s/%.*s.err", WARNINGS_DIR, (int)(len - 4), e->d_name), 0);
    char *want = read_file(errpath);
    ck_assert_msg(want && *want, "%s is missing or empty (a warning test must warn)", errpath);
    char *want_werror = as_errors(want);
    RunResult r = run_in(WARNINGS_DIR, NULL, "check", e->d_name, (const char *)NULL);
    RunResult w = run_in(WARNINGS_DIR, NULL, "check", e->d_name, "--Werror", (const char *)NULL);
    if (r.status != 0 || strcmp(r.err, want) != 0) {
      fprintf(stderr, "---- tests/warnings/%s: status %d (expected 0)\n---- expected stderr:\n%s---- actual:\n%s",
              e->d_name, r.status, want, r.err);
      failed++;
    }
    if (w.status != 1 || strcmp(w.err, want_werror) != 0) {
      fprintf(stderr, "---- tests/warnings/%s --Werror: status %d (expected 1)\n---- expected stderr:\n%s---- actual:\n%s",
              e->d_name, w.status, want_werror, w.err);
      failed++;
    }
    ck_assert_ptr_null(strstr(w.out, ": ok")); /* --Werror stops the command */
    run_result_free(&r);
    run_result_free(&w);
    free(want);
    free(want_werror);
    free(errpath);
    cases++;
  }
  closedir(d);
  ck_assert_int_ge(cases, 5);
  ck_assert_msg(failed == 0, "%d tests/warnings runs differ (see above)", failed);
}
END_TEST

/* A file without warnings passes --Werror; every command that loads a model takes it. */
START_TEST(werror_on_clean_file_and_other_commands) {
  RunResult r = dlc("check", MLP, "--Werror");
  assert_status(r, 0);
  ck_assert_str_eq(r.err, "");
  run_result_free(&r);
  r = dlc("graph", WARNINGS_DIR "/double_softmax.net", "--Werror");
  assert_status(r, 1);
  assert_contains("stderr", r.err, "error: cross_entropy applies softmax");
  run_result_free(&r);
  r = dlc("graph", WARNINGS_DIR "/double_softmax.net"); /* a warning alone fails nothing */
  assert_status(r, 0);
  assert_contains("stderr", r.err, "warning: cross_entropy applies softmax");
  run_result_free(&r);
  r = dlc("check", "--help");
  assert_contains("dlc check --help", r.out, "--Werror");
  run_result_free(&r);
}
END_TEST

/* dlc check --scales analyses the file twice; its warnings are printed once. */
START_TEST(warnings_printed_once) {
  RunResult r = dlc("check", WARNINGS_DIR "/target_unused.net", "--scales", "--data", "/nonexistent");
  const char *first = strstr(r.err, "warning:");
  ck_assert_ptr_nonnull(first);
  ck_assert_ptr_null(strstr(first + 1, "warning:"));
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
  tc = tcase(s, "warnings");
  tcase_add_test(tc, warning_files_match);
  tcase_add_test(tc, werror_on_clean_file_and_other_commands);
  tcase_add_test(tc, warnings_printed_once);
  return run_suite(s);
}
