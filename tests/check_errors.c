/* check_errors.c — what `dlc check` says of whole files. Owns the golden diagnostics in
 * tests/errors/ (every NAME.net must make `dlc check NAME.net` print exactly NAME.err and exit
 * 1, and every NAME.net has its NAME.err); and CRLF line endings and a UTF-8 byte-order mark,
 * accepted, with errors located as without them. */
#define _GNU_SOURCE
#define DLC_TIMEOUT TIMEOUT /* (enum below) */
#include "helpers.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERRORS_DIR DLC_SOURCE_DIR "/tests/errors"
#define MLP DLC_SOURCE_DIR "/examples/mlp.net"

enum { TIMEOUT = 60 };

/* ---- golden diagnostics: tests/errors/NAME.net and NAME.err ----------------------------- */

typedef struct Names {
  char **v;
  int n;
} Names;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Base names (without ext) of the files in dir ending in ext, sorted. */
static Names list_with_ext(const char *dir, const char *ext) {
  Names names = {NULL, 0};
  DIR *d = opendir(dir);
  ck_assert_msg(d != NULL, "cannot open %s", dir);
  size_t el = strlen(ext);
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    size_t len = strlen(e->d_name);
    if (len <= el || strcmp(e->d_name + len - el, ext) != 0) continue;
    names.v = realloc(names.v, sizeof *names.v * (size_t)(names.n + 1));
    names.v[names.n++] = strndup(e->d_name, len - el);
  }
  closedir(d);
  qsort(names.v, (size_t)names.n, sizeof *names.v, cmp_str);
  return names;
}

static bool names_contain(const Names *names, const char *name) {
  return bsearch(&name, names->v, (size_t)names->n, sizeof *names->v, cmp_str) != NULL;
}

static void names_free(Names *names) {
  for (int i = 0; i < names->n; i++) free(names->v[i]);
  free(names->v);
}

START_TEST(error_files_are_paired) {
  Names nets = list_with_ext(ERRORS_DIR, ".net"), errs = list_with_ext(ERRORS_DIR, ".err");
  int unpaired = 0;
  for (int i = 0; i < nets.n; i++)
    if (!names_contain(&errs, nets.v[i])) fprintf(stderr, "tests/errors/%s.net has no .err\n", nets.v[i]), unpaired++;
  for (int i = 0; i < errs.n; i++)
    if (!names_contain(&nets, errs.v[i])) fprintf(stderr, "tests/errors/%s.err has no .net\n", errs.v[i]), unpaired++;
  ck_assert_int_ge(nets.n, 40);
  ck_assert_int_eq(unpaired, 0);
  names_free(&nets);
  names_free(&errs);
}
END_TEST

/* Every NAME.net: `dlc check NAME.net` in tests/errors exits 1 and prints exactly NAME.err. */
START_TEST(error_files_match) {
  Names nets = list_with_ext(ERRORS_DIR, ".net");
  int failed = 0;
  for (int i = 0; i < nets.n; i++) {
    char *net = NULL, *errpath = NULL;
    ck_assert_int_ge(asprintf(&net, "%s.net", nets.v[i]), 0);
    ck_assert_int_ge(asprintf(&errpath, "%s/%s.err", ERRORS_DIR, nets.v[i]), 0);
    char *want = read_file(errpath);
    RunResult r = run_command(ERRORS_DIR, 10, DLC_BINARY, "check", net, (const char *)NULL);
    if (r.status != 1 || !want || strcmp(r.err, want) != 0) {
      fprintf(stderr, "---- tests/errors/%s: status %d (expected 1)\n---- expected stderr:\n%s---- actual stderr:\n%s",
              net, r.status, want ? want : "(no .err file)\n", r.err);
      failed++;
    }
    run_result_free(&r);
    free(want);
    free(net);
    free(errpath);
  }
  ck_assert_msg(failed == 0, "%d of %d tests/errors cases differ (see above)", failed, nets.n);
  names_free(&nets);
}
END_TEST

/* ---- CRLF line endings and a UTF-8 byte-order mark -------------------------------------- */

/* text with every "\n" turned into "\r\n", after bom if not NULL. */
static char *crlf_version(const char *text, const char *bom) {
  size_t n = strlen(text), lines = 0;
  for (const char *p = text; *p; p++) lines += *p == '\n';
  char *out = malloc(n + lines + 4), *o = out;
  if (bom) o = stpcpy(o, bom);
  for (const char *p = text; *p; p++) {
    if (*p == '\n') *o++ = '\r';
    *o++ = *p;
  }
  *o = 0;
  return out;
}

static void assert_checks_ok(const char *name, const char *text) {
  char *path = write_temp_file(name, text);
  RunResult r = dlc("check", path);
  remove_temp_file(path);
  assert_ok(r);
  assert_contains("dlc check output", r.out, "79510");
  run_result_free(&r);
}

START_TEST(crlf_and_bom_accepted) {
  char *mlp = read_file(MLP);
  ck_assert_ptr_nonnull(mlp);
  char *crlf = crlf_version(mlp, NULL), *bom = malloc(strlen(mlp) + 4), *both = crlf_version(mlp, "\xEF\xBB\xBF");
  strcpy(stpcpy(bom, "\xEF\xBB\xBF"), mlp);
  assert_checks_ok("crlf.net", crlf);
  assert_checks_ok("bom.net", bom);
  assert_checks_ok("bom-crlf.net", both);
  free(mlp);
  free(crlf);
  free(bom);
  free(both);
}
END_TEST

/* In a CRLF file with a BOM the column of an error counts neither, and the quoted line has
 * no stray carriage return. */
START_TEST(crlf_bom_error_location) {
  char *text = crlf_version("input x : [784]\ntarget y : onehot(10)\nout = $\n", "\xEF\xBB\xBF");
  char *path = write_temp_file("bad.net", text);
  RunResult r = dlc("check", path);
  char *want = NULL;
  ck_assert_int_ge(asprintf(&want, "%s:3:7: error: unexpected character '$'\n  out = $\n        ^\n", path), 0);
  remove_temp_file(path);
  assert_fails_with(r, 1, NULL);
  ck_assert_str_eq(r.err, want);
  run_result_free(&r);
  free(text);
  free(want);
}
END_TEST

/* ---- the suite -------------------------------------------------------------------------- */

static Suite *errors_suite(void) {
  Suite *s = suite_create("errors");
  TCase *tc = add_tcase(s, "errors", 120);
  tcase_add_test(tc, error_files_are_paired);
  tcase_add_test(tc, error_files_match);
  tc = add_tcase(s, "encodings", 120);
  tcase_add_test(tc, crlf_and_bom_accepted);
  tcase_add_test(tc, crlf_bom_error_location);
  return s;
}

int main(void) { return run_suite(errors_suite()); }
