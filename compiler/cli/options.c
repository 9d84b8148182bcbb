/* options.c — the tables of the command line (options.h) and what reads them: parsing and
 * the help texts. To add an option: a field in Options, a row below naming the commands that
 * take it, a line in docs/cli.md (tests/check_cli.c compares the two), an item in the man
 * page docs/dlc.1 and the word in completion/dlc.bash (tests/check_install.c checks both
 * against every command's --help). */
#include "options.h"
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "passes.h"
#include "suggest.h"

const Command commands[] = {
    {"train", CMD_TRAIN, cmd_train, NULL, NULL, "train on the file's data set",
     "Compiles FILE.net and trains it on its data set; prints one summary line per epoch on\n"
     "stdout and progress on stderr.\n", NULL, NULL},
    {"check", CMD_CHECK, cmd_check, NULL, NULL, "parse and shape-check; parameters, FLOPs, memory",
     "Parses and shape-checks FILE.net; prints its parameters, shapes, FLOPs and arena size.\n", NULL, NULL},
    {"graph", CMD_GRAPH, cmd_graph, NULL, NULL, "print the forward and backward graph",
     "Prints the training step's graph (forward, backward and update nodes, their shapes and\n"
     "source lines) as text, or as Graphviz DOT with --dot.\n", NULL, NULL},
    {"ir", CMD_IR, cmd_ir, NULL, NULL, "print the generated LLVM IR or assembly",
     "Prints a stage of the compilation: the scheduled graph, the LLVM IR as generated (llvm,\n"
     "the default), optimised for this CPU (opt), or its assembly (asm); of both generated\n"
     "functions, or only of one (--fn).\n", NULL, NULL},
    {"gradcheck", CMD_GRADCHECK, cmd_gradcheck, NULL, NULL, "symbolic gradients against finite differences",
     "Checks the symbolic gradient of every parameter against central finite differences\n"
     "(double precision reference evaluator), and the JIT-compiled gradients against both.\n", NULL, NULL},
    {"eval", CMD_EVAL, cmd_eval, "--load", NULL, "test error of a saved checkpoint",
     "Loads the parameters of a checkpoint written by dlc train --save and prints the error\n"
     "on the test set; on stderr, the inference speed. Optionally the confusion matrix, every\n"
     "prediction and the worst mistakes.\n", NULL, NULL},
    {"predict", CMD_PREDICT, cmd_predict, "--load", "INPUT...", "classify PNG images or .npy arrays with a checkpoint",
     "Loads the parameters of a checkpoint and classifies each INPUT: a PNG file, a folder (its\n"
     ".png files, sorted) or a .npy file of images, each the shape the model takes. Prints the\n"
     "most likely classes of each with their scores (what the numbers are is said on the first\n"
     "line), or JSON with --json. See docs/cli.md.\n", NULL, NULL},
    {"compile", CMD_COMPILE, cmd_compile, "-o", NULL, "the compiled functions as an object file and a C header",
     "Writes the optimised dlc_forward and dlc_train_step for this CPU as an object file, and\n"
     "MODEL.h beside it: the C interface (arena size, parameter offsets, feed and result slots).\n", NULL, NULL},
    {"export", CMD_EXPORT, cmd_export, "-o", NULL, "the inference network as ONNX or as a PyTorch module",
     "Writes the network as it classifies (batch norm on its running statistics, no dropout) for\n"
     "other tools: an ONNX model (opset 13, any batch size), or with --pytorch a Python module\n"
     "that builds it in PyTorch and loads and saves dlc checkpoints. The parameters are a\n"
     "checkpoint's (--load), or the initial ones drawn from the seed. See docs/interop.md.\n", NULL, NULL},
    {"profile", CMD_PROFILE, cmd_profile, NULL, NULL, "where a training step spends its time, per layer and pass",
     "Runs training steps on one thread with every node timed and prints where a step's time\n"
     "goes, per layer and pass (forward, backward, update): milliseconds, FLOPs, GFLOP/s and\n"
     "the share of this core's measured multiply-add peak; then the heaviest nodes.\n", NULL, NULL},
    {"augment-preview", CMD_PREVIEW, cmd_preview, NULL, NULL, "a PNG of training images as the file's distortions change them",
     "Writes a PNG grid: the first 8 training images, each followed by 8 distortions of it as\n"
     "the train block's `distort` setting draws them.\n", NULL, NULL},
    {"report", CMD_REPORT, cmd_report, "-o", NULL, "an HTML report of a run from its metrics",
     "Writes one self-contained HTML page from the metrics dlc train --metrics wrote: charts\n"
     "per epoch (training loss, test and validation error, learning rate, images/s); with a\n"
     "model (--net, or the source a checkpoint saved) its summary, and with --load the\n"
     "checkpoint's confusion matrix and worst-misclassified test images.\n",
     "METRICS.jsonl", "the metrics file"},
};
const int n_commands = sizeof commands / sizeof *commands;

