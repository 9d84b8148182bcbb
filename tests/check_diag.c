/* check_diag.c — diagnostics that teach, and layers that keep their call site. Owns: the
 * golden warnings in tests/warnings/ (every NAME.net must make `dlc check NAME.net` exit 0
 * and print exactly NAME.err, and with --Werror exit 1 and print it with each warning an
 * error); the "did you mean" helper (support/suggest.c) and its use by the command line; the
 * call chain of nodes a user function makes (sema), which autodiff keeps; and what carries it
 * out: a row per call in `dlc check`, DILocations inlined at each call in the IR, and
 * `objdump -l --inlines` of a `dlc compile` object naming both lines. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define DLC_TIMEOUT TIMEOUT /* (enum below) */
#include "helpers.h"
#include "suggest.h"

#define WARNINGS_DIR DLC_SOURCE_DIR "/tests/warnings"
#define MLP DLC_SOURCE_DIR "/examples/mlp.net"

enum { TIMEOUT = 60 };

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
  assert_fails(r, NULL);
  assert_contains("stderr", r.err, "dlc: error: unknown command 'trian'; did you mean 'train'?\n");
  run_result_free(&r);
  r = dlc("frobnicate", MLP);
  assert_fails(r, NULL);
  assert_contains("stderr", r.err, "dlc: error: unknown command 'frobnicate'\n");
  run_result_free(&r);
}
END_TEST

