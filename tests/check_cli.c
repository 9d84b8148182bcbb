/* check_cli.c — end-to-end tests of the dlc binary. Owns: the golden diagnostics in
 * tests/errors/ (every NAME.net must make `dlc check NAME.net` print exactly NAME.err and exit
 * 1); the command line (help, version, commands, options and their values, missing files);
 * CRLF and BOM input; data-file errors of `dlc train` on small generated IDX files; what
 * `dlc check`, `graph`, `ir` and `gradcheck` print for examples/mlp.net; and robustness: no
 * damaged program (300 deterministic mutants of mlp.net), very deep expression, or odd but
 * accepted program under `dlc train` makes dlc crash, hang or exit 2. */
#define _GNU_SOURCE
#include "helpers.h"
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERRORS_DIR DLC_SOURCE_DIR "/tests/errors"
#define MLP DLC_SOURCE_DIR "/examples/mlp.net"

enum { TIMEOUT = 60, MAX_ARGS = 16 };

/* ---- helpers ---------------------------------------------------------------------------- */

/* Runs dlc with the NULL-terminated arguments in directory cwd (NULL: the current one). */
static RunResult dlc_in(const char *cwd, int timeout_s, ...) {
  char *argv[MAX_ARGS + 2] = {(char *)DLC_BINARY};
  int n = 1;
  va_list ap;
  va_start(ap, timeout_s);
  for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
    ck_assert_int_lt(n, MAX_ARGS);
    argv[n++] = (char *)a;
  }
  va_end(ap);
  argv[n] = NULL;
  return run_program(cwd, argv, timeout_s);
}

#define dlc(...) dlc_in(NULL, TIMEOUT, __VA_ARGS__, (const char *)NULL)

static bool starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* The first line of text that starts with prefix (up to its newline), or NULL. */
static const char *line_starting(const char *text, const char *prefix) {
  for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
    if (starts_with(p, prefix)) return p;
  return NULL;
}

static void assert_contains(const char *what, const char *text, const char *needle) {
  if (!strstr(text, needle))
    ck_abort_msg("%s does not contain \"%s\"; it is:\n%s", what, needle, text);
}

/* Asserts status and that stderr contains needle (if not NULL). */
static void assert_fails_with(RunResult r, int status, const char *needle) {
  if (r.status != status) ck_abort_msg("status %d, expected %d; stderr:\n%s", r.status, status, r.err);
  if (needle) assert_contains("stderr", r.err, needle);
}

static void assert_ok(RunResult r) {
  if (r.status != 0) ck_abort_msg("status %d, expected 0; stderr:\n%s", r.status, r.err);
}


static void write_bytes(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
}


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
    RunResult r = dlc_in(ERRORS_DIR, 10, "check", net, (const char *)NULL);
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
  RunResult r = dlc_in(NULL, TIMEOUT, (const char *)NULL);
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

/* ---- data-file errors of `dlc train` ---------------------------------------------------- */

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

/* An IDX image file of count 28x28 images with magic, keeping only keep bytes of it. */
static void write_images(const char *path, uint32_t magic, uint32_t count, size_t keep) {
  size_t n = 16 + (size_t)count * 28 * 28;
  unsigned char *buf = calloc(1, n);
  put_be32(buf, magic);
  put_be32(buf + 4, count);
  put_be32(buf + 8, 28);
  put_be32(buf + 12, 28);
  for (size_t i = 16; i < n; i++) buf[i] = (unsigned char)(i * 7);
  write_bytes(path, buf, keep < n ? keep : n);
  free(buf);
}

static void write_labels(const char *path, uint32_t count) {
  unsigned char buf[8 + 16] = {0};
  ck_assert_uint_le(count, 16);
  put_be32(buf, 0x00000801);
  put_be32(buf + 4, count);
  for (uint32_t i = 0; i < count; i++) buf[8 + i] = (unsigned char)(i % 10);
  write_bytes(path, buf, 8 + count);
}

