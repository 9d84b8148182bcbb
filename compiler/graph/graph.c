/* graph.c — node storage and the shape-checking constructors. Each constructor checks its
 * operands' shapes, computes the result shape, and appends a node; nothing else may append. */
#include "graph.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Graph *graph_new(void) {
  Graph *g = calloc(1, sizeof *g);
  if (!g) dlc_fatal("out of memory");
  arena_init(&g->arena);
  return g;
}

void graph_free(Graph *g) {
  if (!g) return;
  free(g->nodes);
  arena_free(&g->arena);
  free(g);
}

Node *graph_add_node(Graph *g, DlcOp op, Shape s, Node *a, Node *b, SrcLoc loc) {
  DLC_ASSERT(op_info(op)->arity == (a != NULL) + (b != NULL));
  if (g->len == g->cap) {
    g->cap = g->cap ? 2 * g->cap : 64;
    g->nodes = realloc(g->nodes, sizeof(Node *) * (size_t)g->cap);
    if (!g->nodes) dlc_fatal("out of memory");
  }
  Node *n = ARENA_NEW(&g->arena, Node);
  n->id = g->len;
  n->op = op;
  n->in[0] = a;
  n->in[1] = b;
  n->shape = s;
  n->loc = loc;
  g->nodes[g->len++] = n;
  return n;
}

Node *graph_find(const Graph *g, DlcOp op, const char *name) {
  for (int i = 0; i < g->len; i++)
    if (g->nodes[i]->op == op && g->nodes[i]->name && strcmp(g->nodes[i]->name, name) == 0)
      return g->nodes[i];
  return NULL;
}

bool graph_depends_on(const Graph *g, const Node *n, const Node *leaf) {
  if (leaf->id > n->id) return false;
  bool *reads = calloc((size_t)n->id + 1, sizeof *reads);
  if (!reads) dlc_fatal("out of memory");
  reads[n->id] = true;
  for (int i = n->id; i > leaf->id; i--) {
    if (!reads[i]) continue;
    const Node *x = g->nodes[i];
    for (int k = 0; k < op_info(x->op)->arity; k++) reads[x->in[k]->id] = true;
  }
  bool found = reads[leaf->id];
  free(reads);
  return found;
}

/* ---- leaves ---- */

static Node *leaf(Graph *g, DlcOp op, const char *name, Shape s, SrcLoc loc) {
  Node *n = graph_add_node(g, op, s, NULL, NULL, loc);
  n->name = name ? arena_strdup(&g->arena, name) : NULL;
  return n;
}

Node *g_input(Graph *g, const char *name, Shape s, SrcLoc loc) {
  s.batched = true;
  Node *n = leaf(g, OP_INPUT, name, s, loc);
  n->attr.slot = g->n_feeds++;
  return n;
}

Node *g_target(Graph *g, const char *name, Shape s, SrcLoc loc) {
  s.batched = true;
  Node *n = leaf(g, OP_TARGET, name, s, loc);
  n->attr.slot = g->n_feeds++;
  return n;
}

Node *g_param(Graph *g, const char *name, Shape s, SrcLoc loc) {
  s.batched = false;
  Node *n = leaf(g, OP_PARAM, name, s, loc);
  /* A matrix [m, k] feeds m units from k inputs; layers that know better set their own. */
  n->init.fan_out = s.rank >= 2 ? s.dim[0] : 1;
  n->init.fan_in = shape_numel(s) / n->init.fan_out;
  return n;
}

Node *g_state(Graph *g, const char *name, Shape s, SrcLoc loc) {
  s.batched = false;
  return leaf(g, OP_STATE, name, s, loc);
}

Node *g_hyper(Graph *g, const char *name, SrcLoc loc) {
  Node *n = leaf(g, OP_HYPER, name, shape_scalar(false), loc);
  n->attr.slot = g->n_feeds++;
  return n;
}

