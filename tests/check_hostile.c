/* check_hostile.c — dlc against inputs a hostile (or unlucky) user gives it: every case ends
 * in a clear error and exit 1, in time, with output of bounded size — never a hang, a crash,
 * a lost file or a silently wrong answer. The files are generated here.
 *
 *   the front end: files of a million statements, a million errors, megabyte lines,
 *                  thousands of dimensions, CR-only line ends, a FIFO for a .net file */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "helpers.h"

enum { TIMEOUT = 120 };

static RunResult dlc_argv(char **args) {
  char *argv[16] = {(char *)DLC_BINARY};
  int n = 1;
  for (; args[n - 1]; n++) argv[n] = args[n - 1];
  argv[n] = NULL;
  return run_program(NULL, argv, TIMEOUT);
}

#define dlc(...) dlc_argv((char *[]){__VA_ARGS__, NULL})

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int count_of(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

/* A file in a fresh temporary directory, written by printf-style pieces. */
typedef struct Gen {
  char *dir, *path;
  FILE *f;
} Gen;

static Gen gen_open(const char *name) {
  Gen g = {make_temp_dir(), NULL, NULL};
  g.path = path_join(g.dir, name);
  g.f = fopen(g.path, "w");
  ck_assert_ptr_nonnull(g.f);
  return g;
}

static void gen_close(Gen *g) { ck_assert_int_eq(fclose(g->f), 0); }

static void gen_free(Gen *g) {
  remove_tree(g->dir);
  free(g->dir);
  free(g->path);
}

/* A valid program of `statements` statements: a chain of elementwise steps. */
static Gen chain_program(int statements) {
  Gen g = gen_open("chain.net");
  fprintf(g.f, "input x : [784]\ntarget y : onehot(10)\nh0 = x\n");
  for (int i = 1; i < statements - 4; i++) fprintf(g.f, "h%d = h%d + 1\n", i, i - 1);
  fprintf(g.f, "out = dense(h%d, 10)\nloss = cross_entropy(out, y)\n", statements - 5);
  gen_close(&g);
  return g;
}

/* How long `dlc check path` takes, which must end with `status`. */
static double check_seconds_status(const char *path, int status) {
  double t0 = now();
  RunResult r = dlc("check", (char *)path);
  double t = now() - t0;
  ck_assert_msg(r.status == status, "dlc check ended with %d, not %d: %.2000s", r.status, status, r.err);
  run_result_free(&r);
  return t;
}

static double check_seconds(const char *path) { return check_seconds_status(path, 0); }

/* Every front-end pass is linear (or n log n): eight times the statements take well under
 * the 64 times a quadratic pass would (a 40,000-statement file once took 4 s, 2,000,000
 * hours); and a million statements are checked within the timeout. */
START_TEST(checking_is_linear_in_statements) {
  Gen small = chain_program(25000), large = chain_program(200000);
  double ts = check_seconds(small.path), tl = check_seconds(large.path);
  ck_assert_msg(tl < 20 * ts + 0.5, "25,000 statements: %.2f s, 200,000: %.2f s (%.1f times)", ts, tl, tl / ts);
  gen_free(&small);
  gen_free(&large);
  Gen million = chain_program(1000000);
  double t = check_seconds(million.path);
  fprintf(stderr, "check_hostile: 1,000,000 statements checked in %.1f s\n", t);
  gen_free(&million);
}
END_TEST

/* A table of many rows, a function of many parameters (one of them twice), a call of many
 * arguments (an error: at most 8). */
START_TEST(long_lists_are_linear) {
  double t[2];
  for (int k = 0; k < 2; k++) {
    int n = k ? 160000 : 20000;
    Gen g = gen_open("lists.net");
    fprintf(g.f, "input x : [784]\ntarget y : onehot(10)\ntable t = {\n");
    for (int i = 0; i < n; i++) fputs("  [X .]\n", g.f);
    fputs("}\ndef f(", g.f);
    for (int i = 0; i < n; i++) fprintf(g.f, "%sa%d", i ? ", " : "", i % (n - 1));
    fputs(") = a0\nh = dense(x, 10, ", g.f);
    for (int i = 0; i < n; i++) fprintf(g.f, "%sx", i ? ", " : "");
    fputs(")\nout = h\nloss = cross_entropy(out, y)\n", g.f);
    gen_close(&g);
    t[k] = check_seconds_status(g.path, 1);
    RunResult r = dlc("check", g.path);
    ck_assert_int_eq(count_of(r.err, ": error: "), 1); /* (parsing stops at the repeated parameter) */
    ck_assert_ptr_nonnull(strstr(r.err, "parameter 'a0' appears twice"));
    run_result_free(&r);
    gen_free(&g);
  }
  ck_assert_msg(t[1] < 20 * t[0] + 0.5, "20,000 items: %.2f s, 160,000: %.2f s", t[0], t[1]);
}
END_TEST

/* A file with an error on each of 100,000 lines: the first hundred are shown, then one line
 * says there were too many, and stderr stays small. */
START_TEST(errors_stop_at_a_limit) {
  Gen g = gen_open("errors.net");
  fputs("input x : [784]\ntarget y : onehot(10)\n", g.f);
  for (int i = 0; i < 100000; i++) fprintf(g.f, "h%d = nosuch(x)\n", i);
  gen_close(&g);
  RunResult r = dlc("check", g.path);
  ck_assert_int_eq(r.status, 1);
  ck_assert_int_eq(count_of(r.err, ": error: "), 100 + 1); /* and "too many errors" */
  ck_assert_ptr_nonnull(strstr(r.err, "too many errors (100)"));
  ck_assert_int_lt(strlen(r.err), 200000);
  run_result_free(&r);
  gen_free(&g);
}
END_TEST

/* A megabyte-long line with an error in its middle: the message and the echoed line are cut
 * to a window around the caret. */
START_TEST(long_lines_are_cut) {
  Gen g = gen_open("long.net");
  fputs("input x : [784]\ntarget y : onehot(10)\n", g.f);
  for (int i = 0; i < 50000; i++) fprintf(g.f, "a%d = x ", i); /* statements need no line ends */
  fputs("b = nosuch(x) ", g.f);
  for (int i = 0; i < 50000; i++) fprintf(g.f, "c%d = x ", i);
  fputs("\n", g.f);
  gen_close(&g);
  RunResult r = dlc("check", g.path);
  ck_assert_int_eq(r.status, 1);
  ck_assert_int_lt(strlen(r.err), 4000);
  ck_assert_msg(strstr(r.err, "\n  ...") && strstr(r.err, "= x b = nosuch(x) c0 = x") && strstr(r.err, "...\n"), "%s", r.err);
  run_result_free(&r);
  /* a name of 100,000 letters in a message */
  Gen n = gen_open("name.net");
  fputs("input x : [784]\ntarget y : onehot(10)\nh = ", n.f);
  for (int i = 0; i < 100000; i++) fputc('a', n.f);
  fputs("\n", n.f);
  gen_close(&n);
  r = dlc("check", n.path);
  ck_assert_int_eq(r.status, 1);
  ck_assert_int_lt(strlen(r.err), 4000);
  run_result_free(&r);
  gen_free(&g);
  gen_free(&n);
}
END_TEST

/* A shape of 100,000 dimensions is one error, not one per dimension. */
START_TEST(too_many_dimensions_is_one_error) {
  Gen g = gen_open("dims.net");
  fputs("input x : [1", g.f);
  for (int i = 0; i < 100000; i++) fputs(", 1", g.f);
  fputs("]\n", g.f);
  gen_close(&g);
  RunResult r = dlc("check", g.path);
  ck_assert_int_eq(r.status, 1);
  ck_assert_int_eq(count_of(r.err, ": error: "), 1);
  ck_assert_ptr_nonnull(strstr(r.err, "at most 4 dimensions"));
  ck_assert_int_lt(strlen(r.err), 4000);
  run_result_free(&r);
  gen_free(&g);
}
END_TEST

/* Old Mac line ends (a lone CR) are line ends: the file checks, and an error is reported on
 * the right line; CR LF too. */
START_TEST(cr_line_ends_are_line_ends) {
  static const char *const ends[] = {"\r", "\r\n"};
  for (int k = 0; k < 2; k++) {
    Gen g = gen_open("cr.net");
    fprintf(g.f, "input x : [784]%starget y : onehot(10)%s# a comment%sout = dense(x, 10)%sloss = cross_entropy(out, y)%s",
            ends[k], ends[k], ends[k], ends[k], ends[k]);
    gen_close(&g);
    RunResult r = dlc("check", g.path);
    ck_assert_msg(r.status == 0, "%s", r.err);
    run_result_free(&r);
    g.f = fopen(g.path, "w");
    fprintf(g.f, "input x : [784]%starget y : onehot(10)%s%sout = nosuch(x)%s", ends[k], ends[k], ends[k], ends[k]);
    gen_close(&g);
    r = dlc("check", g.path);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "cr.net:4:7: error:"), "%s", r.err);
    ck_assert_msg(strstr(r.err, "\n  out = nosuch(x)\n"), "%s", r.err);
    run_result_free(&r);
    gen_free(&g);
  }
}
END_TEST

