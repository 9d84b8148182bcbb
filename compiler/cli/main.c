/* main.c — `dlc COMMAND ...`: subcommand dispatch, help texts and exit statuses
 * (0 success, 1 bad input, 2 internal error). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "passes.h"

static const char *pass_names(void);

typedef struct Command {
  const char *name;
  int (*run)(const Options *);
  const char *flags; /* accepted options */
  const char *usage;
} Command;

static const Command commands[] = {
    {"train", cmd_train, "--epochs --batch --lr --seed --threads --data --metrics --profile --save --resume "
     "--validation --patience --save-best --set --time --compile-only",
     "usage: dlc train FILE.net [--epochs N] [--batch N] [--lr X] [--seed N] [--threads N]\n"
     "                          [--data DIR] [--metrics OUT.jsonl] [--profile]\n"
     "                          [--save CKPT] [--resume CKPT] [--validation N]\n"
     "                          [--patience N] [--save-best CKPT] [--set 'KEY = VALUE'] [--time]\n"
     "                          [--compile-only]\n"
     "Compiles FILE.net and trains it on its data set; prints one summary line per epoch on\n"
     "stdout and progress on stderr.\n"
     "  --epochs N         passes over the training set (default: the train block's)\n"
     "  --batch N          examples per step\n"
     "  --lr X             learning rate\n"
     "  --seed N           seed of initialisation and shuffling\n"
     "  --threads N        split each batch over N threads (default 1); models with batch\n"
     "                     norm run the step on one, with OpenBLAS threads for large products\n"
     "  --data DIR         data directory (default $DLC_DATA, else ./data); MNIST in DIR/mnist/\n"
     "  --metrics FILE     write one JSON object per epoch to FILE\n"
     "  --profile          time every node of the training step; print the heaviest\n"
     "  --save CKPT        write the whole training state after every epoch (safetensors,\n"
     "                     atomically: a crash leaves the previous checkpoint intact)\n"
     "  --resume CKPT      continue from a checkpoint, exactly where it stopped\n"
     "  --validation N     hold out the last N training images; score them every epoch\n"
     "  --patience N       stop after N epochs without a new best validation error (0: never)\n"
     "  --save-best CKPT   write the checkpoint of the best validation error so far\n"
     "  --set 'KEY = VALUE'  any train-block setting, over the file's (repeatable), e.g.\n"
     "                     --set 'optimizer = adam(lr: 0.001)' --set 'schedule = cosine'\n"
     "  --time             print the compile time of each stage, parse to machine code\n"
     "  --compile-only     compile (parse to JIT'd functions) and stop: with --time, to time it\n"},
    {"eval", cmd_eval, "--load --data --batch --threads --repeat --set",
     "usage: dlc eval FILE.net --load CKPT [--data DIR] [--batch N] [--threads N] [--repeat N]\n"
     "                         [--set 'KEY = VALUE']\n"
     "Loads the parameters of a checkpoint written by dlc train --save and prints the error\n"
     "on the test set; on stderr, the inference speed.\n"
     "  --batch N          images per call (default: the train block's batch)\n"
     "  --threads N        split each batch over N threads\n"
     "  --repeat N         classify the test set N times; the speed is the fastest pass's\n"},
    {"compile", cmd_compile, "-o --out --batch --set --time",
     "usage: dlc compile FILE.net -o MODEL.o [--batch N] [--set 'KEY = VALUE'] [--time]\n"
     "Writes the optimised dlc_forward and dlc_train_step for this CPU as an object file, and\n"
     "MODEL.h beside it: the C interface (arena size, parameter offsets, feed and result slots).\n"
     "  --time             print the compile time of each stage\n"},
    {"profile", cmd_profile, "--steps --batch --data --set",
     "usage: dlc profile FILE.net [--steps N] [--batch N] [--data DIR] [--set 'KEY = VALUE']\n"
     "Runs N training steps (default 200) on one thread with every node timed and prints where\n"
     "a step's time goes, per layer and pass (forward, backward, update): milliseconds, FLOPs,\n"
     "GFLOP/s and the share of this core's measured multiply-add peak; then the heaviest nodes.\n"},
    {"augment-preview", cmd_preview, "--data --out --set",
     "usage: dlc augment-preview FILE.net [--data DIR] [--out FILE.png] [--set 'KEY = VALUE']\n"
     "Writes a PNG grid (default augment-preview.png): the first 8 training images, each followed\n"
     "by 8 distortions of it as the train block's `distort` setting draws them.\n"},
    {"check", cmd_check, "--batch --scales --data --set --after",
     "usage: dlc check FILE.net [--batch N] [--after PASS] [--scales [--data DIR]] [--set 'KEY = VALUE']\n"
     "Parses and shape-checks FILE.net; prints its parameters, shapes, FLOPs and arena size.\n"
     "  --after PASS       the figures with the graph passes up to PASS only (none: before any)\n"
     "  --scales           also the mean and spread of every named value and the spread of\n"
     "                     every parameter's gradient at initialisation, on training images\n"},
    {"graph", cmd_graph, "--dot --batch --after --set",
     "usage: dlc graph FILE.net [--dot] [--after PASS] [--set 'KEY = VALUE']\n"
     "Prints the training step's graph (forward, backward and update nodes, their shapes and\n"
     "source lines) as text, or as Graphviz DOT with --dot. With --after, the graph as the\n"
     "pass PASS left it (fold, simplify or cse; --after none: before any pass).\n"},
    {"ir", cmd_ir, "--stage --fn --batch --set",
     "usage: dlc ir FILE.net [--stage graph|llvm|opt|asm] [--fn NAME] [--batch N] [--set 'KEY = VALUE']\n"
     "Prints a stage of the compilation: the scheduled graph, the LLVM IR as generated (llvm,\n"
     "the default), optimised for this CPU (opt), or its assembly (asm); of both generated\n"
     "functions, or only of --fn dlc_forward or --fn dlc_train_step.\n"},
    {"gradcheck", cmd_gradcheck, "--seed",
     "usage: dlc gradcheck FILE.net [--seed N]\n"
     "Checks the symbolic gradient of every parameter against central finite differences\n"
     "(double precision reference evaluator), and the JIT-compiled gradients against both.\n"},
};
enum { N_COMMANDS = sizeof commands / sizeof *commands };

