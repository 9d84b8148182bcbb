/* cmd_inspect.c — the commands that show what dlc makes of a file: `dlc check` (parameters,
 * shapes, FLOPs, memory), `dlc graph` (the training step's graph) and `dlc ir` (each stage
 * from the scheduled graph to assembly). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "print.h"
#include "scales.h"

static void print_bytes(const char *what, int64_t floats) {
  double b = 4.0 * (double)floats;
  printf("  %-34s %10.1f KiB\n", what, b / 1024);
}

/* Per source line (a layer, as the file writes one per line): what it defines, its
 * parameters, FLOPs per example forward and backward, and the sizes of the training step's
 * buffers it owns at the compiled batch (summed: the plan reuses them over time). What a
 * user function's body makes counts on the line of the call (the outermost one), so each
 * call has its row: "12  h1 (block, line 3)". */
typedef struct LineFigures {
  const char *name;
  bool value_named;
  const CallSite *call; /* the user function called on this line, if any */
  int64_t params, fwd, bwd, floats;
} LineFigures;

/* The row of n: the line of the top-level code it comes from (0: none). */
static int row_of(const Node *n, int lines) {
  SrcLoc at = srcloc_outermost(n->loc);
  return at.file && at.line <= lines ? at.line : 0;
}

static void print_layers(const Model *m) {
  const Graph *g = m->g;
  const Schedule *s = &m->fns[FN_TRAIN].sched;
  const MemPlan *plan = &m->fns[FN_TRAIN].plan;
  int lines = 1;
  for (const char *c = m->file->text; *c; c++) lines += *c == '\n';
  LineFigures *f = calloc((size_t)lines + 1, sizeof *f);
  if (!f) dlc_fatal("out of memory");
  for (int i = 0; i < g->len; i++) {
    const Node *n = g->nodes[i];
    int line = row_of(n, lines);
    if (n->op == OP_PARAM) f[line].params += shape_numel(n->shape);
    if (!f[line].call) f[line].call = srcloc_outermost_call(n->loc);
    /* the value the line defines (h, c1), else its parameter (W1) */
    if (n->name && op_info(n->op)->cls != LEAF && !f[line].value_named) {
      f[line].name = n->name;
      f[line].value_named = true;
    } else if (n->name && n->op == OP_PARAM && !f[line].name) {
      f[line].name = n->name;
    }
  }
  for (int i = 0; i < s->len; i++) {
    const Node *n = s->order[i];
    int line = row_of(n, lines);
    if (node_once_per_step(n)) continue; /* the update: counted per step in the totals below */
    if (n->id < m->n_forward) f[line].fwd += node_flops(n);
    else f[line].bwd += node_flops(n);
    if (plan->offset[n->id] >= plan->persist_floats && schedule_storage(s, n) == n && schedule_site(s, n) == n)
      f[line].floats += shape_numel(n->shape) * (n->shape.batched ? plan->batch : 1) + lower_workspace(n, plan->batch);
  }
  enum { LABEL_MAX = 96 };
  char(*label)[LABEL_MAX] = calloc((size_t)lines + 1, sizeof *label);
  if (!label) dlc_fatal("out of memory");
  int width = 12;
  for (int l = 1; l <= lines; l++) {
    const char *name = f[l].name ? f[l].name : "";
    if (f[l].call)
      snprintf(label[l], LABEL_MAX, "%s%s(%s, line %d)", name, *name ? " " : "", f[l].call->fn, f[l].call->def.line);
    else
      snprintf(label[l], LABEL_MAX, "%s", name);
    if ((int)strlen(label[l]) > width) width = (int)strlen(label[l]);
  }
  printf("\n  %-6s %-*s %10s %14s %14s %14s\n", "line", width, "defines", "params", "fwd FLOP/ex", "bwd FLOP/ex",
         "buffers KiB");
  for (int l = 1; l <= lines; l++) {
    if (!f[l].params && !f[l].fwd && !f[l].bwd && !f[l].floats) continue;
    printf("  %-6d %-*s %10lld %14lld %14lld %14.1f\n", l, width, label[l], (long long)f[l].params,
           (long long)f[l].fwd, (long long)f[l].bwd, 4.0 * (double)f[l].floats / 1024);
  }
  free(label);
  free(f);
}

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
  if (!data_load(&m->train, data_dir(o->data_dir), &train, NULL)) {
    model_free(m);
    return EXIT_USER;
  }
  if ((int64_t)train.rows * train.cols != shape_numel(m->sema.input->shape))
    diag_error(m->sema.input->loc, "the training images are %dx%d, but '%s' has %lld values", train.rows, train.cols,
               m->sema.input->name, (long long)shape_numel(m->sema.input->shape));
  else {
    scales_report(m, &train, SCALES_ROWS, stdout);
    rc = EXIT_OK;
  }
  model_free(m);
  dlrt_dataset_free(&train);
  return rc;
}