START_TEST(unknown_option_suggests) {
  RunResult r = dlc("train", MLP, "--epoch", "3");
  assert_fails(r, NULL);
  assert_contains("stderr", r.err,
                  "dlc: error: unknown option '--epoch' for 'train' (see dlc train --help); did you mean '--epochs'?\n");
  run_result_free(&r);
  r = dlc("check", MLP, "--epochs", "3"); /* another command's option */
  assert_fails(r, NULL);
  assert_contains("stderr", r.err, "dlc: error: unknown option '--epochs' for 'check': only train takes it (see dlc check --help)\n");
  run_result_free(&r);
  r = dlc("check", MLP, "--save", "x.ck");
  assert_fails(r, NULL);
  assert_contains("stderr", r.err, "only train takes it");
  run_result_free(&r);
  r = dlc("check", MLP, "--batch-size", "8");
  assert_fails(r, NULL);
  assert_contains("stderr", r.err, "did you mean '--batch'?");
  run_result_free(&r);
  r = dlc("ir", MLP, "--stage", "asmb");
  assert_fails(r, NULL);
  assert_contains("stderr", r.err, "--stage expects graph, llvm, opt or asm, got 'asmb'; did you mean 'asm'?\n");
  run_result_free(&r);
  r = dlc("check", MLP, "--after", "cce");
  assert_fails(r, NULL);
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
    RunResult r = dlc_in(WARNINGS_DIR, "check", e->d_name);
    RunResult w = dlc_in(WARNINGS_DIR, "check", e->d_name, "--Werror");
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
  assert_ok(r);
  ck_assert_str_eq(r.err, "");
  run_result_free(&r);
  r = dlc("graph", WARNINGS_DIR "/double_softmax.net", "--Werror");
  assert_fails(r, NULL);
  assert_contains("stderr", r.err, "error: cross_entropy applies softmax");
  run_result_free(&r);
  r = dlc("graph", WARNINGS_DIR "/double_softmax.net"); /* a warning alone fails nothing */
  assert_ok(r);
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

/* ---- layers made by a user function keep their call site -------------------------------- */

static const char *const twice_net = "input  x : [784]\n"               /* 1 */
                                     "target y : onehot(10)\n"          /* 2 */
                                     "\n"                               /* 3 */
                                     "def block(v, n) = relu(dense(v, n, init: he))\n" /* 4 */
                                     "def pair(v, n) = block(block(v, n), n)\n"        /* 5 */
                                     "h1   = block(x, 64)\n"            /* 6 */
                                     "h2   = block(h1, 32)\n"           /* 7 */
                                     "h3   = pair(h2, 16)\n"            /* 8 */
                                     "out  = dense(h3, 10)\n"           /* 9 */
                                     "loss = cross_entropy(out, y)\n";  /* 10 */

/* Sema gives what a body makes the body's location and the chain of calls; autodiff's nodes
 * keep both. */
START_TEST(nodes_know_their_calls) {
  char *diags = NULL;
  Model *m = load_model_text(twice_net, &diags);
  ck_assert_msg(m, "%s", diags);
  ck_assert_str_eq(diags, "");
  const Graph *g = m->g;
  const Node *w1 = graph_find(g, OP_PARAM, "h1.W"), *w2 = graph_find(g, OP_PARAM, "h2.W");
  const Node *w3 = graph_find(g, OP_PARAM, "h3.W"), *w4 = graph_find(g, OP_PARAM, "h3_2.W");
  ck_assert(w1 && w2 && w3 && w4);
  ck_assert_int_eq(w1->loc.line, 4);
  ck_assert_ptr_nonnull(w1->loc.site);
  ck_assert_str_eq(w1->loc.site->fn, "block");
  ck_assert_int_eq(w1->loc.site->def.line, 4);
  ck_assert_int_eq(w1->loc.site->call.line, 6);
  ck_assert_ptr_null(w1->loc.site->call.site);
  ck_assert_int_eq(w2->loc.site->call.line, 7);
  /* pair's two calls of block: each inside pair's body (line 5), called on line 8 */
  for (int k = 0; k < 2; k++) {
    const Node *w = k ? w4 : w3;
    ck_assert_int_eq(srcloc_depth(w->loc), 2);
    ck_assert_int_eq(w->loc.site->call.line, 5);
    ck_assert_str_eq(w->loc.site->call.site->fn, "pair");
    ck_assert_int_eq(srcloc_outermost(w->loc).line, 8);
    ck_assert_str_eq(srcloc_outermost_call(w->loc)->fn, "pair");
  }
  ck_assert_int_ne(w3->loc.site->call.col, w4->loc.site->call.col); /* block(block(...)) */
  /* top-level nodes have no call */
  const Node *out = m->sema.out;
  ck_assert_ptr_null(out->loc.site);
  ck_assert_int_eq(srcloc_outermost(out->loc).line, 9);
  ck_assert(model_build_training(m));
  for (int k = 0; k < 2; k++) {
    const Node *w = k ? w2 : w1, *dw = m->grads[w->id];
    ck_assert_ptr_nonnull(dw);
    ck_assert_ptr_eq(dw->loc.site, w->loc.site);
  }
  model_free(m);
  free(diags);
}
END_TEST

static char *write_twice(void) { return write_temp_file("twice.net", twice_net); }

/* The row of `dlc check`'s per-line table for line, split into what it defines and its
 * parameter count; false if there is none. */
static bool check_row(const char *out, int line, char *defines, size_t len, long long *params) {
  char head[32];
  snprintf(head, sizeof head, "\n  %-6d ", line);
  const char *p = strstr(out, head), *end = p ? strchr(p + 1, '\n') : NULL;
  if (!p || !end) return false;
  p += strlen(head);
  const char *num = end; /* the parameter count is the first of the four numbers */
  for (int k = 0; k < 4; k++) {
    while (num > p && num[-1] != ' ') num--;
    while (num > p && num[-1] == ' ') num--;
  }
  snprintf(defines, len, "%.*s", (int)(num - p), p);
  return sscanf(num, "%lld", params) == 1;
}

START_TEST(check_rows_per_call) {
  char *path = write_twice();
  RunResult r = dlc("check", path);
  remove_temp_file(path);
  assert_ok(r);
  /* block(x, 64): 784*64 + 64 parameters; block(h1, 32): 64*32 + 32; pair(h2, 16): two blocks */
  static const struct { int line; const char *defines; long long params; } rows[] = {
      {6, "h1 (block, line 4)", 50240}, {7, "h2 (block, line 4)", 2080}, {8, "h3 (pair, line 5)", 800}, {9, "out", 170}};
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    char defines[64];
    long long params = -1;
    ck_assert_msg(check_row(r.out, rows[i].line, defines, sizeof defines, &params), "no row %d in:\n%s", rows[i].line,
                  r.out);
    ck_assert_str_eq(defines, rows[i].defines);
    ck_assert_int_eq(params, rows[i].params);
  }
  char defines[64];
  long long params;
  ck_assert(!check_row(r.out, 4, defines, sizeof defines, &params)); /* nothing counts on the def's own line */
  ck_assert(!check_row(r.out, 5, defines, sizeof defines, &params));
  run_result_free(&r);
}
END_TEST

