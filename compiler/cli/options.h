/* options.h — the command line, declared once: every command and every option, in two
 * tables (options.c). Parsing, each command's --help and the checks of docs/cli.md (tests/
 * check_cli.c) all read these tables; an option is named in one row. */
#ifndef DLC_OPTIONS_H
#define DLC_OPTIONS_H
#include <stdbool.h>
#include <stdio.h>
#include "driver.h"

/* What the options set. */
typedef struct Command Command;

typedef struct Options {
  const Command *command; /* the command they are for */
  const char *file;       /* the file argument: FILE.net (dlc report: METRICS.jsonl) */
  Overrides ov;
  int threads;
  int repeat;         /* dlc eval --repeat: passes over the test set, the fastest timed */
  int steps;          /* dlc profile --steps */
  const char *data_dir;
  const char *metrics;
  const char *out;    /* dlc augment-preview --out, dlc compile -o */
  const char *stage;
  const char *after;  /* dlc graph/check --after PASS */
  const char *fn;     /* dlc ir --fn NAME */
  const char *save, *resume, *load, *save_best; /* checkpoints */
  const char *predictions; /* dlc eval --predictions FILE.csv */
  const char *errors;      /* dlc eval --errors FILE.png */
  const char *report;      /* dlc train --report FILE.html */
  const char *net;         /* dlc report --net FILE.net */
  bool dot;
  bool profile;
  bool scales;        /* dlc check --scales */
  bool confusion;     /* dlc eval --confusion */
  bool time;          /* compile time by stage */
  bool compile_only;  /* dlc train --compile-only */
  bool werror;        /* --Werror: warnings are errors */
  bool pytorch;       /* dlc export --pytorch */
  int top;            /* dlc predict --top: classes shown per input */
  bool json;          /* dlc predict --json */
  const char **inputs; /* dlc predict: the INPUT operands after FILE.net (malloc'd array) */
  int n_inputs;
  bool help;
} Options;

/* The commands, as bits: which commands take an option. */
typedef enum CommandBit {
  CMD_TRAIN = 1 << 0,
  CMD_EVAL = 1 << 1,
  CMD_COMPILE = 1 << 2,
  CMD_PROFILE = 1 << 3,
  CMD_PREVIEW = 1 << 4,
  CMD_CHECK = 1 << 5,
  CMD_GRAPH = 1 << 6,
  CMD_IR = 1 << 7,
  CMD_GRADCHECK = 1 << 8,
  CMD_EXPORT = 1 << 9,
  CMD_PREDICT = 1 << 10,
  CMD_REPORT = 1 << 11,
} CommandBit;

struct Command {
  const char *name;
  CommandBit bit;
  int (*run)(const Options *);
  const char *required; /* an option it cannot do without (shown unbracketed), or NULL */
  const char *operands; /* what follows FILE.net ("INPUT..."), or NULL: nothing */
  const char *summary;  /* one line, for `dlc --help` */
  const char *about;    /* what it does, for `dlc COMMAND --help` */
  const char *operand;  /* what the one file argument is ("METRICS.jsonl"); NULL: FILE.net */
  const char *operand_role; /* ... in messages about it ("the metrics file"); NULL: the .net file */
};
/* "FILE.net", or what the command's file argument is. */
const char *command_operand(const Command *c);

/* How an option's value is read. */
typedef enum OptionKind {
  OK_SWITCH,  /* no value: sets a bool */
  OK_INT,     /* a whole number in [lo, hi] */
  OK_LR,      /* a positive number (at most 1e6) */
  OK_TEXT,    /* any text: a path */
  OK_SETTING, /* repeatable text, joined with "; " (--set) */
  OK_CHOICE,  /* one of the words of `choices` */
  OK_PASS,    /* "none" or the name of a graph pass */
} OptionKind;

typedef struct OptionSpec {
  const char *name;    /* "--epochs" */
  const char *alias;   /* another spelling ("--out" for "-o"), or NULL */
  const char *arg;     /* the value's name in help ("N"), NULL for switches */
  OptionKind kind;
  long long lo, hi;    /* OK_INT */
  const char *choices; /* OK_CHOICE: space-separated */
  size_t field;        /* offsetof(Options, ...) */
  unsigned commands;   /* CommandBits of the commands that take it (with this help line) */
  const char *help;
} OptionSpec;

extern const Command commands[];
extern const int n_commands;
extern const OptionSpec options[];
extern const int n_options;

const Command *command_find(const char *name);
/* Reports an unknown command, with the nearest one if it is near. */
void command_unknown(const char *name);
/* The defaults every command starts from. */
Options options_default(void);
/* Parses argv[first..] for command c: at most one FILE.net (then c's operands, if it takes
 * any), and only c's options. Reports and returns false on error (o->ov.settings and
 * o->inputs are malloc'd: options_free). */
bool options_parse(const Command *c, int argc, char **argv, int first, Options *o);
void options_free(Options *o);
/* The option row that command c uses for `name` (or its alias), or NULL. */
const OptionSpec *option_find(const Command *c, const char *name);
/* `dlc COMMAND --help`: the synopsis, what the command does, each option's line. */
void command_usage(const Command *c, FILE *out);
/* `dlc --help`. */
void program_usage(FILE *out);

/* The pieces of a ModelConfig the options say (overrides, threads). */
ModelConfig options_model_config(const Options *o);
#endif