/* A temporary data directory DIR with DIR/mnist/ empty. */
typedef struct DataDir {
  char *dir, *mnist;
} DataDir;

static DataDir data_dir_new(void) {
  DataDir d = {make_temp_dir(), NULL};
  d.mnist = path_join(d.dir, "mnist");
  ck_assert_int_eq(mkdir(d.mnist, 0755), 0);
  return d;
}

static void data_dir_free(DataDir *d) {
  remove_tree(d->dir);
  free(d->dir);
  free(d->mnist);
}

static char *mnist_file(const DataDir *d, const char *name) { return path_join(d->mnist, name); }

/* Writes a valid 3-image set `prefix` (train or t10k) into d. */
static void write_valid_set(const DataDir *d, const char *prefix) {
  char name[64];
  snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
  char *img = mnist_file(d, name);
  snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
  char *lbl = mnist_file(d, name);
  write_images(img, 0x00000803, 3, SIZE_MAX);
  write_labels(lbl, 3);
  free(img);
  free(lbl);
}

/* Runs `dlc train mlp.net --data DIR --epochs 1`, removes DIR, and then asserts status 1 and,
 * as the contract for data-file errors says, a line "PATH: error: MESSAGE" whose MESSAGE
 * contains want. */
static void assert_data_error(DataDir *d, const char *path, const char *want) {
  RunResult r = dlc("train", MLP, "--data", d->dir, "--epochs", "1");
  char *prefix = NULL, *msg = NULL;
  ck_assert_int_ge(asprintf(&prefix, "%s: error: ", path), 0);
  const char *line = line_starting(r.err, prefix), *end = line ? strchr(line, '\n') : NULL;
  if (line) msg = strndup(line, end ? (size_t)(end - line) : strlen(line));
  data_dir_free(d);
  if (r.status != 1) ck_abort_msg("status %d, expected 1; stderr:\n%s", r.status, r.err);
  if (!msg)
    ck_abort_msg("no line starts with \"%s\" (data-file errors must be PATH: error: MESSAGE); stderr:\n%s", prefix,
                 r.err);
  assert_contains("the PATH: error: line", msg, want);
  free(msg);
  free(prefix);
  run_result_free(&r);
}

/* Validation options need a split the training set can spare; each mistake is a clear error
 * before any training. */
START_TEST(validation_errors) {
  static const struct { const char *flag, *value, *want; } cases[] = {
      {"--validation", "3", "--validation 3 holds out every image of the 3-image training set"},
      {"--patience", "2", "--patience needs a validation split"},
      {"--save-best", "best.ck", "--save-best needs a validation split"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    DataDir d = data_dir_new();
    write_valid_set(&d, "train");
    write_valid_set(&d, "t10k");
    RunResult r = dlc("train", MLP, "--data", d.dir, "--epochs", "1", cases[i].flag, cases[i].value);
    data_dir_free(&d);
    assert_fails_with(r, 1, cases[i].want);
    ck_assert_msg(!strstr(r.out, "epoch 1/"), "trained despite the error: %s", r.out);
    run_result_free(&r);
  }
  /* patience from --set, the split from --validation: the order of overrides does not matter */
  DataDir d = data_dir_new();
  write_valid_set(&d, "train");
  write_valid_set(&d, "t10k");
  RunResult r = dlc("train", MLP, "--data", d.dir, "--epochs", "1", "--set", "patience = 2", "--validation", "1");
  data_dir_free(&d);
  assert_ok(r);
  assert_contains("stdout", r.out, "val_error");
  run_result_free(&r);
}
END_TEST

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
                    "validation = 5000; patience = 3");
  ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
  assert_contains("stdout", r.out, "adam lr 0.002 beta1 0.9");
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

START_TEST(data_missing_files) {
  DataDir d = data_dir_new();
  char *img = mnist_file(&d, "train-images-idx3-ubyte");
  assert_data_error(&d, img, "file not found");
  free(img);
}
END_TEST

