/* inplace.c — a persistent leaf's new value computed in its own buffer.
 *
 * An update such as p - lr * (momentum * v + dp) is an elementwise loop whose value an
 * ASSIGN then stores into p. When nothing reads p's old value after that loop runs (every
 * other reader of p has run before it, or reads p inside the same loop, at the same index),
 * the loop can write p directly: one pass over the parameter instead of a loop into scratch
 * and a copy. The loop still reads p[i] before it writes p[i], and anything that reads the
 * new value later (the momentum buffer's new value, read by the parameter's update) finds
 * it in p's buffer. */
#include "schedule.h"

/* Whether every reader of `leaf` other than x's own loop runs before x's loop. A reader of
 * a view of the leaf (a reshape) reads it too; so does a store of the leaf's value into
 * another leaf (stores run last). An ASSIGN's first operand is where it writes, not a read. */
static bool old_value_dead_after(const Schedule *s, const Node *leaf, const Node *x, const int *pos_of) {
  int at = pos_of[x->id];
  for (int i = 0; i < s->len; i++) {
    const Node *r = s->order[i];
    for (int k = r->op == OP_ASSIGN ? 1 : 0; k < op_info(r->op)->arity; k++) {
      if (schedule_storage(s, r->in[k]) != leaf) continue;
      const Node *site = schedule_site(s, r);
      if (site != x && pos_of[site->id] >= at) return false;
    }
  }
  return true;
}

void schedule_update_in_place(const Graph *g, Schedule *s, Arena *arena) {
  s->in_place = ARENA_ARRAY(arena, Node *, g->len);
  int *pos_of = ARENA_ARRAY(arena, int, g->len);
  for (int i = 0; i < s->len; i++) pos_of[s->order[i]->id] = i;
  for (int i = 0; i < s->len; i++) {
    const Node *a = s->order[i];
    if (a->op != OP_ASSIGN) continue;
    Node *leaf = a->in[0], *x = a->in[1];
    /* x runs a loop of its own (elementwise, not fused away, not a view) over leaf's shape */
    if (!op_is_elementwise(x->op) || schedule_site(s, x) != x || s->view_of[x->id] ||
        s->in_place[x->id] || !shape_equal(x->shape, leaf->shape))
      continue;
    if (old_value_dead_after(s, leaf, x, pos_of)) s->in_place[x->id] = leaf;
  }
}
