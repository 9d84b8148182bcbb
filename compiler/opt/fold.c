/* fold.c — constant folding: an elementwise op whose inputs are all scalar constants becomes
 * a constant where it stands (so no user needs rewiring).
 *
 * A result that is not a finite float (log of -1, 1/0, exp(1000)), or a division by a
 * constant zero, makes every value computed from it infinite or NaN whatever the input: an
 * error at its place in the file, reported once, rather than a run that fails much later
 * with "the loss is NaN". */
#include <float.h>
#include <math.h>
#include "interp.h"
#include "passes.h"

static bool all_const(const Node *y) {
  for (int k = 0; k < op_info(y->op)->arity; k++)
    if (y->in[k]->op != OP_CONST) return false;
  return true;
}

/* "log of -1 is NaN", "1 div 0 is infinite", "-1 ^ 0.5 is NaN": once per node. */
static void report(Node *y, double a, double b, double v) {
  if (y->flags & NF_REPORTED) return;
  y->flags |= NF_REPORTED;
  const char *what = isnan(v) ? "NaN" : "infinite (or beyond what a float holds)";
  if (y->op == OP_POWC) diag_error(y->loc, "%g ^ %g is %s, whatever the input", a, y->attr.c, what);
  else if (op_info(y->op)->arity == 1) diag_error(y->loc, "%s of %g is %s, whatever the input", op_name(y->op), a, what);
  else diag_error(y->loc, "%s(%g, %g) is %s, whatever the input", op_name(y->op), a, b, what);
}

bool pass_fold(Graph *g) {
  bool changed = false;
  for (int i = 0; i < g->len; i++) {
    Node *y = g->nodes[i];
    if (y->op == OP_DIV && y->in[1]->op == OP_CONST && y->in[1]->attr.c == 0) {
      if (!(y->flags & NF_REPORTED))
        diag_error(y->loc, "division by zero: every value of this is infinite or NaN, whatever the input");
      y->flags |= NF_REPORTED;
      continue;
    }
    if (!op_is_elementwise(y->op) || y->shape.rank != 0 || y->shape.batched || !all_const(y)) continue;
    int arity = op_info(y->op)->arity;
    double a = y->in[0]->attr.c, b = arity > 1 ? y->in[1]->attr.c : 0;
    double v = interp_scalar(y, a, b); /* the reference's formula */
    if (!(fabs(v) <= FLT_MAX)) {
      report(y, a, b, v);
      continue;
    }
    y->op = OP_CONST;
    y->in[0] = y->in[1] = NULL;
    y->attr.c = (float)v;
    changed = true;
  }
  return changed;
}
