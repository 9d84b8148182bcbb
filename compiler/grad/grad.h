/* grad.h — symbolic reverse-mode differentiation and the optimiser update, as graph nodes. */
#ifndef DLC_GRAD_H
#define DLC_GRAD_H
#include "graph.h"

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

/* Adds `contribution` to the gradient of `x` (used by the per-op rules). */
void grad_accum(GradCtx *c, Node *x, Node *contribution);

typedef struct OptimizerSpec {
  enum { OPT_SGD, OPT_ADAM } kind;
  float momentum;       /* sgd; 0: plain SGD */
  bool nesterov;        /* sgd */
  float beta1, beta2, eps; /* adam */
  float weight_decay;   /* both: added to the gradient as wd * p (L2) */
} OptimizerSpec;

/* The per-step scalars an update reads (HYPER nodes, fed by the trainer each step, so a
 * learning-rate schedule needs no recompilation). */
typedef struct UpdateHypers {
  Node *lr;       /* the step size: lr, or for Adam lr / (1 - beta1^t) */
  Node *adam_c2;  /* Adam only: 1 / sqrt(1 - beta2^t); NULL otherwise */
} UpdateHypers;

/* Appends the update of every PARAM that has a gradient: new optimiser state and new
 * parameter values, written back with ASSIGN nodes. Creates and returns the hypers it reads. */
UpdateHypers grad_add_update(Graph *g, Node **grads, int n_grads, const OptimizerSpec *opt, SrcLoc loc);
#endif
