/* lower_call.c — ops lowered to calls into the runtime (runtime/dlrt.h). */
#include "lower_private.h"

/* A gemm operand's physical matrix: a batched [k] is n x k, an unbatched [m, k] is m x k. */
static void matrix_dims(LowerCtx *c, const Node *x, LLVMValueRef *rows, LLVMValueRef *cols) {
  if (x->shape.batched) {
    *rows = c->n;
    *cols = c_i64(c, x->shape.dim[0]);
  } else {
    *rows = c_i64(c, x->shape.dim[0]);
    *cols = c_i64(c, x->shape.dim[1]);
  }
}

/* y = op(a) op(b): dlrt_gemm(ta, tb, M, N, K, a, lda, b, ldb, beta = 0, y, ldc). */
void lower_gemm(LowerCtx *c, const Node *y) {
  const Node *a = y->in[0], *b = y->in[1];
  bool ta = y->attr.gemm.ta, tb = y->attr.gemm.tb;
  LLVMValueRef ar, ac, br, bc;
  matrix_dims(c, a, &ar, &ac);
  matrix_dims(c, b, &br, &bc);
  LLVMValueRef M = ta ? ac : ar, K = ta ? ar : ac, N = tb ? br : bc;
  LLVMTypeRef p[12] = {c->i32, c->i32, c->i64, c->i64, c->i64, c->ptr,
                       c->i64, c->ptr, c->i64, c->f32, c->ptr, c->i64};
  LLVMValueRef args[12] = {c_i32(c, ta), c_i32(c, tb), M, N, K, buffer_of(c, a), ac,
                           buffer_of(c, b), bc, c_f32(c, 0), buffer_of(c, y), N};
  call_fn(c, "dlrt_gemm", LLVMVoidTypeInContext(c->ctx), p, 12, args);
}
