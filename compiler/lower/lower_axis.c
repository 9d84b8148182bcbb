/* lower_axis.c — ops along the axes of per-example tensors: permute, concat, slice, pad,
 * and the maximum along an axis (with its gradient). Each mirrors the reference in
 * graph/interp.c.
 *
 * A tensor around one axis is [outer, len, inner] per example (shape_axis_split), so these
 * ops are copies of contiguous runs: concat copies len_a * inner then len_b * inner floats
 * per (example, outer) position, slice and pad one run at an offset. Runs are copied in
 * <16 x float> vectors, the last one masked; their lengths are constants, so the vector
 * loop and its masks are too. The maximum along an axis is vectorised over the inner
 * positions (a select per vector); along the last axis (inner = 1) it is a scalar loop. A
 * permutation that keeps the last axes in place copies those as runs; one that moves the
 * last axis is a scalar loop that reads the input in order. */
#include "lower_private.h"

#define add ix_add
#define mulk ix_mulk
#define addk ix_addk

/* dst[di .. di + count) = src[si .. si + count), count a constant: whole vectors in a loop (or
 * one, unrolled), then one masked vector for the rest. */
static void copy_run(LowerCtx *c, LLVMValueRef dst, LLVMValueRef di, LLVMValueRef src, LLVMValueRef si, int64_t count) {
  int64_t whole = count / LANES, rest = count % LANES;
  if (whole == 1) {
    store_vec(c, load_vec(c, src, si, NULL), dst, di, NULL);
  } else if (whole > 1) {
    Loop l;
    LLVMValueRef off = mulk(c, loop_begin(c, &l, c_i64(c, whole), "run"), LANES);
    store_vec(c, load_vec(c, src, add(c, si, off), NULL), dst, add(c, di, off), NULL);
    loop_end(c, &l);
  }
  if (rest) {
    LLVMValueRef mask = lanes_below(c, (int)rest);
    store_vec(c, load_vec(c, src, addk(c, si, whole * LANES), mask), dst, addk(c, di, whole * LANES), mask);
  }
}

static int axis_of(const Node *y) { return y->op == OP_CONCAT || y->op == OP_REDUCE_MAX || y->op == OP_REDUCE_MAX_BACK ? y->attr.axis : y->attr.range.axis; }

/* Positions before the axis, over the whole batch: rows times outer. */
static LLVMValueRef outer_count(LowerCtx *c, const Node *x, int axis, int64_t *len, int64_t *inner) {
  int64_t outer;
  shape_axis_split(x->shape, axis, &outer, len, inner);
  return mulk(c, rows_of(c, x), outer);
}

/* CONCAT: per (example, outer) position, a's run then b's. SLICE: the run from start. PAD:
 * zeros, then the input's run at start. */
static void lower_along_axis(LowerCtx *c, const Node *y) {
  int axis = axis_of(y);
  int64_t len_y, inner, len_a, len_b;
  const Node *a = y->in[0];
  LLVMValueRef out = buffer_of(c, y), in = buffer_of(c, a);
  LLVMValueRef count = outer_count(c, y, axis, &len_y, &inner);
  shape_axis_split(a->shape, axis, &(int64_t){0}, &len_a, &inner);
  if (y->op == OP_PAD) fill_zeros(c, out, mulk(c, count, len_y * inner));
  Loop l;
  LLVMValueRef r = loop_begin(c, &l, count, "outer");
  LLVMValueRef at_y = mulk(c, r, len_y * inner), at_a = mulk(c, r, len_a * inner);
  switch (y->op) {
  case OP_CONCAT:
    len_b = y->in[1]->shape.dim[axis];
    copy_run(c, out, at_y, in, at_a, len_a * inner);
    copy_run(c, out, addk(c, at_y, len_a * inner), buffer_of(c, y->in[1]), mulk(c, r, len_b * inner), len_b * inner);
    break;
  case OP_SLICE: copy_run(c, out, at_y, in, addk(c, at_a, (int64_t)y->attr.range.start * inner), len_y * inner); break;
  case OP_PAD: copy_run(c, out, addk(c, at_y, (int64_t)y->attr.range.start * inner), in, at_a, len_a * inner); break;
  default: DLC_UNREACHABLE();
  }
  loop_end(c, &l);
}

/* PERMUTE. The trailing axes that stay in place (out axis i is input axis i for every i from
 * `keep` on) are runs of `run` contiguous floats in both; the loops go over the input's other
 * axes in order, each iteration one run (a vector copy) or, if no axis stays, one float. */
static void lower_permute(LowerCtx *c, const Node *y) {
  const Node *a = y->in[0];
  Shape s = a->shape;
  int rank = s.rank, keep = rank;
  while (keep > 0 && y->attr.axes.perm[keep - 1] == keep - 1) keep--;
  int64_t run = 1, per = shape_numel(s), out_stride[MAX_RANK], in_stride[MAX_RANK];
  for (int d = keep; d < rank; d++) run *= s.dim[d];
  for (int d = rank - 1, st = 1; d >= 0; st *= y->shape.dim[d], d--) out_stride[d] = st;
  for (int d = rank - 1, st = 1; d >= 0; st *= s.dim[d], d--) in_stride[d] = st;
  int position[MAX_RANK]; /* where input axis j goes in the output */
  for (int i = 0; i < rank; i++) position[y->attr.axes.perm[i]] = i;
  LLVMValueRef in = buffer_of(c, a), out = buffer_of(c, y);
  Loop lr, l[MAX_RANK];
  LLVMValueRef r = loop_begin(c, &lr, rows_of(c, y), "example");
  LLVMValueRef at_in = mulk(c, r, per), at_out = at_in;
  for (int j = 0; j < keep; j++) {
    LLVMValueRef k = loop_begin(c, &l[j], c_i64(c, s.dim[j]), "axis");
    at_in = add(c, at_in, mulk(c, k, in_stride[j]));
    at_out = add(c, at_out, mulk(c, k, out_stride[position[j]]));
  }
  if (keep == rank) store_f32(c, load_f32(c, in, at_in), out, at_out); /* the last axis moves: one float */
  else copy_run(c, out, at_out, in, at_in, run);
  for (int j = keep - 1; j >= 0; j--) loop_end(c, &l[j]);
  loop_end(c, &lr);
}

