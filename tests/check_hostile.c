/* check_hostile.c — dlc against inputs a hostile (or unlucky) user gives it: every case ends
 * in a clear error and exit 1, in time, with output of bounded size — never a hang, a crash,
 * a lost file or a silently wrong answer. The files are generated here.
 *
 *   the front end: files of a million statements, a million errors, megabyte lines,
 *                  thousands of dimensions, CR-only line ends, a FIFO for a .net file
 *   the outputs:   over the .net file, over a device, twice in one run, a missing directory,
 *                  a full disk; the metrics of a resumed run
 *   checkpoints:   damaged, edited, lying metadata, NaN, missing statistics, locked
 *   numbers:       a loss that diverges (located), memory the system refuses */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include "checkpoint.h"
#define DLC_TIMEOUT TIMEOUT /* (enum below) */
#include "helpers.h"

enum { TIMEOUT = 120 };

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
  double t0 = seconds_now();
  RunResult r = dlc("check", (char *)path);
  double t = seconds_now() - t0;
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
  if (*DLC_EMBED_SANITIZE) return; /* (a million under the sanitizers takes minutes: the scaling above is the proof) */
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

/* ---- outputs -------------------------------------------------------------------------- */

#define MLP DLC_SOURCE_DIR "/examples/mlp.net"

static char *copy_of(const char *dir, const char *name, const char *from) {
  char *path = path_join(dir, name), *text = read_file(from);
  write_text(path, text);
  free(text);
  return path;
}

static void assert_refused(RunResult r, const char *says) {
  ck_assert_msg(r.status == 1 && strstr(r.err, says), "status %d, stderr:\n%s", r.status, r.err);
  ck_assert_msg(!strstr(r.out, "epoch 1/"), "it trained before refusing:\n%s", r.out); /* refused before any work */
  run_result_free(&r);
}

/* Every output is checked before any work: never the .net file, never a device, never two
 * outputs in one file, never in a directory that is not there; and the input is untouched. */
START_TEST(outputs_never_overwrite_inputs) {
  char *dir = make_temp_dir(), *net = copy_of(dir, "m.net", MLP), *before = read_file(net);
  char *x = path_join(dir, "x"), *nodir = path_join(dir, "no/such/dir/m.ck");
  assert_refused(dlc("train", net, "--epochs", "1", "--data", DLC_TEST_DATA, "--save", net), "an input of this command");
  assert_refused(dlc("train", net, "--epochs", "1", "--data", DLC_TEST_DATA, "--metrics", net), "an input of this command");
  assert_refused(dlc("train", net, "--epochs", "1", "--data", DLC_TEST_DATA, "--save", "/dev/full"),
                 "is a character device, not a regular file");
  assert_refused(dlc("train", net, "--epochs", "1", "--data", DLC_TEST_DATA, "--metrics", x, "--save", x),
                 "is given to both --save and --metrics");
  assert_refused(dlc("train", net, "--epochs", "1", "--data", DLC_TEST_DATA, "--save", nodir), "no directory");
  assert_refused(dlc("compile", net, "-o", net), "an input of this command");
  assert_refused(dlc("compile", net, "-o", "/dev/null"), "not a regular file");
  assert_refused(dlc("augment-preview", net, "--set", "distort = affine(rotate: 5)", "--out", dir), "is a directory");
  struct stat st;
  ck_assert(stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode)); /* still the device */
  char *after = read_file(net);
  ck_assert_str_eq(before, after);
  free(before), free(after), free(x), free(nodir), free(net);
  remove_tree(dir);
  free(dir);
}
END_TEST

/* A full disk (here: a file-size limit of 0) is an error, exit 1, not an empty file and 0. */
START_TEST(a_failed_write_is_an_error) {
  char *dir = make_temp_dir(), *metrics = path_join(dir, "m.jsonl"), cmd[2048];
  snprintf(cmd, sizeof cmd, "trap '' XFSZ; ulimit -f 0; exec %s train %s --epochs 1 --data %s --metrics %s", DLC_BINARY,
           MLP, DLC_TEST_DATA, metrics);
  RunResult r = run_program(NULL, (char *[]){"/bin/sh", "-c", cmd, NULL}, TIMEOUT);
  ck_assert_msg(r.status == 1 && strstr(r.err, "m.jsonl: error: cannot write"), "%d: %s", r.status, r.err);
  run_result_free(&r);
  free(metrics);
  remove_tree(dir);
  free(dir);
}
END_TEST

