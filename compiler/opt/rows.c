/* rows.c — whether the examples of a batch are computed independently of each other, which
 * is what lets data-parallel training split a batch over threads and add their gradients.
 *
 * Values that hold one row per example (batched) are independent as long as no batched value
 * reads a per-batch value that itself depends on the examples: batch normalisation's mean and
 * variance are such values (a sum over the batch, read back by every row). Parameter
 * gradients are sums over the batch too, but only the update reads them, which is not
 * batched. A write to persistent state that depends on the examples (batch norm's running
 * statistics) couples them as well: each thread would write its own. */
#include <stdlib.h>
#include "schedule.h"

const Node *graph_batch_coupling(const Graph *g, int n_nodes) {
  bool *depends = calloc((size_t)n_nodes + 1, sizeof *depends); /* on the batch's examples */
  if (!depends) dlc_fatal("out of memory");
  const Node *found = NULL;
  for (int i = 0; i < n_nodes && !found; i++) { /* creation order is topological */
    const Node *y = g->nodes[i];
    depends[i] = y->shape.batched;
    for (int k = 0; k < op_info(y->op)->arity; k++) {
      const Node *x = y->in[k];
      depends[i] |= depends[x->id];
      if (depends[x->id] && !x->shape.batched && y->shape.batched) found = y;
    }
    if (y->op == OP_ASSIGN && depends[i]) found = y;
  }
  free(depends);
  return found;
}
