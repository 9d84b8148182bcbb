/* graph.c — node storage and the constructors. Each constructor of an op with inputs goes
 * through g_op_checked, which asks the op's shape rule (shape_rules.c) for the result shape
 * and appends the node; leaves are appended directly. Nothing else may append. */
#include "graph.h"
#include <stdarg.h>
#include "attr.h"
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

Node *g_constant(Graph *g, const char *name, Shape s, const float *values, SrcLoc loc) {
  Node *n = g_state(g, name, s, loc);
  float *copy = ARENA_ARRAY(&g->arena, float, shape_numel(n->shape));
  memcpy(copy, values, sizeof(float) * (size_t)shape_numel(n->shape));
  n->init = (DlrtInit){.kind = INIT_DATA, .fan_in = 1, .fan_out = 1, .data = copy};
  return n;
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

/* ---- constructors of ops with inputs: all go through the op's shape rule ---- */

static void say(char *err, int errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *err, int errlen, const char *fmt, ...) {
  if (!err) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, (size_t)errlen, fmt, ap);
  va_end(ap);
}

Node *g_op_checked(Graph *g, DlcOp op, Node *a, Node *b, const NodeAttr *attr, Shape want, SrcLoc loc, char *err,
                   int errlen) {
  Node *in[MAX_INPUTS] = {a, b};
  Shape s;
  if (!op_shape(op, in, attr, want, &s, err, errlen)) return NULL;
  NodeAttr kept = attr_keep(g, op, attr);
  Node *n = graph_add_node(g, op, s, a, b, loc);
  n->attr = kept;
  return n;
}

Node *g_op(Graph *g, DlcOp op, Node *a, Node *b, const NodeAttr *attr, Shape want, SrcLoc loc) {
  char err[512];
  Node *n = g_op_checked(g, op, a, b, attr, want, loc, err, sizeof err);
  if (!n) dlc_fatal("internal error: cannot make a '%s' node: %s", op_name(op), err);
  return n;
}

static const Shape ANY = {0}; /* the `want` of ops that compute their shape */

