/* helpers.h — what the Check suites share: running a program and capturing its output,
 * reading files, building small graphs from .net text. */
#ifndef DLC_TEST_HELPERS_H
#define DLC_TEST_HELPERS_H
#include <check.h>
#include <stdbool.h>
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
void run_result_free(RunResult *r);

/* Whole file, or NULL. */
char *read_file(const char *path);
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

/* Parses and analyses .net source text given inline; NULL (with diagnostics captured into
 * *diagnostics if it is not NULL) on error. With a config (NULL: the defaults) ... */
Model *load_model_text(const char *text, char **diagnostics);
Model *load_model_text_config(const char *text, const ModelConfig *cfg, char **diagnostics);

/* Runs a suite and returns the process exit status. */
int run_suite(Suite *s);
#endif
