/* driver.c — the pipeline, read top to bottom (as QBE's main.c):
 *
 *   .net --parse--> AST --sema--> forward graph --choose kernels--> --grad--> + backward
 *        --update--> + SGD step --passes (fold, simplify, CSE)--> --schedule/fuse/memplan-->
 *        per-function order and arena offsets --lower--> LLVM IR --optimise for the host
 *        CPU--> ORC LLJIT --> dlc_forward, dlc_train_step
 */
#include "driver.h"
#include "passes.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dlrt.h" /* dlrt_seconds: the stages are timed */

/* The index of `value` among names[0..n), or -1 (an unset or empty variable: 0). */
static int env_choice(const char *var, const char *const *names, int n, const char **error) {
  const char *value = getenv(var);
  if (!value || !*value) return 0;
  for (int i = 0; i < n; i++)
    if (!strcmp(value, names[i])) return i;
  *error = var;
  return 0;
}

ModelConfig model_config(void) {
  ModelConfig cfg = {
      .ov = {.epochs = -1, .batch = -1, .lr = -1, .seed = -1, .validation = -1, .patience = -1},
      .threads = 1,
      .processes = 1,
      .min_split_flops = MIN_SPLIT_FLOPS,
  };
  static const char *const isas[] = {"host", "avx2"}, *const kernels[] = {"auto", "im2col", "taps", "tiled", "winograd"};
  cfg.lower.isa = (VectorIsa)env_choice("DLC_ISA", isas, 2, &cfg.env_error);
  cfg.conv_force = (ConvForce)env_choice("DLC_CONV_KERNEL", kernels, 5, &cfg.env_error);
  static const char *const allreduce[] = {"overlap", "whole"};
  cfg.allreduce = env_choice("DLC_ALLREDUCE", allreduce, 2, &cfg.env_error);
  cfg.bucket_floats = BUCKET_MIN_FLOATS;
  const char *bucket = getenv("DLC_ALLREDUCE_BUCKET");
  if (bucket && *bucket) {
    char *end;
    long long floats = strtoll(bucket, &end, 10);
    if (*end || floats < 1 || floats > ((long long)1 << 40)) cfg.env_error = "DLC_ALLREDUCE_BUCKET";
    else cfg.bucket_floats = floats;
  }
  return cfg;
}

/* False (reported) if a developer variable says what cannot be done. */
static bool env_ok(const ModelConfig *cfg) {
  if (cfg->env_error && !strcmp(cfg->env_error, "DLC_ISA")) {
    diag_error_plain("DLC_ISA", "'%s' is not an instruction set dlc generates code for (host, avx2)", getenv("DLC_ISA"));
    return false;
  }
  if (cfg->env_error && !strcmp(cfg->env_error, "DLC_ALLREDUCE")) {
    diag_error_plain("DLC_ALLREDUCE", "'%s' is not a way to add up the processes' gradients (overlap, whole)", getenv("DLC_ALLREDUCE"));
    return false;
  }
  if (cfg->env_error && !strcmp(cfg->env_error, "DLC_ALLREDUCE_BUCKET")) {
    diag_error_plain("DLC_ALLREDUCE_BUCKET", "'%s' is not a number of floats (1 or more)", getenv("DLC_ALLREDUCE_BUCKET"));
    return false;
  }
  if (cfg->env_error) {
    diag_error_plain("DLC_CONV_KERNEL", "'%s' is not a way to run convolutions (auto, im2col, taps, tiled, winograd)", getenv("DLC_CONV_KERNEL"));
    return false;
  }
  if (!lower_isa_supported(cfg->lower.isa)) {
    diag_error_plain("DLC_ISA", "this CPU cannot run AVX2 code (it has no AVX2 or no FMA)");
    return false;
  }
  return true;
}

const char *const model_fn_names[FN_COUNT] = {"dlc_forward", "dlc_train_step"};
const char *const model_par_fn_names[PAR_COUNT] = {"dlc_train_grad", "dlc_train_update"};

double model_compile_seconds(const Model *m) {
  const CompileTimes *t = &m->times;
  return t->front + t->graph + t->irgen + t->opt + t->jit;
}