/* What a command prints must reach stdout: /dev/full (or a full disk) cuts the answer short,
 * and that is an error, not exit 0. */
START_TEST(standard_output_that_cannot_be_written_is_an_error) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "exec %s check %s --data %s > /dev/full", DLC_BINARY, MLP, DLC_TEST_DATA);
  RunResult r = run_program(NULL, (char *[]){"/bin/sh", "-c", cmd, NULL}, TIMEOUT);
  ck_assert_msg(r.status == 1 && strstr(r.err, "dlc: error: cannot write the standard output: No space left on device"),
                "%d: %s", r.status, r.err);
  run_result_free(&r);
}
END_TEST

/* Under mpirun (the environment names a job of several processes) only train is one job; any
 * other command would run as N copies writing the same files: refused, without loading MPI. */
START_TEST(only_train_runs_as_a_job) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0 exec %s check %s --data %s", DLC_BINARY, MLP,
           DLC_TEST_DATA);
  RunResult r = run_program(NULL, (char *[]){"/bin/sh", "-c", cmd, NULL}, TIMEOUT);
  ck_assert_msg(r.status == 1 && strstr(r.err, "'check' runs as one process: under mpirun (here 2 processes) only "
                                               "'dlc train' splits its work"),
                "%d: %s", r.status, r.err);
  ck_assert_str_eq(r.out, "");
  run_result_free(&r);
}
END_TEST

static int lines_of(const char *text) { return count_of(text, "\n"); }

/* Killed between the metrics of epoch 2 and its checkpoint, then resumed: the metrics end
 * where the checkpoint does, and epoch 2 is in them once. */
START_TEST(resumed_metrics_end_where_the_checkpoint_does) {
  char *dir = make_temp_dir(), *ck = path_join(dir, "m.ck"), *metrics = path_join(dir, "m.jsonl");
  RunResult r = dlc("train", MLP, "--epochs", "1", "--data", DLC_TEST_DATA, "--save", ck, "--metrics", metrics);
  ck_assert_msg(r.status == 0, "%s", r.err);
  run_result_free(&r);
  FILE *f = fopen(metrics, "a"); /* the line of an epoch 2 whose checkpoint was never written */
  fputs("{\"epoch\":2,\"train_loss\":9,\"test_error\":0.9,\"seconds\":1,\"images_per_s\":1,\"eval_seconds\":1}\n", f);
  fclose(f);
  r = dlc("train", MLP, "--epochs", "3", "--data", DLC_TEST_DATA, "--resume", ck, "--save", ck, "--metrics", metrics);
  ck_assert_msg(r.status == 0, "%s", r.err);
  run_result_free(&r);
  char *text = read_file(metrics);
  ck_assert_int_eq(lines_of(text), 3);
  ck_assert_int_eq(count_of(text, "{\"epoch\":2,"), 1);
  ck_assert_ptr_null(strstr(text, "\"train_loss\":9,"));
  free(text);
  /* a file that is not a metrics log is not cut */
  write_text(metrics, "precious\n");
  r = dlc("train", MLP, "--epochs", "4", "--data", DLC_TEST_DATA, "--resume", ck, "--save", ck, "--metrics", metrics);
  ck_assert_msg(r.status == 1 && strstr(r.err, "not cutting a file that is not this run's log"), "%s", r.err);
  run_result_free(&r);
  text = read_file(metrics);
  ck_assert_str_eq(text, "precious\n");
  free(text), free(ck), free(metrics);
  remove_tree(dir);
  free(dir);
}
END_TEST

/* ---- checkpoints ---------------------------------------------------------------------- */

/* A 1-epoch checkpoint of mlp.net (in dir). */
static char *trained_mlp(const char *dir) {
  char *ck = path_join(dir, "m.ck");
  RunResult r = dlc("train", MLP, "--epochs", "1", "--data", DLC_TEST_DATA, "--save", ck);
  ck_assert_msg(r.status == 0, "%s", r.err);
  run_result_free(&r);
  return ck;
}

