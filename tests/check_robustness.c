/* check_robustness.c — damaged and odd programs never make dlc crash, hang or exit 2: 300
 * deterministic mutants of examples/mlp.net under `dlc check`, very deep expressions, and odd
 * but accepted programs under `dlc train`. */
#define _GNU_SOURCE
#define DLC_TIMEOUT TIMEOUT /* (enum below) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data_files.h"

#define MLP DLC_SOURCE_DIR "/examples/mlp.net"

enum { TIMEOUT = 60 };

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
    RunResult r = run_command(NULL, 10, DLC_BINARY, "check", path, (const char *)NULL);
    for (int retry = 0; retry < 3 && r.status == 127 && !*r.err; retry++) {
      /* exec failed (the binary is being relinked by a concurrent build): not dlc's fault */
      run_result_free(&r);
      sleep(2);
      r = run_command(NULL, 10, DLC_BINARY, "check", path, (const char *)NULL);
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
    RunResult r = run_command(NULL, 20, DLC_BINARY, "check", path, (const char *)NULL);
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

static Suite *robustness_suite(void) {
  Suite *s = suite_create("robustness");
  TCase *tc = add_tcase(s, "robustness", 120);
  tcase_add_test(tc, mutations_never_crash);
  tcase_add_test(tc, deep_expressions_never_crash);
  tcase_add_test(tc, train_odd_programs_never_crash);
  return s;
}

int main(void) { return run_suite(robustness_suite()); }