void model_print_times(const Model *m, FILE *out) {
  const CompileTimes *t = &m->times;
  fprintf(out, "compile time %.0f ms: parse and shapes %.1f ms, autodiff/passes/plan %.1f ms, LLVM IR %.1f ms, "
               "optimisation %.1f ms, machine code %.1f ms",
          1e3 * model_compile_seconds(m), 1e3 * t->front, 1e3 * t->graph, 1e3 * t->irgen, 1e3 * t->opt, 1e3 * t->jit);
  if (t->threads > 1) fprintf(out, " (on %d threads)", t->threads);
  if (t->forward_later && t->forward_done)
    fprintf(out, "; then dlc_forward in the background, %.0f ms", 1e3 * t->forward);
  else if (t->forward_later)
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
    if (!p || !sema_train_overrides(p, &m->ast_arena, t)) return false;
  }
  if (ov->epochs > 0) t->epochs = ov->epochs;
  if (ov->batch > 0) t->batch = ov->batch;
  if (ov->lr > 0) t->lr = ov->lr;
  if (ov->seed >= 0) t->seed = (unsigned long long)ov->seed;
  if (ov->validation >= 0) t->validation = ov->validation, t->validation_loc = (SrcLoc){0};
  if (ov->patience >= 0) t->patience = ov->patience;
  return true;
}

/* Parses and analyses f (the model owns it from here); t0: when reading began. */
static Model *load_file(SrcFile *f, const ModelConfig *cfg, double t0) {
  Model *m = calloc(1, sizeof *m);
  if (!m) dlc_fatal("out of memory");
  m->cfg = cfg ? *cfg : model_config();
  m->file = f;
  if (!env_ok(&m->cfg)) {
    srcfile_free(f);
    free(m);
    return NULL;
  }
  arena_init(&m->ast_arena);
  arena_init(&m->plan_arena);
  m->g = graph_new();
  m->prog = parse_program(f, &m->ast_arena);
  if (!m->prog || !sema_build(m->prog, m->g, &m->sema)) {
    model_free(m);
    return NULL;
  }
  m->train = m->sema.train;
  /* the data set is checked against the input and target as the overrides leave it (a set
   * of files once its headers are read: train/data.c) */
  if (!apply_overrides(m, &m->cfg.ov) || !sema_check_named_data(&m->sema, &m->train)) {
    model_free(m);
    return NULL;
  }
  VectorUnit unit = lower_vector_unit(&m->cfg.lower);
  ConvTarget target = {unit.lanes, unit.registers, m->cfg.conv_force};
  opt_choose_convolutions(m->g, &target);
  m->n_forward = m->g->len;
  m->times.front = dlrt_seconds() - t0;
  return m;
}

Model *model_load(const char *path, const ModelConfig *cfg) {
  double t0 = dlrt_seconds();
  SrcFile *f = srcfile_read(path);
  return f ? load_file(f, cfg, t0) : NULL;
}

Model *model_load_source(SrcFile *f, const ModelConfig *cfg) { return load_file(f, cfg, dlrt_seconds()); }

/* Data-parallel: the update reads each gradient from a GRAD_IN feed, and the gradients
 * become results of their own function. */
static Node **split_gradients(Model *m) {
  Graph *g = m->g;
  int n = m->n_forward;
  ParallelPlan *par = &m->par;
  Node **to_update = ARENA_ARRAY(&m->plan_arena, Node *, n);
  par->grad_out = ARENA_ARRAY(&m->plan_arena, Node *, n);
  par->grad_in = ARENA_ARRAY(&m->plan_arena, Node *, n);
  for (int i = 0; i < n; i++) {
    Node *p = g->nodes[i];
    if (p->op != OP_PARAM || !m->grads[i]) continue;
    par->grad_out[i] = g_output(g, m->grads[i], p->loc);
    to_update[i] = par->grad_in[i] = g_grad_in(g, p, p->loc);
  }
  return to_update;
}

/* Synced data-parallel training: the new values of running statistics (batch norm's ASSIGNs,
 * made in the forward pass) are computed by every worker from the whole batch's statistics;
 * they leave dlc_train_grad as outputs, and the update assigns them from GRAD_IN feeds, once,
 * where they do not race with other workers reading the old values. */
