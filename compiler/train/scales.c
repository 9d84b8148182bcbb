/* scales.c — activation and gradient scales at initialisation; see scales.h. The reference
 * evaluator keeps every node's value, which the compiled step (reusing its buffers) does not. */
#include "scales.h"
#include <math.h>
#include <stdlib.h>
#include "batch.h"
#include "data.h"
#include "grad.h"
#include "init.h"
#include "interp.h"
#include "rng.h"

typedef struct Moments {
  double mean, std;
} Moments;

static Moments moments(const double *v, int64_t len) {
  double s = 0, ss = 0;
  for (int64_t i = 0; i < len; i++) s += v[i];
  double mean = len ? s / (double)len : 0;
  for (int64_t i = 0; i < len; i++) ss += (v[i] - mean) * (v[i] - mean);
  return (Moments){mean, len ? sqrt(ss / (double)len) : 0};
}

static double *to_doubles(const float *f, int64_t len) {
  double *d = malloc(sizeof(double) * (size_t)(len ? len : 1));
  if (!d) dlc_fatal("out of memory");
  for (int64_t i = 0; i < len; i++) d[i] = f[i];
  return d;
}

/* Parameters and running statistics from the file's initialisers, in declaration order
 * from the seeded stream (as trainer.c fills them, so the numbers are those training starts
 * from); inputs and one-hot targets from d; the training flag on, dropout's draws seeded. */
static void fill_leaves(const Model *m, const DlrtDataset *d, int rows, double **leaf, double **feeds) {
  const Graph *g = m->g;
  DlrtRng rng;
  dlrt_rng_seed(&rng, m->train.seed);
  int in_features = (int)dlrt_example_size(d), classes = (int)shape_numel(m->sema.target->shape);
  float *x = malloc(sizeof(float) * (size_t)rows * (size_t)in_features);
  float *y = malloc(sizeof(float) * (size_t)rows * (size_t)classes);
  int *idx = malloc(sizeof(int) * (size_t)rows);
  if (!x || !y || !idx) dlc_fatal("out of memory");
  for (int i = 0; i < rows; i++) idx[i] = i;
  DlrtPixelMap map = data_pixel_map(&m->train);
  dlrt_fill_batch_mapped(d, idx, rows, classes, &map, x, y);
  for (int i = 0; i < g->len; i++) {
    const Node *n = g->nodes[i];
    int64_t size = interp_size(n, rows);
    if (n->op == OP_PARAM || n->op == OP_STATE) {
      float *tmp = malloc(sizeof(float) * (size_t)(size ? size : 1));
      if (!tmp) dlc_fatal("out of memory");
      dlrt_init_fill(&n->init, tmp, size, &rng);
      leaf[i] = to_doubles(tmp, size);
      free(tmp);
    } else if (n->op == OP_INPUT) {
      feeds[n->attr.slot] = to_doubles(x, size);
    } else if (n->op == OP_TARGET) {
      feeds[n->attr.slot] = to_doubles(y, size);
    } else if (n->op == OP_HYPER) {
      feeds[n->attr.slot] = to_doubles((const float[]){1}, 1);
    }
  }
  /* dropout's draws after every parameter's, as training makes them: per step, later */
  for (int i = 0; i < g->len; i++) {
    const Node *n = g->nodes[i];
    if (n->op != OP_NOISE) continue;
    int64_t size = interp_size(n, rows);
    feeds[n->attr.slot] = malloc(sizeof(double) * (size_t)size);
    if (!feeds[n->attr.slot]) dlc_fatal("out of memory");
    for (int64_t k = 0; k < size; k++) feeds[n->attr.slot][k] = dlrt_rng_uniform(&rng);
  }
  free(x);
  free(y);
  free(idx);
}

/* The values a person names (h1 = ..., out = ...), as opposed to parameters and inputs. */
static bool named_value(const Node *n) { return n->name && op_info(n->op)->cls != LEAF; }

void scales_report(Model *m, const DlrtDataset *d, int rows, FILE *out) {
  Graph *g = m->g;
  int n_forward = g->len;
  if (rows > d->count) rows = d->count;
  double **leaf = calloc((size_t)n_forward, sizeof *leaf), **feeds = calloc((size_t)g->n_feeds + 1, sizeof *feeds);
  if (!leaf || !feeds) dlc_fatal("out of memory");
  fill_leaves(m, d, rows, leaf, feeds);
  Node **grads = grad_build_adjoints(g, m->sema.loss);
  Node **roots = calloc((size_t)n_forward * 2 + 1, sizeof *roots);
  if (!roots) dlc_fatal("out of memory");
  int n_roots = 0;
  roots[n_roots++] = m->sema.loss;
  for (int i = 0; i < n_forward; i++) {
    if (named_value(g->nodes[i])) roots[n_roots++] = g->nodes[i];
    if (grads[i] && (named_value(g->nodes[i]) || g->nodes[i]->op == OP_PARAM)) roots[n_roots++] = grads[i];
  }
  Arena a;
  arena_init(&a);
  Schedule s = schedule_build(g, roots, n_roots, &a);
  Interp it = {g, rows, NULL, 0, leaf, (const double *const *)feeds};
  interp_run(&it, schedule_nodes(&s), NULL);

  fprintf(out, "\nscales at initialisation (seed %llu, the first %d training images):\n", m->train.seed, rows);
  fprintf(out, "  %-14s %5s %12s %12s %14s\n", "value", "line", "mean", "std", "gradient std");
  for (int i = 0; i < n_forward; i++) {
    const Node *n = g->nodes[i];
    if (!named_value(n) || !it.val[i]) continue;
    Moments v = moments(it.val[i], interp_size(n, rows));
    char grad[32] = "-"; /* the loss itself, and values no parameter reaches */
    if (n != m->sema.loss && grads[i] && it.val[grads[i]->id])
      snprintf(grad, sizeof grad, "%.4g", moments(it.val[grads[i]->id], interp_size(n, rows)).std);
    fprintf(out, "  %-14s %5d %12.4g %12.4g %14s\n", n->name, srcloc_outermost(n->loc).line, v.mean, v.std, grad);
  }
  fprintf(out, "\n  %-14s %5s %12s %14s %12s\n", "parameter", "line", "std", "gradient std", "ratio");
  for (int i = 0; i < n_forward; i++) {
    const Node *p = g->nodes[i];
    if (p->op != OP_PARAM || !grads[i] || !it.val[grads[i]->id]) continue;
    int64_t numel = shape_numel(p->shape);
    Moments w = moments(leaf[i], numel), dw = moments(it.val[grads[i]->id], numel);
    /* how far one step of lr 1 would move the parameter, relative to its own spread */
    char ratio[32] = "-";
    if (w.std > 0) snprintf(ratio, sizeof ratio, "%.3g", dw.std / w.std);
    fprintf(out, "  %-14s %5d %12.4g %14.4g %12s\n", p->name, srcloc_outermost(p->loc).line, w.std, dw.std, ratio);
  }
  interp_clear(&it);
  arena_free(&a);
  for (int i = 0; i < n_forward; i++) free(leaf[i]);
  for (int i = 0; i < g->n_feeds; i++) free(feeds[i]);
  free(leaf);
  free(feeds);
  free(roots);
}
