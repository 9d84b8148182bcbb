/* cli.h — what the subcommands share: option parsing and the commands themselves. */
#ifndef DLC_CLI_H
#define DLC_CLI_H
#include <stdbool.h>
#include "driver.h"
#include "mnist.h"

typedef struct Options {
  const char *file;
  Overrides ov;
  int threads;
  int repeat;         /* dlc eval --repeat: passes over the test set, the fastest timed */
  int steps;          /* dlc profile --steps */
  const char *data_dir;
  const char *metrics;
  const char *out;     /* dlc augment-preview --out, dlc compile -o */
  const char *stage;
  const char *after;  /* dlc graph --after PASS */
  const char *fn;     /* dlc ir --fn NAME */
  const char *save, *resume, *load, *save_best; /* checkpoints */
  bool dot;
  bool profile;
  bool scales;        /* dlc check --scales */
  bool time;          /* compile time by stage */
  bool compile_only;  /* dlc train --compile-only */
  bool help;
} Options;

/* Parses argv[first..] for command `cmd`, accepting only the flags in `allowed` (a
 * space-separated list such as "--epochs --batch"). Reports and returns false on error. */
bool parse_options(const char *cmd, int argc, char **argv, int first, const char *allowed, Options *o);

int cmd_train(const Options *o);
int cmd_eval(const Options *o);
int cmd_check(const Options *o);
int cmd_graph(const Options *o);
int cmd_ir(const Options *o);
int cmd_gradcheck(const Options *o);
int cmd_preview(const Options *o);
int cmd_compile(const Options *o);
int cmd_profile(const Options *o);

/* Where the data sets live: --data, else $DLC_DATA, else ./data. */
const char *data_dir(const Options *o);
/* The runtime says "PATH: MESSAGE"; the contract prints "PATH: error: MESSAGE". Reports err
 * so (splitting it in place) and returns the message part. */
const char *report_path_error(char *err);
/* Loads MNIST's training and/or test set (either may be NULL) from dir; false after
 * reporting a missing or malformed file. */
bool load_data(const char *dir, DlrtDataset *train, DlrtDataset *test);
#endif