#define AT(f) offsetof(Options, f)
enum {
  MODEL_CMDS = CMD_TRAIN | CMD_EVAL | CMD_PREDICT | CMD_COMPILE | CMD_PROFILE | CMD_PREVIEW | CMD_CHECK | CMD_GRAPH | CMD_IR |
               CMD_REPORT
};

const OptionSpec options[] = {
    {"--epochs", NULL, "N", OK_INT, 1, 100000, NULL, AT(ov.epochs), CMD_TRAIN,
     "passes over the training set (default: the train block's)"},
    {"--batch", NULL, "N", OK_INT, 1, 65536, NULL, AT(ov.batch), CMD_TRAIN | CMD_PROFILE,
     "examples per step (default: the train block's)"},
    {"--batch", NULL, "N", OK_INT, 1, 65536, NULL, AT(ov.batch), CMD_EVAL | CMD_PREDICT,
     "images per call (default: the train block's)"},
    {"--batch", NULL, "N", OK_INT, 1, 65536, NULL, AT(ov.batch), CMD_COMPILE | CMD_CHECK | CMD_GRAPH | CMD_IR,
     "the batch the functions are planned for (default: the train block's)"},
    {"--lr", NULL, "X", OK_LR, 0, 0, NULL, AT(ov.lr), CMD_TRAIN, "learning rate"},
    {"--seed", NULL, "N", OK_INT, 0, 2147483647, NULL, AT(ov.seed), CMD_TRAIN | CMD_GRADCHECK,
     "seed of initialisation and shuffling"},
    {"--threads", NULL, "N", OK_INT, 1, 256, NULL, AT(threads), CMD_TRAIN,
     "split each batch over N threads (default 1), and under mpirun\n"
     "over the processes too (docs/cli.md)"},
    {"--threads", NULL, "N", OK_INT, 1, 256, NULL, AT(threads), CMD_EVAL | CMD_PREDICT, "split each batch over N threads"},
    {"--data", NULL, "DIR", OK_TEXT, 0, 0, NULL, AT(data_dir), CMD_TRAIN | CMD_EVAL | CMD_PROFILE | CMD_PREVIEW | CMD_CHECK | CMD_REPORT,
     "where the named data sets are (default $DLC_DATA, else ./data):\n"
     "DIR/mnist/, DIR/fashion-mnist/, DIR/cifar-10-batches-bin/"},
    {"--metrics", NULL, "FILE", OK_TEXT, 0, 0, NULL, AT(metrics), CMD_TRAIN, "write one JSON object per epoch to FILE"},
    {"--report", NULL, "FILE.html", OK_TEXT, 0, 0, NULL, AT(report), CMD_TRAIN,
     "write the report page (charts, confusion matrix, mistakes, model),\n"
     "rewritten after every epoch"},
    {"--profile", NULL, NULL, OK_SWITCH, 0, 0, NULL, AT(profile), CMD_TRAIN,
     "time every node of the training step; print the heaviest"},
    {"--save", NULL, "CKPT", OK_TEXT, 0, 0, NULL, AT(save), CMD_TRAIN,
     "write the whole training state after every epoch (safetensors,\n"
     "atomically: a crash leaves the previous checkpoint intact)"},
    {"--resume", NULL, "CKPT", OK_TEXT, 0, 0, NULL, AT(resume), CMD_TRAIN,
     "continue from a checkpoint, exactly where it stopped"},
    {"--validation", NULL, "N", OK_INT, 0, 1000000, NULL, AT(ov.validation), CMD_TRAIN,
     "hold out the last N training images; score them every epoch"},
    {"--patience", NULL, "N", OK_INT, 0, 100000, NULL, AT(ov.patience), CMD_TRAIN,
     "stop after N epochs without a new best validation error (0: never)"},
    {"--save-best", NULL, "CKPT", OK_TEXT, 0, 0, NULL, AT(save_best), CMD_TRAIN,
     "write the checkpoint of the best validation error so far"},
    {"--set", NULL, "'KEY = VALUE'", OK_SETTING, 0, 0, NULL, AT(ov.settings), MODEL_CMDS,
     "any train-block setting, over the file's (repeatable), e.g.\n"
     "--set 'optimizer = adam(lr: 0.001)' --set 'schedule = cosine'"},
    {"--time", NULL, NULL, OK_SWITCH, 0, 0, NULL, AT(time), CMD_TRAIN | CMD_COMPILE,
     "print the compile time of each stage, parse to machine code"},
    {"--compile-only", NULL, NULL, OK_SWITCH, 0, 0, NULL, AT(compile_only), CMD_TRAIN,
     "compile (parse to JIT'd functions) and stop: with --time, to time it"},
    {"--load", NULL, "CKPT", OK_TEXT, 0, 0, NULL, AT(load), CMD_EVAL, "the checkpoint to evaluate (from dlc train --save)"},
    {"--load", NULL, "CKPT", OK_TEXT, 0, 0, NULL, AT(load), CMD_PREDICT,
     "the checkpoint to classify with (from dlc train --save)"},
    {"--top", NULL, "K", OK_INT, 1, 1000000, NULL, AT(top), CMD_PREDICT,
     "the K most likely classes of each input (default 3; at most all)"},
    {"--json", NULL, NULL, OK_SWITCH, 0, 0, NULL, AT(json), CMD_PREDICT,
     "one JSON document on stdout instead of lines of text (docs/cli.md)"},
    {"--load", NULL, "CKPT", OK_TEXT, 0, 0, NULL, AT(load), CMD_EXPORT,
     "the parameters to export (from dlc train --save; default: the initial ones); with\n"
     "--pytorch, checked against the network (the module loads it at run time)"},
    {"-o", "--out", "FILE.html", OK_TEXT, 0, 0, NULL, AT(out), CMD_REPORT, "the page to write"},
    {"--load", NULL, "CKPT", OK_TEXT, 0, 0, NULL, AT(load), CMD_REPORT,
     "a checkpoint to classify the test set with: the confusion matrix\n"
     "and the worst-misclassified images"},
    {"--net", NULL, "FILE.net", OK_TEXT, 0, 0, NULL, AT(net), CMD_REPORT,
     "the model (default: the .net source --load's checkpoint saved)"},
    {"--seed", NULL, "N", OK_INT, 0, 2147483647, NULL, AT(ov.seed), CMD_EXPORT,
     "seed of the initial parameters, without --load (default: the train block's)"},
    {"--pytorch", NULL, NULL, OK_SWITCH, 0, 0, NULL, AT(pytorch), CMD_EXPORT,
     "write a PyTorch module (a .py file) instead of an ONNX model"},
    {"--repeat", NULL, "N", OK_INT, 1, 1000, NULL, AT(repeat), CMD_EVAL,
     "classify the test set N times; the speed is the fastest pass's"},
    {"--confusion", NULL, NULL, OK_SWITCH, 0, 0, NULL, AT(confusion), CMD_EVAL,
     "print the confusion matrix and the error of each class"},
    {"--metrics", NULL, "FILE", OK_TEXT, 0, 0, NULL, AT(metrics), CMD_EVAL,
     "write the test error, confusion matrix and per-class error to FILE\n"
     "(one JSON object)"},
    {"--predictions", NULL, "FILE.csv", OK_TEXT, 0, 0, NULL, AT(predictions), CMD_EVAL,
     "write index, label, prediction and its score of every test image"},
    {"--errors", NULL, "FILE.png", OK_TEXT, 0, 0, NULL, AT(errors), CMD_EVAL,
     "draw the worst-misclassified test images with their true and\n"
     "predicted classes"},
    {"-o", "--out", "FILE.o", OK_TEXT, 0, 0, NULL, AT(out), CMD_COMPILE,
     "the object file to write (and FILE.h beside it)"},
    {"-o", "--out", "FILE", OK_TEXT, 0, 0, NULL, AT(out), CMD_EXPORT,
     "the file to write: model.onnx, or model.py with --pytorch"},
    {"--out", NULL, "FILE.png", OK_TEXT, 0, 0, NULL, AT(out), CMD_PREVIEW,
     "the PNG to write (default augment-preview.png)"},
    {"--steps", NULL, "N", OK_INT, 1, 1000000, NULL, AT(steps), CMD_PROFILE, "training steps to time (default 200)"},
    {"--scales", NULL, NULL, OK_SWITCH, 0, 0, NULL, AT(scales), CMD_CHECK,
     "also the mean and spread of every named value and the spread of\n"
     "every parameter's gradient at initialisation, on training images"},
    {"--after", NULL, "PASS", OK_PASS, 0, 0, NULL, AT(after), CMD_CHECK | CMD_GRAPH,
     "the figures or graph with the graph passes up to PASS only (none:\n"
     "before any)"},
    {"--dot", NULL, NULL, OK_SWITCH, 0, 0, NULL, AT(dot), CMD_GRAPH, "Graphviz DOT instead of text"},
    {"--stage", NULL, "STAGE", OK_CHOICE, 0, 0, "graph llvm opt asm", AT(stage), CMD_IR,
     "graph, llvm (the default), opt or asm"},
    {"--fn", NULL, "NAME", OK_CHOICE, 0, 0, "dlc_forward dlc_train_step", AT(fn), CMD_IR,
     "only this function: dlc_forward or dlc_train_step"},
    {"--Werror", NULL, NULL, OK_SWITCH, 0, 0, NULL, AT(werror), MODEL_CMDS | CMD_GRADCHECK | CMD_EXPORT,
     "treat the file's warnings as errors (exit status 1)"},
};
const int n_options = sizeof options / sizeof *options;

