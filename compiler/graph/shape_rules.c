/* shape_rules.c — the shape rule of every op (ops.def's shape column): what inputs and
 * attribute an op accepts and the shape of its result. The constructors (graph.c) and the
 * verifier (verify.c) both call op_shape, so a rule is written once. The messages name the
 * shapes as a .net file's author writes them: the front end reports some of them as they are. */
#include <stdarg.h>
#include <stdio.h>
#include "graph.h"

typedef struct Rule {
  DlcOp op;
  Node *const *in;
  const NodeAttr *attr;
  Shape want;
  char *err;
  int errlen;
} Rule;

static bool fail(const Rule *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(const Rule *r, const char *fmt, ...) {
  if (!r->err) return false;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->err, (size_t)r->errlen, fmt, ap);
  va_end(ap);
  return false;
}

/* The shape of input k as the user writes it, in one of two buffers per call. */
static const char *in_str(const Rule *r, int k, char buf[][SHAPE_STR_MAX]) {
  return shape_user_str(r->in[k]->shape, buf[k], SHAPE_STR_MAX);
}

static Shape dims3(bool batched, int a, int b, int c) {
  int d[3] = {a, b, c};
  return shape_make(batched, 3, d);
}

static Shape dims2(bool batched, int a, int b) {
  int d[2] = {a, b};
  return shape_make(batched, 2, d);
}

static const Window *window_of(const Rule *r) { return r->attr ? r->attr->win : NULL; }

/* ---- leaves: their maker gives the shape ---- */

static bool rule_fed(const Rule *r, Shape *out) {
  if (!r->want.batched) return fail(r, "a fed value holds one value per example");
  *out = r->want;
  return true;
}

static bool rule_shared(const Rule *r, Shape *out) {
  if (r->want.batched) return fail(r, "a parameter, state or gradient is shared by the examples");
  *out = r->want;
  return true;
}

static bool rule_scalar(const Rule *r, Shape *out) {
  if (r->want.batched || r->want.rank != 0) return fail(r, "an inline value is one shared number");
  *out = r->want;
  return true;
}

/* ---- elementwise, reductions, rows ---- */

static bool rule_same(const Rule *r, Shape *out) {
  *out = r->in[0]->shape;
  return true;
}

static bool rule_broadcast(const Rule *r, Shape *out) {
  char s[2][SHAPE_STR_MAX], w[SHAPE_STR_MAX];
  if (!shape_broadcasts_to(r->in[0]->shape, r->want))
    return fail(r, "%s does not broadcast to %s", in_str(r, 0, s), shape_user_str(r->want, w, sizeof w));
  *out = r->want;
  return true;
}

static bool rule_binary(const Rule *r, Shape *out) {
  static const char *const symbol[OP_COUNT] = {[OP_ADD] = "+", [OP_SUB] = "-", [OP_MUL] = "*", [OP_DIV] = "/"};
  char s[2][SHAPE_STR_MAX];
  if (shape_broadcast(r->in[0]->shape, r->in[1]->shape, out)) return true;
  return fail(r, "shapes %s and %s do not match (nor broadcast) for '%s'", in_str(r, 0, s), in_str(r, 1, s),
              symbol[r->op] ? symbol[r->op] : op_name(r->op));
}

static bool rule_sum_to(const Rule *r, Shape *out) {
  char s[2][SHAPE_STR_MAX], w[SHAPE_STR_MAX];
  if (!shape_broadcasts_to(r->want, r->in[0]->shape))
    return fail(r, "a sum of %s to %s: the result does not broadcast back", in_str(r, 0, s),
                shape_user_str(r->want, w, sizeof w));
  *out = r->want;
  return true;
}

static bool rule_row(const Rule *r, Shape *out) {
  if (r->in[0]->shape.rank == 0) return fail(r, "'%s' needs at least one axis, got a scalar", op_name(r->op));
  *out = r->in[0]->shape;
  return true;
}

/* ---- matrix products ---- */

