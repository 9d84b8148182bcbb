/* update.c — the optimiser step as graph nodes, so it is printed, optimised and lowered like
 * the rest of the training step:
 *   g' = g + wd * p                         (weight decay, when wd > 0)
 *   v' = mu * v + g'                        (momentum, when mu > 0; v is persistent STATE)
 *   s  = nesterov ? g' + mu * v' : v'       (or s = g' without momentum)
 *   p' = p - lr * s                         (lr is a HYPER scalar fed each step)
 * The new values are written back by ASSIGN nodes, which the schedule places last. */
#include "grad.h"

int grad_add_update(Graph *g, Node **grads, int n_grads, const OptimizerSpec *opt, Node *lr) {
  int assigns = 0;
  for (int i = 0; i < n_grads; i++) {
    Node *p = g->nodes[i], *dp = grads[i];
    if (p->op != OP_PARAM || !dp) continue;
    SrcLoc loc = p->loc;
    if (opt->weight_decay > 0)
      dp = g_binary(g, OP_ADD, dp, g_binary(g, OP_MUL, g_const(g, opt->weight_decay, loc), p, loc), loc);
    Node *step = dp;
    if (opt->momentum > 0) {
      Node *v = g_state(g, arena_printf(&g->arena, "%s.velocity", p->name), p->shape, loc);
      v->init.kind = INIT_ZEROS;
      Node *mu = g_const(g, opt->momentum, loc);
      Node *v_new = g_binary(g, OP_ADD, g_binary(g, OP_MUL, mu, v, loc), dp, loc);
      step = opt->nesterov ? g_binary(g, OP_ADD, dp, g_binary(g, OP_MUL, mu, v_new, loc), loc) : v_new;
      g_assign(g, v, v_new, loc);
      assigns++;
    }
    Node *p_new = g_binary(g, OP_SUB, p, g_binary(g, OP_MUL, lr, step, loc), loc);
    g_assign(g, p, p_new, loc);
    assigns++;
  }
  return assigns;
}
