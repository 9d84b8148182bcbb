/* schedule.c — dead-node elimination by reachability from a function's roots, and the
 * execution order: creation order (always topological) with ASSIGNs moved last, since they
 * overwrite parameters that backward nodes still read. */
#include "schedule.h"

Schedule schedule_build(const Graph *g, Node *const *roots, int n_roots, Arena *arena) {
  bool *live = ARENA_ARRAY(arena, bool, g->len);
  for (int i = 0; i < n_roots; i++) live[roots[i]->id] = true;
  for (int i = g->len - 1; i >= 0; i--) {
    if (!live[i]) continue;
    const Node *x = g->nodes[i];
    for (int k = 0; k < op_info(x->op)->arity; k++) live[x->in[k]->id] = true;
  }
  Schedule s = {.order = ARENA_ARRAY(arena, Node *, g->len)};
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < g->len; i++)
      if (live[i] && (g->nodes[i]->op == OP_ASSIGN) == (pass == 1)) s.order[s.len++] = g->nodes[i];
  return s;
}

const Node *schedule_site(const Schedule *s, const Node *x) {
  return s->site && s->site[x->id] ? s->site[x->id] : x;
}

const Node *schedule_storage(const Schedule *s, const Node *x) {
  if (s->view_of && s->view_of[x->id]) return s->view_of[x->id];
  if (s->in_place && s->in_place[x->id]) return s->in_place[x->id];
  return x;
}
