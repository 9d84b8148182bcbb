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
 * computed at p's position (their site), and emit no loop of their own.
 *
 * A sum_to of R's values per map ([c, 1, 1]: the bias gradient dy summed over positions)
 * then joins it when p is max pooling's backward, which writes a map's plane at a time: the
 * kernel adds up each plane's vectors as it stores them (Schedule.epilogue_sum), instead of
 * a pass that reads R's images back. Not when a batched node reads the sum (batch norm's
 * statistics): split over workers, such a sum is added up across them before it is read
 * (shards.c), which needs it computed in a loop of its own.
 *
 * Max pooling's backward with the ReLU derivative as its epilogue, mul(maxpool_back(a, dy),
 * step(a)), needs of a only which cell of each window is the largest and whether it is
 * positive. When nothing else reads a, the forward max pooling saves that, one byte per
 * window, in a's own buffer as it goes (its cells are read by then: the bytes of a plane's
 * windows fall in earlier planes' floats), and the backward reads the bytes instead of
 * a's images: for C1 of the small CNN, 0.2 MB instead of 3.2 MB (Schedule.pool_argmax). */
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
      if (k->s->in_place[in->id] || !tree_allows(k, in)) return false; /* (an epilogue stores the root only) */
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

/* A sum_to per map of root's values that p's loop can add up (see above), or NULL. */
static Node *sum_per_map(const Schedule *s, const Node *p, const Node *root) {
  if (p->op != OP_MAXPOOL_BACK && p->op != OP_UNPOOL_SUM) return NULL;
  Shape r = root->shape;
  for (int i = 0; i < s->len; i++) {
    Node *y = s->order[i];
    if (y->op != OP_SUM_TO || y->in[0] != root || s->fused_into[y->id] || s->site[y->id] || s->view_of[y->id] ||
        s->in_place[y->id])
      continue;
    Shape m = y->shape;
    if (m.batched || !r.batched || r.rank != 3 || m.rank != 3 || m.dim[0] != r.dim[0] || m.dim[1] != 1 || m.dim[2] != 1)
      continue;
    bool batched_reader = false;
    for (int j = i + 1; j < s->len && !batched_reader; j++)
      for (int k = 0; k < op_info(s->order[j]->op)->arity; k++)
        batched_reader |= s->order[j]->in[k] == y && s->order[j]->shape.batched;
    if (!batched_reader) return y;
  }
  return NULL;
}

/* The max pooling that can save p's choices for it (see above), or NULL: p's epilogue is
 * exactly mul(p, step(a)) or mul(step(a), p); a has a buffer of its own (not fed, not a view,
 * not computed in a leaf's buffer) that only f = maxpool(a) of p's window, p and the step
 * read. */
static Node *argmax_source(const Schedule *s, const Node *p, const int *uses) {
  const Node *root = s->epilogue[p->id], *a = p->in[0];
  if (p->op != OP_MAXPOOL_BACK || !root || root->op != OP_MUL) return NULL;
  const Node *st = root->in[0] == p ? root->in[1] : root->in[0];
  if (root->in[0] != p && root->in[1] != p) return NULL;
  if (st->op != OP_STEP || st->in[0] != a || s->fused_into[st->id] != root || uses[st->id] != 1) return NULL;
  if (uses[a->id] != 3 || !node_has_buffer(a) || s->view_of[a->id] || schedule_storage(s, a) != a) return NULL;
  for (int i = 0; i < s->len; i++) {
    Node *f = s->order[i];
    const Window *w = f->attr.win, *v = p->attr.win;
    if (f->op == OP_MAXPOOL && f->in[0] == a && w->k == v->k && w->stride == v->stride && w->pad == v->pad)
      return f;
  }
  return NULL;
}

void schedule_epilogues(const Graph *g, Schedule *s, Arena *arena) {
  s->pool_argmax = ARENA_ARRAY(arena, Node *, g->len);
  s->epilogue = ARENA_ARRAY(arena, Node *, g->len);
  s->epilogue_sum = ARENA_ARRAY(arena, Node *, g->len);
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
    Node *sum = sum_per_map(s, p, root);
    if (sum) {
      s->epilogue_sum[p->id] = sum;
      s->site[sum->id] = p;
    }
    Node *f = argmax_source(s, p, uses);
    if (f) {
      s->pool_argmax[f->id] = p;
      s->pool_argmax[p->id] = f;
    }
  }
}
