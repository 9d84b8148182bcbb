/* conv_winograd.c — the passes that opt/conv_algo.c gives Winograd's F(4x4, 3x3): a call to
 * runtime/winograd.c, with the node's workspace (lower_workspace) as its scratch. conv_dx is
 * the same convolution of dy, padded by 2 - pad, with the kernels turned by 180 degrees and
 * their input and output maps swapped (the runtime's flip); conv_dw sums the forward
 * convolution's tiles (dlrt_winograd_dw). */
#include "dlrt.h"
#include "lower_private.h"

/* The convolution a pass computes: input maps, their size, output maps, padding, flip. */
typedef struct WinogradConv {
  int cin, h, w, cout, pad, flip;
} WinogradConv;

static WinogradConv conv_of(const Node *y) {
  const Window *w = y->attr.win;
  DLC_ASSERT(w->k == 3 && w->stride == 1 && w->pad <= 2 && !w->connect);
  if (y->op == OP_CONV || y->op == OP_CONV_DW) return (WinogradConv){w->c, w->h, w->w, w->maps, w->pad, 0};
  DLC_ASSERT(y->op == OP_CONV_DX);
  return (WinogradConv){w->maps, w->ho, w->wo, w->c, 2 - w->pad, 1};
}

void lower_conv_winograd(LowerCtx *c, const Node *y) {
  WinogradConv v = conv_of(y);
  DLC_ASSERT(c->plan->workspace[y->id] >= 0);
  LLVMValueRef ws = arena_at(c, c->plan->workspace[y->id], "workspace");
  if (y->op == OP_CONV_DW) { /* dlrt_winograd_dw(dy, x, dW, ws, n, cin, h, w, cout, pad) */
    LLVMTypeRef p[10] = {c->ptr, c->ptr, c->ptr, c->ptr, c->i64, c->i32, c->i32, c->i32, c->i32, c->i32};
    LLVMValueRef args[10] = {buffer_of(c, y->in[0]), buffer_of(c, y->in[1]), buffer_of(c, y), ws, c->n, c_i32(c, v.cin),
                             c_i32(c, v.h),          c_i32(c, v.w),          c_i32(c, v.cout), c_i32(c, v.pad)};
    call_fn(c, "dlrt_winograd_dw", LLVMVoidTypeInContext(c->ctx), p, 10, args);
    return;
  }
  LLVMValueRef x = buffer_of(c, y->in[0]), W = buffer_of(c, y->in[1]);
  LLVMTypeRef p[11] = {c->ptr, c->ptr, c->ptr, c->ptr, c->i64, c->i32, c->i32, c->i32, c->i32, c->i32, c->i32};
  LLVMValueRef args[11] = {x,        W,           buffer_of(c, y), ws,           c->n,         c_i32(c, v.cin),
                           c_i32(c, v.h), c_i32(c, v.w), c_i32(c, v.cout), c_i32(c, v.pad), c_i32(c, v.flip)};
  call_fn(c, "dlrt_winograd_conv", LLVMVoidTypeInContext(c->ctx), p, 11, args);
}

int64_t conv_winograd_workspace(const Node *y, int batch) {
  WinogradConv v = conv_of(y);
  return dlrt_winograd_workspace(batch, v.cin, v.h, v.w, v.cout, v.pad);
}
