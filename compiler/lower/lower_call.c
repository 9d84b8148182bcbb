/* lower_call.c — ops lowered to calls into the runtime (runtime/dlrt.h). */
#include "lower_private.h"

/* A gemm operand's physical matrix (gemm_dims), with n substituted for batched rows. */
static void matrix_dims(LowerCtx *c, const Node *x, LLVMValueRef *rows, LLVMValueRef *cols) {
  MatDims d;
  DLC_ASSERT(gemm_dims(x->shape, &d));
  *rows = d.batched ? LLVMBuildMul(c->b, c->n, c_i64(c, d.rows), "rows") : c_i64(c, d.rows);
  *cols = c_i64(c, d.cols);
}

static void call_gemm(LowerCtx *c, bool ta, bool tb, LLVMValueRef M, LLVMValueRef N, LLVMValueRef K, LLVMValueRef a,
                      LLVMValueRef lda, LLVMValueRef b, LLVMValueRef ldb, LLVMValueRef y, LLVMValueRef ldc) {
  LLVMTypeRef p[12] = {c->i32, c->i32, c->i64, c->i64, c->i64, c->ptr, c->i64, c->ptr, c->i64, c->f32, c->ptr, c->i64};
  LLVMValueRef args[12] = {c_i32(c, ta), c_i32(c, tb), M, N, K, a, lda, b, ldb, c_f32(c, 0), y, ldc};
  call_fn(c, "dlrt_gemm", LLVMVoidTypeInContext(c->ctx), p, 12, args);
}

/* One product per example: a loop over the examples, each a dlrt_gemm on that example's
 * matrices (a shared operand is the same matrix every time). */
static void lower_gemm_per_example(LowerCtx *c, const Node *y) {
  const Node *a = y->in[0], *b = y->in[1];
  bool ta = y->attr.gemm.ta, tb = y->attr.gemm.tb;
  int64_t ar = a->shape.dim[0], ac = a->shape.dim[1], br = b->shape.dim[0], bc = b->shape.dim[1];
  int64_t M = y->shape.dim[0], N = y->shape.dim[1], K = ta ? ar : ac;
  Loop l;
  LLVMValueRef r = loop_begin(c, &l, c->n, "example");
  LLVMValueRef pa = elem_ptr(c, buffer_of(c, a), a->shape.batched ? ix_mulk(c, r, ar * ac) : c_i64(c, 0));
  LLVMValueRef pb = elem_ptr(c, buffer_of(c, b), b->shape.batched ? ix_mulk(c, r, br * bc) : c_i64(c, 0));
  LLVMValueRef py = elem_ptr(c, buffer_of(c, y), ix_mulk(c, r, M * N));
  call_gemm(c, ta, tb, c_i64(c, M), c_i64(c, N), c_i64(c, K), pa, c_i64(c, ac), pb, c_i64(c, bc), py, c_i64(c, N));
  loop_end(c, &l);
}

/* y = op(a) op(b): dlrt_gemm(ta, tb, M, N, K, a, lda, b, ldb, beta = 0, y, ldc). */
void lower_gemm(LowerCtx *c, const Node *y) {
  const Node *a = y->in[0], *b = y->in[1];
  bool ta = y->attr.gemm.ta, tb = y->attr.gemm.tb;
  if (y->attr.gemm.per_example) {
    lower_gemm_per_example(c, y);
    return;
  }
  LLVMValueRef ar, ac, br, bc;
  matrix_dims(c, a, &ar, &ac);
  matrix_dims(c, b, &br, &bc);
  LLVMValueRef M = ta ? ac : ar, K = ta ? ar : ac, N = tb ? br : bc;
  call_gemm(c, ta, tb, M, N, K, buffer_of(c, a), ac, buffer_of(c, b), bc, buffer_of(c, y), N);
}

/* IM2COL: dlrt_im2col(x, cols, n, c, h, w, k, stride, pad); COL2IM the same with the roles
 * of the two buffers swapped (dlrt_col2im(cols, x, ...)). */
void lower_im2col(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  LLVMTypeRef p[9] = {c->ptr, c->ptr, c->i64, c->i32, c->i32, c->i32, c->i32, c->i32, c->i32};
  LLVMValueRef args[9] = {buffer_of(c, y->in[0]), buffer_of(c, y), c->n, c_i32(c, w->c), c_i32(c, w->h),
                          c_i32(c, w->w), c_i32(c, w->k), c_i32(c, w->stride), c_i32(c, w->pad)};
  call_fn(c, y->op == OP_IM2COL ? "dlrt_im2col" : "dlrt_col2im", LLVMVoidTypeInContext(c->ctx), p, 9, args);
}