static void split_state_writes(Model *m) {
  Graph *g = m->g;
  ParallelPlan *par = &m->par;
  int n = g->len;
  par->state_out = ARENA_ARRAY(&m->plan_arena, Node *, n);
  par->state_in = ARENA_ARRAY(&m->plan_arena, Node *, n);
  par->moved = ARENA_ARRAY(&m->plan_arena, bool, n);
  par->n_moved = n;
  for (int i = 0; i < n; i++) {
    Node *a = g->nodes[i], *st = a->op == OP_ASSIGN ? a->in[0] : NULL;
    if (!st || st->op != OP_STATE || par->state_out[st->id]) continue;
    par->state_out[st->id] = g_output(g, a->in[1], a->loc);
    par->state_in[st->id] = g_grad_in(g, st, a->loc);
    g_assign(g, st, par->state_in[st->id], a->loc);
    par->moved[a->id] = true;
  }
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
  f->plan = memplan_build(m->g, &f->sched, rows, lower_workspace, &m->plan_arena);
  f->profile = false;
  m->state_floats = f->plan.persist_floats;
  if (f->plan.total_floats > m->arena_floats) m->arena_floats = f->plan.total_floats;
}

/* Where the workers of a synced dlc_train_grad add up their sums (opt/shards.c): the loss sum
 * and the gradients may stay sums over each worker's rows (the trainer adds them up after);
 * the running statistics' new values must be the whole batch's. */
static void plan_syncs(Model *m, Node **grad_roots, int n_roots) {
  ParallelPlan *par = &m->par;
  LowerFn *f = &m->par_fns[PAR_GRAD];
  bool *summed = ARENA_ARRAY(&m->plan_arena, bool, m->g->len + 1);
  for (int k = 0; k < n_roots; k++) {
    bool state = false;
    for (int i = 0; i < m->n_forward; i++) state |= par->state_out[i] == grad_roots[k];
    summed[grad_roots[k]->id] = !state;
  }
  par->shards = shards_plan(m->g, &f->sched, summed, &m->plan_arena);
  par->unsplittable = par->shards.unsplittable;
  f->batch_feed = par->batch_slot + 1;
  if (par->unsplittable) return; /* one worker, the whole batch: no sync point */
  int *before = ARENA_ARRAY(&m->plan_arena, int, par->shards.n_points + 1);
  for (int k = 0; k < par->shards.n_points; k++) before[k] = par->shards.points[k].before;
  f->sync = (LowerHooks){par->sync_slot + 1, before, par->shards.n_points};
}

/* Several processes: each gradient leaves dlc_train_grad as soon as it is final, and after
 * each bucket of them the function calls its hook, where the trainer starts that bucket's
 * all-reduce (opt/buckets.h). Before the sync points are placed: it moves outputs. */
static void plan_buckets(Model *m) {
  ParallelPlan *par = &m->par;
  LowerFn *f = &m->par_fns[PAR_GRAD];
  Node **outputs = ARENA_ARRAY(&m->plan_arena, Node *, 2 * m->n_forward + 1);
  int n = 0;
  for (int i = 0; i < m->n_forward; i++) {
    if (par->grad_out[i]) outputs[n++] = par->grad_out[i];
    else if (par->synced && par->state_out[i]) outputs[n++] = par->state_out[i];
  }
  par->buckets = buckets_plan(&f->sched, outputs, n, m->cfg.bucket_floats, &m->plan_arena);
  /* hooks 0 .. n_buckets - 2: the buckets'; then the progress hooks */
  const BucketPlan *b = &par->buckets;
  int n_hooks = b->n_buckets - 1 + b->n_progress, *before = ARENA_ARRAY(&m->plan_arena, int, n_hooks + 1);
  for (int k = 0; k + 1 < b->n_buckets; k++) before[k] = b->buckets[k].hook_before;
  for (int k = 0; k < b->n_progress; k++) before[b->n_buckets - 1 + k] = b->progress_before[k];
  f->ready = (LowerHooks){par->ready_slot + 1, before, n_hooks};
}