static void usage(FILE *o) {
  fputs("usage: dlc COMMAND FILE.net [OPTIONS]\n"
        "dlc compiles a neural network described in a .net file to native code and trains it.\n\n"
        "commands:\n"
        "  train      train on the file's data set\n"
        "  check      parse and shape-check; parameters, FLOPs, memory\n"
        "  graph      print the forward and backward graph\n"
        "  ir         print the generated LLVM IR or assembly\n"
        "  gradcheck  symbolic gradients against finite differences\n"
        "  eval       test error of a saved checkpoint\n"
        "  compile    the compiled functions as an object file and a C header\n"
        "  profile    where a training step spends its time, per layer and pass\n"
        "  augment-preview  a PNG of training images as the file's distortions change them\n\n"
        "dlc COMMAND --help describes a command; dlc --version prints the version.\n", o);
}

static bool flag_allowed(const char *allowed, const char *flag) {
  size_t n = strlen(flag);
  for (const char *p = strstr(allowed, flag); p; p = strstr(p + 1, flag))
    if ((p == allowed || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ')) return true;
  return false;
}

static bool parse_int(const char *flag, const char *v, long long lo, long long hi, long long *out) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || end == v || *end || x < lo || x > hi) {
    diag_error_plain("dlc", "%s expects a whole number from %lld to %lld, got '%s'", flag, lo, hi, v);
    return false;
  }
  *out = x;
  return true;
}

