/* driver.c — the pipeline, read top to bottom (as QBE's main.c):
 *
 *   .net --parse--> AST --sema--> forward graph --grad--> + backward --update--> + SGD step
 *        --passes (fold, simplify, CSE)--> --schedule/fuse/memplan--> per-function order and
 *        arena offsets --lower--> LLVM IR --O3 for the host CPU--> ORC LLJIT
 *        --> dlc_forward, dlc_train_step
 */
#include "driver.h"
#include "passes.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const model_fn_names[FN_COUNT] = {"dlc_forward", "dlc_train_step"};

double model_compile_seconds(const Model *m) {
  return m->seconds_front + m->seconds_graph + m->seconds_irgen + m->seconds_opt + m->seconds_jit;
}

void model_print_times(const Model *m, FILE *out) {
  fprintf(out, "compile time %.0f ms: parse and shapes %.1f ms, autodiff/passes/plan %.1f ms, LLVM IR %.1f ms, "
               "optimisation %.1f ms, machine code %.1f ms\n",
          1e3 * model_compile_seconds(m), 1e3 * m->seconds_front, 1e3 * m->seconds_graph, 1e3 * m->seconds_irgen,
          1e3 * m->seconds_opt, 1e3 * m->seconds_jit);
}

double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* --set first (a train block of its own, parsed and checked as the file's), then the flags
 * that name one setting. False after reporting an error in the --set text. */
static bool apply_overrides(Model *m, const Overrides *ov) {
  TrainSettings *t = &m->train;
  if (!ov) return true;
  if (ov->settings) {
    size_t len = strlen(ov->settings) + sizeof "train {  }\n";
    char *text = malloc(len);
    if (!text) dlc_fatal("out of memory");
    snprintf(text, len, "train { %s }\n", ov->settings);
    m->set_file = srcfile_from_string("--set", text);
    free(text);
    Program *p = parse_program(m->set_file, &m->ast_arena);
    if (!p || !sema_train_overrides(p, t)) return false;
  }
  if (ov->epochs > 0) t->epochs = ov->epochs;
  if (ov->batch > 0) t->batch = ov->batch;
  if (ov->lr > 0) t->lr = ov->lr;
  if (ov->seed >= 0) t->seed = (unsigned long long)ov->seed;
  if (ov->validation >= 0) t->validation = ov->validation, t->validation_loc = (SrcLoc){0};
  if (ov->patience >= 0) t->patience = ov->patience;
  return true;
}

Model *model_load(const char *path, const Overrides *ov) {
  double t0 = now_seconds();
  SrcFile *f = srcfile_read(path);
  if (!f) return NULL;
  Model *m = calloc(1, sizeof *m);
  if (!m) dlc_fatal("out of memory");
  m->file = f;
  arena_init(&m->ast_arena);
  arena_init(&m->plan_arena);
  m->g = graph_new();
  m->prog = parse_program(f, &m->ast_arena);
  if (!m->prog || !sema_build(m->prog, m->g, &m->sema)) {
    model_free(m);
    return NULL;
  }
  m->train = m->sema.train;
  if (!apply_overrides(m, ov)) {
    model_free(m);
    return NULL;
  }
  m->n_forward = m->g->len;
  m->seconds_front = now_seconds() - t0;
  return m;
}

bool model_build_training(Model *m) { return model_build_training_until(m, NULL); }

bool model_build_training_until(Model *m, const char *stop_after) {
  double t0 = now_seconds();
  Graph *g = m->g;
  Node *loss = m->sema.loss, *out = m->sema.out;
  m->grads = grad_build(g, loss);
  m->hyper = grad_add_update(g, m->grads, m->n_forward, &m->train.opt, loss->loc);
  m->loss_sum = g_output(g, g_sum_to(g, loss, shape_scalar(false), loss->loc), loss->loc);
  Node *out_result = m->out_result = g_output(g, out, out->loc);

  m->n_before_passes = g->len;
  passes_run(g, stop_after, true);

  /* Forward: just the output. Train step: the loss sum and every ASSIGN. */
  Node **roots = ARENA_ARRAY(&m->plan_arena, Node *, g->len);
  int n = 0;
  roots[n++] = m->loss_sum;
  for (int i = 0; i < g->len; i++)
    if (g->nodes[i]->op == OP_ASSIGN) roots[n++] = g->nodes[i];
  LowerFn *fwd = &m->fns[FN_FORWARD], *step = &m->fns[FN_TRAIN];
  fwd->name = model_fn_names[FN_FORWARD];
  fwd->sched = schedule_build(g, &out_result, 1, &m->plan_arena);
  step->name = model_fn_names[FN_TRAIN];
  step->sched = schedule_build(g, roots, n, &m->plan_arena);
  for (int k = 0; k < FN_COUNT; k++) {
    schedule_fuse(g, &m->fns[k].sched, &m->plan_arena);
    m->fns[k].plan = memplan_build(g, &m->fns[k].sched, m->train.batch, &m->plan_arena);
    if (m->fns[k].plan.total_floats > m->arena_floats) m->arena_floats = m->fns[k].plan.total_floats;
  }
  if (m->arena_floats > MAX_ARENA_FLOATS) {
    diag_error_plain(m->file->name, "needs %.1f GiB for its arena at batch %d (dlc plans at most %d GiB); try a smaller --batch",
                     4.0 * (double)m->arena_floats / (1 << 30), m->train.batch, (int)(4.0 * MAX_ARENA_FLOATS / (1 << 30)));
    return false;
  }
  m->seconds_graph = now_seconds() - t0;
  return true;
}

DlcModule *model_lower(Model *m, bool optimize) {
  double t0 = now_seconds();
  DlcModule *mod = lower_module(m->g, m->fns, FN_COUNT, m->profile);
  double t1 = now_seconds();
  if (optimize) lower_optimize(mod);
  m->seconds_irgen = t1 - t0;
  m->seconds_opt = now_seconds() - t1;
  return mod;
}

DlcJit *model_compile(Model *m) {
  DlcModule *mod = model_lower(m, true);
  double t0 = now_seconds();
  char err[512];
  DlcJit *jit = jit_compile(mod, err, sizeof err);
  if (!jit) {
    diag_error_plain("dlc", "%s", err);
    return NULL;
  }
  /* Look the functions up now, so that machine code generation is timed here. */
  for (int k = 0; k < FN_COUNT; k++)
    if (!jit_lookup(jit, model_fn_names[k])) dlc_fatal("generated function %s is missing", model_fn_names[k]);
  m->seconds_jit = now_seconds() - t0;
  return jit;
}

void model_free(Model *m) {
  if (!m) return;
  graph_free(m->g);
  arena_free(&m->ast_arena);
  arena_free(&m->plan_arena);
  srcfile_free(m->file);
  srcfile_free(m->set_file);
  free(m);
}

int64_t model_param_count(const Model *m) {
  int64_t n = 0;
  for (int i = 0; i < m->g->len; i++)
    if (m->g->nodes[i]->op == OP_PARAM) n += shape_numel(m->g->nodes[i]->shape);
  return n;
}
