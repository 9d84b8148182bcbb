/* cse.c — common-subexpression elimination: two nodes with the same op, inputs, attributes
 * and shape compute the same value; every use of the later one is redirected to the earlier.
 * The backward pass rebuilds constants and derivative factors the forward pass or other
 * rules already made; after this pass each exists once. Leaves other than constants stay
 * distinct (two parameters of one shape are different parameters), and so do effects.
 * Attributes are compared by their kind (attr.c): floats bit for bit, so 0.0 and -0.0 stay
 * apart. */
#include <stdlib.h>
#include "attr.h"
#include "passes.h"

static bool mergeable(const Node *y) {
  OpClass c = op_info(y->op)->cls;
  return c != EFFECT && (c != LEAF || y->op == OP_CONST || y->op == OP_INV_BATCH);
}

static unsigned hash_node(const Node *y) {
  unsigned h = (unsigned)y->op * 2654435761u;
  for (int k = 0; k < op_info(y->op)->arity; k++) h = (h ^ (unsigned)y->in[k]->id) * 16777619u;
  return h ^ attr_hash(y->op, &y->attr);
}

bool pass_cse(Graph *g) {
  int cap = 1;
  while (cap < 2 * g->len) cap *= 2;
  Node **table = calloc((size_t)cap, sizeof *table);
  if (!table) dlc_fatal("out of memory");
  Rewire r;
  rewire_begin(&r, g);
  for (int i = 0; i < g->len; i++) {
    Node *y = g->nodes[i];
    rewire_inputs(&r, y);
    if (!mergeable(y)) continue;
    for (unsigned h = hash_node(y) & (unsigned)(cap - 1);; h = (h + 1) & (unsigned)(cap - 1)) {
      Node *x = table[h];
      if (!x) {
        table[h] = y;
        break;
      }
      bool same = x->op == y->op && shape_equal(x->shape, y->shape) && attr_equal(y->op, &x->attr, &y->attr);
      for (int k = 0; same && k < op_info(y->op)->arity; k++) same = x->in[k] == y->in[k];
      if (same) {
        rewire_replace(&r, y, x);
        break;
      }
    }
  }
  free(table);
  return rewire_end(&r);
}
