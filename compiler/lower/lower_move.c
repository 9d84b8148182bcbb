/* lower_move.c — loop nests for image windows: sum and max pooling and their backward ops;
 * the MOVE ops along axes are in lower_axis.c. Each mirrors the reference in
 * graph/interp.c; trip counts are constants, and each window's k x k cells are unrolled
 * here. im2col/col2im are runtime calls (lower_call.c). */
#include "lower_private.h"

#define add ix_add
#define mul_k ix_mulk
/* ((a * m) + b) — the row-major index step used everywhere below */
static LLVMValueRef mad(LowerCtx *c, LLVMValueRef a, int64_t m, LLVMValueRef b) { return add(c, mul_k(c, a, m), b); }

static LLVMValueRef count_of(LowerCtx *c, const Node *x) { return mul_k(c, rows_of(c, x), shape_numel(x->shape)); }

/* The loops over images, channels and output cells of a window op; ends with the builder in
 * the innermost body. Returns the flat output-cell index ((r*c + ch)*ho + oy)*wo + ox and the
 * top-left input index of its window (pooling windows have no padding). */
typedef struct WindowLoops {
  Loop img, ch, oy, ox;
  LLVMValueRef cell, corner;
} WindowLoops;

static void window_begin(LowerCtx *c, WindowLoops *wl, const Window *w, LLVMValueRef rows) {
  LLVMValueRef r = loop_begin(c, &wl->img, rows, "img");
  LLVMValueRef ch = loop_begin(c, &wl->ch, c_i64(c, w->c), "ch");
  LLVMValueRef oy = loop_begin(c, &wl->oy, c_i64(c, w->ho), "oy");
  LLVMValueRef ox = loop_begin(c, &wl->ox, c_i64(c, w->wo), "ox");
  LLVMValueRef plane = mad(c, r, w->c, ch);
  wl->cell = mad(c, mad(c, plane, w->ho, oy), w->wo, ox);
  wl->corner = mad(c, mad(c, plane, w->h, mul_k(c, oy, w->stride)), w->w, mul_k(c, ox, w->stride));
}

static void window_end(LowerCtx *c, WindowLoops *wl) {
  loop_end(c, &wl->ox);
  loop_end(c, &wl->oy);
  loop_end(c, &wl->ch);
  loop_end(c, &wl->img);
}

/* Input index of window cell (ky, kx) of the window at `corner`. */
static LLVMValueRef window_at(LowerCtx *c, const Window *w, LLVMValueRef corner, int ky, int kx) {
  return add(c, corner, c_i64(c, (int64_t)ky * w->w + kx));
}

/* POOL_SUM: out = sum of the window. UNPOOL_SUM: every window cell += out's gradient. */
static void lower_pool_sum(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  if (lower_pool_in_vectors(w)) { /* windows that tile the image: lower_pool.c */
    lower_pool_vectors(c, y);
    return;
  }
  bool forward = y->op == OP_POOL_SUM;
  LLVMValueRef in = buffer_of(c, y->in[0]), out = buffer_of(c, y);
  if (!forward) fill_zeros(c, out, count_of(c, y));
  WindowLoops wl;
  window_begin(c, &wl, w, rows_of(c, y));
  LLVMValueRef sum = c_f32(c, 0), g = forward ? NULL : load_f32(c, in, wl.cell);
  for (int ky = 0; ky < w->k; ky++)
    for (int kx = 0; kx < w->k; kx++) {
      LLVMValueRef at = window_at(c, w, wl.corner, ky, kx);
      if (forward) sum = LLVMBuildFAdd(c->b, sum, load_f32(c, in, at), "");
      else store_f32(c, LLVMBuildFAdd(c->b, load_f32(c, out, at), g, ""), out, at);
    }
  if (forward) store_f32(c, sum, out, wl.cell);
  window_end(c, &wl);
}

/* MAXPOOL: out = the window's maximum. MAXPOOL_BACK: the first maximum's cell += the
 * gradient (ties go to the first, as in the reference). */
static void lower_maxpool(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  if (lower_pool_in_vectors(w)) { /* windows that tile the image: lower_pool.c */
    lower_pool_vectors(c, y);
    return;
  }
  bool forward = y->op == OP_MAXPOOL;
  const Node *x = y->in[0];
  LLVMValueRef in = buffer_of(c, x), out = buffer_of(c, y);
  LLVMValueRef dy = forward ? NULL : buffer_of(c, y->in[1]);
  if (!forward) fill_zeros(c, out, count_of(c, y));
  WindowLoops wl;
  window_begin(c, &wl, w, rows_of(c, y));
  LLVMValueRef best = load_f32(c, in, wl.corner), best_at = wl.corner;
  for (int ky = 0; ky < w->k; ky++)
    for (int kx = 0; kx < w->k; kx++) {
      if (ky == 0 && kx == 0) continue;
      LLVMValueRef at = window_at(c, w, wl.corner, ky, kx), v = load_f32(c, in, at);
      LLVMValueRef more = LLVMBuildFCmp(c->b, LLVMRealOGT, v, best, "");
      best = LLVMBuildSelect(c->b, more, v, best, "");
      best_at = LLVMBuildSelect(c->b, more, at, best_at, "");
    }
  if (forward) {
    store_f32(c, best, out, wl.cell);
  } else {
    LLVMValueRef g = load_f32(c, dy, wl.cell);
    store_f32(c, LLVMBuildFAdd(c->b, load_f32(c, out, best_at), g, ""), out, best_at);
  }
  window_end(c, &wl);
}

void lower_move(LowerCtx *c, const Node *y) {
  switch (y->op) {
  case OP_PERMUTE:
  case OP_CONCAT:
  case OP_SLICE:
  case OP_PAD:
  case OP_REDUCE_MAX:
  case OP_REDUCE_MAX_BACK: lower_axis_op(c, y); break;
  case OP_POOL_SUM:
  case OP_UNPOOL_SUM: lower_pool_sum(c, y); break;
  case OP_MAXPOOL:
  case OP_MAXPOOL_BACK: lower_maxpool(c, y); break;
  case OP_IM2COL:
  case OP_COL2IM: lower_im2col(c, y); break;
  default: DLC_UNREACHABLE();
  }
}
