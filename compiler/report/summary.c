/* summary.c — what `dlc check` prints about a planned model (summary.h): the input and
 * target, every parameter, the figures per source line, FLOPs, nodes and the arena, and the
 * train block's settings. The HTML report shows the same text. */
#include "summary.h"
#include <stdlib.h>
#include <string.h>

static void print_bytes(FILE *out, const char *what, int64_t floats) {
  double b = 4.0 * (double)floats;
  fprintf(out, "  %-34s %10.1f KiB\n", what, b / 1024);
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

static void print_layers(const Model *m, FILE *out) {
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
  fprintf(out, "\n  %-6s %-*s %10s %14s %14s %14s\n", "line", width, "defines", "params", "fwd FLOP/ex", "bwd FLOP/ex",
         "buffers KiB");
  for (int l = 1; l <= lines; l++) {
    if (!f[l].params && !f[l].fwd && !f[l].bwd && !f[l].floats) continue;
    fprintf(out, "  %-6d %-*s %10lld %14lld %14lld %14.1f\n", l, width, label[l], (long long)f[l].params,
           (long long)f[l].fwd, (long long)f[l].bwd, 4.0 * (double)f[l].floats / 1024);
  }
  free(label);
  free(f);
}

/* The constants (constant(...)): values the file gives, not trained, not in the total. */
static void print_constants(const Model *m, FILE *out) {
  char buf[SHAPE_STR_MAX];
  bool header = false;
  for (int i = 0; i < m->n_forward; i++) {
    const Node *c = m->g->nodes[i];
    if (!node_is_constant(c)) continue;
    if (!header) fprintf(out, "\n  %-20s %-16s %10s  %s\n", "constant", "shape", "values", "(not trained)");
    header = true;
    fprintf(out, "  %-20s %-16s %10lld  line %d\n", c->name, shape_str(c->shape, buf, sizeof buf),
           (long long)shape_numel(c->shape), c->loc.line);
  }
}

/* "data   mnist: 60000 training and 10000 test examples of [1, 28, 28] (uint8), 10 classes";
 * d NULL: the data set as the file names it, not read. */
static void print_data(const Model *m, const DataSummary *d, FILE *out) {
  char what[1024];
  fprintf(out, "  data   %s", data_what(&m->train.data, what, sizeof what));
  if (d) fprintf(out, ": ");
  if (d && d->found && d->held_out)
    fprintf(out, "%d training and %d test examples (held out: the last %d of %d)", d->train, d->test, d->held_out,
            d->train + d->test);
  else if (d && d->found)
    fprintf(out, "%d training and %d test examples", d->train, d->test);
  else if (d)
    fprintf(out, "examples");
  if (d) {
    fprintf(out, " of [%d, %d, %d]", d->shape.channels, d->shape.rows, d->shape.cols);
    if (d->found) fprintf(out, " (%s)", d->type == DLRT_PIXELS_F32 ? "float32" : "uint8");
    fprintf(out, ", %d classes", d->shape.classes);
  }
  ClassNames names = class_names_new(m, NULL);
  bool numbers = true; /* "0", "1", ...: nothing to add */
  for (int i = 0; i < names.n; i++) {
    char number[16];
    snprintf(number, sizeof number, "%d", i);
    numbers &= strcmp(names.name[i], number) == 0;
  }
  for (int i = 0; !numbers && i < names.n && i < 12; i++) fprintf(out, "%s%s", i ? ", " : ": ", names.name[i]);
  if (!numbers && names.n > 12) fprintf(out, ", ... (%d in all)", names.n);
  class_names_free(&names);
  fprintf(out, "\n");
  if (d && !d->found) fprintf(out, "         (not read: %s)\n", d->why);
}

void model_summary_print(const Model *m, const DataSummary *data, FILE *out) {
  const Graph *g = m->g;
  char buf[SHAPE_STR_MAX];
  /* Shapes as the file writes them: per example, the batch axis implicit. */
  Shape in = m->sema.input->shape, tg = m->sema.target->shape;
  in.batched = tg.batched = false;
  fprintf(out, "  input  %-12s %s\n", m->sema.input->name, shape_str(in, buf, sizeof buf));
  fprintf(out, "  target %-12s %s\n", m->sema.target->name, shape_str(tg, buf, sizeof buf));
  print_data(m, data, out);
  fprintf(out, "\n  %-20s %-16s %10s  %s\n", "parameter", "shape", "values", "init");
  for (int i = 0; i < m->n_forward; i++) {
    const Node *p = g->nodes[i];
    if (p->op != OP_PARAM) continue;
    fprintf(out, "  %-20s %-16s %10lld  %s%s\n", p->name, shape_str(p->shape, buf, sizeof buf),
           (long long)shape_numel(p->shape), dlrt_init_name(p->init.kind),
           m->grads[p->id] ? "" : "  (unused by the loss: not trained)");
  }
  fprintf(out, "  %-37s %10lld\n", "total", (long long)model_param_count(m));
  print_constants(m, out);
  print_layers(m, out);
  fprintf(out, "\n");
  int64_t update, fwd = schedule_flops(&m->fns[FN_FORWARD].sched, NULL);
  int64_t step = schedule_flops(&m->fns[FN_TRAIN].sched, &update);
  fprintf(out, "  FLOPs: inference %lld per example; training %lld per example (forward and backward)\n"
         "         and %lld per step (the optimiser update)\n", (long long)fwd, (long long)step, (long long)update);
  int fused = 0;
  for (int i = 0; i < m->fns[FN_TRAIN].sched.len; i++) {
    const Node *n = m->fns[FN_TRAIN].sched.order[i];
    fused += schedule_site(&m->fns[FN_TRAIN].sched, n) != n;
  }
  fprintf(out, "  nodes: %d in the forward graph, %d with autodiff and the update, %d in the training step after\n"
         "         the passes (%d of them computed inside other nodes' loops), %d in inference\n",
         m->n_forward, m->n_before_passes, m->fns[FN_TRAIN].sched.len, fused, m->fns[FN_FORWARD].sched.len);
  fprintf(out, "  arena at batch %d:\n", m->train.batch);
  print_bytes(out, "parameters and optimiser state", m->fns[FN_TRAIN].plan.persist_floats);
  print_bytes(out, "forward scratch", m->fns[FN_FORWARD].plan.total_floats - m->fns[FN_FORWARD].plan.persist_floats);
  print_bytes(out, "training step scratch", m->fns[FN_TRAIN].plan.total_floats - m->fns[FN_TRAIN].plan.persist_floats);
  print_bytes(out, "arena total", m->arena_floats);
  const TrainSettings *t = &m->train;
  const OptimizerSpec *op = &t->opt;
  fprintf(out, "  train: %s lr %g", optimizer_name(op->kind), t->lr);
  if (op->kind == OPT_SGD) fprintf(out, " momentum %g%s", op->momentum, op->nesterov ? " nesterov" : "");
  if (op->kind == OPT_ADAM || op->kind == OPT_ADAMW) fprintf(out, " beta1 %g beta2 %g", op->beta1, op->beta2);
  if (op->kind == OPT_RMSPROP) fprintf(out, " alpha %g", op->alpha);
  if (op->kind != OPT_SGD) fprintf(out, " eps %g", op->eps);
  fprintf(out, " weight_decay %g", op->weight_decay);
  if (op->clip > 0) fprintf(out, " clip %g", op->clip);
  if (op->average > 0) fprintf(out, ", average ema(%g)", op->average);
  fprintf(out, ", %s schedule", schedule_name(t->schedule));
  if (t->schedule == SCHEDULE_STEP) fprintf(out, " every %d gamma %g", t->every, t->gamma);
  if (t->schedule == SCHEDULE_EXPONENTIAL) fprintf(out, " gamma %g", t->gamma);
  if (t->warmup > 0) fprintf(out, ", warmup %g epochs", t->warmup);
  fprintf(out, ", pixels %g..%g", t->pixel_lo, t->pixel_hi);
  for (int c = 0; c < t->n_norm; c++) fprintf(out, "%s%g/%g", c ? " " : ", normalize (mean/std) ", t->mean[c], t->std[c]);
  fprintf(out, ", batch %d, epochs %d, seed %llu", t->batch, t->epochs, t->seed);
  if (t->validation) fprintf(out, ", validation %d", t->validation);
  if (t->patience) fprintf(out, ", patience %d", t->patience);
  const DlrtDistort *d = &t->distort;
  if (d->affine)
    fprintf(out, ", distort affine(rotate: %g, scale: %g, shear: %g, shift: %g)", d->rotate, d->scale, d->shear, d->shift);
  if (d->elastic) fprintf(out, "%s elastic(alpha: %g, sigma: %g)", d->affine ? " +" : ", distort", d->alpha, d->sigma);
  fprintf(out, "\n");
}

char *model_summary_text(const Model *m, const DataSummary *data) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) dlc_fatal("out of memory");
  model_summary_print(m, data, f);
  if (fclose(f) != 0) dlc_fatal("out of memory");
  return text;
}