/* One product per example: each operand a per-example matrix or a shared one. */
static bool gemm_per_example(const Rule *r, Shape *out) {
  char s[2][SHAPE_STR_MAX];
  Shape a = r->in[0]->shape, b = r->in[1]->shape;
  if (a.rank != 2 || b.rank != 2 || !(a.batched || b.batched))
    return fail(r, "a product per example needs two matrices, one of them per example; got %s and %s", in_str(r, 0, s),
                in_str(r, 1, s));
  int m = r->attr->gemm.ta ? a.dim[1] : a.dim[0], ka = r->attr->gemm.ta ? a.dim[0] : a.dim[1];
  int kb = r->attr->gemm.tb ? b.dim[1] : b.dim[0], n = r->attr->gemm.tb ? b.dim[0] : b.dim[1];
  if (ka != kb)
    return fail(r, "matrix product of %s and %s: inner dimensions differ (%d vs %d)", in_str(r, 0, s), in_str(r, 1, s), ka, kb);
  *out = dims2(true, m, n);
  return true;
}

static bool rule_gemm(const Rule *r, Shape *out) {
  char s[2][SHAPE_STR_MAX];
  const Node *a = r->in[0], *b = r->in[1];
  MatDims va, vb;
  if (!r->attr) return fail(r, "a gemm needs its transpose flags");
  if (r->attr->gemm.per_example) return gemm_per_example(r, out);
  if (!gemm_dims(a->shape, &va) || !gemm_dims(b->shape, &vb))
    return fail(r, "matrix product needs a matrix [m, k] and either one vector [k] per example or a matrix [k, p]; got %s and %s",
                in_str(r, 0, s), in_str(r, 1, s));
  /* Each dimension of op(a) and op(b): a static size, times n when it is a batched row
   * dimension. The result may have batched rows but never batched columns; the contracted
   * dimension is batched on both sides (a sum over the batch) or on neither. */
  struct { int64_t size; bool batched; } ar = {va.rows, va.batched}, ac = {va.cols, false},
                                         br = {vb.rows, vb.batched}, bc = {vb.cols, false};
  if (r->attr->gemm.ta) { __typeof__(ar) t = ar; ar = ac; ac = t; }
  if (r->attr->gemm.tb) { __typeof__(br) t = br; br = bc; bc = t; }
  if (ac.size != br.size || ac.batched != br.batched || bc.batched)
    return fail(r, "matrix product of %s and %s: inner dimensions differ", in_str(r, 0, s), in_str(r, 1, s));
  if (ar.batched) /* rows come from a batched a: keep a's per-example rank */
    *out = a->shape.rank == 2 ? dims2(true, (int)ar.size, (int)bc.size) : shape_make(true, 1, (int[]){(int)bc.size});
  else
    *out = dims2(false, (int)ar.size, (int)bc.size);
  return true;
}

/* ---- views and data movement ---- */

static bool rule_reshape(const Rule *r, Shape *out) {
  char s[2][SHAPE_STR_MAX], w[SHAPE_STR_MAX];
  Shape a = r->in[0]->shape;
  if (shape_numel(a) != shape_numel(r->want) || a.batched != r->want.batched)
    return fail(r, "cannot reshape %s (%lld values) to %s (%lld values)", in_str(r, 0, s), (long long)shape_numel(a),
                shape_user_str(r->want, w, sizeof w), (long long)shape_numel(r->want));
  *out = r->want;
  return true;
}

static bool rule_permute(const Rule *r, Shape *out) {
  char s[2][SHAPE_STR_MAX];
  Shape a = r->in[0]->shape;
  bool seen[MAX_RANK] = {false};
  if (!r->attr || r->attr->axes.rank != a.rank)
    return fail(r, "a permutation of %s lists each of its %d axes once", in_str(r, 0, s), a.rank);
  *out = a;
  for (int i = 0; i < a.rank; i++) {
    int p = r->attr->axes.perm[i];
    if (p < 0 || p >= a.rank || seen[p])
      return fail(r, "a permutation of %s lists each of its %d axes once", in_str(r, 0, s), a.rank);
    seen[p] = true;
    out->dim[i] = a.dim[p];
  }
  return true;
}

/* Fails unless `axis` is an axis of input k. */
static bool need_axis(const Rule *r, int k, int axis) {
  char s[2][SHAPE_STR_MAX];
  if (axis >= 0 && axis < r->in[k]->shape.rank) return true;
  return fail(r, "axis %d of %s: it has %d", axis, in_str(r, k, s), r->in[k]->shape.rank);
}

static bool rule_concat(const Rule *r, Shape *out) {
  char s[2][SHAPE_STR_MAX];
  Shape a = r->in[0]->shape, b = r->in[1]->shape;
  int axis = r->attr ? r->attr->axis : -1;
  if (!need_axis(r, 0, axis)) return false;
  bool fits = a.rank == b.rank && a.batched == b.batched;
  for (int d = 0; fits && d < a.rank; d++) fits = d == axis || a.dim[d] == b.dim[d];
  if (!fits)
    return fail(r, "cannot concatenate %s and %s along axis %d: the other axes must be equal, and both per example or neither",
                in_str(r, 0, s), in_str(r, 1, s), axis);
  *out = a;
  out->dim[axis] = a.dim[axis] + b.dim[axis];
  return true;
}

