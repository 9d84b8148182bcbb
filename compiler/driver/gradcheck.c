/* gradcheck.c — symbolic vs numeric vs compiled gradients; see gradcheck.h. */
#include "gradcheck.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dlrt.h"
#include "init.h"
#include "rng.h"
#include "grad.h"
#include "interp.h"
#include "lower.h"

enum { MAX_CHECKED_PER_PARAM = 24 };
static const double FD_STEP = 1e-5, FD_RTOL = 1e-6, FD_ATOL = 1e-9;
/* A ReLU, a max or an absolute value has kinks; among the 10^5 units of a deep ReLU net one
 * sits within a step of its kink often enough (examples/resnet.net: 5 to 39 of its 562 checked
 * elements, by seed), and the difference across it is off by that unit's change of slope. A wrong
 * derivative is wrong at every step, a kink is crossed only by steps longer than its
 * distance: an element whose difference disagrees is tried again at steps FD_SHRINK and
 * FD_SHRINK^2 times shorter (at 1e-5 / 256 double rounding is still far below the tolerance),
 * and counted as at a kink if one of them agrees. */
static const double FD_SHRINK = 16;
enum { FD_RETRIES = 2 };
static const double JIT_RTOL = 2e-3;   /* float against double, relative to the gradient's scale */
static const double JIT_GLOBAL = 1e-4; /* ... and to the largest gradient of the model */

/* objective = mean over the batch of the per-example loss, by the reference evaluator. */
static double objective(Interp *it, const Schedule *fwd, const Node *loss) {
  interp_run(it, schedule_nodes(fwd), NULL);
  double s = 0;
  for (int i = 0; i < it->n; i++) s += it->val[loss->id][i];
  return s / it->n;
}

/* d objective / d *v at its value, by a central difference of step h (*v restored). */
static double central_difference(Interp *it, const Schedule *fwd, const Node *loss, double *v, double h) {
  double keep = *v;
  *v = keep + h;
  double up = objective(it, fwd, loss);
  *v = keep - h;
  double down = objective(it, fwd, loss);
  *v = keep;
  return (up - down) / (2 * h);
}

/* The elements of a parameter to perturb: all of a small one, an even spread of a large one. */
static int64_t pick(int64_t numel, int k, int count) {
  return count >= numel ? k : (int64_t)((double)k * (double)numel / count);
}

static double err_ratio(double a, double b, double rtol, double atol, double scale) {
  double tol = atol + rtol * fmax(scale, fmax(fabs(a), fabs(b)));
  if (isnan(a) || isnan(b)) return INFINITY;
  return fabs(a - b) / tol;
}

/* Runs the gradients through generated code: a function whose results are the gradients. */
static double *jit_gradients(Graph *g, Node **grad_nodes, int n_params, int n, const double *const *feeds,
                             double **leaf) {
  Arena a;
  arena_init(&a);
  int first_result = g->n_results;
  Node **roots = ARENA_ARRAY(&a, Node *, n_params);
  for (int i = 0; i < n_params; i++) roots[i] = g_output(g, grad_nodes[i], grad_nodes[i]->loc);
  LowerFn fn = {.name = "dlc_gradients", .sched = schedule_build(g, roots, n_params, &a)};
  schedule_fuse(g, &fn.sched, &a); /* as dlc compiles a step: fused loops, views */
  fn.plan = memplan_build(g, &fn.sched, n, lower_workspace, &a);
  DlcModule *mod = lower_module(g, &fn, 1, NULL);
  lower_optimize(mod);
  char err[512];
  DlcJit *jit = jit_compile(mod, err, sizeof err); /* (a module that failed fails here) */
  DlrtModelFn f = jit ? (DlrtModelFn)jit_lookup(jit, "dlc_gradients", err, sizeof err) : NULL;
  if (!f) dlc_fatal("the gradients did not compile: %s", err); /* dlc's own bug, not the model's */

  float *arena = aligned_alloc(64, (size_t)(fn.plan.total_floats + 16) * sizeof(float));
  const float **ffeeds = calloc((size_t)g->n_feeds, sizeof *ffeeds);
  float **results = calloc((size_t)g->n_results, sizeof *results);
  int64_t total = 0;
  for (int i = 0; i < n_params; i++) total += shape_numel(grad_nodes[i]->shape);
  double *out = malloc(sizeof(double) * (size_t)total);
  float *fout = malloc(sizeof(float) * (size_t)total);
  if (!arena || !ffeeds || !results || !out || !fout) dlc_fatal("out of memory");
  for (int i = 0; i < g->len; i++) {
    Node *x = g->nodes[i];
    if (x->op == OP_PARAM || x->op == OP_STATE)
      for (int64_t k = 0; k < shape_numel(x->shape); k++) arena[fn.plan.offset[i] + k] = leaf[i] ? (float)leaf[i][k] : 0;
    if (x->op == OP_INPUT || x->op == OP_TARGET || x->op == OP_NOISE || x->op == OP_HYPER) {
      int64_t size = interp_size(x, n);
      float *copy = malloc(sizeof(float) * (size_t)size);
      for (int64_t k = 0; k < size; k++) copy[k] = (float)feeds[x->attr.slot][k];
      ffeeds[x->attr.slot] = copy;
    }
  }
  int64_t at = 0;
  for (int i = 0; i < n_params; i++) {
    results[first_result + i] = fout + at;
    at += shape_numel(grad_nodes[i]->shape);
  }
  f(arena, arena + fn.plan.persist_floats, ffeeds, results, n);
  for (int64_t k = 0; k < total; k++) out[k] = fout[k];
  for (int i = 0; i < g->n_feeds; i++) free((void *)ffeeds[i]);
  free(ffeeds);
  free(results);
  free(fout);
  free(arena);
  jit_free(jit);
  arena_free(&a);
  return out;
}

