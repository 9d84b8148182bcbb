/* driver.c — the pipeline, read top to bottom (as QBE's main.c):
 *
 *   .net --parse--> AST --sema--> forward graph --grad--> + backward --update--> + SGD step
 *        --passes (fold, simplify, CSE)--> --schedule/fuse/memplan--> per-function order and
 *        arena offsets --lower--> LLVM IR --optimise for the host CPU--> ORC LLJIT
 *        --> dlc_forward, dlc_train_step
 */
#include "driver.h"
#include "passes.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const model_fn_names[FN_COUNT] = {"dlc_forward", "dlc_train_step"};
const char *const model_par_fn_names[PAR_COUNT] = {"dlc_train_grad", "dlc_train_update"};

double model_compile_seconds(const Model *m) {
  return m->seconds_front + m->seconds_graph + m->seconds_irgen + m->seconds_opt + m->seconds_jit;
}

void model_print_times(const Model *m, FILE *out) {
  fprintf(out, "compile time %.0f ms: parse and shapes %.1f ms, autodiff/passes/plan %.1f ms, LLVM IR %.1f ms, "
               "optimisation %.1f ms, machine code %.1f ms",
          1e3 * model_compile_seconds(m), 1e3 * m->seconds_front, 1e3 * m->seconds_graph, 1e3 * m->seconds_irgen,
          1e3 * m->seconds_opt, 1e3 * m->seconds_jit);
  if (m->compile_threads > 1) fprintf(out, " (on %d threads)", m->compile_threads);
  if (m->forward_later && m->forward_done)
    fprintf(out, "; then dlc_forward in the background, %.0f ms", 1e3 * m->seconds_forward);
  else if (m->forward_later)
    fprintf(out, "; dlc_forward compiles in the background");
  fputc('\n', out);
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
  double t0 = dlrt_seconds();
  SrcFile *f = srcfile_read(path);
  if (!f) return NULL;
  Model *m = calloc(1, sizeof *m);
  if (!m) dlc_fatal("out of memory");
  m->file = f;
  m->min_split_flops = MIN_SPLIT_FLOPS;
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
  m->seconds_front = dlrt_seconds() - t0;
  return m;
}

bool model_build_training(Model *m) { return model_build_training_until(m, NULL); }

/* Data-parallel: the update reads each gradient from a GRAD_IN feed, and the gradients
 * become results of their own function. */
static Node **split_gradients(Model *m) {
  Graph *g = m->g;
  int n = m->n_forward;
  Node **to_update = ARENA_ARRAY(&m->plan_arena, Node *, n);
  m->grad_out = ARENA_ARRAY(&m->plan_arena, Node *, n);
  m->grad_in = ARENA_ARRAY(&m->plan_arena, Node *, n);
  for (int i = 0; i < n; i++) {
    Node *p = g->nodes[i];
    if (p->op != OP_PARAM || !m->grads[i]) continue;
    m->grad_out[i] = g_output(g, m->grads[i], p->loc);
    to_update[i] = m->grad_in[i] = g_grad_in(g, p, p->loc);
  }
  return to_update;
}

/* FLOPs of a whole batch's forward and backward pass (the gradients of the loss). */
static int64_t step_flops(Model *m) {
  Node **roots = ARENA_ARRAY(&m->plan_arena, Node *, m->n_forward + 1);
  int n = 0;
  roots[n++] = m->sema.loss;
  for (int i = 0; i < m->n_forward; i++)
    if (m->grads[i]) roots[n++] = m->grads[i];
  Schedule s = schedule_build(m->g, roots, n, &m->plan_arena);
  return schedule_flops(&s, NULL) * m->train.batch;
}

/* Schedules one function from its roots, fuses it and plans its memory for `rows`. */
static void plan_function(Model *m, LowerFn *f, const char *name, Node **roots, int n_roots, int rows) {
  f->name = name;
  f->sched = schedule_build(m->g, roots, n_roots, &m->plan_arena);
  schedule_fuse(m->g, &f->sched, &m->plan_arena);
  f->plan = memplan_build(m->g, &f->sched, rows, &m->plan_arena);
  m->state_floats = f->plan.persist_floats;
  if (f->plan.total_floats > m->arena_floats) m->arena_floats = f->plan.total_floats;
}

