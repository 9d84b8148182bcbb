/* verify.c — graph_verify(): the graph's invariants, re-checked after every pass (ids,
 * arities, topological order, and each node's shape and attribute against its op's shape
 * rule: the same rule its constructor applied). */
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
    char why[256];
    Shape s;
    if (!op_shape(y->op, y->in, &y->attr, y->shape, &s, why, sizeof why))
      return snprintf(msg, (size_t)len, "%%%d (%s): %s", i, info->name, why), msg;
    if (!shape_equal(s, y->shape)) {
      char want[SHAPE_STR_MAX], has[SHAPE_STR_MAX];
      return snprintf(msg, (size_t)len, "%%%d (%s): its inputs make %s, but it is %s", i, info->name,
                      shape_str(s, want, sizeof want), shape_str(y->shape, has, sizeof has)), msg;
    }
  }
  return NULL;
}
