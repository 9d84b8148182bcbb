/* rules.c — one vector-Jacobian product per differentiable op, each built from ordinary
 * graph constructors so the backward pass is a graph like the forward one.
 * Notation: y = op(a[, b]); dy = d(objective)/dy; each rule adds da (and db).
 * Broadcasting in the forward direction becomes sum_to in the backward one (unbroadcast). */
#include "rules.h"

#define G (c->g)
#define L (y->loc)
#define A (y->in[0])
#define B (y->in[1])

static Node *mul(GradCtx *c, Node *a, Node *b, SrcLoc loc) { return g_binary(c->g, OP_MUL, a, b, loc); }
static Node *konst(GradCtx *c, float v, SrcLoc loc) { return g_const(c->g, v, loc); }
/* Contribution to x of a gradient that has the (broadcast) shape of the result. */
static void accum_unbroadcast(GradCtx *c, Node *x, Node *d, SrcLoc loc) {
  if (grad_wants(c, x)) grad_accum(c, x, g_reduce_like(c->g, d, x->shape, loc));
}

/* da = -dy */
static void grad_NEG(GradCtx *c, Node *y, Node *dy) { grad_accum(c, A, g_unary(G, OP_NEG, dy, L)); }
/* da = dy * y, since (e^a)' = e^a */
static void grad_EXP(GradCtx *c, Node *y, Node *dy) { grad_accum(c, A, mul(c, dy, y, L)); }
/* da = dy / a */
static void grad_LOG(GradCtx *c, Node *y, Node *dy) { grad_accum(c, A, g_binary(G, OP_DIV, dy, A, L)); }
/* da = dy * y * (1 - y) */
static void grad_SIGMOID(GradCtx *c, Node *y, Node *dy) {
  Node *one_minus_y = g_binary(G, OP_SUB, konst(c, 1, L), y, L);
  grad_accum(c, A, mul(c, dy, mul(c, y, one_minus_y, L), L));
}
/* da = dy * (1 - y^2) */
static void grad_TANH(GradCtx *c, Node *y, Node *dy) {
  Node *d = g_binary(G, OP_SUB, konst(c, 1, L), mul(c, y, y, L), L);
  grad_accum(c, A, mul(c, dy, d, L));
}
/* da = dy * step(y): the same as step(a) (relu(a) > 0 exactly where a > 0), and reading the
 * output instead of the input leaves the pre-activation with one reader, the ReLU, so that it
 * need not be stored: conv + bias + ReLU is one loop (an epilogue of the conv) */
static void grad_RELU(GradCtx *c, Node *y, Node *dy) {
  grad_accum(c, A, mul(c, dy, g_unary(G, OP_STEP, y, L), L));
}
/* da = dy * c * a^(c-1); for a square root, dy * 0.5 / y (a division, not a power) */
static void grad_POWC(GradCtx *c, Node *y, Node *dy) {
  float e = y->attr.c;
  if (e == 0.5f) {
    grad_accum(c, A, mul(c, dy, g_binary(G, OP_DIV, konst(c, 0.5f, L), y, L), L));
    return;
  }
  Node *d = e == 2 ? A : g_powc(G, A, e - 1, L);
  grad_accum(c, A, mul(c, dy, mul(c, konst(c, e, L), d, L), L));
}
/* da = dy * sign(a), sign(a) = step(a) - step(-a) (0 at 0) */
static void grad_ABS(GradCtx *c, Node *y, Node *dy) {
  Node *sign = g_binary(G, OP_SUB, g_unary(G, OP_STEP, A, L), g_unary(G, OP_STEP, g_unary(G, OP_NEG, A, L), L), L);
  grad_accum(c, A, mul(c, dy, sign, L));
}
/* da = dy * 2/sqrt(pi) * e^(-a^2) */
static void grad_ERF(GradCtx *c, Node *y, Node *dy) {
  Node *gauss = g_unary(G, OP_EXP, g_unary(G, OP_NEG, mul(c, A, A, L), L), L);
  grad_accum(c, A, mul(c, dy, mul(c, konst(c, 1.1283791670955126f, L), gauss, L), L));
}
/* da = dy * sigmoid(a) */
static void grad_SOFTPLUS(GradCtx *c, Node *y, Node *dy) { grad_accum(c, A, mul(c, dy, g_unary(G, OP_SIGMOID, A, L), L)); }
/* da = dy * (c + (1 - c) step(a)) */
static void grad_LEAKY_RELU(GradCtx *c, Node *y, Node *dy) {
  float slope = y->attr.c;
  Node *d = g_binary(G, OP_ADD, konst(c, slope, L), mul(c, konst(c, 1 - slope, L), g_unary(G, OP_STEP, A, L), L), L);
  grad_accum(c, A, mul(c, dy, d, L));
}
/* da = sum of dy over the broadcast axes */
static void grad_BROADCAST(GradCtx *c, Node *y, Node *dy) { accum_unbroadcast(c, A, dy, L); }
/* da = dy, db = dy (each summed back to its own shape) */
static void grad_ADD(GradCtx *c, Node *y, Node *dy) {
  accum_unbroadcast(c, A, dy, L);
  accum_unbroadcast(c, B, dy, L);
}
/* da = dy, db = -dy */
static void grad_SUB(GradCtx *c, Node *y, Node *dy) {
  accum_unbroadcast(c, A, dy, L);
  if (grad_wants(c, B)) accum_unbroadcast(c, B, g_unary(G, OP_NEG, dy, L), L);
}
/* da = dy * b, db = dy * a */
static void grad_MUL(GradCtx *c, Node *y, Node *dy) {
  if (grad_wants(c, A)) accum_unbroadcast(c, A, mul(c, dy, B, L), L);
  if (grad_wants(c, B)) accum_unbroadcast(c, B, mul(c, dy, A, L), L);
}
/* da = dy / b, db = -dy * y / b */
static void grad_DIV(GradCtx *c, Node *y, Node *dy) {
  if (grad_wants(c, A)) accum_unbroadcast(c, A, g_binary(G, OP_DIV, dy, B, L), L);
  if (grad_wants(c, B)) {
    Node *d = g_binary(G, OP_DIV, mul(c, dy, y, L), B, L);
    accum_unbroadcast(c, B, g_unary(G, OP_NEG, d, L), L);
  }
}
/* max(a, b): s = step(b - a) is 1 where b wins (ties go to a): da = dy (1 - s), db = dy s.
 * min(a, b): the same with s = step(a - b). */
