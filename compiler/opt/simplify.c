/* simplify.c — algebraic identities: a node that computes one of its inputs unchanged is
 * replaced by that input (when the shapes agree, so broadcasting is never lost):
 *   x * 1, 1 * x, x + 0, 0 + x, x - 0, x / 1, -(-x), x ^ 1, a broadcast or a sum to x's own
 *   shape, a reshape to x's own shape. */
#include "passes.h"

static bool is_const(const Node *x, float v) { return x->op == OP_CONST && x->attr.c == v; }

/* The input y merely passes on, or NULL. */
static Node *identity_of(Node *y) {
  Node *a = y->in[0], *b = y->in[1];
  switch (y->op) {
  case OP_MUL: return is_const(b, 1) ? a : is_const(a, 1) ? b : NULL;
  case OP_ADD: return is_const(b, 0) ? a : is_const(a, 0) ? b : NULL;
  case OP_SUB: return is_const(b, 0) ? a : NULL;
  case OP_DIV: return is_const(b, 1) ? a : NULL;
  case OP_NEG: return a->op == OP_NEG ? a->in[0] : NULL;
  case OP_POWC: return y->attr.c == 1 ? a : NULL;
  case OP_BROADCAST:
  case OP_SUM_TO: return a;
  default: return op_info(y->op)->cls == VIEW ? a : NULL; /* a view to its input's own shape */
  }
}

bool pass_simplify(Graph *g) {
  Rewire r;
  rewire_begin(&r, g);
  for (int i = 0; i < g->len; i++) {
    Node *y = g->nodes[i];
    rewire_inputs(&r, y);
    Node *x = identity_of(y);
    if (x && shape_equal(x->shape, y->shape)) rewire_replace(&r, y, x);
  }
  return rewire_end(&r);
}