Node *g_const(Graph *g, float c, SrcLoc loc) {
  Node *n = leaf(g, OP_CONST, NULL, shape_scalar(false), loc);
  n->attr.c = c;
  return n;
}

Node *g_noise(Graph *g, Shape s, SrcLoc loc) {
  s.batched = true;
  Node *n = leaf(g, OP_NOISE, "noise", s, loc);
  n->attr.slot = g->n_feeds++;
  return n;
}

Node *g_grad_in(Graph *g, const Node *p, SrcLoc loc) {
  char name[96];
  snprintf(name, sizeof name, "d%s", p->name ? p->name : "param");
  Node *n = leaf(g, OP_GRAD_IN, name, p->shape, loc);
  n->attr.slot = g->n_feeds++;
  return n;
}

Node *g_inv_batch(Graph *g, SrcLoc loc) {
  return leaf(g, OP_INV_BATCH, NULL, shape_scalar(false), loc);
}

/* ---- checked constructors ---- */

static void say(char *err, int errlen, const char *fmt, ...) {
  if (!err) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, (size_t)errlen, fmt, ap);
  va_end(ap);
}



Node *g_binary_checked(Graph *g, DlcOp op, Node *a, Node *b, SrcLoc loc, char *err, int errlen) {
  DLC_ASSERT(op_info(op)->cls == BINARY);
  Shape s;
  if (!shape_broadcast(a->shape, b->shape, &s)) {
    char sa[SHAPE_STR_MAX], sb[SHAPE_STR_MAX];
    static const char *const symbol[OP_COUNT] = {[OP_ADD] = "+", [OP_SUB] = "-", [OP_MUL] = "*", [OP_DIV] = "/"};
    say(err, errlen, "shapes %s and %s do not match (nor broadcast) for '%s'",
        shape_user_str(a->shape, sa, sizeof sa), shape_user_str(b->shape, sb, sizeof sb), symbol[op]);
    return NULL;
  }
  return graph_add_node(g, op, s, a, b, loc);
}

bool gemm_dims(Shape s, MatDims *d) {
  if (s.batched && (s.rank == 1 || s.rank == 2)) {
    *d = (MatDims){s.rank == 2 ? s.dim[0] : 1, s.dim[s.rank - 1], true};
    return true;
  }
  if (!s.batched && s.rank == 2) {
    *d = (MatDims){s.dim[0], s.dim[1], false};
    return true;
  }
  return false;
}

Node *g_gemm_checked(Graph *g, Node *a, Node *b, bool ta, bool tb, SrcLoc loc, char *err,
                     int errlen) {
  char sa[SHAPE_STR_MAX], sb[SHAPE_STR_MAX];
  MatDims va, vb;
  if (!gemm_dims(a->shape, &va) || !gemm_dims(b->shape, &vb)) {
    say(err, errlen, "matrix product needs a matrix [m, k] and either one vector [k] per example or a matrix [k, p]; got %s and %s",
        shape_user_str(a->shape, sa, sizeof sa), shape_user_str(b->shape, sb, sizeof sb));
    return NULL;
  }
  /* Each dimension of op(a) and op(b): a static size, times n when it is a batched row
   * dimension. The result may have batched rows but never batched columns; the contracted
   * dimension is batched on both sides (a sum over the batch) or on neither. */
  struct { int64_t size; bool batched; } ar = {va.rows, va.batched}, ac = {va.cols, false},
                                         br = {vb.rows, vb.batched}, bc = {vb.cols, false};
  if (ta) { __typeof__(ar) t = ar; ar = ac; ac = t; }
  if (tb) { __typeof__(br) t = br; br = bc; bc = t; }
  if (ac.size != br.size || ac.batched != br.batched || bc.batched) {
    say(err, errlen, "matrix product of %s and %s: inner dimensions differ",
        shape_user_str(a->shape, sa, sizeof sa), shape_user_str(b->shape, sb, sizeof sb));
    return NULL;
  }
  Shape s;
  if (ar.batched) { /* rows come from a batched a: keep a's per-example rank */
    int d[2] = {(int)ar.size, (int)bc.size};
    s = a->shape.rank == 2 ? shape_make(true, 2, d) : shape_make(true, 1, d + 1);
  } else {
    int d[2] = {(int)ar.size, (int)bc.size};
    s = shape_make(false, 2, d);
  }
  Node *n = graph_add_node(g, OP_GEMM, s, a, b, loc);
  n->attr.gemm.ta = ta;
  n->attr.gemm.tb = tb;
  return n;
}