static void grad_extremum(GradCtx *c, Node *y, Node *dy, bool max) {
  Node *s = g_unary(G, OP_STEP, max ? g_binary(G, OP_SUB, B, A, L) : g_binary(G, OP_SUB, A, B, L), L);
  if (grad_wants(c, A)) accum_unbroadcast(c, A, mul(c, dy, g_binary(G, OP_SUB, konst(c, 1, L), s, L), L), L);
  if (grad_wants(c, B)) accum_unbroadcast(c, B, mul(c, dy, s, L), L);
}
static void grad_MAX(GradCtx *c, Node *y, Node *dy) { grad_extremum(c, y, dy, true); }
static void grad_MIN(GradCtx *c, Node *y, Node *dy) { grad_extremum(c, y, dy, false); }

/* A product per example, op(a_r) op(b_r): the same vector-Jacobian products per example; the
 * gradient of a shared operand is the sum of its per-example ones. */
static Node *per_example_grad(GradCtx *c, Node *x, Node *d, SrcLoc loc) {
  return x->shape.batched ? d : g_sum_to(c->g, d, x->shape, loc);
}
static void grad_gemm_per_example(GradCtx *c, Node *y, Node *dy) {
  bool ta = y->attr.gemm.ta, tb = y->attr.gemm.tb;
  if (grad_wants(c, A)) {
    Node *d = ta ? g_gemm_per_example(G, B, dy, tb, true, L) : g_gemm_per_example(G, dy, B, false, !tb, L);
    grad_accum(c, A, per_example_grad(c, A, d, L));
  }
  if (grad_wants(c, B)) {
    Node *d = tb ? g_gemm_per_example(G, dy, A, true, ta, L) : g_gemm_per_example(G, A, dy, !ta, false, L);
    grad_accum(c, B, per_example_grad(c, B, d, L));
  }
}

/* y = op(a) op(b) with op(m) = m or m^T:
 *   da = dy op(b)^T      (a not transposed)   or   op(b) dy^T   (a transposed)
 *   db = op(a)^T dy      (b not transposed)   or   dy^T op(a)   (b transposed)
 * Each is one more gemm with the transpose flags chosen so no operand is copied. */
static void grad_GEMM(GradCtx *c, Node *y, Node *dy) {
  bool ta = y->attr.gemm.ta, tb = y->attr.gemm.tb;
  if (y->attr.gemm.per_example) {
    grad_gemm_per_example(c, y, dy);
    return;
  }
  if (grad_wants(c, A))
    grad_accum(c, A, ta ? g_gemm(G, B, dy, tb, true, L) : g_gemm(G, dy, B, false, !tb, L));
  if (grad_wants(c, B))
    grad_accum(c, B, tb ? g_gemm(G, dy, A, true, ta, L) : g_gemm(G, A, dy, !ta, false, L));
}
/* da = dy broadcast back to a's shape */
static void grad_SUM_TO(GradCtx *c, Node *y, Node *dy) {
  grad_accum(c, A, g_broadcast(G, dy, A->shape, L));
}
/* The shape of a row sum: the last axis kept with size 1, so it broadcasts back. */
static Shape row_sum_shape(Shape s) {
  s.dim[s.rank - 1] = 1;
  return s;
}
/* da = y * (dy - sum_row(dy * y)) */
static void grad_SOFTMAX(GradCtx *c, Node *y, Node *dy) {
  Node *s = g_sum_to(G, mul(c, dy, y, L), row_sum_shape(y->shape), L);
  grad_accum(c, A, mul(c, y, g_binary(G, OP_SUB, dy, s, L), L));
}
/* da = dy - e^y * sum_row(dy) */
static void grad_LOG_SOFTMAX(GradCtx *c, Node *y, Node *dy) {
  Node *s = g_sum_to(G, dy, row_sum_shape(y->shape), L);
  Node *p = g_unary(G, OP_EXP, y, L);
  grad_accum(c, A, g_binary(G, OP_SUB, dy, mul(c, p, s, L), L));
}

