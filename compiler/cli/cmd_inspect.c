/* cmd_inspect.c — the commands that show what dlc makes of a file: `dlc check` (parameters,
 * shapes, FLOPs, memory), `dlc graph` (the training step's graph) and `dlc ir` (each stage
 * from the scheduled graph to assembly). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "print.h"
#include "scales.h"
#include "summary.h"

enum { SCALES_ROWS = 256 };

/* --scales: on a model of its own, since the report differentiates the forward graph itself. */
static int print_scales(const Options *o) {
  DlrtDataset train = {0};
  ModelConfig cfg = options_model_config(o);
  WarningMode mode = diag_warning_mode();
  diag_set_warning_mode(WARNINGS_HIDE); /* the first load has shown them */
  Model *m = model_load(o->file, &cfg);
  diag_set_warning_mode(mode);
  if (!m) return EXIT_USER;
  int rc = EXIT_USER;
  if (data_load(m, data_dir(o->data_dir), &train, NULL)) {
    scales_report(m, &train, SCALES_ROWS, stdout);
    rc = EXIT_OK;
  }
  model_free(m);
  dlrt_dataset_free(&train);
  return rc;
}

/* The model as far as its memory plans, with the graph passes up to --after (if given); with
 * a data summary, its data set probed and checked first (before any planning). */
static Model *load_planned(const Options *o, DataSummary *data) {
  ModelConfig cfg = options_model_config(o);
  cfg.stop_after = o->after; /* --after PASS: as that pass left the graph */
  Model *m = model_load(o->file, &cfg);
  if (m && ((data && !data_probe(m, data_dir(o->data_dir), data)) || !model_build_training(m))) {
    model_free(m);
    return NULL;
  }
  return m;
}

int cmd_check(const Options *o) {
  DataSummary data;
  Model *m = load_planned(o, &data);
  if (!m) return EXIT_USER;
  printf("%s: ok\n", m->file->name);
  model_summary_print(m, &data, stdout);
  model_free(m);
  return o->scales ? print_scales(o) : EXIT_OK;
}

int cmd_graph(const Options *o) {
  Model *m = load_planned(o, NULL);
  if (!m) return EXIT_USER;
  const Schedule *s = &m->fns[FN_TRAIN].sched;
  if (o->dot) {
    graph_print_dot(schedule_nodes(s), m->n_forward, stdout);
  } else {
    printf("# %s: training step, %d nodes (%d forward, the rest backward and update)%s%s\n", m->file->name, s->len,
           m->n_forward, o->after ? ", after pass " : "", o->after ? o->after : "");
    graph_print(schedule_nodes(s), m->n_forward, NULL, stdout);
  }
  model_free(m);
  return EXIT_OK;
}

/* The lines of `fn` in an assembly listing: from its label to the .Lfunc_end that closes it. */
static void print_asm_function(const char *text, const char *fn) {
  char label[128];
  snprintf(label, sizeof label, "\n%s:", fn);
  const char *start = strstr(text, label);
  if (!start) return;
  const char *end = strstr(start, ".Lfunc_end");
  if (end) end = strchr(end, '\n');
  printf("%.*s\n", end ? (int)(end - start - 1) : (int)strlen(start + 1), start + 1);
}

int cmd_ir(const Options *o) {
  Model *m = load_planned(o, NULL);
  if (!m) return EXIT_USER;
  const char *stage = o->stage ? o->stage : "llvm";
  if (strcmp(stage, "graph") == 0) {
    for (int k = 0; k < FN_COUNT; k++) {
      const LowerFn *f = &m->fns[k];
      if (o->fn && strcmp(o->fn, f->name) != 0) continue;
      printf("# %s: %d nodes, arena %lld floats (@N: a buffer's offset in it)\n", f->name, f->sched.len,
             (long long)f->plan.total_floats);
      graph_print(schedule_nodes(&f->sched), m->n_forward, f->plan.offset, stdout);
    }
  } else {
    DlcModule *mod = model_lower(m, strcmp(stage, "llvm") != 0);
    if (!mod) {
      model_free(m);
      return EXIT_INTERNAL; /* reported: code dlc generated that LLVM rejects is dlc's bug */
    }
    bool assembly = strcmp(stage, "asm") == 0;
    char *text = assembly ? lower_module_asm(mod) : o->fn ? lower_function_text(mod, o->fn) : lower_module_text(mod);
    if (!text && assembly) diag_error_plain("dlc", "%s", lower_error(mod));
    else if (assembly && o->fn) print_asm_function(text, o->fn);
    else printf("%s\n", text);
    lower_free_text(text);
    lower_module_free(mod);
    if (!text && assembly) {
      model_free(m);
      return EXIT_INTERNAL;
    }
  }
  model_free(m);
  return EXIT_OK;
}