const char *command_operand(const Command *c) { return c->operand ? c->operand : "FILE.net"; }

const Command *command_find(const char *name) {
  for (int k = 0; k < n_commands; k++)
    if (strcmp(commands[k].name, name) == 0) return &commands[k];
  return NULL;
}

void command_unknown(const char *name) {
  const char *names[32];
  char hint[96];
  int n = 0;
  for (int k = 0; k < n_commands && n < 32; k++) names[n++] = commands[k].name;
  diag_error_plain("dlc", "unknown command '%s'%s", name, suggest_hint(name, names, n, "", hint, sizeof hint));
}

/* "--epochs" as "epochs": the dashes would make every option look alike. */
static const char *undashed(const char *flag) {
  while (*flag == '-') flag++;
  return flag;
}

/* An option that command c does not take: the nearest of its options, or the commands that
 * do take it. */
static void option_unknown(const Command *c, const char *flag) {
  enum { MAX_NAMES = 128 };
  const char *names[MAX_NAMES], *full[MAX_NAMES], *takers[32];
  int n = 0, n_takers = 0;
  for (int i = 0; i < n_options; i++) {
    const OptionSpec *s = &options[i];
    if (!(s->commands & c->bit)) continue;
    for (int k = 0; k < 2 && n < MAX_NAMES; k++) {
      const char *name = k ? s->alias : s->name;
      if (name) full[n] = name, names[n++] = undashed(name);
    }
  }
  for (int k = 0; k < n_commands && n_takers < 32; k++)
    if (option_find(&commands[k], flag)) takers[n_takers++] = commands[k].name;
  const char *near = suggest_nearest(undashed(flag), names, n);
  for (int i = 0; near && i < n; i++)
    if (near == names[i]) {
      near = full[i];
      break;
    }
  if (n_takers) {
    char list[256];
    diag_error_plain("dlc", "unknown option '%s' for '%s': only %s take%s it (see dlc %s --help)", flag, c->name,
                     suggest_list(takers, n_takers, "", "and", list, sizeof list), n_takers == 1 ? "s" : "", c->name);
  } else if (near) {
    diag_error_plain("dlc", "unknown option '%s' for '%s' (see dlc %s --help); did you mean '%s'?", flag, c->name, c->name,
                     near);
  } else {
    diag_error_plain("dlc", "unknown option '%s' for '%s' (see dlc %s --help)", flag, c->name, c->name);
  }
}