/* SLICE and PAD: start and size along the axis; `inside` is the length of the part that is
 * kept (slice: the result's; pad: the input's), `whole` that of the longer one. */
static bool range_fits(const Rule *r, int whole) {
  char s[2][SHAPE_STR_MAX];
  int start = r->attr->range.start, size = r->attr->range.size, axis = r->attr->range.axis;
  int inside = r->op == OP_SLICE ? size : r->in[0]->shape.dim[axis];
  if (start >= 0 && size >= 1 && (int64_t)start + inside <= whole) return true;
  return fail(r, "positions %d to %d of axis %d of %s: that axis has %d", start, start + inside, axis, in_str(r, 0, s),
              r->op == OP_SLICE ? whole : inside);
}

static bool rule_slice(const Rule *r, Shape *out) {
  if (!r->attr || !need_axis(r, 0, r->attr->range.axis)) return r->attr ? false : fail(r, "a slice needs its range");
  if (!range_fits(r, r->in[0]->shape.dim[r->attr->range.axis])) return false;
  *out = r->in[0]->shape;
  out->dim[r->attr->range.axis] = r->attr->range.size;
  return true;
}

static bool rule_pad(const Rule *r, Shape *out) {
  if (!r->attr || !need_axis(r, 0, r->attr->range.axis)) return r->attr ? false : fail(r, "a pad needs its range");
  if (!range_fits(r, r->attr->range.size)) return false;
  *out = r->in[0]->shape;
  out->dim[r->attr->range.axis] = r->attr->range.size;
  return true;
}

/* A shape without one of its axes. */
static Shape drop_axis(Shape s, int axis) {
  for (int d = axis; d + 1 < s.rank; d++) s.dim[d] = s.dim[d + 1];
  s.dim[--s.rank] = 0;
  return s;
}

static bool rule_reduce_axis(const Rule *r, Shape *out) {
  if (!r->attr) return fail(r, "'%s' needs its axis", op_name(r->op));
  if (!need_axis(r, 0, r->attr->axis)) return false;
  *out = drop_axis(r->in[0]->shape, r->attr->axis);
  return true;
}

static bool rule_reduce_axis_back(const Rule *r, Shape *out) {
  char s[2][SHAPE_STR_MAX];
  if (!r->attr) return fail(r, "'%s' needs its axis", op_name(r->op));
  if (!need_axis(r, 0, r->attr->axis)) return false;
  if (!shape_equal(drop_axis(r->in[0]->shape, r->attr->axis), r->in[1]->shape))
    return fail(r, "%s is not %s without axis %d", in_str(r, 1, s), in_str(r, 0, s), r->attr->axis);
  *out = r->in[0]->shape;
  return true;
}

/* ---- windows over images ---- */

static bool is_image(Shape s, const Window *w) {
  return s.batched && s.rank == 3 && s.dim[0] == w->c && s.dim[1] == w->h && s.dim[2] == w->w;
}

/* Per-example [maps, rows, cols]. */
static bool is_maps(Shape s, int maps, int rows, int cols) {
  return s.batched && s.rank == 3 && s.dim[0] == maps && s.dim[1] == rows && s.dim[2] == cols;
}

static bool is_kernels(Shape s, const Window *w) {
  return !s.batched && w->maps > 0 && shape_numel(s) == (int64_t)conv_kernels(w) * w->k * w->k;
}

/* Fails unless input k is images [c, h, w] of the window. */
static bool need_images(const Rule *r, int k, const Window *w) {
  char s[2][SHAPE_STR_MAX];
  if (!w) return fail(r, "'%s' needs its window", op_name(r->op));
  if (is_image(r->in[k]->shape, w)) return true;
  return fail(r, "'%s' reads images [%d, %d, %d] per example, got %s", op_name(r->op), w->c, w->h, w->w, in_str(r, k, s));
}

/* Fails unless input k is the window's output, [maps, ho, wo]. */
static bool need_outputs(const Rule *r, int k, const Window *w, int maps) {
  char s[2][SHAPE_STR_MAX];
  if (!w) return fail(r, "'%s' needs its window", op_name(r->op));
  if (is_maps(r->in[k]->shape, maps, w->ho, w->wo)) return true;
  return fail(r, "'%s' reads [%d, %d, %d] per example, got %s", op_name(r->op), maps, w->ho, w->wo, in_str(r, k, s));
}

