/* fold.c — constant folding: an elementwise op whose inputs are all scalar constants becomes
 * a constant where it stands (so no user needs rewiring). As Lua's constfolding, a result
 * that is not finite is left alone, so that the error it signals still happens at run time. */
#include <math.h>
#include "interp.h"
#include "passes.h"

static bool all_const(const Node *y) {
  for (int k = 0; k < op_info(y->op)->arity; k++)
    if (y->in[k]->op != OP_CONST) return false;
  return true;
}

bool pass_fold(Graph *g) {
  bool changed = false;
  for (int i = 0; i < g->len; i++) {
    Node *y = g->nodes[i];
    if (!op_is_elementwise(y->op) || y->shape.rank != 0 || y->shape.batched || !all_const(y)) continue;
    int arity = op_info(y->op)->arity;
    double v = interp_scalar(y, y->in[0]->attr.c, arity > 1 ? y->in[1]->attr.c : 0); /* the reference's formula */
    if (!isfinite(v) || !isfinite((float)v)) continue;
    y->op = OP_CONST;
    y->in[0] = y->in[1] = NULL;
    y->attr.c = (float)v;
    changed = true;
  }
  return changed;
}