/* What follows "!N = " on the line of ir that defines the metadata !N, or NULL. */
static const char *metadata(const char *ir, const char *id) {
  char head[32];
  snprintf(head, sizeof head, "\n%s = ", id);
  const char *p = strstr(ir, head);
  return p ? p + strlen(head) : NULL;
}

/* Every DILocation inlined somewhere: its scope must be block's or pair's subprogram, and the
 * call lines it is inlined at, out to the generated function, are collected in lines[]. */
START_TEST(ir_locations_inlined_at_calls) {
  char *path = write_twice();
  RunResult r = dlc("ir", path, "--fn", "dlc_train_step");
  RunResult full = dlc("ir", path);
  remove_temp_file(path);
  assert_ok(r);
  assert_ok(full);
  const char *ir = full.out;
  assert_contains("dlc ir", ir, "!DISubprogram(name: \"block\", linkageName: \"block\", scope: !1, file: !1, line: 4,");
  assert_contains("dlc ir", ir, "!DISubprogram(name: \"pair\", linkageName: \"pair\", scope: !1, file: !1, line: 5,");
  bool seen[16] = {false};
  int inlined = 0;
  for (const char *p = ir; (p = strstr(p, "inlinedAt: !")); p++) {
    char id[16];
    ck_assert_int_eq(sscanf(p + strlen("inlinedAt: "), "%15[!0-9]", id), 1);
    const char *def = metadata(ir, id);
    int line = 0;
    ck_assert_msg(def && sscanf(def, "!DILocation(line: %d,", &line) == 1, "%s is not a DILocation", id);
    ck_assert_int_lt(line, 16);
    seen[line] = true;
    inlined++;
  }
  ck_assert_int_gt(inlined, 0);
  ck_assert_msg(seen[6] && seen[7] && seen[8], "inlined at lines 6 %d, 7 %d, 8 %d", seen[6], seen[7], seen[8]);
  ck_assert_msg(seen[5], "block's calls inside pair (line 5) are not an inlinedAt");
  ck_assert_msg(!seen[4] && !seen[9], "a call on line 4 or 9?");
  /* the instructions of a function carry them (not only the metadata) */
  assert_contains("dlc ir --fn dlc_train_step", r.out, "!dbg !");
  run_result_free(&r);
  run_result_free(&full);
}
END_TEST

/* objdump -d -l --inlines: the machine code of block's dense layer is at line 4, inlined by
 * line 6 and by line 7 of each function. */
START_TEST(objdump_names_both_lines) {
  char *dir = make_temp_dir(), *net = path_join(dir, "twice.net"), *obj = path_join(dir, "twice.o");
  write_text(net, twice_net);
  RunResult r = dlc("compile", net, "-o", obj);
  assert_ok(r);
  run_result_free(&r);
  r = run_command(NULL, TIMEOUT, "/usr/bin/objdump", "-d", "-l", "--inlines", obj, (const char *)NULL);
  assert_ok(r);
  static const char *const want[] = {"block():\n", "twice.net:4\n", "inlined by ", "twice.net:6 (dlc_forward)\n",
                                     "twice.net:7 (dlc_forward)\n", "twice.net:6 (dlc_train_step)\n",
                                     "twice.net:7 (dlc_train_step)\n", "pair():\n"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) assert_contains("objdump -d -l --inlines", r.out, want[i]);
  run_result_free(&r);
  remove_tree(dir);
  free(dir);
  free(net);
  free(obj);
}
END_TEST

/* ---- the suite -------------------------------------------------------------------------- */

int main(void) {
  Suite *s = suite_create("diag");
  TCase *tc = add_tcase(s, "suggestions", 120);
  tcase_add_test(tc, suggest_distances);
  tcase_add_test(tc, suggest_nearest_names);
  tcase_add_test(tc, unknown_command_suggests);
  tcase_add_test(tc, unknown_option_suggests);
  tc = add_tcase(s, "warnings", 120);
  tcase_add_test(tc, warning_files_match);
  tcase_add_test(tc, werror_on_clean_file_and_other_commands);
  tcase_add_test(tc, warnings_printed_once);
  tc = add_tcase(s, "call_sites", 120);
  tcase_add_test(tc, nodes_know_their_calls);
  tcase_add_test(tc, check_rows_per_call);
  tcase_add_test(tc, ir_locations_inlined_at_calls);
  tcase_add_test(tc, objdump_names_both_lines);
  return run_suite(s);
}
