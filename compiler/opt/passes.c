/* passes.c — the pass pipeline, use replacement and the graph verifier. */
#include "passes.h"
#include <stdio.h>
#include <string.h>

const PassInfo graph_passes[] = {
    {"fold", pass_fold, "elementwise ops on constants become constants"},
    {"simplify", pass_simplify, "algebraic identities: x*1, x+0, x-0, x/1, --x, x^1, no-op broadcasts and sums"},
    {"cse", pass_cse, "common subexpressions: one node per distinct computation"},
    {NULL, NULL, NULL},
};

const PassInfo *pass_find(const char *name) {
  for (const PassInfo *p = graph_passes; p->name; p++)
    if (strcmp(p->name, name) == 0) return p;
  return NULL;
}

bool graph_replace_uses(Graph *g, Node *from, Node *to) {
  DLC_ASSERT(shape_equal(from->shape, to->shape) && to->id < from->id);
  bool any = false;
  for (int i = from->id + 1; i < g->len; i++) {
    Node *y = g->nodes[i];
    for (int k = 0; k < op_info(y->op)->arity; k++)
      if (y->in[k] == from) {
        y->in[k] = to;
        any = true;
      }
  }
  return any;
}

int passes_run(Graph *g, const char *stop_after, bool verify) {
  enum { MAX_ROUNDS = 4 };
  int runs = 0;
  if (stop_after && !pass_find(stop_after)) return 0; /* "none": no pass at all */
  for (int round = 0; round < MAX_ROUNDS; round++) {
    bool changed = false;
    for (const PassInfo *p = graph_passes; p->name; p++) {
      changed |= p->run(g);
      runs++;
      if (verify) {
        const char *bad = graph_verify(g);
        if (bad) dlc_fatal("graph invariant broken after pass '%s': %s", p->name, bad);
      }
      if (stop_after && strcmp(stop_after, p->name) == 0) return runs;
    }
    if (!changed) break;
  }
  return runs;
}

const char *graph_verify(const Graph *g) {
  static char msg[256];
  for (int i = 0; i < g->len; i++) {
    const Node *y = g->nodes[i];
    const OpInfo *info = op_info(y->op);
    if (y->id != i) return snprintf(msg, sizeof msg, "node %d has id %d", i, y->id), msg;
    for (int k = 0; k < MAX_INPUTS; k++) {
      if ((k < info->arity) != (y->in[k] != NULL))
        return snprintf(msg, sizeof msg, "%%%d (%s) has the wrong number of inputs", i, info->name), msg;
      if (k < info->arity && y->in[k]->id >= i)
        return snprintf(msg, sizeof msg, "%%%d (%s) reads %%%d, created after it", i, info->name, y->in[k]->id), msg;
    }
    Shape s;
    switch (info->cls) {
    case BINARY:
      if (!shape_broadcast(y->in[0]->shape, y->in[1]->shape, &s) || !shape_equal(s, y->shape))
        return snprintf(msg, sizeof msg, "%%%d (%s): its shape is not its inputs' broadcast", i, info->name), msg;
      break;
    case UNARY:
      if (y->op == OP_RESHAPE ? shape_numel(y->shape) != shape_numel(y->in[0]->shape)
                              : !shape_broadcasts_to(y->in[0]->shape, y->shape))
        return snprintf(msg, sizeof msg, "%%%d (%s): its input does not fit its shape", i, info->name), msg;
      break;
    case REDUCE:
      if (!shape_broadcasts_to(y->shape, y->in[0]->shape))
        return snprintf(msg, sizeof msg, "%%%d (sum_to): its shape does not broadcast to its input's", i), msg;
      break;
    case EFFECT:
      if (y->op == OP_ASSIGN && (!shape_equal(y->in[0]->shape, y->in[1]->shape) ||
                                 (y->in[0]->op != OP_PARAM && y->in[0]->op != OP_STATE)))
        return snprintf(msg, sizeof msg, "%%%d (assign): not a parameter or state of the value's shape", i), msg;
      break;
    default: break;
    }
  }
  return NULL;
}
