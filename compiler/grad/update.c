/* update.c — the optimiser step as graph nodes, so it is printed, optimised and lowered like
 * the rest of the training step. For each parameter p with gradient g (the batch mean), with
 * lr the learning rate after the schedule and t the step (from 1):
 *
 *   clip:    g = g * c / max(c, |G|), |G| the norm of all gradients together (when clip c > 0)
 *   decay:   g' = g + wd * p                         (L2; adamw decays p itself instead)
 *   sgd:     v' = mu v + g'                          (momentum, when mu > 0; v is STATE)
 *            p' = p - lr (nesterov ? g' + mu v' : v')    (p - lr g' without momentum)
 *   adam:    m' = b1 m + (1 - b1) g',  v' = b2 v + (1 - b2) g'^2
 *            p' = p - lr c1 m' / (sqrt(v') c2 + eps),  c1 = 1/(1 - b1^t), c2 = 1/sqrt(1 - b2^t)
 *   adamw:   the same with g' = g, then p' -= lr wd p          (Loshchilov and Hutter 2019)
 *   rmsprop: s' = a s + (1 - a) g'^2,  p' = p - lr g' / (sqrt(s') + eps)
 *   adagrad: s' = s + g'^2,            p' = p - lr g' / (sqrt(s') + eps)
 *
 * (bias correction, eps and the rest as in PyTorch). With `average = ema(d)` each parameter
 * also keeps a moving average of its values after each step, STATE "p.average":
 *
 *   average: a' = a + w (p' - a),  w = (1 - d) / (1 - d^t)
 *
 * which is the bias-corrected exponential average sum_i (1 - d) d^(t-i) p_i / (1 - d^t) of
 * p_1 .. p_t, kept corrected step by step (so the stored average is the one to use, with no
 * step count beside it; at t = 1, w = 1 and a' = p_1, whatever a held). lr, c1, c2 and w are
 * HYPER scalars the trainer feeds each step. The new values are written back by ASSIGN
 * nodes, which the schedule places last. */
#include <math.h>
#include "grad.h"

static Node *k(Graph *g, float v, SrcLoc loc) { return g_const(g, v, loc); }
static Node *add(Graph *g, Node *a, Node *b, SrcLoc loc) { return g_binary(g, OP_ADD, a, b, loc); }
static Node *mul(Graph *g, Node *a, Node *b, SrcLoc loc) { return g_binary(g, OP_MUL, a, b, loc); }
static Node *sqr(Graph *g, Node *a, SrcLoc loc) { return mul(g, a, a, loc); }

/* Optimiser state of the same shape as p, starting at zero. */
static Node *state(Graph *g, const Node *p, const char *what) {
  Node *v = g_state(g, arena_printf(&g->arena, "%s.%s", p->name, what), p->shape, p->loc);
  v->init.kind = INIT_ZEROS;
  return v;
}

/* s' = decay * s + (1 - decay) * x (decay 1: a plain sum), written back. */
static Node *running(Graph *g, const Node *p, const char *what, float decay, bool sum, Node *x) {
  SrcLoc loc = p->loc;
  Node *s = state(g, p, what);
  Node *s_new = sum ? add(g, s, x, loc) : add(g, mul(g, k(g, decay, loc), s, loc), mul(g, k(g, 1 - decay, loc), x, loc), loc);
  g_assign(g, s, s_new, loc);
  return s_new;
}

/* The direction p moves in, to be multiplied by the learning rate. */
static Node *direction(Graph *g, const OptimizerSpec *o, Node *p, Node *dp, const UpdateHypers *h) {
  SrcLoc loc = p->loc;
  switch (o->kind) {
  case OPT_SGD: {
    if (o->momentum <= 0) return dp;
    Node *mu = k(g, o->momentum, loc), *v = state(g, p, "velocity");
    Node *v_new = add(g, mul(g, mu, v, loc), dp, loc);
    g_assign(g, v, v_new, loc);
    return o->nesterov ? add(g, dp, mul(g, mu, v_new, loc), loc) : v_new;
  }
  case OPT_ADAM:
  case OPT_ADAMW: {
    Node *m_new = running(g, p, "m", o->beta1, false, dp);
    Node *v_new = running(g, p, "v", o->beta2, false, sqr(g, dp, loc));
    Node *denom = add(g, mul(g, g_powc(g, v_new, 0.5f, loc), h->node[HYPER_ADAM_C2], loc), k(g, o->eps, loc), loc);
    return mul(g, h->node[HYPER_ADAM_C1], g_binary(g, OP_DIV, m_new, denom, loc), loc);
  }
  case OPT_RMSPROP:
  case OPT_ADAGRAD: {
    Node *s_new = running(g, p, "square_avg", o->alpha, o->kind == OPT_ADAGRAD, sqr(g, dp, loc));
    return g_binary(g, OP_DIV, dp, add(g, g_powc(g, s_new, 0.5f, loc), k(g, o->eps, loc), loc), loc);
  }
  }
  DLC_UNREACHABLE();
}