bool model_build_training(Model *m) {
  double t0 = dlrt_seconds();
  Graph *g = m->g;
  Node *loss = m->sema.loss, *out = m->sema.out;
  int threads = m->cfg.threads, procs = m->cfg.processes > 1 ? m->cfg.processes : 1;
  ParallelPlan *par = &m->par;
  m->grads = grad_build(g, loss);
  if (threads > 1 || procs > 1) {
    par->coupled_at = graph_batch_coupling(g, g->len);
    par->step_flops = step_flops(m);
    /* several processes always split (each would otherwise compute the whole step); threads
     * only where the share is worth waking them for */
    par->data_parallel = procs > 1 || par->step_flops / threads >= m->cfg.min_split_flops;
    par->synced = par->data_parallel && par->coupled_at;
  }
  Node **to_update = par->data_parallel ? split_gradients(m) : m->grads;
  if (par->synced) {
    split_state_writes(m);
    par->batch_slot = g->n_feeds++;
    par->sync_slot = g->n_feeds++;
  }
  if (par->data_parallel && procs > 1) par->ready_slot = g->n_feeds++;
  m->n_before_update = g->len;
  m->hyper = grad_add_update(g, to_update, m->n_forward, &m->train.opt, loss->loc);
  if (m->train.opt.average > 0 && m->hyper.n_average == 0) {
    diag_error(m->train.average_loc, "average = ema(...) averages the trainable parameters, and this network has none "
                                     "that reach the loss");
    return false;
  }
  m->loss_sum = g_output(g, g_sum_to(g, loss, shape_scalar(false), loss->loc), loss->loc);
  Node *out_result = m->out_result = g_output(g, out, out->loc);

  m->n_before_passes = g->len;
  int errors = diag_error_count();
  passes_run(g, m->cfg.stop_after, true);
  if (diag_error_count() != errors) return false; /* (fold: a value certain to be NaN, reported) */

  /* Forward: just the output. Train step: the loss sum and every ASSIGN. Data-parallel: the
   * loss sum and the gradients, then the ASSIGNs. Each thread runs forward and gradients on
   * its share of the batch, so those are planned for that many rows. */
  Node **roots = ARENA_ARRAY(&m->plan_arena, Node *, g->len + 1), **assigns = roots + 1;
  int n_assigns = 0;
  roots[0] = m->loss_sum;
  for (int i = 0; i < g->len; i++)
    if (g->nodes[i]->op == OP_ASSIGN && !(i < par->n_moved && par->moved[i])) assigns[n_assigns++] = g->nodes[i];
  /* Inference splits every batch (its examples are always independent); training if data_parallel. */
  int process_rows = (m->train.batch + procs - 1) / procs;
  par->shard_rows = (process_rows + threads - 1) / threads;
  par->forward_rows = (m->train.batch + threads - 1) / threads;
  plan_function(m, &m->fns[FN_FORWARD], model_fn_names[FN_FORWARD], &out_result, 1, par->forward_rows);
  if (par->data_parallel) {
    Node **grad_roots = ARENA_ARRAY(&m->plan_arena, Node *, 2 * m->n_forward + 1);
    int n = 0;
    grad_roots[n++] = m->loss_sum;
    for (int i = 0; i < m->n_forward; i++)
      if (par->grad_out[i]) grad_roots[n++] = par->grad_out[i];
    for (int i = 0; i < m->n_forward && par->synced; i++)
      if (par->state_out[i]) grad_roots[n++] = par->state_out[i];
    plan_function(m, &m->par_fns[PAR_GRAD], model_par_fn_names[PAR_GRAD], grad_roots, n, par->shard_rows);
    if (procs > 1) plan_buckets(m);
    if (par->synced) plan_syncs(m, grad_roots, n);
    plan_function(m, &m->par_fns[PAR_UPDATE], model_par_fn_names[PAR_UPDATE], assigns, n_assigns, m->train.batch);
  } else {
    plan_function(m, &m->fns[FN_TRAIN], model_fn_names[FN_TRAIN], roots, n_assigns + 1, m->train.batch);
  }
  if (m->arena_floats > MAX_ARENA_FLOATS) {
    diag_error_plain(m->file->name, "needs %.1f GiB for its arena at batch %d (dlc plans at most %d GiB); try a smaller --batch",
                     4.0 * (double)m->arena_floats / (1 << 30), m->train.batch, (int)(4.0 * MAX_ARENA_FLOATS / (1 << 30)));
    return false;
  }
  m->times.graph = dlrt_seconds() - t0;
  return true;
}

