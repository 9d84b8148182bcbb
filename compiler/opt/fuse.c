/* fuse.c — elementwise fusion and views, decided per function (a node may be used once in
 * inference and twice in the training step).
 *
 * Fusion: an elementwise node whose only reader, in this function, is an elementwise node
 * or a sum of the same shape is computed inside that reader's loop and never stored. Chains
 * such as a bias add, a scaled tanh, or the derivative dy * (1 - y^2) * c become one loop that
 * reads each input once, instead of one pass over memory per op.
 *
 * Views (the VIEW class: reshape) change no element, so they share their input's buffer.
 *
 * Stored as it goes: a persistent leaf's new value computed in place (inplace.c) whose only
 * other reader is elementwise of its shape is computed inside that reader's loop too, and
 * stored there into the leaf's buffer. Adam's new moments m' and v' are each read by the
 * parameter's update and stored: three loops over the parameter (m', v', p') become one,
 * which reads g, m, v and p once and writes m, v and p once (7 arrays instead of 10). */
#include "schedule.h"


static bool fusable_consumer(const Node *y) {
  OpClass c = op_info(y->op)->cls;
  return c == UNARY || c == BINARY || c == REDUCE;
}

/* The distinct memory operands of a fused tree (at most MAX_FUSED_LEAVES + 1 are counted),
 * kept per tree root and updated as each node joins, so that deciding is linear: counting
 * each tree anew at every join made a chain of 20,000 elementwise statements take seconds. */
typedef struct Leaves {
  int n;
  const Node *leaf[MAX_FUSED_LEAVES + 1];
} Leaves;

static void add_leaf(Leaves *l, const Node *x) {
  if (op_is_inline(x->op)) return; /* scalars computed in place read no memory */
  for (int i = 0; i < l->n; i++)
    if (l->leaf[i] == x) return;
  if (l->n < MAX_FUSED_LEAVES + 1) l->leaf[l->n++] = x;
}

/* The leaves of root's tree if x, one of them, joined it (its own inputs in its place). */
static Leaves leaves_with(const Leaves *root, const Node *x) {
  Leaves l = {0};
  for (int i = 0; i < root->n; i++)
    if (root->leaf[i] != x) l.leaf[l.n++] = root->leaf[i];
  for (int k = 0; k < op_info(x->op)->arity; k++) add_leaf(&l, x->in[k]);
  return l;
}

/* The leaves of a tree of y alone: its inputs. */
static Leaves own_leaves(const Node *y) {
  Leaves l = {0};
  for (int k = 0; k < op_info(y->op)->arity; k++) add_leaf(&l, y->in[k]);
  return l;
}

/* The distinct memory operands of the tree rooted at root (its fused members' inputs). */
static void tree_leaves(const Schedule *s, const Node *y, const Node *root, Leaves *l) {
  for (int k = 0; k < op_info(y->op)->arity; k++) {
    const Node *x = y->in[k];
    if (s->fused_into[x->id] && schedule_site(s, x) == root) tree_leaves(s, x, root, l);
    else add_leaf(l, x);
  }
}

/* Fuses each new value computed in place into its one other reader's loop, which also
 * stores it (see above; lower_elem.c's value_of stores a fused node that is in place). */
static void fuse_stored_updates(const Graph *g, Schedule *s, const int *uses, Node *const *reader_of_value,
                                Arena *arena) {
  int *pos_of = ARENA_ARRAY(arena, int, g->len);
  for (int i = 0; i < s->len; i++) pos_of[s->order[i]->id] = i;
  for (int i = 0; i < s->len; i++) {
    Node *a = s->order[i];
    if (a->op != OP_ASSIGN) continue;
    Node *x = a->in[1], *y = reader_of_value[x->id];
    if (!s->in_place[x->id] || s->fused_into[x->id] || s->site[x->id] || uses[x->id] != 2 || !y) continue;
    if (!op_is_elementwise(y->op) || !shape_equal(y->shape, x->shape)) continue;
    Node *root = (Node *)schedule_site(s, y);
    if (!op_is_elementwise(root->op) || !shape_equal(root->shape, x->shape) || s->view_of[root->id] ||
        pos_of[root->id] < pos_of[x->id])
      continue;
    Leaves l = {0};
    tree_leaves(s, root, root, &l);
    tree_leaves(s, x, x, &l);
    for (int j = 0; j < l.n; j++) /* x itself is no longer read from memory */
      if (l.leaf[j] == x) l.leaf[j] = l.leaf[--l.n];
    if (l.n > MAX_FUSED_LEAVES) continue;
    for (int j = 0; j < s->len; j++) /* x's own tree moves with it */
      if (s->site[s->order[j]->id] == x) s->site[s->order[j]->id] = root;
    s->fused_into[x->id] = y;
    s->site[x->id] = root;
  }
}

void schedule_fuse(const Graph *g, Schedule *s, Arena *arena) {
  s->fused_into = ARENA_ARRAY(arena, Node *, g->len);
  s->site = ARENA_ARRAY(arena, Node *, g->len);
  s->view_of = ARENA_ARRAY(arena, Node *, g->len);
  int *uses = ARENA_ARRAY(arena, int, g->len);
  Node **reader = ARENA_ARRAY(arena, Node *, g->len);
  Leaves **leaves = ARENA_ARRAY(arena, Leaves *, g->len); /* by root id, once it has a tree */
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
   * backwards from its final consumer while the operand count stays within bounds; when x
   * is decided, its inputs are not yet part of any tree. */
  for (int i = s->len - 1; i >= 0; i--) {
    Node *x = s->order[i], *y = reader[x->id];
    if (!op_is_elementwise(x->op) || uses[x->id] != 1 || !fusable_consumer(y)) continue;
    if (!shape_equal(x->shape, op_info(y->op)->cls == REDUCE ? y->in[0]->shape : y->shape)) continue;
    Node *root = s->site[y->id] ? s->site[y->id] : y;
    if (!leaves[root->id]) {
      leaves[root->id] = ARENA_NEW(arena, Leaves);
      *leaves[root->id] = own_leaves(root);
    }
    Leaves joined = leaves_with(leaves[root->id], x);
    if (joined.n > MAX_FUSED_LEAVES) continue;
    *leaves[root->id] = joined;
    s->fused_into[x->id] = y;
    s->site[x->id] = root;
  }
  schedule_update_in_place(g, s, arena);
  Node **value_reader = ARENA_ARRAY(arena, Node *, g->len); /* a reader other than an ASSIGN */
  for (int i = 0; i < s->len; i++)
    for (int k = 0; k < op_info(s->order[i]->op)->arity; k++)
      if (s->order[i]->op != OP_ASSIGN) value_reader[s->order[i]->in[k]->id] = s->order[i];
  fuse_stored_updates(g, s, uses, value_reader, arena);
  schedule_epilogues(g, s, arena);
}