/* A FIFO (or a device, or a directory) given as the .net file is refused at once. */
START_TEST(only_regular_files_are_programs) {
  char *dir = make_temp_dir(), *fifo = path_join(dir, "model.net");
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  char *cases[] = {fifo, "/dev/zero", dir};
  for (int i = 0; i < 3; i++) {
    RunResult r = dlc("check", cases[i]);
    ck_assert_msg(r.status == 1 && strstr(r.err, "not a regular file"), "%s: %d %s", cases[i], r.status, r.err);
    run_result_free(&r);
  }
  remove_tree(dir);
  free(fifo);
  free(dir);
}
END_TEST

static Suite *hostile_suite(void) {
  Suite *s = suite_create("hostile");
  TCase *front = tcase_create("front");
  tcase_set_timeout(front, 600);
  tcase_add_test(front, checking_is_linear_in_statements);
  tcase_add_test(front, long_lists_are_linear);
  tcase_add_test(front, errors_stop_at_a_limit);
  tcase_add_test(front, long_lines_are_cut);
  tcase_add_test(front, too_many_dimensions_is_one_error);
  tcase_add_test(front, cr_line_ends_are_line_ends);
  tcase_add_test(front, only_regular_files_are_programs);
  suite_add_tcase(s, front);
  return s;
}

int main(void) { return run_suite(hostile_suite()); }
