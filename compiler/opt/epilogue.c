/* epilogue.c — elementwise trees computed where a kernel stores its result (an epilogue):
 * the bias added to a convolution as it leaves the kernel's registers, the ReLU derivative
 * applied as max pooling's backward writes each cell. Without it, each is one more pass over
 * a layer's images: read the kernel's output back, write the tree's. Decided per function
 * after elementwise fusion (fuse.c), as fusion is.
 *
 * A producer p takes the tree rooted at R as its epilogue when
 *  - p is a kernel that stores vectors of consecutive elements of one map (conv and conv_dx
 *    by register tiles, max pooling's backward over windows that tile the image), or a
 *    Winograd conv or conv_dx and the tree one its runtime computes (a bias, ReLU:
 *    conv_algo.c, winograd_epilogue);
 *  - p's only reader is a node of R's tree (R itself, or fused into R), and R is elementwise
 *    with p's shape, stored in a buffer of its own;
 *  - every other operand of the tree is inline, of R's shape (read at the same index), or one
 *    value per map ([c, 1, 1], shared), and is computed before p.
 * Then p's value is never stored: its kernel computes R's tree on each vector and stores it
 * in R's buffer, which the memory plan places when p runs; R and the nodes of its tree are
 * computed at p's position (their site), and emit no loop of their own. */
#include "schedule.h"

bool window_tiles_image(const Window *w) { return w->stride == w->k && w->pad == 0 && w->k >= 2 && w->k <= 4; }

static bool takes_epilogue(const Node *p) {
  switch (p->op) {
  case OP_CONV:
  case OP_CONV_DX: /* Winograd's: only the trees its runtime knows (winograd_epilogue) */
    return p->attr.win->choice[conv_pass_of(p->op)].kernel == CONV_KERNEL_TILED ||
           p->attr.win->choice[conv_pass_of(p->op)].kernel == CONV_KERNEL_WINOGRAD;
  case OP_MAXPOOL_BACK:
  case OP_UNPOOL_SUM: /* every cell in a window (the others are zeroed, not the tree's value at 0) */
    return window_tiles_image(p->attr.win) && p->attr.win->h % p->attr.win->k == 0 && p->attr.win->w % p->attr.win->k == 0;
  case OP_MAXPOOL:
  case OP_POOL_SUM: return window_tiles_image(p->attr.win);
  default: return false;
  }
}

/* A value an epilogue can read for each lane of a vector of R's elements. */
static bool readable_per_lane(const Node *x, const Node *root) {
  if (op_is_inline(x->op) || shape_equal(x->shape, root->shape)) return true;
  Shape r = root->shape, s = x->shape;
  return !s.batched && r.rank == 3 && s.rank == 3 && s.dim[0] == r.dim[0] && s.dim[1] == 1 && s.dim[2] == 1;
}

typedef struct Check {
  const Schedule *s;
  const Node *p, *root;
  const int *pos_of;
  int found; /* times p is an operand of the tree */
} Check;

/* Whether the operands of x's part of the tree (x fused into the root, or the root) allow it. */
static bool tree_allows(Check *k, const Node *x) {
  for (int i = 0; i < op_info(x->op)->arity; i++) {
    const Node *in = x->in[i];
    if (in == k->p) {
      k->found++;
      continue;
    }
    if (k->s->fused_into[in->id]) {
      if (!tree_allows(k, in)) return false;
      continue;
    }
    if (!readable_per_lane(in, k->root)) return false;
    if (!op_is_inline(in->op) && in->op != OP_PARAM && in->op != OP_STATE && k->pos_of[in->id] >= k->pos_of[k->p->id])
      return false;
  }
  return true;
}

/* Moves the tree rooted at `root` (its members' site) to p. */
static void move_tree(Schedule *s, Node *x, const Node *root, Node *p) {
  for (int i = 0; i < op_info(x->op)->arity; i++) {
    Node *in = x->in[i];
    if (in != p && s->fused_into[in->id] && schedule_site(s, in) == root) move_tree(s, in, root, p);
  }
  s->site[x->id] = p;
}

void schedule_epilogues(const Graph *g, Schedule *s, Arena *arena) {
  s->epilogue = ARENA_ARRAY(arena, Node *, g->len);
  int *uses = ARENA_ARRAY(arena, int, g->len), *pos_of = ARENA_ARRAY(arena, int, g->len);
  Node **reader = ARENA_ARRAY(arena, Node *, g->len);
  for (int i = 0; i < s->len; i++) {
    Node *y = s->order[i];
    pos_of[y->id] = i;
    for (int k = 0; k < op_info(y->op)->arity; k++) {
      uses[y->in[k]->id]++;
      reader[y->in[k]->id] = y;
    }
  }
  for (int i = 0; i < s->len; i++) {
    Node *p = s->order[i];
    if (!takes_epilogue(p) || uses[p->id] != 1 || s->fused_into[p->id]) continue;
    Node *y = reader[p->id], *root = (Node *)schedule_site(s, y);
    if (!op_is_elementwise(root->op) || !shape_equal(root->shape, p->shape) || s->view_of[root->id] ||
        s->in_place[root->id] || s->epilogue[root->id])
      continue;
    Check k = {s, p, root, pos_of, 0};
    if (!tree_allows(&k, root) || k.found == 0) continue;
    bool conv = p->op == OP_CONV || p->op == OP_CONV_DX;
    if (conv && p->attr.win->choice[conv_pass_of(p->op)].kernel == CONV_KERNEL_WINOGRAD && !winograd_epilogue(s, p, root, NULL))
      continue;
    s->epilogue[p->id] = root;
    s->fused_into[p->id] = y;
    move_tree(s, root, root, p);
  }
}