GradcheckResult gradcheck_graph(Graph *g, Node *loss, int n, const double *const *feeds, double **leaf,
                                FILE *report) {
  int n_forward = g->len;
  Node **grads = grad_build(g, loss);
  return gradcheck_grads(g, loss, grads, n_forward, n, feeds, leaf, report);
}

GradcheckResult gradcheck_grads(Graph *g, Node *loss, Node **grads, int n_forward, int n,
                                const double *const *feeds, double **leaf, FILE *report) {
  GradcheckResult r = {0};
  Arena a;
  arena_init(&a);
  Node **params = ARENA_ARRAY(&a, Node *, n_forward), **gnodes = ARENA_ARRAY(&a, Node *, n_forward);
  for (int i = 0; i < n_forward; i++)
    if (g->nodes[i]->op == OP_PARAM && grads[i]) {
      params[r.params] = g->nodes[i];
      gnodes[r.params++] = grads[i];
    }
  Interp it = {g, n, NULL, 0, leaf, feeds};
  Schedule fwd = schedule_build(g, &loss, 1, &a);
  Schedule bwd = schedule_build(g, gnodes, r.params, &a);
  interp_run(&it, schedule_nodes(&bwd), NULL);
  double **sym = ARENA_ARRAY(&a, double *, r.params + 1);
  for (int p = 0; p < r.params; p++) {
    int64_t numel = shape_numel(params[p]->shape);
    sym[p] = ARENA_ARRAY(&a, double, numel);
    memcpy(sym[p], it.val[gnodes[p]->id], sizeof(double) * (size_t)numel);
  }
  double *jit = r.params ? jit_gradients(g, gnodes, r.params, n, feeds, leaf) : NULL;
  if (report)
    fprintf(report, "  %-20s %8s %14s %14s\n", "parameter", "checked", "fd err/tol", "jit err/tol");
  /* The largest gradient of any parameter: float rounding in a gradient that is exactly zero
   * (a bias before a batch norm) is judged against it. */
  double global = 0;
  for (int p = 0; p < r.params; p++)
    for (int64_t k = 0; k < shape_numel(params[p]->shape); k++) global = fmax(global, fabs(sym[p][k]));
  int64_t jat = 0;
  for (int p = 0; p < r.params; p++) {
    Node *x = params[p];
    int64_t numel = shape_numel(x->shape);
    double scale = 0, worst_fd = 0, worst_jit = 0;
    for (int64_t k = 0; k < numel; k++) scale = fmax(scale, fabs(sym[p][k]));
    int count = numel < MAX_CHECKED_PER_PARAM ? (int)numel : MAX_CHECKED_PER_PARAM;
    int kinks = 0;
    for (int c = 0; c < count; c++) {
      int64_t k = pick(numel, c, count);
      double h = FD_STEP * fmax(1, fabs(leaf[x->id][k]));
      double err = err_ratio(sym[p][k], central_difference(&it, &fwd, loss, &leaf[x->id][k], h), FD_RTOL, FD_ATOL, 0);
      for (int retry = 0; err > 1 && retry < FD_RETRIES; retry++) {
        h /= FD_SHRINK;
        double shorter = err_ratio(sym[p][k], central_difference(&it, &fwd, loss, &leaf[x->id][k], h), FD_RTOL, FD_ATOL, 0);
        if (shorter <= 1) kinks++, err = shorter;
      }
      worst_fd = fmax(worst_fd, err);
    }
    r.kinks += kinks;
    for (int64_t k = 0; k < numel; k++)
      worst_jit = fmax(worst_jit, err_ratio(jit[jat + k], sym[p][k], JIT_RTOL, 1e-7 + JIT_GLOBAL * global, scale));
    jat += numel;
    r.checked += count;
    r.worst_fd = fmax(r.worst_fd, worst_fd);
    r.worst_jit = fmax(r.worst_jit, worst_jit);
    if (report) {
      char at_kinks[48] = "";
      if (kinks) snprintf(at_kinks, sizeof at_kinks, " (%d at a kink)", kinks);
      fprintf(report, "  %-20s %8d %14.3g %14.3g  %s%s\n", x->name ? x->name : "?", count, worst_fd, worst_jit,
              worst_fd <= 1 && worst_jit <= 1 ? "ok" : "MISMATCH", at_kinks);
    }
  }
  r.ok = r.worst_fd <= 1 && r.worst_jit <= 1;
  free(jit);
  interp_clear(&it);
  arena_free(&a);
  return r;
}

