/* check_cli.c — the command line of the dlc binary: --version and --help, each command's help
 * and options against docs/cli.md (every option in the command's table, the synopsis as
 * --help prints it), no arguments, unknown commands and options, bad option values, file
 * arguments (missing, a directory). check_errors.c, check_cli_data.c, check_commands.c and
 * check_robustness.c run the commands on files. */
#define _GNU_SOURCE
#define DLC_TIMEOUT TIMEOUT /* (enum below) */
#include "helpers.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MLP DLC_SOURCE_DIR "/examples/mlp.net"

enum { TIMEOUT = 60 };

/* ---- the command line ------------------------------------------------------------------- */

START_TEST(version) {
  RunResult r = dlc("--version");
  assert_ok(r);
  ck_assert_msg(starts_with(r.out, "dlc "), "version output: %s", r.out);
  run_result_free(&r);
}
END_TEST

START_TEST(help) {
  static const char *const flags[] = {"--help", "-h", "help"};
  for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
    RunResult r = dlc(flags[i]);
    assert_ok(r);
    assert_contains("dlc --help", r.out, "usage: dlc COMMAND");
    run_result_free(&r);
  }
}
END_TEST

START_TEST(command_help) {
  static const char *const cmds[] = {"train", "check", "graph", "ir", "gradcheck"};
  for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
    char want[64];
    snprintf(want, sizeof want, "usage: dlc %s FILE.net", cmds[i]);
    RunResult r = dlc(cmds[i], "--help");
    assert_ok(r);
    assert_contains("command --help", r.out, want);
    run_result_free(&r);
  }
}
END_TEST

/* The commands `dlc --help` lists (the lines after "commands:" up to a blank one), as a
 * NULL-terminated array of malloc'd names. */
static char **listed_commands(void) {
  RunResult r = dlc("--help");
  char **names = calloc(32, sizeof *names);
  int n = 0;
  const char *p = strstr(r.out, "commands:\n");
  ck_assert_ptr_nonnull(p);
  for (p = strchr(p, '\n') + 1; *p == ' ' && n < 31; p = strchr(p, '\n') + 1) {
    const char *w = p + strspn(p, " ");
    names[n++] = strndup(w, strcspn(w, " \n"));
  }
  run_result_free(&r);
  return names;
}

/* The usage lines of `dlc CMD --help` as docs/cli.md's synopsis writes them: without
 * "usage: ", continuation lines indented under the file name. */
static char *synopsis_of(const char *help) {
  char *out = calloc(1, strlen(help) + 1);
  const char *p = help + strlen("usage: ");
  for (bool first = true; *p && (first || *p == ' '); first = false) {
    size_t len = strcspn(p, "\n");
    if (!first) p += strlen("usage: "), len -= strlen("usage: "); /* (the indent shrinks with the prefix) */
    strncat(out, p, len + 1);
    p += len + (p[len] == '\n');
  }
  return out;
}

/* "name ARG" of every option line of `dlc CMD --help` ("  --batch N          ..."), sorted,
 * one per line. */
