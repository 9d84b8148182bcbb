/* verify.c — graph_verify(): the graph's invariants, re-checked after every pass (ids,
 * arities, topological order, each node's shape against its op's rule). */
#include <stdio.h>
#include "graph.h"

const char *graph_verify(const Graph *g, char *msg, int len) {
  for (int i = 0; i < g->len; i++) {
    const Node *y = g->nodes[i];
    const OpInfo *info = op_info(y->op);
    if (y->id != i) return snprintf(msg, (size_t)len, "node %d has id %d", i, y->id), msg;
    for (int k = 0; k < MAX_INPUTS; k++) {
      if ((k < info->arity) != (y->in[k] != NULL))
        return snprintf(msg, (size_t)len, "%%%d (%s) has the wrong number of inputs", i, info->name), msg;
      if (k < info->arity && y->in[k]->id >= i)
        return snprintf(msg, (size_t)len, "%%%d (%s) reads %%%d, created after it", i, info->name, y->in[k]->id), msg;
    }
    Shape s;
    switch (info->cls) {
    case BINARY:
      if (!shape_broadcast(y->in[0]->shape, y->in[1]->shape, &s) || !shape_equal(s, y->shape))
        return snprintf(msg, (size_t)len, "%%%d (%s): its shape is not its inputs' broadcast", i, info->name), msg;
      break;
    case UNARY:
      if (y->op == OP_RESHAPE ? shape_numel(y->shape) != shape_numel(y->in[0]->shape)
                              : !shape_broadcasts_to(y->in[0]->shape, y->shape))
        return snprintf(msg, (size_t)len, "%%%d (%s): its input does not fit its shape", i, info->name), msg;
      break;
    case REDUCE:
      if (!shape_broadcasts_to(y->shape, y->in[0]->shape))
        return snprintf(msg, (size_t)len, "%%%d (sum_to): its shape does not broadcast to its input's", i), msg;
      break;
    case EFFECT:
      if (y->op == OP_ASSIGN && (!shape_equal(y->in[0]->shape, y->in[1]->shape) ||
                                 (y->in[0]->op != OP_PARAM && y->in[0]->op != OP_STATE)))
        return snprintf(msg, (size_t)len, "%%%d (assign): not a parameter or state of the value's shape", i), msg;
      break;
    default: break;
    }
  }
  return NULL;
}