/* The factor c / max(c, |G|) that clips all gradients together to norm c:
 * max(c, n) = c + relu(n - c). */
static Node *clip_factor(Graph *g, Node **grads, int n_grads, float c, SrcLoc loc) {
  Node *total = NULL;
  for (int i = 0; i < n_grads; i++) {
    if (!grads[i] || g->nodes[i]->op != OP_PARAM) continue;
    Node *s = g_reduce_like(g, sqr(g, grads[i], loc), shape_scalar(false), loc);
    total = total ? add(g, total, s, loc) : s;
  }
  if (!total) return NULL;
  Node *norm = g_powc(g, total, 0.5f, loc), *cn = k(g, c, loc);
  Node *ceiling = add(g, cn, g_unary(g, OP_RELU, g_binary(g, OP_SUB, norm, cn, loc), loc), loc);
  return g_binary(g, OP_DIV, cn, ceiling, loc);
}

/* a' = a + w (p' - a): the moving average of p after its new value p_new. */
static void average(Graph *g, UpdateHypers *h, Node *p, Node *p_new) {
  SrcLoc at = p->loc;
  Node *a = state(g, p, "average");
  g_assign(g, a, add(g, a, mul(g, h->node[HYPER_AVERAGE], g_binary(g, OP_SUB, p_new, a, at), at), at), at);
  h->average[p->id] = a;
  h->n_average++;
}

UpdateHypers grad_add_update(Graph *g, Node **grads, int n_grads, const OptimizerSpec *opt, SrcLoc loc) {
  UpdateHypers h = {{NULL}, NULL, 0};
  h.node[HYPER_LR] = g_hyper(g, "lr", loc);
  if (opt->kind == OPT_ADAM || opt->kind == OPT_ADAMW) {
    h.node[HYPER_ADAM_C1] = g_hyper(g, "adam_c1", loc);
    h.node[HYPER_ADAM_C2] = g_hyper(g, "adam_c2", loc);
  }
  if (opt->average > 0) {
    h.node[HYPER_AVERAGE] = g_hyper(g, "average_w", loc);
    h.average = ARENA_ARRAY(&g->arena, Node *, n_grads + 1);
  }
  Node *clip = opt->clip > 0 ? clip_factor(g, grads, n_grads, opt->clip, loc) : NULL;
  for (int i = 0; i < n_grads; i++) {
    Node *p = g->nodes[i], *dp = grads[i];
    if (p->op != OP_PARAM || !dp) continue;
    SrcLoc at = p->loc;
    if (clip) dp = mul(g, dp, clip, at);
    if (opt->weight_decay > 0 && opt->kind != OPT_ADAMW) dp = add(g, dp, mul(g, k(g, opt->weight_decay, at), p, at), at);
    Node *step = mul(g, h.node[HYPER_LR], direction(g, opt, p, dp, &h), at);
    if (opt->kind == OPT_ADAMW && opt->weight_decay > 0)
      step = add(g, step, mul(g, mul(g, h.node[HYPER_LR], k(g, opt->weight_decay, at), at), p, at), at);
    Node *p_new = g_binary(g, OP_SUB, p, step, at);
    g_assign(g, p, p_new, at);
    if (h.average) average(g, &h, p, p_new);
  }
  return h;
}

double update_hyper_value(HyperKind kind, const OptimizerSpec *opt, double lr, int64_t t) {
  switch (kind) {
  case HYPER_LR: return lr;
  case HYPER_ADAM_C1: return 1 / (1 - pow(opt->beta1, (double)t));
  case HYPER_ADAM_C2: return 1 / sqrt(1 - pow(opt->beta2, (double)t));
  case HYPER_AVERAGE: return (1 - (double)opt->average) / (1 - pow(opt->average, (double)t));
  case HYPER_COUNT: break;
  }
  DLC_UNREACHABLE();
}