/* `A @ x` as written in a .net file: a weight matrix times a (batched) vector is the row
 * product x A^T; otherwise an ordinary matrix product. */
Node *g_matmul_checked(Graph *g, Node *a, Node *b, SrcLoc loc, char *err, int errlen) {
  if (!a->shape.batched && a->shape.rank == 2 && b->shape.batched && b->shape.rank == 1) {
    if (a->shape.dim[1] != b->shape.dim[0]) {
      char sa[SHAPE_STR_MAX], sb[SHAPE_STR_MAX];
      say(err, errlen, "matrix product of %s and %s: inner dimensions differ (%d vs %d)",
          shape_user_str(a->shape, sa, sizeof sa), shape_user_str(b->shape, sb, sizeof sb),
          a->shape.dim[1], b->shape.dim[0]);
      return NULL;
    }
    return g_gemm_checked(g, b, a, false, true, loc, err, errlen);
  }
  return g_gemm_checked(g, a, b, false, false, loc, err, errlen);
}

/* ---- unchecked forms for dlc's own graph building ---- */

Node *g_unary(Graph *g, DlcOp op, Node *a, SrcLoc loc) {
  DLC_ASSERT(op_info(op)->cls == UNARY && op != OP_POWC && op != OP_BROADCAST && op != OP_RESHAPE);
  return graph_add_node(g, op, a->shape, a, NULL, loc);
}

Node *g_binary(Graph *g, DlcOp op, Node *a, Node *b, SrcLoc loc) {
  Node *n = g_binary_checked(g, op, a, b, loc, NULL, 0);
  DLC_ASSERT(n);
  return n;
}

Node *g_gemm(Graph *g, Node *a, Node *b, bool ta, bool tb, SrcLoc loc) {
  Node *n = g_gemm_checked(g, a, b, ta, tb, loc, NULL, 0);
  DLC_ASSERT(n);
  return n;
}

Node *g_powc(Graph *g, Node *a, float c, SrcLoc loc) {
  Node *n = graph_add_node(g, OP_POWC, a->shape, a, NULL, loc);
  n->attr.c = c;
  return n;
}

Node *g_broadcast(Graph *g, Node *a, Shape to, SrcLoc loc) {
  DLC_ASSERT(shape_broadcasts_to(a->shape, to));
  if (a->op == OP_BROADCAST) a = a->in[0]; /* a broadcast of a broadcast is one broadcast */
  return graph_add_node(g, OP_BROADCAST, to, a, NULL, loc);
}

Node *g_sum_to(Graph *g, Node *a, Shape to, SrcLoc loc) {
  DLC_ASSERT(shape_broadcasts_to(to, a->shape));
  return graph_add_node(g, OP_SUM_TO, to, a, NULL, loc);
}

Node *g_reduce_like(Graph *g, Node *a, Shape to, SrcLoc loc) {
  return shape_equal(a->shape, to) ? a : g_sum_to(g, a, to, loc);
}

Node *g_row(Graph *g, DlcOp op, Node *a, SrcLoc loc) {
  DLC_ASSERT(op_info(op)->cls == ROW && a->shape.rank >= 1);
  return graph_add_node(g, op, a->shape, a, NULL, loc);
}