/* Rewrites ck with metadata key set to value (NULL: removed) and, if drop is not NULL, without
 * that tensor; checksums made anew, as a tool that edits checkpoints would. */
static void rewrite_checkpoint(const char *ck, const char *key, const char *value, const char *drop, float poison) {
  Ckpt c;
  char err[512];
  ck_assert_msg(dlrt_ckpt_load(ck, &c, err, sizeof err) == 0, "%s", err);
  CkptMeta meta[64];
  CkptTensor t[64];
  int n_meta = 0, n = 0;
  for (int i = 0; i < c.n_meta; i++) {
    if (strncmp(c.meta[i].key, "dlc.", 4) == 0) continue; /* checksums: made anew */
    if (key && strcmp(c.meta[i].key, key) == 0) continue;
    meta[n_meta++] = c.meta[i];
  }
  if (key && value) meta[n_meta++] = (CkptMeta){key, value};
  for (int i = 0; i < c.n; i++)
    if (!drop || strcmp(c.tensors[i].name, drop) != 0) t[n++] = c.tensors[i];
  if (poison != 0) ((float *)t[0].data)[3] = poison;
  ck_assert_msg(dlrt_ckpt_save(ck, t, n, meta, n_meta, err, sizeof err) == 0, "%s", err);
  dlrt_ckpt_free(&c);
}

/* A flipped bit in a tensor is an error naming the tensor (it once gave 90% error, exit 0). */
START_TEST(a_damaged_checkpoint_is_an_error) {
  char *dir = make_temp_dir(), *ck = trained_mlp(dir);
  char *bytes = read_file(ck);
  struct stat st;
  stat(ck, &st);
  FILE *f = fopen(ck, "r+b");
  fseek(f, st.st_size - 100, SEEK_SET);
  int c = fgetc(f);
  fseek(f, st.st_size - 100, SEEK_SET);
  fputc(c ^ 0x10, f);
  fclose(f);
  RunResult r = dlc("eval", MLP, "--load", ck, "--data", DLC_TEST_DATA);
  ck_assert_msg(r.status == 1 && strstr(r.err, "fails its checksum"), "%s", r.err);
  run_result_free(&r);
  free(bytes), free(ck);
  remove_tree(dir);
  free(dir);
}
END_TEST

/* Lying metadata: each field that cannot be right is an error naming it; an all-zero RNG
 * state (which once hung --resume forever) among them. */
START_TEST(lying_metadata_is_an_error) {
  static const struct { const char *key, *value, *says; } cases[] = {
      {"epochs_done", "-5", "epochs_done"},
      {"epochs_done", "1e3", "epochs_done"},
      {"step", "-1", "step"},
      {"rng", "0000000000000000000000000000000000000000000000000000000000000000", "rng"},
      {"rng", NULL, "rng"},
      {"best_epoch", "7", "best_epoch"},
  };
  char *dir = make_temp_dir(), *ck = trained_mlp(dir), *copy = path_join(dir, "lie.ck");
  char *good = read_file(ck);
  struct stat st;
  stat(ck, &st);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    FILE *f = fopen(copy, "wb");
    fwrite(good, 1, (size_t)st.st_size, f);
    fclose(f);
    rewrite_checkpoint(copy, cases[i].key, cases[i].value, NULL, 0);
    RunResult r = dlc("train", MLP, "--epochs", "2", "--data", DLC_TEST_DATA, "--resume", copy);
    ck_assert_msg(r.status == 1 && strstr(r.err, cases[i].says) && strstr(r.err, "cannot be resumed"), "case %zu: %d %s",
                  i, r.status, r.err);
    run_result_free(&r);
  }
  free(good), free(ck), free(copy);
  remove_tree(dir);
  free(dir);
}
END_TEST

/* NaN in a parameter: a warning for eval, an error for --resume. */
START_TEST(nan_is_a_warning_for_eval_an_error_for_resume) {
  char *dir = make_temp_dir(), *ck = trained_mlp(dir);
  rewrite_checkpoint(ck, NULL, NULL, NULL, NAN);
  RunResult r = dlc("eval", MLP, "--load", ck, "--data", DLC_TEST_DATA);
  ck_assert_msg(r.status == 0 && strstr(r.err, "warning: tensor") && strstr(r.err, "holds NaN"), "%d %s", r.status, r.err);
  run_result_free(&r);
  r = dlc("train", MLP, "--epochs", "2", "--data", DLC_TEST_DATA, "--resume", ck);
  ck_assert_msg(r.status == 1 && strstr(r.err, "holds NaN") && strstr(r.err, "cannot continue"), "%d %s", r.status, r.err);
  run_result_free(&r);
  free(ck);
  remove_tree(dir);
  free(dir);
}
END_TEST

