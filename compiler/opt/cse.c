/* cse.c — common-subexpression elimination: two nodes with the same op, inputs, attributes
 * and shape compute the same value; every use of the later one is redirected to the earlier.
 * The backward pass rebuilds constants and derivative factors the forward pass or other
 * rules already made; after this pass each exists once. Leaves other than constants stay
 * distinct (two parameters of one shape are different parameters), and so do effects. */
#include <stdlib.h>
#include <string.h>
#include "passes.h"

static bool windows_equal(const Window *a, const Window *b) {
  if (a->c != b->c || a->h != b->h || a->w != b->w || a->k != b->k || a->stride != b->stride || a->pad != b->pad ||
      a->maps != b->maps || (a->connect == NULL) != (b->connect == NULL))
    return false;
  return !a->connect || memcmp(a->connect, b->connect, (size_t)a->c * (size_t)a->maps) == 0;
}

static bool same_attrs(const Node *a, const Node *b) {
  switch (a->op) {
  case OP_CONST:
  case OP_POWC: return a->attr.c == b->attr.c;
  case OP_GEMM: return a->attr.gemm.ta == b->attr.gemm.ta && a->attr.gemm.tb == b->attr.gemm.tb;
  case OP_IM2COL:
  case OP_COL2IM:
  case OP_POOL_SUM:
  case OP_UNPOOL_SUM:
  case OP_MAXPOOL:
  case OP_MAXPOOL_BACK:
  case OP_CONV:
  case OP_CONV_DX:
  case OP_CONV_DW: return windows_equal(a->attr.win, b->attr.win);
  default: return true; /* no attributes */
  }
}

static bool mergeable(const Node *y) {
  OpClass c = op_info(y->op)->cls;
  return c != EFFECT && (c != LEAF || y->op == OP_CONST || y->op == OP_INV_BATCH);
}

static unsigned hash_node(const Node *y) {
  unsigned h = (unsigned)y->op * 2654435761u;
  for (int k = 0; k < op_info(y->op)->arity; k++) h = (h ^ (unsigned)y->in[k]->id) * 16777619u;
  if (y->op == OP_CONST || y->op == OP_POWC) {
    unsigned bits;
    memcpy(&bits, &y->attr.c, sizeof bits);
    h ^= bits;
  }
  return h;
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
      bool same = x->op == y->op && shape_equal(x->shape, y->shape) && same_attrs(x, y);
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