int model_functions(const Model *m, LowerFn *fns) {
  fns[0] = m->fns[FN_FORWARD];
  if (m->cfg.inference_only) return 1;
  if (!m->par.data_parallel) {
    fns[1] = m->fns[FN_TRAIN];
    fns[1].profile = m->cfg.profile; /* profiling times the training step, not the evaluations */
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
  DlcModule *mod = lower_module(m->g, fns, n_fns, &m->cfg.lower);
  double t1 = dlrt_seconds();
  if (optimize) lower_optimize(mod);
  m->times.irgen = t1 - t0;
  m->times.opt = dlrt_seconds() - t1;
  if (lower_error(mod)) {
    diag_error_plain("dlc", "%s", lower_error(mod));
    lower_module_free(mod);
    return NULL;
  }
  return mod;
}

int model_emit_object(Model *m, const char *path, char *err, int errlen) {
  DlcModule *mod = model_lower(m, true);
  if (!mod) return snprintf(err, (size_t)errlen, "%s: the model did not compile", path), -1;
  double t0 = dlrt_seconds();
  int rc = lower_emit_object(mod, path, err, errlen);
  m->times.jit = dlrt_seconds() - t0;
  lower_module_free(mod);
  return rc;
}

int compile_threads(void) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return cores < 2 ? 1 : cores > 4 ? 4 : (int)cores;
}

/* dlc_forward's pieces, planned and lowered on the JIT's background thread, which compiles
 * them too (it reads the model's graph and plans, which nothing changes once compiled). */
static JitWork forward_work(void *model) {
  Model *m = model;
  return lower_pieces(m->g, &m->fns[FN_FORWARD], 1, 1, &m->cfg.lower);
}

bool model_compile(Model *m) {
  int threads = compile_threads();
  char err[512];
  double t0;
  LowerFn fns[3];
  int n_fns = model_functions(m, fns);
  CompileTimes *times = &m->times;
  /* (profiled steps must not share the cores with a compilation) */
  times->forward_later = threads > 1 && !m->cfg.inference_only && !m->cfg.profile;
  if (threads > 1) { /* the training functions' modules (or dlc_forward's alone), optimised and
                        compiled in parallel */
    double ti = dlrt_seconds(), seconds[3];
    int first = times->forward_later;
    JitWork work = lower_pieces(m->g, fns + first, n_fns - first, threads, &m->cfg.lower);
    double measure = dlrt_seconds() - ti; /* lowering each function once, to cut it */
    m->jit = jit_compile_parallel(&work, threads, seconds, err, sizeof err);
    work.done(work.arg);
    times->irgen = measure + seconds[0];
    times->opt = seconds[1];
    t0 = dlrt_seconds() - seconds[2]; /* machine code: generation and linking */
    times->threads = threads;
  } else {
    DlcModule *mod = model_lower(m, true);
    if (!mod) return false;
    t0 = dlrt_seconds();
    m->jit = jit_compile(mod, err, sizeof err);
  }
  if (!m->jit) {
    diag_error_plain("dlc", "%s", err);
    return false;
  }
  /* Look the functions up now, so that machine code generation is timed here. */
  for (int k = times->forward_later; k < n_fns; k++)
    if (!model_function(m, fns[k].name)) return false;
  times->jit = dlrt_seconds() - t0;
  if (times->forward_later) jit_compile_later(m->jit, forward_work, m, &fns[0].name, 1);
  return true;
}

void *model_function(Model *m, const char *name) {
  char err[512];
  DLC_ASSERT(m->jit);
  bool waits = jit_compiling_later(m->jit) && strcmp(name, model_fn_names[FN_FORWARD]) == 0;
  if (waits) {
    bool ok = jit_finish_later(m->jit, &m->times.forward, err, sizeof err);
    m->times.forward_done = true;
    if (!ok) {
      diag_error_plain("dlc", "%s", err);
      return NULL;
    }
  }
  void *f = jit_lookup(m->jit, name, err, sizeof err);
  if (!f) diag_error_plain("dlc", "%s: %s", name, err);
  return f;
}

void model_free(Model *m) {
  if (!m) return;
  jit_free(m->jit); /* first: a background compile reads the graph */
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
