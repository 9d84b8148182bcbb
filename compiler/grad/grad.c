/* grad.c — the reverse-mode driver. It seeds d(objective)/d(loss) = 1/n for every example,
 * walks the forward nodes in reverse topological order and calls each op's derivative rule
 * (rules.c), which adds new nodes and accumulates contributions into the inputs' gradients.
 * Backward nodes carry the SrcLoc of the forward node they differentiate. */
#include "grad.h"
#include "rules.h"

void grad_accum(GradCtx *c, Node *x, Node *contribution) {
  if (!contribution || !grad_wants(c, x)) return;
  DLC_ASSERT(x->id < c->n_forward);
  DLC_ASSERT(shape_equal(contribution->shape, x->shape));
  Node *prev = c->grad[x->id];
  c->grad[x->id] = prev ? g_binary(c->g, OP_ADD, prev, contribution, x->loc) : contribution;
}

/* Which forward nodes lie on a path from a PARAM to the loss: only those need gradients. */
static bool *needs_grad(Graph *g, Node *loss) {
  int n = loss->id + 1;
  bool *from_param = ARENA_ARRAY(&g->arena, bool, g->len);
  bool *to_loss = ARENA_ARRAY(&g->arena, bool, g->len);
  for (int i = 0; i < n; i++) {
    Node *x = g->nodes[i];
    from_param[i] = x->op == OP_PARAM;
    for (int k = 0; k < op_info(x->op)->arity; k++)
      if (from_param[x->in[k]->id] && op_has_grad(x->op)) from_param[i] = true;
  }
  to_loss[loss->id] = true;
  for (int i = n - 1; i >= 0; i--) {
    Node *x = g->nodes[i];
    if (!to_loss[i]) continue;
    for (int k = 0; k < op_info(x->op)->arity; k++) to_loss[x->in[k]->id] = true;
  }
  for (int i = 0; i < n; i++) from_param[i] = from_param[i] && to_loss[i];
  return from_param;
}

static Node **build(Graph *g, Node *loss, bool adjoints) {
  DLC_ASSERT(loss->shape.batched && shape_numel(loss->shape) == 1);
  GradCtx c = {g, NULL, NULL, g->len};
  c.grad = ARENA_ARRAY(&g->arena, Node *, c.n_forward);
  c.active = needs_grad(g, loss);
  if (!c.active[loss->id]) return c.grad; /* no parameter reaches the loss */

  /* objective = (1/n) sum_examples loss, so d objective / d loss_i = 1/n. */
  c.grad[loss->id] = g_broadcast(g, g_inv_batch(g, loss->loc), loss->shape, loss->loc);
  for (int i = loss->id; i >= 0; i--) {
    Node *y = g->nodes[i];
    Node *dy = c.grad[i];
    if (!dy || !c.active[i] || y->op == OP_PARAM) continue;
    DLC_ASSERT(op_has_grad(y->op));
    grad_rule(y->op)(&c, y, dy);
  }
  /* Inputs that did not need gradients may have received some; keep only the params' (or,
   * for adjoints, those of every node on a path from a parameter to the loss). */
  for (int i = 0; i < c.n_forward; i++)
    if (c.grad[i] && (adjoints ? !c.active[i] : g->nodes[i]->op != OP_PARAM)) c.grad[i] = NULL;
  return c.grad;
}

Node **grad_build(Graph *g, Node *loss) { return build(g, loss, false); }
Node **grad_build_adjoints(Graph *g, Node *loss) { return build(g, loss, true); }
