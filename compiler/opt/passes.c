/* passes.c — the pass pipeline, use replacement and the graph verifier. */
#include "passes.h"
#include <stdio.h>
#include <stdlib.h>
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

void rewire_begin(Rewire *r, const Graph *g) {
  r->to = calloc((size_t)g->len + 1, sizeof *r->to);
  if (!r->to) dlc_fatal("out of memory");
  r->changed = false;
}

void rewire_inputs(Rewire *r, Node *y) {
  for (int k = 0; k < op_info(y->op)->arity; k++)
    if (r->to[y->in[k]->id]) {
      y->in[k] = r->to[y->in[k]->id];
      r->changed = true;
    }
}

void rewire_replace(Rewire *r, const Node *from, Node *to) {
  DLC_ASSERT(shape_equal(from->shape, to->shape) && to->id < from->id && !r->to[to->id]);
  r->to[from->id] = to;
}

bool rewire_end(Rewire *r) {
  free(r->to);
  r->to = NULL;
  return r->changed;
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
        char bad[256];
        if (graph_verify(g, bad, sizeof bad)) dlc_fatal("graph invariant broken after pass '%s': %s", p->name, bad);
      }
      if (stop_after && strcmp(stop_after, p->name) == 0) return runs;
    }
    if (!changed) break;
  }
  return runs;
}