/* The model as far as its memory plans, with the graph passes up to --after (if given). */
static Model *load_planned(const Options *o) {
  ModelConfig cfg = options_model_config(o);
  cfg.stop_after = o->after; /* --after PASS: as that pass left the graph */
  Model *m = model_load(o->file, &cfg);
  if (m && !model_build_training(m)) {
    model_free(m);
    return NULL;
  }
  return m;
}

int cmd_check(const Options *o) {
  Model *m = load_planned(o);
  if (!m) return EXIT_USER;
  const Graph *g = m->g;
  char buf[SHAPE_STR_MAX];
  printf("%s: ok\n", m->file->name);
  /* Shapes as the file writes them: per example, the batch axis implicit. */
  Shape in = m->sema.input->shape, tg = m->sema.target->shape;
  in.batched = tg.batched = false;
  printf("  input  %-12s %s\n", m->sema.input->name, shape_str(in, buf, sizeof buf));
  printf("  target %-12s %s\n", m->sema.target->name, shape_str(tg, buf, sizeof buf));
  printf("\n  %-20s %-16s %10s  %s\n", "parameter", "shape", "values", "init");
  for (int i = 0; i < m->n_forward; i++) {
    const Node *p = g->nodes[i];
    if (p->op != OP_PARAM) continue;
    printf("  %-20s %-16s %10lld  %s%s\n", p->name, shape_str(p->shape, buf, sizeof buf),
           (long long)shape_numel(p->shape), dlrt_init_name(p->init.kind),
           m->grads[p->id] ? "" : "  (unused by the loss: not trained)");
  }
  printf("  %-37s %10lld\n", "total", (long long)model_param_count(m));
  print_layers(m);
  printf("\n");
  int64_t update, fwd = schedule_flops(&m->fns[FN_FORWARD].sched, NULL);
  int64_t step = schedule_flops(&m->fns[FN_TRAIN].sched, &update);
  printf("  FLOPs: inference %lld per example; training %lld per example (forward and backward)\n"
         "         and %lld per step (the optimiser update)\n", (long long)fwd, (long long)step, (long long)update);
  int fused = 0;
  for (int i = 0; i < m->fns[FN_TRAIN].sched.len; i++) {
    const Node *n = m->fns[FN_TRAIN].sched.order[i];
    fused += schedule_site(&m->fns[FN_TRAIN].sched, n) != n;
  }
  printf("  nodes: %d in the forward graph, %d with autodiff and the update, %d in the training step after\n"
         "         the passes (%d of them computed inside other nodes' loops), %d in inference\n",
         m->n_forward, m->n_before_passes, m->fns[FN_TRAIN].sched.len, fused, m->fns[FN_FORWARD].sched.len);
  printf("  arena at batch %d:\n", m->train.batch);
  print_bytes("parameters and optimiser state", m->fns[FN_TRAIN].plan.persist_floats);
  print_bytes("forward scratch", m->fns[FN_FORWARD].plan.total_floats - m->fns[FN_FORWARD].plan.persist_floats);
  print_bytes("training step scratch", m->fns[FN_TRAIN].plan.total_floats - m->fns[FN_TRAIN].plan.persist_floats);
  print_bytes("arena total", m->arena_floats);
  const TrainSettings *t = &m->train;
  const OptimizerSpec *op = &t->opt;
  printf("  train: data %s, %s lr %g", t->data, optimizer_name(op->kind), t->lr);
  if (op->kind == OPT_SGD) printf(" momentum %g%s", op->momentum, op->nesterov ? " nesterov" : "");
  if (op->kind == OPT_ADAM || op->kind == OPT_ADAMW) printf(" beta1 %g beta2 %g", op->beta1, op->beta2);
  if (op->kind == OPT_RMSPROP) printf(" alpha %g", op->alpha);
  if (op->kind != OPT_SGD) printf(" eps %g", op->eps);
  printf(" weight_decay %g", op->weight_decay);
  if (op->clip > 0) printf(" clip %g", op->clip);
  printf(", %s schedule", schedule_name(t->schedule));
  if (t->schedule == SCHEDULE_STEP) printf(" every %d gamma %g", t->every, t->gamma);
  if (t->schedule == SCHEDULE_EXPONENTIAL) printf(" gamma %g", t->gamma);
  if (t->warmup > 0) printf(", warmup %g epochs", t->warmup);
  printf(", pixels %g..%g, batch %d, epochs %d, seed %llu", t->pixel_lo, t->pixel_hi, t->batch, t->epochs, t->seed);
  if (t->validation) printf(", validation %d", t->validation);
  if (t->patience) printf(", patience %d", t->patience);
  const DlrtDistort *d = &t->distort;
  if (d->affine)
    printf(", distort affine(rotate: %g, scale: %g, shear: %g, shift: %g)", d->rotate, d->scale, d->shear, d->shift);
  if (d->elastic) printf("%s elastic(alpha: %g, sigma: %g)", d->affine ? " +" : ", distort", d->alpha, d->sigma);
  printf("\n");
  model_free(m);
  return o->scales ? print_scales(o) : EXIT_OK;
}

int cmd_graph(const Options *o) {
  Model *m = load_planned(o);
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
  Model *m = load_planned(o);
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
