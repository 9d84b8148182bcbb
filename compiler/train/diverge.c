/* diverge.c — where a training step went wrong; see diverge.h.
 *
 * A step whose loss is not finite ends the epoch (trainer_epoch checks every step's loss sum,
 * which costs nothing). Its epoch is then replayed from the state, RNG and step count saved
 * at its start, up to that step: the same shuffle, batches, dropout draws and distortions (a
 * run is deterministic), so the parameters are those the step saw. The step is re-run in the
 * double-precision reference evaluator (graph/interp.c), forward and backward, and the first
 * node in execution order whose value a float cannot hold (NaN, infinite, or beyond 3.4e38)
 * is reported at its place in the .net file. */
#include "diverge.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "comm.h"
#include "interp.h"
#include "schedule.h"

static double *as_doubles(const float *f, int64_t n) {
  double *d = malloc(sizeof(double) * (size_t)(n ? n : 1));
  if (!d) dlc_fatal("out of memory");
  for (int64_t i = 0; i < n; i++) d[i] = f[i];
  return d;
}

/* The first element of v[0..n) a float cannot hold, or -1. */
static int64_t first_bad(const double *v, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (!(fabs(v[i]) <= FLT_MAX)) return i;
  return -1;
}

static const char *badness(double v) { return isnan(v) ? "NaN" : "infinite (beyond what a float holds)"; }

/* A parameter or state already not finite before the step: the previous update made it so. */
static bool bad_parameter(const Trainer *t) {
  const Graph *g = t->m->g;
  const int64_t *off = model_state_offsets(t->m);
  for (int i = 0; i < g->len; i++) {
    const Node *p = g->nodes[i];
    if (p->op != OP_PARAM && p->op != OP_STATE) continue;
    const float *v = t->arena + off[i];
    for (int64_t k = 0; k < shape_numel(p->shape); k++)
      if (!isfinite(v[k])) {
        diag_error(p->loc, "'%s' is already %s before step %lld (element %lld): the update of the step before made it so "
                           "(try a smaller learning rate, or clip: the largest norm of the gradients)",
                   p->name, badness(v[k]), (long long)t->divergence.step, (long long)k);
        return true;
      }
  }
  return false;
}

/* The step's forward and backward pass: the loss and every parameter's gradient. */
static Schedule step_schedule(const Model *m, Arena *a) {
  Node **roots = ARENA_ARRAY(a, Node *, m->n_forward + 1);
  int n = 0;
  roots[n++] = m->sema.loss;
  for (int i = 0; i < m->n_forward; i++)
    if (m->grads[i]) roots[n++] = m->grads[i];
  return schedule_build(m->g, roots, n, a);
}

/* Runs the held step in the reference evaluator and reports its first value that is not
 * finite; false if every value is. */
static bool first_bad_value(Trainer *t) {
  const Model *m = t->m;
  const Graph *g = m->g;
  int n = t->held_n;
  Arena a;
  arena_init(&a);
  Schedule s = step_schedule(m, &a);
  double **leaf = ARENA_ARRAY(&a, double *, g->len), **feeds = ARENA_ARRAY(&a, double *, g->n_feeds + 1);
  const int64_t *off = model_state_offsets(m);
  for (int i = 0; i < s.len; i++) {
    const Node *x = s.order[i];
    if (x->op == OP_PARAM || x->op == OP_STATE) leaf[x->id] = as_doubles(t->arena + off[x->id], shape_numel(x->shape));
    else if (x->op == OP_INPUT) feeds[x->attr.slot] = as_doubles(t->held_x, (int64_t)n * t->in_features);
    else if (x->op == OP_TARGET) feeds[x->attr.slot] = as_doubles(t->held_y, (int64_t)n * t->classes);
    else if (x->op == OP_HYPER && x == m->sema.training) feeds[x->attr.slot] = as_doubles(&t->training_on, 1);
    for (int k = 0; x->op == OP_HYPER && k < HYPER_COUNT; k++) /* (the update's: not in the step's forward and backward) */
      if (m->hyper.node[k] == x) feeds[x->attr.slot] = as_doubles(&t->hyper[k], 1);
    for (int k = 0; x->op == OP_NOISE && k < t->n_noise; k++)
      if (t->noise[k] == x) feeds[x->attr.slot] = as_doubles(t->noise_buf[k], (int64_t)n * shape_numel(x->shape));
  }
  Interp it = {g, n, NULL, 0, leaf, (const double *const *)feeds};
  interp_run(&it, schedule_nodes(&s), NULL);
  bool found = false;
  for (int i = 0; i < s.len && !found; i++) {
    const Node *y = s.order[i];
    int64_t k = op_info(y->op)->cls == LEAF ? -1 : first_bad(it.val[y->id], interp_size(y, n));
    if (k < 0) continue;
    found = true;
    diag_error(y->loc, "step %lld: %s (%s) is %s at element %lld: the first value of the step that is, in the reference "
                       "evaluator",
               (long long)t->divergence.step, y->id < m->n_forward ? "this value" : "a gradient through this, in the backward pass,",
               op_name(y->op), badness(it.val[y->id][k]), (long long)k);
  }
  interp_clear(&it);
  for (int i = 0; i < g->len; i++) free(leaf[i]);
  for (int i = 0; i < g->n_feeds; i++) free(feeds[i]);
  arena_free(&a);
  return found;
}

void diverge_explain(Trainer *t, const DlrtDataset *d) {
  /* replay the epoch up to the step, from where it began */
  typeof(t->divergence) at = t->divergence;
  memcpy(t->arena, t->epoch_state, sizeof(float) * (size_t)t->m->state_floats);
  t->rng = t->epoch_rng;
  t->step = t->epoch_step;
  t->stop_before = at.batch;
  trainer_epoch(t, d, 0, at.epoch, NULL, NULL);
  t->stop_before = -1;
  t->divergence = at;
  /* of a job, every process replays (the steps are collective) and process 0 tells; the
   * others wait for its account before the job ends */
  if (t->rank == 0 && !bad_parameter(t) && !first_bad_value(t))
    diag_note_plain(t->m->file->name, "the reference evaluator (double precision) finds every value of step %lld finite: "
                                      "it overflowed in float only",
                    (long long)at.step);
  if (t->procs > 1) dlrt_comm_barrier();
}