static bool need_kernels(const Rule *r, Shape s, const Window *w) {
  char buf[SHAPE_STR_MAX];
  if (is_kernels(s, w)) return true;
  return fail(r, "'%s' needs %d kernels of %dx%d, got %s", op_name(r->op), conv_kernels(w), w->k, w->k,
              shape_user_str(s, buf, sizeof buf));
}

static bool rule_im2col(const Rule *r, Shape *out) {
  const Window *w = window_of(r);
  if (!need_images(r, 0, w)) return false;
  *out = dims2(true, w->ho * w->wo, w->c * w->k * w->k);
  return true;
}

static bool rule_col2im(const Rule *r, Shape *out) {
  char s[2][SHAPE_STR_MAX];
  const Window *w = window_of(r);
  Shape a = r->in[0]->shape;
  if (!w) return fail(r, "'col2im' needs its window");
  if (!a.batched || a.rank != 2 || a.dim[0] != w->ho * w->wo || a.dim[1] != w->c * w->k * w->k)
    return fail(r, "'col2im' reads patches [%d, %d] per example, got %s", w->ho * w->wo, w->c * w->k * w->k, in_str(r, 0, s));
  *out = dims3(true, w->c, w->h, w->w);
  return true;
}

static bool rule_pool(const Rule *r, Shape *out) {
  const Window *w = window_of(r);
  if (!need_images(r, 0, w)) return false;
  if (w->pad) return fail(r, "pooling windows have no padding");
  *out = dims3(true, w->c, w->ho, w->wo);
  return true;
}

static bool rule_unpool(const Rule *r, Shape *out) {
  const Window *w = window_of(r);
  if (!need_outputs(r, 0, w, w ? w->c : 0)) return false;
  *out = dims3(true, w->c, w->h, w->w);
  return true;
}

static bool rule_maxpool_back(const Rule *r, Shape *out) {
  const Window *w = window_of(r);
  if (!need_images(r, 0, w) || !need_outputs(r, 1, w, w->c)) return false;
  *out = r->in[0]->shape;
  return true;
}

static bool rule_conv(const Rule *r, Shape *out) {
  const Window *w = window_of(r);
  if (!need_images(r, 0, w) || !need_kernels(r, r->in[1]->shape, w)) return false;
  *out = dims3(true, w->maps, w->ho, w->wo);
  return true;
}

static bool rule_conv_dx(const Rule *r, Shape *out) {
  const Window *w = window_of(r);
  if (!need_outputs(r, 0, w, w ? w->maps : 0) || !need_kernels(r, r->in[1]->shape, w)) return false;
  *out = dims3(true, w->c, w->h, w->w);
  return true;
}

static bool rule_conv_dw(const Rule *r, Shape *out) {
  const Window *w = window_of(r);
  if (!need_outputs(r, 0, w, w ? w->maps : 0) || !need_images(r, 1, w) || !need_kernels(r, r->want, w)) return false;
  *out = r->want;
  return true;
}

/* ---- effects ---- */

static bool rule_assign(const Rule *r, Shape *out) {
  char s[2][SHAPE_STR_MAX];
  const Node *leaf = r->in[0];
  if (leaf->op != OP_PARAM && leaf->op != OP_STATE) return fail(r, "only a parameter or state is assigned to");
  if (!shape_equal(leaf->shape, r->in[1]->shape))
    return fail(r, "assigning %s to %s", in_str(r, 1, s), in_str(r, 0, s));
  *out = leaf->shape;
  return true;
}

/* The rules by op, generated from ops.def: an op whose rule is missing does not compile. */
typedef bool ShapeRule(const Rule *r, Shape *out);
static ShapeRule *const rules[OP_COUNT] = {
#define OP(id, name, arity, cls, grad, flags, attr, shape) [OP_##id] = rule_##shape,
#include "ops.def"
#undef OP
};

bool op_shape(DlcOp op, Node *const *in, const NodeAttr *attr, Shape want, Shape *out, char *err, int errlen) {
  Rule r = {op, in, attr, want, err, errlen};
  for (int k = 0; k < op_info(op)->arity; k++)
    if (!in[k]) return fail(&r, "'%s' is missing input %d", op_name(op), k + 1);
  return rules[op](&r, out);
}