bool model_build_training_until(Model *m, const char *stop_after) {
  double t0 = dlrt_seconds();
  Graph *g = m->g;
  Node *loss = m->sema.loss, *out = m->sema.out;
  m->grads = grad_build(g, loss);
  if (m->threads > 1) {
    m->coupled_at = graph_batch_coupling(g, g->len);
    m->step_flops = step_flops(m);
    m->data_parallel = !m->coupled_at && m->step_flops / m->threads >= m->min_split_flops;
  }
  Node **to_update = m->data_parallel ? split_gradients(m) : m->grads;
  m->n_before_update = g->len;
  m->hyper = grad_add_update(g, to_update, m->n_forward, &m->train.opt, loss->loc);
  m->loss_sum = g_output(g, g_sum_to(g, loss, shape_scalar(false), loss->loc), loss->loc);
  Node *out_result = m->out_result = g_output(g, out, out->loc);

  m->n_before_passes = g->len;
  passes_run(g, stop_after, true);

  /* Forward: just the output. Train step: the loss sum and every ASSIGN. Data-parallel: the
   * loss sum and the gradients, then the ASSIGNs. Each thread runs forward and gradients on
   * its share of the batch, so those are planned for that many rows. */
  Node **roots = ARENA_ARRAY(&m->plan_arena, Node *, g->len + 1), **assigns = roots + 1;
  int n_assigns = 0;
  roots[0] = m->loss_sum;
  for (int i = 0; i < g->len; i++)
    if (g->nodes[i]->op == OP_ASSIGN) assigns[n_assigns++] = g->nodes[i];
  /* Inference splits every batch (its examples are always independent); training if data_parallel. */
  m->shard_rows = m->threads > 1 ? (m->train.batch + m->threads - 1) / m->threads : m->train.batch;
  plan_function(m, &m->fns[FN_FORWARD], model_fn_names[FN_FORWARD], &out_result, 1, m->shard_rows);
  if (m->data_parallel) {
    Node **grad_roots = ARENA_ARRAY(&m->plan_arena, Node *, m->n_forward + 1);
    int n = 0;
    grad_roots[n++] = m->loss_sum;
    for (int i = 0; i < m->n_forward; i++)
      if (m->grad_out[i]) grad_roots[n++] = m->grad_out[i];
    plan_function(m, &m->par_fns[PAR_GRAD], model_par_fn_names[PAR_GRAD], grad_roots, n, m->shard_rows);
    plan_function(m, &m->par_fns[PAR_UPDATE], model_par_fn_names[PAR_UPDATE], assigns, n_assigns, m->train.batch);
  } else {
    plan_function(m, &m->fns[FN_TRAIN], model_fn_names[FN_TRAIN], roots, n_assigns + 1, m->train.batch);
  }
  if (m->arena_floats > MAX_ARENA_FLOATS) {
    diag_error_plain(m->file->name, "needs %.1f GiB for its arena at batch %d (dlc plans at most %d GiB); try a smaller --batch",
                     4.0 * (double)m->arena_floats / (1 << 30), m->train.batch, (int)(4.0 * MAX_ARENA_FLOATS / (1 << 30)));
    return false;
  }
  m->seconds_graph = dlrt_seconds() - t0;
  return true;
}

int model_functions(const Model *m, LowerFn *fns) {
  fns[0] = m->fns[FN_FORWARD];
  if (m->inference_only) return 1;
  if (!m->data_parallel) {
    fns[1] = m->fns[FN_TRAIN];
    fns[1].profile = m->profile; /* --profile times the training step, not the evaluations */
    return 2;
  }
  fns[1] = m->par_fns[PAR_GRAD];
  fns[2] = m->par_fns[PAR_UPDATE];
  return 3;
}

DlcModule *model_lower(Model *m, bool optimize) {
  double t0 = dlrt_seconds();
  LowerFn fns[3];
  int n_fns = model_functions(m, fns);
  DlcModule *mod = lower_module(m->g, fns, n_fns);
  double t1 = dlrt_seconds();
  if (optimize) lower_optimize(mod);
  m->seconds_irgen = t1 - t0;
  m->seconds_opt = dlrt_seconds() - t1;
  return mod;
}

/* dlc_forward's pieces, planned and lowered on the JIT's background thread, which compiles
 * them too (it reads the model's graph and plans, which nothing changes once compiled). */
static JitWork forward_work(void *model) {
  Model *m = model;
  return model_pieces(m, &m->fns[FN_FORWARD], 1, 1);
}

DlcJit *model_compile(Model *m) {
  int threads = compile_threads();
  char err[512];
  DlcJit *jit;
  double t0;
  LowerFn fns[3];
  int n_fns = model_functions(m, fns);
  /* (profiled steps must not share the cores with a compilation) */
  m->forward_later = threads > 1 && !m->inference_only && !m->profile;
  if (threads > 1) { /* the training functions' modules (or dlc_forward's alone), optimised and
                        compiled in parallel */
    double ti = dlrt_seconds(), seconds[3];
    int first = m->forward_later;
    JitWork work = model_pieces(m, fns + first, n_fns - first, threads);
    double measure = dlrt_seconds() - ti; /* lowering each function once, to cut it */
    jit = jit_compile_parallel(&work, threads, seconds, err, sizeof err);
    work.done(work.arg);
    m->seconds_irgen = measure + seconds[0];
    m->seconds_opt = seconds[1];
    t0 = dlrt_seconds() - seconds[2]; /* machine code: generation and linking */
    m->compile_threads = threads;
  } else {
    DlcModule *mod = model_lower(m, true);
    t0 = dlrt_seconds();
    jit = jit_compile(mod, err, sizeof err);
  }
  if (!jit) {
    diag_error_plain("dlc", "%s", err);
    return NULL;
  }
  /* Look the functions up now, so that machine code generation is timed here. */
  for (int k = m->forward_later; k < n_fns; k++)
    if (!jit_lookup(jit, fns[k].name)) dlc_fatal("generated function %s is missing", fns[k].name);
  m->seconds_jit = dlrt_seconds() - t0;
  if (m->forward_later) jit_compile_later(jit, forward_work, m, &fns[0].name, 1);
  return jit;
}

bool model_finish_compile(Model *m, DlcJit *jit) {
  char err[512];
  if (!jit_compiling_later(jit)) return true;
  bool ok = jit_finish_later(jit, &m->seconds_forward, err, sizeof err);
  m->forward_done = true;
  if (ok) return true;
  diag_error_plain("dlc", "%s", err);
  return false;
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