Node *g_binary_checked(Graph *g, DlcOp op, Node *a, Node *b, SrcLoc loc, char *err, int errlen) {
  DLC_ASSERT(op_info(op)->cls == BINARY);
  return g_op_checked(g, op, a, b, NULL, ANY, loc, err, errlen);
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

Node *g_gemm_checked(Graph *g, Node *a, Node *b, bool ta, bool tb, SrcLoc loc, char *err, int errlen) {
  NodeAttr at = {.gemm = {ta, tb}};
  return g_op_checked(g, OP_GEMM, a, b, &at, ANY, loc, err, errlen);
}

Node *g_gemm_per_example(Graph *g, Node *a, Node *b, bool ta, bool tb, SrcLoc loc) {
  NodeAttr at = {.gemm = {ta, tb, true}};
  return g_op(g, OP_GEMM, a, b, &at, ANY, loc);
}

/* A vector as a matrix of one row ([1, k]) or one column ([k, 1]). */
static Node *as_matrix(Graph *g, Node *v, bool row, SrcLoc loc) {
  int d[2] = {row ? 1 : v->shape.dim[0], row ? v->shape.dim[0] : 1};
  return g_reshape(g, v, shape_make(v->shape.batched, 2, d), loc);
}

/* `a @ b` as written in a .net file: vectors and matrices, per example or shared, as NumPy's
 * matmul (a vector on the left is a row, on the right a column, and that axis goes from the
 * result). A weight matrix times a vector per example is the row product x A^T over the
 * whole batch, and a per-example value times a weight matrix one product of the stacked
 * rows; a product with a per-example matrix on the right is one product per example. */
Node *g_matmul_checked(Graph *g, Node *a, Node *b, SrcLoc loc, char *err, int errlen) {
  char sa[SHAPE_STR_MAX], sb[SHAPE_STR_MAX];
  Shape A = a->shape, B = b->shape;
  if (A.rank < 1 || A.rank > 2 || B.rank < 1 || B.rank > 2) {
    say(err, errlen, "matrix product needs vectors or matrices (per example or shared); got %s and %s",
        shape_user_str(A, sa, sizeof sa), shape_user_str(B, sb, sizeof sb));
    return NULL;
  }
  int ka = A.dim[A.rank - 1], kb = B.dim[0];
  if (ka != kb) {
    say(err, errlen, "matrix product of %s and %s: inner dimensions differ (%d vs %d)", shape_user_str(A, sa, sizeof sa),
        shape_user_str(B, sb, sizeof sb), ka, kb);
    return NULL;
  }
  if (!A.batched && A.rank == 2 && B.batched && B.rank == 1) return g_gemm_checked(g, b, a, false, true, loc, err, errlen);
  if (!B.batched && B.rank == 2 && (A.batched || A.rank == 2)) return g_gemm_checked(g, a, b, false, false, loc, err, errlen);
  Node *ma = A.rank == 1 ? as_matrix(g, a, true, loc) : a, *mb = B.rank == 1 ? as_matrix(g, b, false, loc) : b;
  Node *y = B.batched ? g_gemm_per_example(g, ma, mb, false, false, loc) : g_gemm(g, ma, mb, false, false, loc);
  if (A.rank == 2 && B.rank == 2) return y;
  int d[1] = {A.rank == 2 ? A.dim[0] : B.dim[1]}; /* the axis that remains, if any */
  return g_reshape(g, y, shape_make(y->shape.batched, A.rank + B.rank - 2, d), loc);
}

/* ---- unchecked forms for dlc's own graph building ---- */

Node *g_unary(Graph *g, DlcOp op, Node *a, SrcLoc loc) {
  DLC_ASSERT(op_info(op)->cls == UNARY && op_info(op)->attr == ATTR_NONE);
  return g_op(g, op, a, NULL, NULL, a->shape, loc);
}

Node *g_binary(Graph *g, DlcOp op, Node *a, Node *b, SrcLoc loc) {
  DLC_ASSERT(op_info(op)->cls == BINARY);
  return g_op(g, op, a, b, NULL, ANY, loc);
}

Node *g_gemm(Graph *g, Node *a, Node *b, bool ta, bool tb, SrcLoc loc) {
  NodeAttr at = {.gemm = {ta, tb}};
  return g_op(g, OP_GEMM, a, b, &at, ANY, loc);
}

Node *g_powc(Graph *g, Node *a, float c, SrcLoc loc) { return g_op(g, OP_POWC, a, NULL, &(NodeAttr){.c = c}, ANY, loc); }

Node *g_broadcast(Graph *g, Node *a, Shape to, SrcLoc loc) {
  if (a->op == OP_BROADCAST) a = a->in[0]; /* a broadcast of a broadcast is one broadcast */
  return g_op(g, OP_BROADCAST, a, NULL, NULL, to, loc);
}

Node *g_sum_to(Graph *g, Node *a, Shape to, SrcLoc loc) { return g_op(g, OP_SUM_TO, a, NULL, NULL, to, loc); }

Node *g_reduce_like(Graph *g, Node *a, Shape to, SrcLoc loc) {
  return shape_equal(a->shape, to) ? a : g_sum_to(g, a, to, loc);
}

Node *g_row(Graph *g, DlcOp op, Node *a, SrcLoc loc) {
  DLC_ASSERT(op_info(op)->cls == ROW);
  return g_op(g, op, a, NULL, NULL, ANY, loc);
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
  *out = (Window){c, h, w, k, stride, pad, (h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1, 0, NULL, {{0}}};
  return true;
}

ConvPass conv_pass_of(DlcOp op) {
  DLC_ASSERT(op == OP_CONV || op == OP_CONV_DX || op == OP_CONV_DW);
  return op == OP_CONV ? CONV_FWD : op == OP_CONV_DX ? CONV_DX : CONV_DW;
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

Node *g_reshape(Graph *g, Node *a, Shape to, SrcLoc loc) { return g_op(g, OP_RESHAPE, a, NULL, NULL, to, loc); }

Node *g_permute(Graph *g, Node *a, const int *perm, SrcLoc loc) {
  NodeAttr at = {.axes = {a->shape.rank, {0}}};
  for (int i = 0; i < a->shape.rank && i < MAX_RANK; i++) at.axes.perm[i] = (signed char)perm[i]; /* rank <= MAX_RANK: the bound tells GCC so */
  return g_op(g, OP_PERMUTE, a, NULL, &at, ANY, loc);
}

Node *g_transpose(Graph *g, Node *a, SrcLoc loc) { return g_permute(g, a, (int[]){1, 0}, loc); }

Node *g_concat(Graph *g, Node *a, Node *b, int axis, SrcLoc loc) {
  return g_op(g, OP_CONCAT, a, b, &(NodeAttr){.axis = axis}, ANY, loc);
}

Node *g_slice(Graph *g, Node *a, int axis, int start, int size, SrcLoc loc) {
  return g_op(g, OP_SLICE, a, NULL, &(NodeAttr){.range = {axis, start, size}}, ANY, loc);
}

Node *g_pad(Graph *g, Node *a, int axis, int start, int size, SrcLoc loc) {
  return g_op(g, OP_PAD, a, NULL, &(NodeAttr){.range = {axis, start, size}}, ANY, loc);
}

Node *g_reduce_max(Graph *g, Node *a, int axis, SrcLoc loc) {
  return g_op(g, OP_REDUCE_MAX, a, NULL, &(NodeAttr){.axis = axis}, ANY, loc);
}

Node *g_reduce_max_back(Graph *g, Node *x, Node *dy, int axis, SrcLoc loc) {
  return g_op(g, OP_REDUCE_MAX_BACK, x, dy, &(NodeAttr){.axis = axis}, ANY, loc);
}

/* A window op: the window is copied into the graph's arena. */
static Node *windowed(Graph *g, DlcOp op, Node *a, Node *b, const Window *w, Shape want, SrcLoc loc) {
  return g_op(g, op, a, b, &(NodeAttr){.win = w}, want, loc);
}

Node *g_im2col(Graph *g, Node *x, const Window *w, SrcLoc loc) { return windowed(g, OP_IM2COL, x, NULL, w, ANY, loc); }
Node *g_col2im(Graph *g, Node *cols, const Window *w, SrcLoc loc) {
  return windowed(g, OP_COL2IM, cols, NULL, w, ANY, loc);
}

Node *g_pool(Graph *g, DlcOp op, Node *x, const Window *w, SrcLoc loc) {
  DLC_ASSERT(op == OP_POOL_SUM || op == OP_MAXPOOL);
  return windowed(g, op, x, NULL, w, ANY, loc);
}

Node *g_unpool_sum(Graph *g, Node *dy, const Window *w, SrcLoc loc) {
  return windowed(g, OP_UNPOOL_SUM, dy, NULL, w, ANY, loc);
}

Node *g_maxpool_back(Graph *g, Node *x, Node *dy, const Window *w, SrcLoc loc) {
  return windowed(g, OP_MAXPOOL_BACK, x, dy, w, ANY, loc);
}

Node *g_conv(Graph *g, Node *x, Node *W, const Window *w, SrcLoc loc) { return windowed(g, OP_CONV, x, W, w, ANY, loc); }

Node *g_conv_dx(Graph *g, Node *dy, Node *W, const Window *w, SrcLoc loc) {
  return windowed(g, OP_CONV_DX, dy, W, w, ANY, loc);
}

Node *g_conv_dw(Graph *g, Node *dy, Node *x, const Window *w, SrcLoc loc, Shape kernels) {
  return windowed(g, OP_CONV_DW, dy, x, w, kernels, loc);
}

Node *g_assign(Graph *g, Node *leaf_node, Node *value, SrcLoc loc) {
  return g_op(g, OP_ASSIGN, leaf_node, value, NULL, ANY, loc);
}

Node *g_output(Graph *g, Node *a, SrcLoc loc) {
  return g_op(g, OP_OUTPUT, a, NULL, &(NodeAttr){.slot = g->n_results++}, ANY, loc);
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