/* REDUCE_MAX, and REDUCE_MAX_BACK in two passes: the first maximum's position along the axis
 * (best value and position, kept where a later value is not larger), then every element of
 * the gradient along the axis written: dy at that position, 0 elsewhere. Over `on` inner
 * positions at a time: a vector of them (on <= LANES), or one float (on = 0). */
static void max_along(LowerCtx *c, const Node *y, LLVMValueRef r, LLVMValueRef i, int64_t len, int64_t inner, int on) {
  bool back = y->op == OP_REDUCE_MAX_BACK;
  LLVMValueRef in = buffer_of(c, y->in[0]), out = buffer_of(c, y), mask = on && on < LANES ? lanes_below(c, on) : NULL;
  LLVMTypeRef idx_t = on ? LLVMVectorType(c->i32, LANES) : c->i32;
  LLVMValueRef best_v = entry_alloca(c, on ? vec_t(c) : c->f32, "best"), best_j = entry_alloca(c, idx_t, "best_at");
  LLVMValueRef base = add(c, mulk(c, r, len * inner), i); /* element (r, 0, i) */
#define LOAD(b, at) (on ? load_vec(c, b, at, mask) : load_f32(c, b, at))
#define IDX(v) (on ? splat(c, v) : v)
  LLVMBuildStore(c->b, LOAD(in, base), best_v);
  LLVMBuildStore(c->b, LLVMConstNull(idx_t), best_j);
  Loop lj;
  LLVMValueRef j = loop_begin(c, &lj, c_i64(c, len), "along");
  LLVMValueRef v = LOAD(in, add(c, base, mulk(c, j, inner)));
  LLVMValueRef b = LLVMBuildLoad2(c->b, on ? vec_t(c) : c->f32, best_v, "");
  LLVMValueRef more = LLVMBuildFCmp(c->b, LLVMRealOGT, v, b, "more");
  LLVMBuildStore(c->b, LLVMBuildSelect(c->b, more, v, b, ""), best_v);
  LLVMValueRef jj = IDX(LLVMBuildTrunc(c->b, j, c->i32, ""));
  LLVMBuildStore(c->b, LLVMBuildSelect(c->b, more, jj, LLVMBuildLoad2(c->b, idx_t, best_j, ""), ""), best_j);
  loop_end(c, &lj);
  if (!back) {
    LLVMValueRef at = add(c, mulk(c, r, inner), i), m = LLVMBuildLoad2(c->b, on ? vec_t(c) : c->f32, best_v, "");
    if (on) store_vec(c, m, out, at, mask);
    else store_f32(c, m, out, at);
    return;
  }
  LLVMValueRef dy = LOAD(buffer_of(c, y->in[1]), add(c, mulk(c, r, inner), i)), where = LLVMBuildLoad2(c->b, idx_t, best_j, "");
  LLVMValueRef zero = on ? LLVMConstNull(vec_t(c)) : c_f32(c, 0);
  j = loop_begin(c, &lj, c_i64(c, len), "route");
  LLVMValueRef here = LLVMBuildICmp(c->b, LLVMIntEQ, where, IDX(LLVMBuildTrunc(c->b, j, c->i32, "")), "");
  LLVMValueRef g = LLVMBuildSelect(c->b, here, dy, zero, ""), at = add(c, base, mulk(c, j, inner));
  if (on) store_vec(c, g, out, at, mask);
  else store_f32(c, g, out, at);
  loop_end(c, &lj);
#undef LOAD
#undef IDX
}

static void lower_reduce_max(LowerCtx *c, const Node *y) {
  int64_t len, inner;
  LLVMValueRef count = outer_count(c, y->in[0], y->attr.axis, &len, &inner);
  Loop lr, li;
  LLVMValueRef r = loop_begin(c, &lr, count, "outer");
  if (inner == 1) {
    max_along(c, y, r, c_i64(c, 0), len, inner, 0);
  } else {
    if (inner / LANES) {
      LLVMValueRef i = mulk(c, loop_begin(c, &li, c_i64(c, inner / LANES), "inner"), LANES);
      max_along(c, y, r, i, len, inner, LANES);
      loop_end(c, &li);
    }
    if (inner % LANES) max_along(c, y, r, c_i64(c, inner / LANES * LANES), len, inner, (int)(inner % LANES));
  }
  loop_end(c, &lr);
}

void lower_axis_op(LowerCtx *c, const Node *y) {
  switch (y->op) {
  case OP_PERMUTE: lower_permute(c, y); break;
  case OP_CONCAT:
  case OP_SLICE:
  case OP_PAD: lower_along_axis(c, y); break;
  case OP_REDUCE_MAX:
  case OP_REDUCE_MAX_BACK: lower_reduce_max(c, y); break;
  default: DLC_UNREACHABLE();
  }
}