bool parse_options(const char *cmd, int argc, char **argv, int first, const char *allowed, Options *o) {
  for (int i = first; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      o->help = true;
      continue;
    }
    if (a[0] != '-' || a[1] == 0) {
      if (o->file) {
        diag_error_plain("dlc", "'%s' takes one FILE.net, got '%s' and '%s'", cmd, o->file, a);
        return false;
      }
      o->file = a;
      continue;
    }
    char flag[64];
    const char *value = NULL, *eq = strchr(a, '=');
    snprintf(flag, sizeof flag, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
    if (!flag_allowed(allowed, flag)) {
      diag_error_plain("dlc", "unknown option '%s' for '%s' (see dlc %s --help)", flag, cmd, cmd);
      return false;
    }
    bool *on_off = strcmp(flag, "--dot") == 0       ? &o->dot
                   : strcmp(flag, "--profile") == 0 ? &o->profile
                   : strcmp(flag, "--scales") == 0  ? &o->scales
                   : strcmp(flag, "--time") == 0    ? &o->time
                   : strcmp(flag, "--compile-only") == 0 ? &o->compile_only
                                                    : NULL;
    if (on_off) { /* a switch: no value */
      if (eq) {
        diag_error_plain("dlc", "option '%s' takes no value", flag);
        return false;
      }
      *on_off = true;
      continue;
    }
    if (eq) value = eq + 1;
    else if (i + 1 < argc) value = argv[++i];
    else {
      diag_error_plain("dlc", "option '%s' needs a value", flag);
      return false;
    }
    long long v;
    if (strcmp(flag, "--epochs") == 0) {
      if (!parse_int(flag, value, 1, 100000, &v)) return false;
      o->ov.epochs = (int)v;
    } else if (strcmp(flag, "--batch") == 0) {
      if (!parse_int(flag, value, 1, 65536, &v)) return false;
      o->ov.batch = (int)v;
    } else if (strcmp(flag, "--seed") == 0) {
      if (!parse_int(flag, value, 0, 2147483647, &v)) return false;
      o->ov.seed = v;
    } else if (strcmp(flag, "--validation") == 0) {
      if (!parse_int(flag, value, 0, 1000000, &v)) return false;
      o->ov.validation = (int)v;
    } else if (strcmp(flag, "--patience") == 0) {
      if (!parse_int(flag, value, 0, 100000, &v)) return false;
      o->ov.patience = (int)v;
    } else if (strcmp(flag, "--steps") == 0) {
      if (!parse_int(flag, value, 1, 1000000, &v)) return false;
      o->steps = (int)v;
    } else if (strcmp(flag, "--repeat") == 0) {
      if (!parse_int(flag, value, 1, 1000, &v)) return false;
      o->repeat = (int)v;
    } else if (strcmp(flag, "--threads") == 0) {
      if (!parse_int(flag, value, 1, 256, &v)) return false;
      o->threads = (int)v;
    } else if (strcmp(flag, "--lr") == 0) {
      char *end;
      double x = strtod(value, &end);
      if (end == value || *end || !(x > 0) || x > 1e6) {
        diag_error_plain("dlc", "--lr expects a positive number, got '%s'", value);
        return false;
      }
      o->ov.lr = x;
    } else if (strcmp(flag, "--after") == 0) {
      if (strcmp(value, "none") != 0 && !pass_find(value)) {
        diag_error_plain("dlc", "--after expects none or a pass:%s, got '%s'", pass_names(), value);
        return false;
      }
      o->after = value;
    } else if (strcmp(flag, "--fn") == 0) {
      if (strcmp(value, model_fn_names[FN_FORWARD]) != 0 && strcmp(value, model_fn_names[FN_TRAIN]) != 0) {
        diag_error_plain("dlc", "--fn expects %s or %s, got '%s'", model_fn_names[FN_FORWARD], model_fn_names[FN_TRAIN],
                         value);
        return false;
      }
      o->fn = value;
    } else if (strcmp(flag, "--save") == 0) {
      o->save = value;
    } else if (strcmp(flag, "--set") == 0) {
      /* repeatable: the settings join into one train block */
      size_t had = o->ov.settings ? strlen(o->ov.settings) + 2 : 0, len = had + strlen(value) + 1;
      char *joined = malloc(len);
      if (!joined) dlc_fatal("out of memory");
      snprintf(joined, len, "%s%s%s", had ? o->ov.settings : "", had ? "; " : "", value);
      free((void *)o->ov.settings);
      o->ov.settings = joined;
    } else if (strcmp(flag, "--save-best") == 0) {
      o->save_best = value;
    } else if (strcmp(flag, "--resume") == 0) {
      o->resume = value;
    } else if (strcmp(flag, "--load") == 0) {
      o->load = value;
    } else if (strcmp(flag, "--data") == 0) {
      o->data_dir = value;
    } else if (strcmp(flag, "--out") == 0 || strcmp(flag, "-o") == 0) {
      o->out = value;
    } else if (strcmp(flag, "--metrics") == 0) {
      o->metrics = value;
    } else if (strcmp(flag, "--stage") == 0) {
      if (strcmp(value, "graph") && strcmp(value, "llvm") && strcmp(value, "opt") && strcmp(value, "asm")) {
        diag_error_plain("dlc", "--stage expects graph, llvm, opt or asm, got '%s'", value);
        return false;
      }
      o->stage = value;
    }
  }
  return true;
}

/* " fold, simplify, cse" */
static const char *pass_names(void) {
  static char names[256];
  names[0] = 0;
  for (const PassInfo *p = graph_passes; p->name; p++)
    snprintf(names + strlen(names), sizeof names - strlen(names), "%s %s", p == graph_passes ? "" : ",", p->name);
  return names;
}

const char *data_dir(const Options *o) {
  if (o->data_dir) return o->data_dir;
  const char *env = getenv("DLC_DATA");
  return env && *env ? env : "data";
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return EXIT_USER;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    usage(stdout);
    return EXIT_OK;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("dlc %s\n", DLC_VERSION);
    return EXIT_OK;
  }
  for (int k = 0; k < N_COMMANDS; k++) {
    const Command *c = &commands[k];
    if (strcmp(argv[1], c->name) != 0) continue;
    Options o = {.ov = {.epochs = -1, .batch = -1, .lr = -1, .seed = -1, .validation = -1, .patience = -1}, .threads = 1, .repeat = 1, .steps = 200};
    int rc;
    if (!parse_options(c->name, argc, argv, 2, c->flags, &o)) rc = EXIT_USER;
    else if (o.help) {
      fputs(c->usage, stdout);
      rc = EXIT_OK;
    } else if (!o.file) {
      diag_error_plain("dlc", "'%s' needs a FILE.net", c->name);
      fputs(c->usage, stderr);
      rc = EXIT_USER;
    } else rc = c->run(&o);
    free((void *)o.ov.settings);
    return rc;
  }
  diag_error_plain("dlc", "unknown command '%s'", argv[1]);
  usage(stderr);
  return EXIT_USER;
}