bool window_make(int c, int h, int w, int k, int stride, int pad, Window *out, char *err, int errlen) {
  if (k < 1 || stride < 1 || pad < 0) {
    say(err, errlen, "window %d, stride %d, padding %d: need window >= 1, stride >= 1, padding >= 0", k, stride, pad);
    return false;
  }
  if (k > h + 2 * pad || k > w + 2 * pad) {
    say(err, errlen, "a %dx%d window does not fit in %dx%d images%s", k, k, h, w, pad ? " (with their padding)" : "");
    return false;
  }
  if (pad >= k) {
    say(err, errlen, "padding %d must be smaller than the window %d", pad, k);
    return false;
  }
  *out = (Window){c, h, w, k, stride, pad, (h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1, 0, NULL};
  return true;
}

static const Window *keep_window(Graph *g, const Window *w) {
  Window *copy = ARENA_NEW(&g->arena, Window);
  *copy = *w;
  if (w->connect) {
    unsigned char *t = ARENA_ARRAY(&g->arena, unsigned char, w->c * w->maps);
    for (int i = 0; i < w->c * w->maps; i++) t[i] = w->connect[i];
    copy->connect = t;
  }
  return copy;
}

int conv_inputs(const Window *w, int m, int *inputs) {
  int n = 0;
  for (int c = 0; c < w->c; c++)
    if (!w->connect || w->connect[c * w->maps + m]) inputs[n++] = c;
  return n;
}

int conv_first_kernel(const Window *w, int m) {
  if (!w->connect) return m * w->c;
  int n = 0;
  for (int i = 0; i < m; i++)
    for (int c = 0; c < w->c; c++) n += w->connect[c * w->maps + i];
  return n;
}

static bool is_image(Shape s, const Window *w) {
  return s.batched && s.rank == 3 && s.dim[0] == w->c && s.dim[1] == w->h && s.dim[2] == w->w;
}

Node *g_reshape(Graph *g, Node *a, Shape to, SrcLoc loc) {
  DLC_ASSERT(shape_numel(to) == shape_numel(a->shape) && to.batched == a->shape.batched);
  return graph_add_node(g, OP_RESHAPE, to, a, NULL, loc);
}

Node *g_transpose(Graph *g, Node *a, SrcLoc loc) {
  DLC_ASSERT(a->shape.rank == 2);
  int d[2] = {a->shape.dim[1], a->shape.dim[0]};
  return graph_add_node(g, OP_TRANSPOSE, shape_make(a->shape.batched, 2, d), a, NULL, loc);
}

Node *g_im2col(Graph *g, Node *x, const Window *w, SrcLoc loc) {
  DLC_ASSERT(is_image(x->shape, w));
  int d[2] = {w->ho * w->wo, w->c * w->k * w->k};
  Node *n = graph_add_node(g, OP_IM2COL, shape_make(true, 2, d), x, NULL, loc);
  n->attr.win = keep_window(g, w);
  return n;
}

Node *g_col2im(Graph *g, Node *cols, const Window *w, SrcLoc loc) {
  DLC_ASSERT(cols->shape.batched && cols->shape.rank == 2 && cols->shape.dim[0] == w->ho * w->wo &&
             cols->shape.dim[1] == w->c * w->k * w->k);
  int d[3] = {w->c, w->h, w->w};
  Node *n = graph_add_node(g, OP_COL2IM, shape_make(true, 3, d), cols, NULL, loc);
  n->attr.win = keep_window(g, w);
  return n;
}

Node *g_pool(Graph *g, DlcOp op, Node *x, const Window *w, SrcLoc loc) {
  DLC_ASSERT((op == OP_POOL_SUM || op == OP_MAXPOOL) && is_image(x->shape, w) && w->pad == 0);
  int d[3] = {w->c, w->ho, w->wo};
  Node *n = graph_add_node(g, op, shape_make(true, 3, d), x, NULL, loc);
  n->attr.win = keep_window(g, w);
  return n;
}

Node *g_unpool_sum(Graph *g, Node *dy, const Window *w, SrcLoc loc) {
  int d[3] = {w->c, w->h, w->w};
  DLC_ASSERT(dy->shape.batched && dy->shape.rank == 3 && dy->shape.dim[1] == w->ho && dy->shape.dim[2] == w->wo);
  Node *n = graph_add_node(g, OP_UNPOOL_SUM, shape_make(true, 3, d), dy, NULL, loc);
  n->attr.win = keep_window(g, w);
  return n;
}

Node *g_maxpool_back(Graph *g, Node *x, Node *dy, const Window *w, SrcLoc loc) {
  DLC_ASSERT(is_image(x->shape, w) && dy->shape.dim[1] == w->ho && dy->shape.dim[2] == w->wo);
  Node *n = graph_add_node(g, OP_MAXPOOL_BACK, x->shape, x, dy, loc);
  n->attr.win = keep_window(g, w);
  return n;
}

static bool is_kernels(Shape s, const Window *w) {
  return !s.batched && w->maps > 0 && shape_numel(s) == (int64_t)conv_kernels(w) * w->k * w->k;
}

Node *g_conv(Graph *g, Node *x, Node *W, const Window *w, SrcLoc loc) {
  DLC_ASSERT(is_image(x->shape, w) && is_kernels(W->shape, w));
  int d[3] = {w->maps, w->ho, w->wo};
  Node *n = graph_add_node(g, OP_CONV, shape_make(true, 3, d), x, W, loc);
  n->attr.win = keep_window(g, w);
  return n;
}

Node *g_conv_dx(Graph *g, Node *dy, Node *W, const Window *w, SrcLoc loc) {
  DLC_ASSERT(is_kernels(W->shape, w) && dy->shape.batched && dy->shape.rank == 3 && dy->shape.dim[0] == w->maps);
  int d[3] = {w->c, w->h, w->w};
  Node *n = graph_add_node(g, OP_CONV_DX, shape_make(true, 3, d), dy, W, loc);
  n->attr.win = keep_window(g, w);
  return n;
}

Node *g_conv_dw(Graph *g, Node *dy, Node *x, const Window *w, SrcLoc loc, Shape kernels) {
  DLC_ASSERT(is_image(x->shape, w) && is_kernels(kernels, w) && dy->shape.batched && dy->shape.rank == 3);
  Node *n = graph_add_node(g, OP_CONV_DW, kernels, dy, x, loc);
  n->attr.win = keep_window(g, w);
  return n;
}


Node *g_assign(Graph *g, Node *leaf_node, Node *value, SrcLoc loc) {
  DLC_ASSERT(leaf_node->op == OP_PARAM || leaf_node->op == OP_STATE);
  DLC_ASSERT(shape_equal(leaf_node->shape, value->shape));
  return graph_add_node(g, OP_ASSIGN, leaf_node->shape, leaf_node, value, loc);
}

Node *g_output(Graph *g, Node *a, SrcLoc loc) {
  Node *n = graph_add_node(g, OP_OUTPUT, a->shape, a, NULL, loc);
  n->attr.slot = g->n_results++;
  return n;
}

void graph_splice_before(Graph *g, Node *at, int first_new) {
  int pos = at->id, moved = g->len - first_new;
  DLC_ASSERT(pos < first_new && g->nodes[pos] == at);
  Node **tmp = ARENA_ARRAY(&g->arena, Node *, moved);
  memcpy(tmp, g->nodes + first_new, sizeof(Node *) * (size_t)moved);
  memmove(g->nodes + pos + moved, g->nodes + pos, sizeof(Node *) * (size_t)(first_new - pos));
  memcpy(g->nodes + pos, tmp, sizeof(Node *) * (size_t)moved);
  for (int i = pos; i < g->len; i++) g->nodes[i]->id = i;
  for (int i = pos; i < pos + moved; i++)
    for (int k = 0; k < MAX_INPUTS; k++) DLC_ASSERT(!g->nodes[i]->in[k] || g->nodes[i]->in[k]->id < i);
}
