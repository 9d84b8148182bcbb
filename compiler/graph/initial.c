/* initial.c — the values parameters and optimiser state start from: each PARAM and STATE
 * leaf in graph order, filled by its initialiser from the one seeded stream, so the same
 * seed gives the same network in training (train/), in an export (export/) and in --scales
 * (a constant is a STATE leaf whose initialiser carries its values and draws nothing). */
#include <string.h>
#include "attr.h"
#include "graph.h"

void graph_fill_initial(const Graph *g, DlrtRng *rng, float *const *dest) {
  for (int i = 0; i < g->len; i++) {
    const Node *x = g->nodes[i];
    if (x->op != OP_PARAM && x->op != OP_STATE) continue;
    DLC_ASSERT(dest[i]); /* each leaf draws its share of the stream, wherever it goes */
    dlrt_init_fill(&x->init, dest[i], shape_numel(x->shape), rng);
  }
}

uint64_t graph_hash(const Graph *g, int n_nodes) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a over each node's fields */
#define MIX(v) (h = (h ^ (uint64_t)(v)) * 1099511628211ull)
  for (int i = 0; i < n_nodes && i < g->len; i++) {
    const Node *x = g->nodes[i];
    MIX(x->op);
    for (int k = 0; k < op_info(x->op)->arity; k++) MIX(x->in[k]->id);
    MIX(x->shape.rank);
    MIX(x->shape.batched);
    for (int d = 0; d < x->shape.rank; d++) MIX(x->shape.dim[d]);
    if (op_info(x->op)->cls == LEAF && x->name)
      for (const char *c = x->name; *c; c++) MIX((unsigned char)*c);
    MIX(attr_hash(x->op, &x->attr)); /* (slots and result indices are attributes too: the same network numbers them alike) */
    if (x->init.kind == INIT_DATA) /* a constant's values are part of what the network computes */
      for (int64_t k = 0; k < shape_numel(x->shape); k++) {
        uint32_t bits;
        memcpy(&bits, &x->init.data[k], sizeof bits);
        MIX(bits);
      }
  }
#undef MIX
  return h;
}
