/* update.c — the optimiser step as graph nodes, so it is printed, optimised and lowered like
 * the rest of the training step. For each parameter p with gradient g:
 *   g' = g + wd * p                             (weight decay, when wd > 0)
 * sgd:
 *   v' = mu * v + g'                            (momentum, when mu > 0; v is STATE)
 *   s  = nesterov ? g' + mu * v' : v'           (or s = g' without momentum)
 *   p' = p - lr * s
 * adam (Kingma and Ba 2015, bias-corrected as in PyTorch):
 *   m' = b1 m + (1 - b1) g'
 *   v' = b2 v + (1 - b2) g'^2
 *   p' = p - lr_t * m' / (sqrt(v') * c2 + eps)  with lr_t = lr / (1 - b1^t), c2 = 1 / sqrt(1 - b2^t)
 * lr_t and c2 are HYPER scalars the trainer feeds each step. The new values are written back
 * by ASSIGN nodes, which the schedule places last. */
#include "grad.h"

static Node *k(Graph *g, float v, SrcLoc loc) { return g_const(g, v, loc); }
static Node *add(Graph *g, Node *a, Node *b, SrcLoc loc) { return g_binary(g, OP_ADD, a, b, loc); }
static Node *mul(Graph *g, Node *a, Node *b, SrcLoc loc) { return g_binary(g, OP_MUL, a, b, loc); }

/* Optimiser state of the same shape as p, starting at zero, and its write-back. */
static Node *state(Graph *g, const Node *p, const char *what) {
  Node *v = g_state(g, arena_printf(&g->arena, "%s.%s", p->name, what), p->shape, p->loc);
  v->init.kind = INIT_ZEROS;
  return v;
}

/* The direction p moves in (before the step size), with any state updates it needs. */
static Node *sgd_direction(Graph *g, const OptimizerSpec *opt, Node *p, Node *dp) {
  if (opt->momentum <= 0) return dp;
  SrcLoc loc = p->loc;
  Node *v = state(g, p, "velocity"), *mu = k(g, opt->momentum, loc);
  Node *v_new = add(g, mul(g, mu, v, loc), dp, loc);
  g_assign(g, v, v_new, loc);
  return opt->nesterov ? add(g, dp, mul(g, mu, v_new, loc), loc) : v_new;
}

static Node *adam_direction(Graph *g, const OptimizerSpec *opt, Node *p, Node *dp, Node *c2) {
  SrcLoc loc = p->loc;
  Node *m = state(g, p, "m"), *v = state(g, p, "v");
  Node *m_new = add(g, mul(g, k(g, opt->beta1, loc), m, loc), mul(g, k(g, 1 - opt->beta1, loc), dp, loc), loc);
  Node *v_new = add(g, mul(g, k(g, opt->beta2, loc), v, loc), mul(g, k(g, 1 - opt->beta2, loc), mul(g, dp, dp, loc), loc), loc);
  g_assign(g, m, m_new, loc);
  g_assign(g, v, v_new, loc);
  Node *denom = add(g, mul(g, g_powc(g, v_new, 0.5f, loc), c2, loc), k(g, opt->eps, loc), loc);
  return g_binary(g, OP_DIV, m_new, denom, loc);
}

UpdateHypers grad_add_update(Graph *g, Node **grads, int n_grads, const OptimizerSpec *opt, SrcLoc loc) {
  UpdateHypers h = {g_hyper(g, "lr", loc), opt->kind == OPT_ADAM ? g_hyper(g, "adam_c2", loc) : NULL};
  for (int i = 0; i < n_grads; i++) {
    Node *p = g->nodes[i], *dp = grads[i];
    if (p->op != OP_PARAM || !dp) continue;
    SrcLoc at = p->loc;
    if (opt->weight_decay > 0) dp = add(g, dp, mul(g, k(g, opt->weight_decay, at), p, at), at);
    Node *dir = opt->kind == OPT_ADAM ? adam_direction(g, opt, p, dp, h.adam_c2) : sgd_direction(g, opt, p, dp);
    g_assign(g, p, g_binary(g, OP_SUB, p, mul(g, h.lr, dir, at), at), at);
  }
  return h;
}
