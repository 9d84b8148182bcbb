/* fuse.c — elementwise fusion and views, decided per function (a node may be used once in
 * inference and twice in the training step).
 *
 * Fusion: an elementwise node whose only reader, in this function, is an elementwise node
 * or a sum of the same shape is computed inside that reader's loop and never stored. Chains
 * such as a bias add, a scaled tanh, or the derivative dy * (1 - y^2) * c become one loop that
 * reads each input once, instead of one pass over memory per op.
 *
 * Views (the VIEW class: reshape) change no element, so they share their input's buffer. */
#include "schedule.h"


static bool fusable_consumer(const Node *y) {
  OpClass c = op_info(y->op)->cls;
  return c == UNARY || c == BINARY || c == REDUCE;
}

/* Distinct memory operands of the tree rooted at y, given the fusion decided so far. */
static int count_leaves(const Node *y, Node *const *fused_into, const Node **seen, int n_seen) {
  for (int k = 0; k < op_info(y->op)->arity; k++) {
    const Node *x = y->in[k];
    if (fused_into[x->id]) {
      n_seen = count_leaves(x, fused_into, seen, n_seen);
      continue;
    }
    if (op_is_inline(x->op)) continue;
    bool dup = false;
    for (int i = 0; i < n_seen && !dup; i++) dup = seen[i] == x;
    if (!dup && n_seen < MAX_FUSED_LEAVES + 1) seen[n_seen++] = x;
  }
  return n_seen;
}

void schedule_fuse(const Graph *g, Schedule *s, Arena *arena) {
  s->fused_into = ARENA_ARRAY(arena, Node *, g->len);
  s->view_of = ARENA_ARRAY(arena, Node *, g->len);
  int *uses = ARENA_ARRAY(arena, int, g->len);
  Node **reader = ARENA_ARRAY(arena, Node *, g->len);
  for (int i = 0; i < s->len; i++) {
    Node *y = s->order[i];
    for (int k = 0; k < op_info(y->op)->arity; k++) {
      uses[y->in[k]->id]++;
      reader[y->in[k]->id] = y;
    }
    /* A reshape shares its input's buffer (or feed); an inline scalar has none to share. */
    if (op_info(y->op)->cls == VIEW && !op_is_inline(y->in[0]->op))
      s->view_of[y->id] = s->view_of[y->in[0]->id] ? s->view_of[y->in[0]->id] : y->in[0];
  }
  /* Consumers come after producers, so deciding in reverse order lets a fused chain grow
   * backwards from its final consumer while the operand count stays within bounds. */
  const Node *seen[MAX_FUSED_LEAVES + 1];
  for (int i = s->len - 1; i >= 0; i--) {
    Node *x = s->order[i], *y = reader[x->id];
    if (!op_is_elementwise(x->op) || uses[x->id] != 1 || !fusable_consumer(y)) continue;
    if (!shape_equal(x->shape, op_info(y->op)->cls == REDUCE ? y->in[0]->shape : y->shape)) continue;
    Node *root = y;
    while (s->fused_into[root->id]) root = s->fused_into[root->id];
    s->fused_into[x->id] = y;
    if (count_leaves(root, s->fused_into, seen, 0) > MAX_FUSED_LEAVES) s->fused_into[x->id] = NULL;
  }
  schedule_update_in_place(g, s, arena);
}
