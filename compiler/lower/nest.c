/* nest.c — strided loop nests with dimension merging; see nest.h. */
#include "nest.h"

/* Row-major stride of dimension d of s (counted from the right: 0 = last), or 0 if s is
 * broadcast along it. */
static int64_t feature_stride(Shape s, int from_right) {
  if (from_right >= s.rank || s.dim[s.rank - 1 - from_right] == 1) return 0;
  int64_t stride = 1;
  for (int i = 0; i < from_right; i++) stride *= s.dim[s.rank - 1 - i];
  return stride;
}

void nest_plan(Nest *n, Shape space, const Shape *ops, int n_ops) {
  DLC_ASSERT(n_ops <= NEST_MAX_OPERANDS);
  *n = (Nest){0};
  n->operands = n_ops;
  if (space.batched) {
    n->count[0] = 1;
    n->by_n[0] = true;
    for (int k = 0; k < n_ops; k++) n->stride[k][0] = ops[k].batched ? shape_numel(ops[k]) : 0;
    n->dims = 1;
  }
  for (int d = 0; d < space.rank; d++) {
    int i = n->dims++;
    n->count[i] = space.dim[d];
    for (int k = 0; k < n_ops; k++) n->stride[k][i] = feature_stride(ops[k], space.rank - 1 - d);
  }
  /* Merge dimension i into i + 1 where every operand walks them as one contiguous run. */
  for (int i = n->dims - 2; i >= 0; i--) {
    bool contiguous = !n->by_n[i + 1];
    for (int k = 0; k < n_ops && contiguous; k++)
      contiguous = n->stride[k][i] == n->stride[k][i + 1] * n->count[i + 1];
    if (!contiguous) continue;
    n->count[i + 1] *= n->count[i];
    n->by_n[i + 1] = n->by_n[i];
    for (int j = i; j + 1 < n->dims; j++) {
      n->count[j] = n->count[j + 1];
      n->by_n[j] = n->by_n[j + 1];
      for (int k = 0; k < n_ops; k++) n->stride[k][j] = n->stride[k][j + 1];
    }
    n->dims--;
  }
  /* Size-1 loops (a scalar space) still need one iteration: keep at least one dimension. */
  if (n->dims == 0) {
    n->dims = 1;
    n->count[0] = 1;
  }
}

/* Loop i's trip count: count[i], times the batch's rows if by_n. */
static LLVMValueRef trip_count(LowerCtx *c, const Nest *n, int i) {
  LLVMValueRef count = c_i64(c, n->count[i]);
  if (n->by_n[i]) count = n->count[i] == 1 ? c->n : LLVMBuildMul(c->b, c->n, count, "count");
  return count;
}

static void open_loop(LowerCtx *c, Nest *n, int i) {
  loop_begin(c, &n->loop[i], trip_count(c, n, i), i == n->dims - 1 ? "i" : "d");
}

void nest_begin_outer(LowerCtx *c, Nest *n) {
  for (int i = 0; i + 1 < n->dims; i++) open_loop(c, n, i);
}

void nest_begin_inner(LowerCtx *c, Nest *n) { open_loop(c, n, n->dims - 1); }

bool nest_inner_invariant(const Nest *n, int k) { return n->stride[k][n->dims - 1] == 0; }

/* The index of operand k from the outer loops only (valid between the two begins). */
static LLVMValueRef outer_index(LowerCtx *c, const Nest *n, int k) {
  LLVMValueRef idx = c_i64(c, 0);
  for (int i = 0; i + 1 < n->dims; i++) {
    int64_t s = n->stride[k][i];
    if (s == 0) continue;
    LLVMValueRef term = s == 1 ? n->loop[i].iv : LLVMBuildNSWMul(c->b, n->loop[i].iv, c_i64(c, s), "");
    idx = LLVMBuildNSWAdd(c->b, idx, term, "idx");
  }
  return idx;
}