START_TEST(data_missing_test_set) {
  DataDir d = data_dir_new();
  write_valid_set(&d, "train");
  char *img = mnist_file(&d, "t10k-images-idx3-ubyte");
  assert_data_error(&d, img, "file not found");
  free(img);
}
END_TEST

START_TEST(data_truncated_images) {
  DataDir d = data_dir_new();
  write_valid_set(&d, "t10k");
  char *img = mnist_file(&d, "train-images-idx3-ubyte"), *lbl = mnist_file(&d, "train-labels-idx1-ubyte");
  write_images(img, 0x00000803, 3, 16 + 1000); /* the header promises 3 * 784 pixels */
  write_labels(lbl, 3);
  assert_data_error(&d, img, "truncated");
  free(img);
  free(lbl);
}
END_TEST

START_TEST(data_wrong_magic) {
  DataDir d = data_dir_new();
  write_valid_set(&d, "t10k");
  char *img = mnist_file(&d, "train-images-idx3-ubyte"), *lbl = mnist_file(&d, "train-labels-idx1-ubyte");
  write_images(img, 0x00000801, 3, SIZE_MAX);
  write_labels(lbl, 3);
  assert_data_error(&d, img, "wrong magic 0x00000801");
  free(img);
  free(lbl);
}
END_TEST

/* Images of another size than the input's: reported at `data =`. */
START_TEST(data_wrong_image_size) {
  DataDir d = data_dir_new();
  char *img = mnist_file(&d, "train-images-idx3-ubyte"), *lbl = mnist_file(&d, "train-labels-idx1-ubyte");
  size_t n = 16 + 3 * 14 * 14;
  unsigned char *buf = calloc(1, n);
  put_be32(buf, 0x00000803);
  put_be32(buf + 4, 3);
  put_be32(buf + 8, 14);
  put_be32(buf + 12, 14);
  write_bytes(img, buf, n);
  write_labels(lbl, 3);
  write_valid_set(&d, "t10k");
  RunResult r = dlc("train", MLP, "--data", d.dir, "--epochs", "1");
  data_dir_free(&d);
  assert_fails_with(r, 1, "error: data set 'mnist' gives examples of [1, 14, 14] (196 values), but the input 'x' is [784]");
  run_result_free(&r);
  free(buf);
  free(img);
  free(lbl);
}
END_TEST