/* da = dy in a's shape */
static void grad_RESHAPE(GradCtx *c, Node *y, Node *dy) { grad_accum(c, A, g_reshape(G, dy, A->shape, L)); }
/* da = dy with the axes put back: the inverse permutation */
static void grad_PERMUTE(GradCtx *c, Node *y, Node *dy) {
  int inverse[MAX_RANK];
  for (int i = 0; i < y->attr.axes.rank; i++) inverse[y->attr.axes.perm[i]] = i;
  grad_accum(c, A, g_permute(G, dy, inverse, L));
}
/* da, db = the two parts of dy along the axis */
static void grad_CONCAT(GradCtx *c, Node *y, Node *dy) {
  int axis = y->attr.axis, la = A->shape.dim[axis];
  if (grad_wants(c, A)) grad_accum(c, A, g_slice(G, dy, axis, 0, la, L));
  if (grad_wants(c, B)) grad_accum(c, B, g_slice(G, dy, axis, la, B->shape.dim[axis], L));
}
/* da = dy in zeros of a's shape, where the slice was taken */
static void grad_SLICE(GradCtx *c, Node *y, Node *dy) {
  grad_accum(c, A, g_pad(G, dy, y->attr.range.axis, y->attr.range.start, A->shape.dim[y->attr.range.axis], L));
}
/* da = the part of dy where a was placed */
static void grad_PAD(GradCtx *c, Node *y, Node *dy) {
  grad_accum(c, A, g_slice(G, dy, y->attr.range.axis, y->attr.range.start, A->shape.dim[y->attr.range.axis], L));
}
/* the gradient of each maximum goes to its (first) position along the axis */
static void grad_REDUCE_MAX(GradCtx *c, Node *y, Node *dy) { grad_accum(c, A, g_reduce_max_back(G, A, dy, y->attr.axis, L)); }
/* im2col copies each pixel into every patch that covers it: da sums those copies. */
static void grad_IM2COL(GradCtx *c, Node *y, Node *dy) { grad_accum(c, A, g_col2im(G, dy, y->attr.win, L)); }
/* col2im sums patches into pixels: each patch element receives its pixel's gradient. */
static void grad_COL2IM(GradCtx *c, Node *y, Node *dy) { grad_accum(c, A, g_im2col(G, dy, y->attr.win, L)); }
/* every cell of a window receives the window's gradient */
static void grad_POOL_SUM(GradCtx *c, Node *y, Node *dy) { grad_accum(c, A, g_unpool_sum(G, dy, y->attr.win, L)); }
/* da = the sum, over the windows, of the gradients of the cells each covers */
static void grad_UNPOOL_SUM(GradCtx *c, Node *y, Node *dy) { grad_accum(c, A, g_pool(G, OP_POOL_SUM, dy, y->attr.win, L)); }
/* the gradient of a window goes to its maximum (the first one, on ties) */
static void grad_MAXPOOL(GradCtx *c, Node *y, Node *dy) { grad_accum(c, A, g_maxpool_back(G, A, dy, y->attr.win, L)); }

/* y = conv(a, b): da = conv_dx(dy, b) (the kernels run backwards over dy), db = conv_dw(dy, a)
 * (dy correlated with the images) */
static void grad_CONV(GradCtx *c, Node *y, Node *dy) {
  if (grad_wants(c, A)) grad_accum(c, A, g_conv_dx(G, dy, B, y->attr.win, L));
  if (grad_wants(c, B)) grad_accum(c, B, g_conv_dw(G, dy, A, y->attr.win, L, B->shape));
}

/* The dispatch table, generated from ops.def: a differentiable (D) op must have a rule
 * here or the build fails; an N op has none. */
#define RULE_D(id) grad_##id
#define RULE_N(id) NULL
static const GradRule rules[OP_COUNT] = {
#define OP(id, name, arity, cls, grad, flags, attr, shape) [OP_##id] = RULE_##grad(id),
#include "ops.def"
#undef OP
};

GradRule grad_rule(DlcOp op) {
  DLC_ASSERT(rules[op] != NULL);
  return rules[op];
}
