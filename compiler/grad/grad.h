/* grad.h — symbolic reverse-mode differentiation and the optimiser update, as graph nodes. */
#ifndef DLC_GRAD_H
#define DLC_GRAD_H
#include "graph.h"
#include "settings.h"

typedef struct GradCtx {
  Graph *g;
  Node **grad;  /* grad[id]: d(objective)/d(node id), summed over its uses; NULL if none yet */
  bool *active; /* active[id]: the node lies on a path from a PARAM to the loss */
  int n_forward;
} GradCtx;

/* Whether a rule should bother computing the gradient of input x. */
static inline bool grad_wants(const GradCtx *c, const Node *x) { return c->active[x->id]; }

/* Appends to g the nodes computing d(objective)/d(p) for every PARAM p that the loss
 * depends on, where objective = (1/n) * sum over the batch of the per-example `loss`.
 * Returns the gradient table, indexed by node id and covering every node that existed
 * before the call (allocated in g's arena); entries are NULL except for those PARAMs. */
Node **grad_build(Graph *g, Node *loss);
/* The same, keeping the gradient of every node between the parameters and the loss (the
 * adjoints of the hidden values too: dlc check --scales reports them). */
Node **grad_build_adjoints(Graph *g, Node *loss);

/* Adds `contribution` to the gradient of `x` (used by the per-op rules). */
void grad_accum(GradCtx *c, Node *x, Node *contribution);

/* The per-step scalars an update reads, as HYPER nodes the trainer feeds each step (so a
 * learning-rate schedule needs no recompilation). */
typedef enum HyperKind {
  HYPER_LR,      /* the learning rate, after the schedule */
  HYPER_ADAM_C1, /* Adam: 1 / (1 - beta1^t) */
  HYPER_ADAM_C2, /* Adam: 1 / sqrt(1 - beta2^t) */
  HYPER_AVERAGE, /* average = ema(d): the new parameters' weight (1 - d) / (1 - d^t) */
  HYPER_COUNT
} HyperKind;

typedef struct UpdateHypers {
  Node *node[HYPER_COUNT]; /* NULL for those the optimiser does not read */
  /* average = ema(d): by PARAM id (below n_grads), the STATE "NAME.average" that holds its
   * moving average, NULL for a parameter without one; NULL without averaging */
  Node **average;
  int n_average;           /* how many parameters have one */
} UpdateHypers;

/* Appends the update of every PARAM that has a gradient: new optimiser state and new
 * parameter values, written back with ASSIGN nodes, and with opt->average their moving
 * averages. Creates and returns the hypers it reads. */
UpdateHypers grad_add_update(Graph *g, Node **grads, int n_grads, const OptimizerSpec *opt, SrcLoc loc);

/* The value of each hyper at step t (1-based) with learning rate lr. */
double update_hyper_value(HyperKind k, const OptimizerSpec *opt, double lr, int64_t t);
#endif