Options options_default(void) {
  return (Options){.ov = model_config().ov, .threads = 1, .repeat = 1, .steps = 200, .top = 3};
}

void options_free(Options *o) {
  free((void *)o->ov.settings);
  free(o->inputs);
  o->ov.settings = NULL;
  o->inputs = NULL;
}

const OptionSpec *option_find(const Command *c, const char *name) {
  for (int i = 0; i < n_options; i++) {
    const OptionSpec *s = &options[i];
    if ((s->commands & c->bit) && (strcmp(s->name, name) == 0 || (s->alias && strcmp(s->alias, name) == 0))) return s;
  }
  return NULL;
}

/* Whether word is one of the space-separated words of list. */
static bool one_of(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = strstr(list, word); n && p; p = strstr(p + 1, word))
    if ((p == list || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ')) return true;
  return false;
}

/* "graph llvm opt asm" -> "graph, llvm, opt or asm" */
static void or_list(const char *words, char *out, size_t len) {
  int n = 1, k = 0;
  for (const char *p = words; *p; p++) n += *p == ' ';
  out[0] = 0;
  for (const char *p = words; *p; k++) {
    size_t w = strcspn(p, " ");
    snprintf(out + strlen(out), len - strlen(out), "%s%.*s", k == 0 ? "" : k == n - 1 ? " or " : ", ", (int)w, p);
    p += w + (p[w] == ' ');
  }
}

/* " fold, simplify, cse" */
static void pass_names(char *out, size_t len) {
  out[0] = 0;
  for (const PassInfo *p = graph_passes; p->name; p++)
    snprintf(out + strlen(out), len - strlen(out), "%s %s", p == graph_passes ? "" : ",", p->name);
}

/* Stores value (for option s) into o; false after reporting why it is not one. */
static bool set_value(const OptionSpec *s, const char *value, Options *o) {
  void *field = (char *)o + s->field;
  switch (s->kind) {
  case OK_SWITCH: *(bool *)field = true; return true;
  case OK_TEXT: *(const char **)field = value; return true;
  case OK_INT: {
    char *end;
    errno = 0;
    long long x = strtoll(value, &end, 10);
    if (errno || end == value || *end || x < s->lo || x > s->hi) {
      diag_error_plain("dlc", "%s expects a whole number from %lld to %lld, got '%s'", s->name, s->lo, s->hi, value);
      return false;
    }
    if (s->field == offsetof(Options, ov.seed)) *(long long *)field = x;
    else *(int *)field = (int)x;
    return true;
  }
  case OK_LR: {
    char *end;
    double x = strtod(value, &end);
    if (end == value || *end || !settings_lr_ok(x)) { /* the file's rule (graph/settings.h) */
      diag_error_plain("dlc", "%s expects a positive number up to 1e6, got '%s'", s->name, value);
      return false;
    }
    *(double *)field = x;
    return true;
  }
  case OK_SETTING: { /* repeatable: the settings join into one train block */
    const char *had = *(const char **)field;
    size_t len = (had ? strlen(had) + 2 : 0) + strlen(value) + 1;
    char *joined = malloc(len);
    if (!joined) dlc_fatal("out of memory");
    snprintf(joined, len, "%s%s%s", had ? had : "", had ? "; " : "", value);
    free((void *)had);
    *(const char **)field = joined;
    return true;
  }
  case OK_CHOICE:
    if (!one_of(s->choices, value)) {
      char list[256], words[256], hint[96];
      const char *names[16];
      int n = 0;
      or_list(s->choices, list, sizeof list);
      snprintf(words, sizeof words, "%s", s->choices);
      for (char *w = strtok(words, " "); w && n < 16; w = strtok(NULL, " ")) names[n++] = w;
      diag_error_plain("dlc", "%s expects %s, got '%s'%s", s->name, list, value,
                       suggest_hint(value, names, n, "", hint, sizeof hint));
      return false;
    }
    *(const char **)field = value;
    return true;
  case OK_PASS:
    if (strcmp(value, "none") != 0 && !pass_find(value)) {
      char names[256], hint[96];
      const char *passes[32];
      int n = 0;
      for (const PassInfo *p = graph_passes; p->name && n < 32; p++) passes[n++] = p->name;
      pass_names(names, sizeof names);
      diag_error_plain("dlc", "%s expects none or a pass:%s, got '%s'%s", s->name, names, value,
                       suggest_hint(value, passes, n, "", hint, sizeof hint));
      return false;
    }
    *(const char **)field = value;
    return true;
  }
  DLC_UNREACHABLE();
}

bool options_parse(const Command *c, int argc, char **argv, int first, Options *o) {
  o->command = c;
  for (int i = first; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      o->help = true;
      continue;
    }
    if (a[0] != '-' || a[1] == 0) {
      if (o->file && c->operands) { /* (the array has room for every argument) */
        if (!o->inputs && !(o->inputs = calloc((size_t)argc + 1, sizeof *o->inputs))) dlc_fatal("out of memory");
        o->inputs[o->n_inputs++] = a;
        continue;
      }
      if (o->file) {
        diag_error_plain("dlc", "'%s' takes one %s, got '%s' and '%s'", c->name, command_operand(c), o->file, a);
        return false;
      }
      o->file = a;
      continue;
    }
    char flag[64];
    const char *value = NULL, *eq = strchr(a, '=');
    snprintf(flag, sizeof flag, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
    const OptionSpec *s = option_find(c, flag);
    if (!s) {
      option_unknown(c, flag);
      return false;
    }
    if (s->kind == OK_SWITCH && eq) {
      diag_error_plain("dlc", "option '%s' takes no value", flag);
      return false;
    }
    if (s->kind != OK_SWITCH) {
      if (eq) value = eq + 1;
      else if (i + 1 < argc) value = argv[++i];
      else {
        diag_error_plain("dlc", "option '%s' needs a value", flag);
        return false;
      }
    }
    if (!set_value(s, value, o)) return false;
  }
  return true;
}

/* "[--epochs N]", or "--load CKPT" for the command's required option. */
static int synopsis_item(const Command *c, const OptionSpec *s, char *buf, size_t len) {
  bool required = c->required && strcmp(c->required, s->name) == 0;
  return snprintf(buf, len, "%s%s%s%s%s", required ? "" : "[", s->name, s->arg ? " " : "", s->arg ? s->arg : "",
                  required ? "" : "]");
}

void command_usage(const Command *c, FILE *out) {
  enum { WIDTH = 96 };
  char head[64];
  int indent = snprintf(head, sizeof head, "usage: dlc %s %s", c->name, command_operand(c)), col = indent;
  fputs(head, out);
  for (int k = 0; k < 2 * n_options; k++) { /* the required option first */
    const OptionSpec *s = &options[k % n_options];
    bool required = c->required && strcmp(c->required, s->name) == 0;
    if (!(s->commands & c->bit) || required != (k < n_options)) continue;
    char item[96];
    int len = synopsis_item(c, s, item, sizeof item);
    if (col + 1 + len > WIDTH) {
      fprintf(out, "\n%*s", indent, "");
      col = indent;
    }
    fprintf(out, " %s", item);
    col += 1 + len;
  }
  if (c->operands) {
    int len = (int)strlen(c->operands);
    if (col + 1 + len > WIDTH) fprintf(out, "\n%*s", indent, "");
    fprintf(out, " %s", c->operands);
  }
  fprintf(out, "\n%s", c->about);
  for (int i = 0; i < n_options; i++) {
    const OptionSpec *s = &options[i];
    if (!(s->commands & c->bit)) continue;
    char name[64];
    snprintf(name, sizeof name, "%s%s%s", s->name, s->arg ? " " : "", s->arg ? s->arg : "");
    if (strlen(name) > 17) fprintf(out, "  %s\n  %-19s", name, ""); /* (two spaces at least before the help) */
    else fprintf(out, "  %-19s", name);
    for (const char *h = s->help; *h; h++) { /* continuation lines line up */
      fputc(*h, out);
      if (*h == '\n') fprintf(out, "  %-19s", "");
    }
    if (s->alias) fprintf(out, " (also %s)", s->alias);
    fputc('\n', out);
  }
}

void program_usage(FILE *out) {
  fputs("usage: dlc COMMAND FILE.net [OPTIONS]\n"
        "dlc compiles a neural network described in a .net file to native code and trains it.\n\n"
        "commands:\n", out);
  for (int k = 0; k < n_commands; k++) fprintf(out, "  %-10s %s\n", commands[k].name, commands[k].summary);
  fputs("\ndlc COMMAND --help describes a command; dlc --version prints the version.\n", out);
}

ModelConfig options_model_config(const Options *o) {
  ModelConfig cfg = model_config();
  cfg.ov = o->ov;
  cfg.threads = o->threads;
  return cfg;
}

bool outputs_ok(const Options *o, const DlrtNamedPath *outputs, int n_outputs) {
  const char *role = o->command && o->command->operand_role ? o->command->operand_role : "the .net file";
  const DlrtNamedPath inputs[] = {{o->file, role, NULL}, {o->resume, "--resume", "checkpoint"}, {o->load, "--load", NULL},
                                  {o->net, "--net", NULL}};
  char err[1024];
  if (dlrt_outputs_check(outputs, n_outputs, inputs, (int)(sizeof inputs / sizeof *inputs), err, sizeof err) == 0)
    return true;
  diag_path_error(err);
  return false;
}