/* A checkpoint of the same shapes from an edited network (sigmoid made relu) loads with a
 * warning naming the line; one of a batch-norm model without its statistics is an error. */
START_TEST(checkpoints_know_their_network) {
  char *dir = make_temp_dir(), *ck = trained_mlp(dir), *edited = path_join(dir, "edited.net");
  char *text = read_file(MLP), *at = strstr(text, "out  = sigmoid(");
  ck_assert_ptr_nonnull(at);
  memcpy(at, "out  = relu   (", 15);
  write_text(edited, text);
  RunResult r = dlc("eval", edited, "--load", ck, "--data", DLC_TEST_DATA);
  ck_assert_msg(r.status == 0 && strstr(r.err, "warning: was saved by another version of") &&
                    strstr(r.err, "was 'out  = sigmoid(W2 @ h + b2)', now 'out  = relu   (W2 @ h + b2)'"),
                "%d %s", r.status, r.err);
  run_result_free(&r);
  /* batch norm's running statistics are what inference reads */
  char *bn = path_join(dir, "bn.net"), *bnck = path_join(dir, "bn.ck");
  write_text(bn, "input x : [784]\ntarget y : onehot(10)\nh = relu(batchnorm(dense(x, 16)))\nout = dense(h, 10)\n"
                 "loss = cross_entropy(out, y)\ntrain { optimizer = sgd(lr: 0.1); batch = 64 }\n");
  r = dlc("train", bn, "--epochs", "1", "--data", DLC_TEST_DATA, "--save", bnck);
  ck_assert_msg(r.status == 0, "%s", r.err);
  run_result_free(&r);
  rewrite_checkpoint(bnck, NULL, NULL, "h.running_var", 0);
  r = dlc("eval", bn, "--load", bnck, "--data", DLC_TEST_DATA);
  ck_assert_msg(r.status == 1 && strstr(r.err, "has no 'h.running_var'"), "%d %s", r.status, r.err);
  run_result_free(&r);
  free(text), free(edited), free(ck), free(bn), free(bnck);
  remove_tree(dir);
  free(dir);
}
END_TEST

/* Resuming says what it does differently: a finished run trains nothing, another seed has no
 * effect, another length stretches a cosine schedule. */
START_TEST(resume_says_what_it_does) {
  char *dir = make_temp_dir(), *ck = trained_mlp(dir);
  RunResult r = dlc("train", MLP, "--epochs", "1", "--data", DLC_TEST_DATA, "--resume", ck);
  ck_assert_msg(r.status == 0 && strstr(r.err, "nothing to train") && !strstr(r.out, "epoch "), "%s", r.err);
  run_result_free(&r);
  r = dlc("train", MLP, "--epochs", "2", "--seed", "7", "--data", DLC_TEST_DATA, "--resume", ck, "--set",
          "schedule = cosine");
  ck_assert_msg(r.status == 0 && strstr(r.err, "this run's seed 7 has no effect") &&
                    strstr(r.err, "the cosine schedule now decays over 2 epochs"),
                "%s", r.err);
  run_result_free(&r);
  free(ck);
  remove_tree(dir);
  free(dir);
}
END_TEST

/* Two runs saving to one checkpoint: the second is refused at once, naming the first. */
START_TEST(one_run_per_checkpoint) {
  char *dir = make_temp_dir(), *ck = path_join(dir, "m.ck");
  CkptLock lock;
  char err[512];
  ck_assert_msg(dlrt_ckpt_lock(ck, &lock, err, sizeof err) == 0, "%s", err); /* this process plays the first run */
  pid_t child = fork();
  if (child == 0) { /* (a lock of the parent's is not the child's: flock belongs to the open file) */
    freopen("/dev/null", "w", stderr);
    execl(DLC_BINARY, DLC_BINARY, "train", MLP, "--epochs", "1", "--data", DLC_TEST_DATA, "--save", ck, (char *)NULL);
    _exit(127);
  }
  int status;
  waitpid(child, &status, 0);
  dlrt_ckpt_unlock(&lock);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
  RunResult r = dlc("train", MLP, "--epochs", "1", "--data", DLC_TEST_DATA, "--save", ck);
  ck_assert_msg(r.status == 0, "%s", r.err); /* once the first has let go */
  run_result_free(&r);
  free(ck);
  remove_tree(dir);
  free(dir);
}
END_TEST

