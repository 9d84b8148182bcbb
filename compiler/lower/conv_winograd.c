/* conv_winograd.c — the passes that opt/conv_algo.c gives Winograd's F(4x4, 3x3): a call to
 * runtime/winograd.c, with the node's workspace (lower_workspace) as its scratch. conv_dx is
 * the same convolution of dy, padded by 2 - pad, with the kernels turned by 180 degrees and
 * their input and output maps swapped (the runtime's flip); conv_dw sums the forward
 * convolution's tiles (dlrt_winograd_dw). conv and conv_dx take the epilogues the runtime
 * computes (opt/conv_algo.c, winograd_epilogue): a bias per map, then ReLU. */
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
  /* an epilogue (opt/epilogue.c allows only the trees winograd_epilogue knows): computed by
   * the runtime on each map's output tiles, stored into the tree's buffer */
  const Node *root = c->sched->epilogue ? c->sched->epilogue[y->id] : NULL;
  WinogradEpilogue e = {NULL, false};
  bool known = !root || winograd_epilogue(c->sched, y, root, &e);
  DLC_ASSERT(known);
  LLVMValueRef x = buffer_of(c, y->in[0]), W = buffer_of(c, y->in[1]);
  LLVMTypeRef p[13] = {c->ptr, c->ptr, c->ptr, c->ptr, c->i64, c->i32, c->i32,
                       c->i32, c->i32, c->i32, c->i32, c->ptr, c->i32};
  LLVMValueRef args[13] = {x,
                           W,
                           lower_kernel_output(c, y),
                           ws,
                           c->n,
                           c_i32(c, v.cin),
                           c_i32(c, v.h),
                           c_i32(c, v.w),
                           c_i32(c, v.cout),
                           c_i32(c, v.pad),
                           c_i32(c, v.flip),
                           e.bias ? buffer_of(c, e.bias) : LLVMConstNull(c->ptr),
                           c_i32(c, e.relu)};
  call_fn(c, "dlrt_winograd_conv", LLVMVoidTypeInContext(c->ctx), p, 13, args);
}

int64_t conv_winograd_workspace(const Node *y, int batch) {
  WinogradConv v = conv_of(y);
  return dlrt_winograd_workspace(batch, v.cin, v.h, v.w, v.cout, v.pad);
}