static int by_string(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char *sorted_lines(char **items, int n) {
  qsort(items, (size_t)n, sizeof *items, by_string);
  size_t len = 1;
  for (int i = 0; i < n; i++) len += strlen(items[i]) + 1;
  char *out = calloc(1, len);
  for (int i = 0; i < n; i++) strcat(strcat(out, items[i]), "\n"), free(items[i]);
  return out;
}

static char *help_options(const char *help) {
  char *items[64];
  int n = 0;
  for (const char *p = help; (p = strstr(p, "\n  -")) && n < 64; p++) {
    const char *start = p + 3;
    const char *end = strstr(start, "  "), *nl = strchr(start, '\n');
    if (!end || (nl && nl < end)) end = nl ? nl : start + strlen(start);
    items[n++] = strndup(start, (size_t)(end - start));
  }
  return sorted_lines(items, n);
}

/* The option cells of the table in docs/cli.md's section "## `dlc CMD`": rows that begin
 * "| `-", their code span. */
static char *doc_options(const char *doc, const char *cmd) {
  char head[64], *items[64];
  int n = 0;
  snprintf(head, sizeof head, "\n## `dlc %s`\n", cmd);
  const char *p = strstr(doc, head);
  ck_assert_msg(p, "docs/cli.md has no section %s", head + 1);
  const char *end = strstr(p + strlen(head), "\n## ");
  for (p = strstr(p, "\n| `-"); p && (!end || p < end) && n < 64; p = strstr(p + 1, "\n| `-")) {
    const char *start = p + 4;
    items[n++] = strndup(start, strcspn(start, "`"));
  }
  return sorted_lines(items, n);
}

/* docs/cli.md against the option tables (compiler/cli/options.c) as --help prints them: each
 * command's section lists exactly its options, and the synopsis block holds each usage. */
START_TEST(docs_list_every_option) {
  char *doc = read_file(DLC_SOURCE_DIR "/docs/cli.md");
  ck_assert_ptr_nonnull(doc);
  char **cmds = listed_commands();
  ck_assert_ptr_nonnull(cmds[0]);
  for (int i = 0; cmds[i]; i++) {
    RunResult r = dlc(cmds[i], "--help");
    assert_ok(r);
    char *want = help_options(r.out), *got = doc_options(doc, cmds[i]), *syn = synopsis_of(r.out);
    ck_assert_msg(strcmp(want, got) == 0, "docs/cli.md, dlc %s: the options of --help are\n%sbut the table lists\n%s",
                  cmds[i], want, got);
    ck_assert_msg(strstr(doc, syn), "docs/cli.md's synopsis lacks, as --help prints it:\n%s", syn);
    free(want);
    free(got);
    free(syn);
    free(cmds[i]);
    run_result_free(&r);
  }
  free(cmds);
  free(doc);
}
END_TEST

START_TEST(no_arguments) {
  RunResult r = run_command(NULL, TIMEOUT, DLC_BINARY, (const char *)NULL);
  assert_fails_with(r, 1, "usage:");
  run_result_free(&r);
}
END_TEST

START_TEST(unknown_command) {
  RunResult r = dlc("frobnicate", MLP);
  assert_fails_with(r, 1, "unknown command 'frobnicate'");
  run_result_free(&r);
}
END_TEST

START_TEST(unknown_option) {
  RunResult r = dlc("check", MLP, "--frob");
  assert_fails_with(r, 1, "unknown option '--frob'");
  run_result_free(&r);
  r = dlc("check", MLP, "--epochs", "3"); /* a train option, not a check option */
  assert_fails_with(r, 1, "unknown option '--epochs'");
  run_result_free(&r);
}
END_TEST

START_TEST(bad_option_values) {
  static const struct { const char *cmd, *flag, *value, *want; } cases[] = {
      {"train", "--epochs", "0", "--epochs expects a whole number"},
      {"train", "--epochs", "2.5", "--epochs expects a whole number"},
      {"train", "--lr", "-1", "--lr expects a positive number up to 1e6, got '-1'"},
      {"train", "--lr", "fast", "--lr expects a positive number"},
      {"train", "--batch", "abc", "--batch expects a whole number from 1 to 65536, got 'abc'"},
      {"train", "--threads", "0", "--threads expects a whole number"},
      {"train", "--validation", "-1", "--validation expects a whole number from 0 to 1000000"},
      {"train", "--patience", "x", "--patience expects a whole number from 0 to 100000"},
      {"ir", "--stage", "foo", "--stage expects graph, llvm, opt or asm, got 'foo'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    RunResult r = dlc(cases[i].cmd, MLP, cases[i].flag, cases[i].value);
    assert_fails_with(r, 1, cases[i].want);
    ck_assert_msg(starts_with(r.err, "dlc: error: "), "stderr: %s", r.err);
    run_result_free(&r);
  }
  RunResult r = dlc("train", MLP, "--epochs"); /* no value at all */
  assert_fails_with(r, 1, "option '--epochs' needs a value");
  run_result_free(&r);
}
END_TEST

START_TEST(file_arguments) {
  RunResult r = dlc("check");
  assert_fails_with(r, 1, "'check' needs a FILE.net");
  run_result_free(&r);
  r = dlc("check", MLP, MLP);
  assert_fails_with(r, 1, "takes one FILE.net");
  run_result_free(&r);
}
END_TEST

START_TEST(missing_file) {
  RunResult r = dlc("check", "/nonexistent-dir/nope.net");
  assert_fails_with(r, 1, NULL);
  ck_assert_msg(starts_with(r.err, "/nonexistent-dir/nope.net: error: "), "stderr: %s", r.err);
  run_result_free(&r);
}
END_TEST

START_TEST(directory_as_file) {
  RunResult r = dlc("check", DLC_SOURCE_DIR "/examples");
  assert_fails_with(r, 1, NULL);
  ck_assert_msg(starts_with(r.err, DLC_SOURCE_DIR "/examples: error: "), "stderr: %s", r.err);
  run_result_free(&r);
}
END_TEST

/* ---- the suite -------------------------------------------------------------------------- */

static Suite *cli_suite(void) {
  Suite *s = suite_create("cli");
  TCase *tc = add_tcase(s, "command_line", 120);
  tcase_add_test(tc, version);
  tcase_add_test(tc, help);
  tcase_add_test(tc, command_help);
  tcase_add_test(tc, docs_list_every_option);
  tcase_add_test(tc, no_arguments);
  tcase_add_test(tc, unknown_command);
  tcase_add_test(tc, unknown_option);
  tcase_add_test(tc, bad_option_values);
  tcase_add_test(tc, file_arguments);
  tcase_add_test(tc, missing_file);
  tcase_add_test(tc, directory_as_file);
  return s;
}

int main(void) { return run_suite(cli_suite()); }