/* The model's own initialisers, then a little noise on every parameter so that
 * zero-initialised biases and symmetric weights do not hide errors behind zeros; random
 * inputs and labels; the training flag on. */
GradcheckResult gradcheck_model(Model *m, int n, FILE *report) {
  Graph *g = m->g;
  DlrtRng rng;
  dlrt_rng_seed(&rng, m->train.seed);
  int n_nodes = g->len; /* gradcheck adds nodes; leaf[] covers the forward graph */
  double **leaf = calloc((size_t)n_nodes, sizeof *leaf);
  double **feeds = calloc((size_t)g->n_feeds + 1, sizeof *feeds);
  for (int i = 0; i < n_nodes; i++) {
    Node *x = g->nodes[i];
    int64_t size = interp_size(x, n);
    if (x->op == OP_STATE) { /* running statistics: as the file initialises them */
      float *tmp = malloc(sizeof(float) * (size_t)size);
      leaf[i] = malloc(sizeof(double) * (size_t)size);
      dlrt_init_fill(&x->init, tmp, size, &rng);
      for (int64_t k = 0; k < size; k++) leaf[i][k] = tmp[k];
      free(tmp);
    } else if (x->op == OP_PARAM) {
      /* The file's initialiser, then a little noise so that zero-initialised biases and
       * symmetric weights do not hide errors behind zeros. */
      float *tmp = malloc(sizeof(float) * (size_t)size);
      dlrt_init_fill(&x->init, tmp, size, &rng);
      leaf[i] = malloc(sizeof(double) * (size_t)size);
      for (int64_t k = 0; k < size; k++) leaf[i][k] = tmp[k] + 0.05 * (dlrt_rng_uniform(&rng) - 0.5);
      free(tmp);
    } else if (x->op == OP_HYPER) { /* the training flag: dropout on */
      feeds[x->attr.slot] = malloc(sizeof(double));
      feeds[x->attr.slot][0] = 1;
    } else if (x->op == OP_INPUT || x->op == OP_NOISE) {
      feeds[x->attr.slot] = malloc(sizeof(double) * (size_t)size);
      for (int64_t k = 0; k < size; k++) feeds[x->attr.slot][k] = dlrt_rng_uniform(&rng);
    } else if (x->op == OP_TARGET) {
      int64_t classes = shape_numel(x->shape);
      feeds[x->attr.slot] = calloc((size_t)size, sizeof(double));
      for (int r = 0; r < n; r++) feeds[x->attr.slot][r * classes + dlrt_rng_below(&rng, (uint32_t)classes)] = 1;
    }
  }
  GradcheckResult r = gradcheck_graph(g, m->sema.loss, n, (const double *const *)feeds, leaf, report);
  for (int i = 0; i < n_nodes; i++) free(leaf[i]);
  for (int i = 0; i < g->n_feeds; i++) free(feeds[i]);
  free(leaf);
  free(feeds);
  return r;
}