START_TEST(data_count_mismatch) {
  DataDir d = data_dir_new();
  write_valid_set(&d, "t10k");
  char *img = mnist_file(&d, "train-images-idx3-ubyte"), *lbl = mnist_file(&d, "train-labels-idx1-ubyte");
  write_images(img, 0x00000803, 3, SIZE_MAX);
  write_labels(lbl, 2);
  char *mnist = strdup(d.mnist);
  assert_data_error(&d, mnist, "3 images but 2 labels");
  free(mnist);
  free(img);
  free(lbl);
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
  assert_fails_with(r, 1, "DLC_CONV_KERNEL: error: 'fastest' is not a way to run convolutions (auto, im2col, taps, tiled)");
  run_result_free(&r);
  static const char *const ways[][2] = {{"im2col", "= im2col("}, {"tiled", " tiled "}, {"taps", "= conv_dw("}};
  for (int i = 0; i < 3; i++) {
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

/* ---- robustness: damaged programs never crash, hang or exit 2 --------------------------- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n) {
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(rng_state >> 33) % n;
}

/* Applies one random edit to the NUL-terminated text in buf (capacity cap). */
static void mutate(char *buf, size_t cap) {
  static const char punct[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~0123456789";
  size_t len = strlen(buf);
  if (len == 0) return;
  size_t pos = rnd((uint32_t)len);
  switch (rnd(5)) {
  case 0: { /* delete a byte range */
    size_t n = 1 + rnd(20);
    if (pos + n > len) n = len - pos;
    memmove(buf + pos, buf + pos + n, len - pos - n + 1);
    break;
  }
  case 1: { /* insert ASCII punctuation or digits */
    size_t n = 1 + rnd(3);
    if (len + n >= cap) return;
    memmove(buf + pos + n, buf + pos, len - pos + 1);
    for (size_t i = 0; i < n; i++) buf[pos + i] = punct[rnd(sizeof punct - 1)];
    break;
  }
  case 2: { /* duplicate the line holding pos */
    size_t start = pos, end = pos;
    while (start > 0 && buf[start - 1] != '\n') start--;
    while (end < len && buf[end] != '\n') end++;
    if (end < len) end++;
    size_t n = end - start;
    if (len + n >= cap) return;
    memmove(buf + end + n, buf + end, len - end + 1);
    memcpy(buf + end, buf + start, n);
    break;
  }
  case 3: /* truncate */
    buf[pos] = 0;
    break;
  case 4: /* overwrite a byte with any non-NUL byte, including non-ASCII and control bytes */
    buf[pos] = (char)(1 + rnd(255));
    break;
  }
}

START_TEST(mutations_never_crash) {
  char *mlp = read_file(MLP);
  ck_assert_ptr_nonnull(mlp);
  size_t cap = 2 * strlen(mlp) + 256;
  char *buf = malloc(cap);
  char *path = write_temp_file("mutant.net", "");
  int bad = 0;
  rng_state = 20240601;
  for (int i = 0; i < 300; i++) {
    strcpy(buf, mlp);
    for (int k = 1 + (int)rnd(3); k > 0; k--) mutate(buf, cap);
    write_bytes(path, buf, strlen(buf));
    RunResult r = dlc_in(NULL, 10, "check", path, (const char *)NULL);
    for (int retry = 0; retry < 3 && r.status == 127 && !*r.err; retry++) {
      /* exec failed (the binary is being relinked by a concurrent build): not dlc's fault */
      run_result_free(&r);
      sleep(2);
      r = dlc_in(NULL, 10, "check", path, (const char *)NULL);
    }
    if (r.status != 0 && r.status != 1) {
      fprintf(stderr, "---- mutant %d: status %d%s\n---- input:\n%s\n---- stderr:\n%.2000s\n", i, r.status,
              r.status == 128 + 9 ? " (killed after 10 s)" : "", buf, r.err);
      bad++;
    }
    run_result_free(&r);
  }
  ck_assert_msg(bad == 0, "%d of 300 mutants of mlp.net crashed, hung or exited 2 (see above)", bad);
  remove_temp_file(path);
  free(buf);
  free(mlp);
}
END_TEST

/* Very deep or very long expressions: an error or success, never a stack overflow. */
START_TEST(deep_expressions_never_crash) {
  enum { DEPTH = 20000 };
  static const char *const shapes[] = {"(", "-", " + y", " * 1"};
  int bad = 0;
  for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
    size_t step = strlen(shapes[k]);
    char *text = malloc(DEPTH * (step + 1) + 256), *o = text;
    o = stpcpy(o, "input x : [784]\ntarget y : onehot(10)\nout = ");
    bool prefix = k < 2; /* "(((y)))" and "---y" nest to the right; the others chain to the left */
    if (!prefix) o = stpcpy(o, "y");
    for (int i = 0; i < DEPTH; i++) o = stpcpy(o, shapes[k]);
    if (prefix) o = stpcpy(o, "y");
    for (int i = 0; k == 0 && i < DEPTH; i++) *o++ = ')';
    stpcpy(o, "\nloss = sum((y - out)^2)\n");
    char *path = write_temp_file("deep.net", text);
    RunResult r = dlc_in(NULL, 20, "check", path, (const char *)NULL);
    if (r.status != 0 && r.status != 1)
      fprintf(stderr, "---- %d x \"%s\": status %d; stderr:\n%.500s\n", DEPTH, shapes[k], r.status, r.err), bad++;
    run_result_free(&r);
    remove_temp_file(path);
    free(text);
  }
  ck_assert_msg(bad == 0, "%d deep expressions crashed dlc check (see above)", bad);
}
END_TEST

/* `dlc train` on unusual but accepted programs, with tiny data: status 0 or 1, never a crash. */
START_TEST(train_odd_programs_never_crash) {
  static const char *const programs[] = {
      /* out computed from the target, which prediction does not have */
      "input x : [784]\ntarget y : onehot(10)\nparam W : [10, 784]\nout = W @ x + y\nloss = sum((y - out)^2)\n",
      /* a loss that no parameter affects, and a parameter nothing uses */
      "input x : [784]\ntarget y : onehot(10)\nparam W : [10, 784]\nparam U : [5, 5]\nout = W @ x\n"
      "loss = sum(x)\n",
      /* a batch larger than the data set */
      "input x : [784]\ntarget y : onehot(10)\nparam W : [10, 784]\nout = W @ x\nloss = sum((y - out)^2)\n"
      "train { batch = 1000 }\n",
  };
  int bad = 0;
  DataDir d = data_dir_new();
  write_valid_set(&d, "train");
  write_valid_set(&d, "t10k");
  for (size_t k = 0; k < sizeof programs / sizeof *programs; k++) {
    char *path = write_temp_file("odd.net", programs[k]);
    RunResult r = dlc("train", path, "--data", d.dir, "--epochs", "1");
    if (r.status != 0 && r.status != 1)
      fprintf(stderr, "---- program:\n%s---- status %d; stderr:\n%.500s\n", programs[k], r.status, r.err), bad++;
    run_result_free(&r);
    remove_temp_file(path);
  }
  data_dir_free(&d);
  ck_assert_msg(bad == 0, "dlc train crashed on %d programs (see above)", bad);
}
END_TEST

/* ---- the suite -------------------------------------------------------------------------- */

static TCase *tcase(Suite *s, const char *name) {
  TCase *tc = tcase_create(name);
  tcase_set_timeout(tc, 120);
  suite_add_tcase(s, tc);
  return tc;
}

static Suite *cli_suite(void) {
  Suite *s = suite_create("cli");
  TCase *tc = tcase(s, "errors");
  tcase_add_test(tc, error_files_are_paired);
  tcase_add_test(tc, error_files_match);

  tc = tcase(s, "command_line");
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

  tc = tcase(s, "encodings");
  tcase_add_test(tc, crlf_and_bom_accepted);
  tcase_add_test(tc, crlf_bom_error_location);

  tc = tcase(s, "data_errors");
  tcase_add_test(tc, data_missing_files);
  tcase_add_test(tc, data_missing_test_set);
  tcase_add_test(tc, data_truncated_images);
  tcase_add_test(tc, data_wrong_magic);
  tcase_add_test(tc, data_count_mismatch);
  tcase_add_test(tc, data_wrong_image_size);
  tcase_add_test(tc, validation_errors);
  tcase_add_test(tc, threads_and_batch_norm);
  tcase_add_test(tc, profile_table);
  tcase_add_test(tc, profile_rows_per_call);
  tcase_add_test(tc, train_compile_only);
  tcase_add_test(tc, check_scales);
  tcase_add_test(tc, set_overrides_train_settings);
  tcase_add_test(tc, augment_preview);
  tcase_add_test(tc, compile_object);
  tcase_add_test(tc, check_after_pass);

  tc = tcase(s, "inspect");
  tcase_add_test(tc, check_mlp);
  tcase_add_test(tc, graph_mlp);
  tcase_add_test(tc, ir_llvm);
  tcase_add_test(tc, ir_opt_vectorised);
  tcase_add_test(tc, ir_asm);
  tcase_add_test(tc, ir_one_function);
  tcase_add_test(tc, gradcheck_mlp);
  tcase_add_test(tc, developer_variables);
  tcase_add_loop_test(tc, gradcheck_examples, 0, 3);

  tc = tcase(s, "robustness");
  tcase_add_test(tc, mutations_never_crash);
  tcase_add_test(tc, deep_expressions_never_crash);
  tcase_add_test(tc, train_odd_programs_never_crash);
  return s;
}

int main(void) { return run_suite(cli_suite()); }
