/* helpers.h — what the Check suites share: running a program (dlc above all) and capturing
 * its output, asserting what a run did and what a text says, files and temporary
 * directories, diagnostics captured, checkpoints compared, small models from .net text.
 * Assertions about a run report the caller's file and line. */
#ifndef DLC_TEST_HELPERS_H
#define DLC_TEST_HELPERS_H
#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <unistd.h>
#include "driver.h"

typedef struct RunResult {
  int status;   /* exit status, or 128 + signal */
  char *out;    /* captured stdout (malloc'd, NUL-terminated) */
  char *err;    /* captured stderr */
} RunResult;

/* Runs argv[0] with argv in directory cwd (NULL: the current one), capturing both streams.
 * Kills it after timeout_s seconds (then status is 128 + SIGKILL). */
RunResult run_program(const char *cwd, char *const argv[], int timeout_s);
/* run_program of program with the arguments after it, up to a NULL. */
RunResult run_command(const char *cwd, int timeout_s, const char *program, ...);
void run_result_free(RunResult *r);

/* dlc with the arguments given (dlc("check", path)), in the current directory or in cwd,
 * killed after DLC_TIMEOUT seconds: 300 unless the suite defines it before this header. */
#ifndef DLC_TIMEOUT
#define DLC_TIMEOUT 300
#endif
#define dlc(...) run_command(NULL, DLC_TIMEOUT, DLC_BINARY, __VA_ARGS__, (const char *)NULL)
#define dlc_in(cwd, ...) run_command((cwd), DLC_TIMEOUT, DLC_BINARY, __VA_ARGS__, (const char *)NULL)

/* That r exited with status and, if needle is not NULL, said needle on stderr; else the test
 * fails with the caller's line, the status and both streams. */
void assert_run_at(RunResult r, int status, const char *needle, const char *file, int line);
#define assert_ok(r) assert_run_at((r), 0, NULL, __FILE__, __LINE__)
#define assert_fails_with(r, status, needle) assert_run_at((r), (status), (needle), __FILE__, __LINE__)
#define assert_fails(r, needle) assert_run_at((r), 1, (needle), __FILE__, __LINE__)

/* That text contains needle; else the test fails showing `what` (its first 4000 bytes). */
void assert_contains(const char *what, const char *text, const char *needle);
/* How often needle occurs in text (overlapping occurrences counted). */
int count_of(const char *text, const char *needle);
bool starts_with(const char *s, const char *prefix);

/* Whole file, NUL-terminated, or NULL; read_bytes also says how long it is. */
char *read_file(const char *path);
void *read_bytes(const char *path, size_t *len);
/* Whether path names anything (stat succeeds). */
bool file_exists(const char *path);
/* Writes a whole file (the test fails if it cannot); write_text: a string without its NUL. */
void write_bytes(const char *path, const void *data, size_t n);
void write_text(const char *path, const char *text);
/* A new directory (the test fails if it cannot be made). */
void make_dir(const char *path);
/* Writes text to a fresh file in a temporary directory; returns its path (static buffer per
 * call site is not used: the path is malloc'd). */
char *write_temp_file(const char *name, const char *text);
/* Deletes a file made by write_temp_file, and its directory; frees path. */
void remove_temp_file(char *path);

/* A new directory under /tmp (malloc'd path); `dir/name` (malloc'd); dir and everything in
 * it removed. */
char *make_temp_dir(void);
char *path_join(const char *dir, const char *name);
void remove_tree(const char *dir);

/* Seconds on the monotonic clock. */
double seconds_now(void);

/* Whether checkpoints a and b hold the same tensors: names, shapes and every byte; if not,
 * why names the first difference. */
bool same_tensors(const char *a, const char *b, char *why, size_t len);

/* What diag reports between capture_begin and capture_end (malloc'd). */
void capture_begin(void);
char *capture_end(void);

/* Parses and analyses .net source text given inline; NULL (with diagnostics captured into
 * *diagnostics if it is not NULL) on error. With a config (NULL: the defaults) ... */
Model *load_model_text(const char *text, char **diagnostics);
Model *load_model_text_config(const char *text, const ModelConfig *cfg, char **diagnostics);

/* An MLP whose loss is infinite at the second step of its first epoch (exp of large values
 * at line 3, column 5): the tests of a diverged run. */
#define DIVERGING_NET                                                                                              \
  "input x : [784]\ntarget y : onehot(10)\nh = exp(dense(x, 100) * 40)\nout = dense(h, 10)\n"                     \
  "loss = cross_entropy(out, y)\ntrain { optimizer = sgd(lr: 0.1); batch = 32 }\n"

/* A test case of s named name, timed out after timeout_s seconds (0: Check's default). */
TCase *add_tcase(Suite *s, const char *name, int timeout_s);
/* Runs a suite and returns the process exit status. */
int run_suite(Suite *s);
#endif