/* ---- numbers ------------------------------------------------------------------------- */

/* A loss that stops being finite is noticed at that step, and the first value of the step
 * that went wrong is named at its place in the file (found by replaying the epoch). */
START_TEST(divergence_is_located) {
  char *dir = make_temp_dir(), *net = path_join(dir, "div.net");
  FILE *f = fopen(net, "w");
  fputs(DIVERGING_NET, f);
  fclose(f);
  RunResult r = dlc("train", net, "--epochs", "1", "--data", DLC_TEST_DATA);
  ck_assert_msg(r.status == 1 && strstr(r.err, "training diverged: the loss of step 2 (epoch 1, batch 2)") &&
                    strstr(r.err, "div.net:3:5: error: step 2: this value (exp) is infinite") &&
                    strstr(r.err, "\n  h = exp(dense(x, 100) * 40)\n      ^\n"),
                "%d %s", r.status, r.err);
  ck_assert_msg(!strstr(r.out, "epoch 1/1"), "an epoch was reported: %s", r.out);
  run_result_free(&r);
  free(net);
  remove_tree(dir);
  free(dir);
}
END_TEST

/* Memory the system refuses is the model's problem, said with how much it needs: exit 1,
 * not an internal error. (Not under the sanitizers, whose shadow memory a limit breaks.) */
START_TEST(refused_memory_says_how_much) {
  if (*DLC_EMBED_SANITIZE) return;
  char *dir = make_temp_dir(), *net = path_join(dir, "big.net"), cmd[1024];
  write_text(net, "input x : [784]\ntarget y : onehot(10)\nh = relu(dense(x, 4096))\nh2 = relu(dense(h, 4096))\n"
                  "out = dense(h2, 10)\nloss = cross_entropy(out, y)\ntrain { batch = 65536 }\n");
  snprintf(cmd, sizeof cmd, "ulimit -v 4000000; exec %s train %s --compile-only", DLC_BINARY, net);
  RunResult r = run_program(NULL, (char *[]){"/bin/sh", "-c", cmd, NULL}, TIMEOUT);
  ck_assert_msg(r.status == 1 && strstr(r.err, "GiB of memory to train at batch 65536") &&
                    strstr(r.err, "try a smaller --batch"), "%d %s", r.status, r.err);
  run_result_free(&r);
  free(net);
  remove_tree(dir);
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
  TCase *out = tcase_create("outputs");
  tcase_set_timeout(out, 600);
  tcase_add_test(out, outputs_never_overwrite_inputs);
  tcase_add_test(out, a_failed_write_is_an_error);
  tcase_add_test(out, standard_output_that_cannot_be_written_is_an_error);
  tcase_add_test(out, only_train_runs_as_a_job);
  tcase_add_test(out, resumed_metrics_end_where_the_checkpoint_does);
  suite_add_tcase(s, out);
  TCase *ckpt = tcase_create("checkpoints");
  tcase_set_timeout(ckpt, 600);
  tcase_add_test(ckpt, a_damaged_checkpoint_is_an_error);
  tcase_add_test(ckpt, lying_metadata_is_an_error);
  tcase_add_test(ckpt, nan_is_a_warning_for_eval_an_error_for_resume);
  tcase_add_test(ckpt, checkpoints_know_their_network);
  tcase_add_test(ckpt, resume_says_what_it_does);
  tcase_add_test(ckpt, one_run_per_checkpoint);
  suite_add_tcase(s, ckpt);
  TCase *nums = tcase_create("numbers");
  tcase_set_timeout(nums, 600);
  tcase_add_test(nums, divergence_is_located);
  tcase_add_test(nums, refused_memory_says_how_much);
  suite_add_tcase(s, nums);
  return s;
}

int main(void) { return run_suite(hostile_suite()); }