LLVMValueRef nest_index(LowerCtx *c, const Nest *n, int k) {
  LLVMValueRef idx = outer_index(c, n, k);
  int64_t s = n->stride[k][n->dims - 1];
  if (s == 0) return idx;
  LLVMValueRef iv = n->vector ? n->inner : n->loop[n->dims - 1].iv;
  return LLVMBuildNSWAdd(c->b, idx, s == 1 ? iv : LLVMBuildNSWMul(c->b, iv, c_i64(c, s), ""), "idx");
}

LLVMValueRef nest_outer_index(LowerCtx *c, const Nest *n, int k) { return outer_index(c, n, k); }

bool nest_vectorisable(const Nest *n) {
  for (int k = 0; k < n->operands; k++)
    if (n->stride[k][n->dims - 1] > 1) return false;
  return true;
}

void nest_inner_vectors(LowerCtx *c, Nest *n, NestBody *body, void *arg) {
  DLC_ASSERT(nest_vectorisable(n) && LANES == 16);
  int i = n->dims - 1;
  n->vector = true;
  n->mask = NULL;
  if (!n->by_n[i] && n->count[i] % LANES == 0) { /* whole vectors only */
    n->inner = ix_mulk(c, loop_begin(c, &n->loop[i], c_i64(c, n->count[i] / LANES), "i"), LANES);
    body(c, n, arg);
    loop_end(c, &n->loop[i]);
    return;
  }
  LLVMValueRef count = trip_count(c, n, i);
  if (c->mask_every_vector) {
    /* Every vector masked, rather than the body twice (once more for the last vector): the
     * code is half as large, and a mask costs two instructions where AVX-512 has them. */
    LLVMValueRef vectors = LLVMBuildLShr(c->b, ix_addk(c, count, LANES - 1), c_i64(c, 4), "vectors");
    n->inner = ix_mulk(c, loop_begin(c, &n->loop[i], vectors, "i"), LANES);
    n->mask = lanes_below_value(c, LLVMBuildNSWSub(c->b, count, n->inner, "rest"));
    body(c, n, arg);
    loop_end(c, &n->loop[i]);
    return;
  }
  /* Whole vectors unmasked, then one masked vector of what is left, if anything is. */
  LLVMValueRef whole = LLVMBuildLShr(c->b, count, c_i64(c, 4), "vectors");
  n->inner = ix_mulk(c, loop_begin(c, &n->loop[i], whole, "i"), LANES);
  body(c, n, arg);
  loop_end(c, &n->loop[i]);
  n->inner = ix_mulk(c, whole, LANES);
  LLVMValueRef rest = LLVMBuildNSWSub(c->b, count, n->inner, "rest");
  LLVMBasicBlockRef tail = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "tail");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "tail_done");
  LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntSGT, rest, c_i64(c, 0), ""), tail, done);
  LLVMPositionBuilderAtEnd(c->b, tail);
  n->mask = lanes_below_value(c, rest);
  body(c, n, arg);
  LLVMBuildBr(c->b, done);
  LLVMPositionBuilderAtEnd(c->b, done);
}

LLVMValueRef nest_load(LowerCtx *c, const Nest *n, int k, LLVMValueRef base) {
  if (!n->vector) return load_f32(c, base, nest_index(c, n, k));
  if (nest_inner_invariant(n, k)) return splat(c, load_f32(c, base, nest_index(c, n, k)));
  return load_vec(c, base, nest_index(c, n, k), n->mask);
}

void nest_store(LowerCtx *c, const Nest *n, int k, LLVMValueRef base, LLVMValueRef v) {
  if (!n->vector) store_f32(c, v, base, nest_index(c, n, k));
  else store_vec(c, v, base, nest_index(c, n, k), n->mask);
}

void nest_end(LowerCtx *c, Nest *n) {
  /* nest_inner_vectors closed the innermost loop itself */
  for (int i = n->dims - 1 - n->vector; i >= 0; i--) loop_end(c, &n->loop[i]);
}
