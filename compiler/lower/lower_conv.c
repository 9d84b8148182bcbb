/* lower_conv.c — direct convolutions, for layers with few kernel taps (LeNet-5's C1: one
 * input map, 5x5), where im2col + gemm spends its time copying patches and running one of
 * OpenBLAS's weakest shapes (6 x 50176 x 25).
 *
 * All three work on a zero-padded copy of an image batch (the node's workspace), so no loop
 * has a bounds check:
 *   conv:    y[r,m,oy,ox]  = sum over taps t = (c,ky,kx) of W[m,t] * xp[r,c,oy*s+ky,ox*s+kx]
 *            the taps unrolled, the weights loaded once per map, ox innermost (vectorised)
 *   conv_dw: dW[m,t]       = sum over r, oy, ox of dy[r,m,oy,ox] * xp[r,c,oy*s+ky,ox*s+kx]
 *            with stride 1: one <16 x float> accumulator per tap, so the sum over ox runs
 *            in vector lanes (LLVM would not reassociate a float reduction itself), reduced
 *            once at the end; otherwise scalar loops
 *   conv_dx: dxp[r,c,oy*s+ky,ox*s+kx] += W[m,t] * dy[r,m,oy,ox], then cropped into dx. */
#include <stdlib.h>
#include "lower_private.h"

enum { VL = 16 }; /* vector lanes of the explicit-vector kernel (two AVX2 registers elsewhere) */

static LLVMValueRef add(LowerCtx *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(c->b, a, b, ""); }
static LLVMValueRef mulk(LowerCtx *c, LLVMValueRef a, int64_t k) { return LLVMBuildNSWMul(c->b, a, c_i64(c, k), ""); }
static LLVMValueRef mad(LowerCtx *c, LLVMValueRef a, int64_t m, LLVMValueRef b) { return add(c, mulk(c, a, m), b); }
static LLVMValueRef fmuladd(LowerCtx *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef d, LLVMTypeRef t, const char *name) {
  LLVMTypeRef p[3] = {t, t, t};
  LLVMValueRef args[3] = {a, b, d};
  return call_fn(c, name, t, p, 3, args);
}

/* Padded sizes and the workspace: right after the node's result in its buffer. */
typedef struct Padded {
  int64_t hp, wp, plane; /* padded height, width, and floats per (image, channel) */
  LLVMValueRef base;
} Padded;

static Padded padded(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  Padded p = {w->h + 2 * w->pad, w->w + 2 * w->pad, 0, NULL};
  p.plane = p.hp * p.wp;
  int64_t result = shape_numel(y->shape) * (y->shape.batched ? c->plan->batch : 1);
  int64_t skip = (result + ARENA_ALIGN_FLOATS - 1) / ARENA_ALIGN_FLOATS * ARENA_ALIGN_FLOATS;
  LLVMValueRef at = c_i64(c, skip);
  p.base = LLVMBuildInBoundsGEP2(c->b, c->f32, buffer_of(c, y), &at, 1, "padded");
  return p;
}

static void zero(LowerCtx *c, LLVMValueRef base, LLVMValueRef count) {
  Loop l;
  LLVMValueRef i = loop_begin(c, &l, count, "zero");
  store_f32(c, c_f32(c, 0), base, i);
  loop_end(c, &l);
}

/* Index of (image r, channel ch, row iy, column ix) in a padded batch. */
static LLVMValueRef padded_at(LowerCtx *c, const Window *w, const Padded *p, LLVMValueRef r, int ch, LLVMValueRef iy,
                              LLVMValueRef ix) {
  LLVMValueRef plane = add(c, mulk(c, r, w->c), c_i64(c, ch));
  return add(c, mad(c, add(c, mulk(c, plane, p->hp), iy), p->wp, ix), c_i64(c, 0));
}

/* dst (padded) = x with a zero border; or, if `back`, x = the interior of dst. */
static void copy_interior(LowerCtx *c, const Window *w, const Padded *p, LLVMValueRef x, bool back) {
  Loop lr, lc, ly, lx;
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  LLVMValueRef ch = loop_begin(c, &lc, c_i64(c, w->c), "ch");
  LLVMValueRef iy = loop_begin(c, &ly, c_i64(c, w->h), "iy");
  LLVMValueRef ix = loop_begin(c, &lx, c_i64(c, w->w), "ix");
  LLVMValueRef plane = add(c, mulk(c, r, w->c), ch);
  LLVMValueRef src = mad(c, add(c, mulk(c, plane, w->h), iy), w->w, ix);
  LLVMValueRef dst = mad(c, add(c, mulk(c, plane, p->hp), add(c, iy, c_i64(c, w->pad))), p->wp,
                         add(c, ix, c_i64(c, w->pad)));
  if (back) store_f32(c, load_f32(c, p->base, dst), x, src);
  else store_f32(c, load_f32(c, x, src), p->base, dst);
  loop_end(c, &lx);
  loop_end(c, &ly);
  loop_end(c, &lc);
  loop_end(c, &lr);
}

static void pad_input(LowerCtx *c, const Window *w, const Padded *p, LLVMValueRef x) {
  zero(c, p->base, mulk(c, c->n, w->c * p->plane));
  copy_interior(c, w, p, x, false);
}

static void lower_conv_forward(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  int maps = y->shape.dim[0], taps = w->c * w->k * w->k;
  Padded p = padded(c, y);
  pad_input(c, w, &p, buffer_of(c, y->in[0]));
  LLVMValueRef W = buffer_of(c, y->in[1]), out = buffer_of(c, y);
  LLVMValueRef *wt = malloc(sizeof(LLVMValueRef) * (size_t)taps);
  Loop lr, lm, ly, lx;
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  LLVMValueRef m = loop_begin(c, &lm, c_i64(c, maps), "map");
  for (int t = 0; t < taps; t++) wt[t] = load_f32(c, W, mad(c, m, taps, c_i64(c, t)));
  LLVMValueRef oy = loop_begin(c, &ly, c_i64(c, w->ho), "oy");
  LLVMValueRef ox = loop_begin(c, &lx, c_i64(c, w->wo), "ox");
  LLVMValueRef acc = c_f32(c, 0), iy0 = mulk(c, oy, w->stride), ix0 = mulk(c, ox, w->stride);
  for (int ch = 0, t = 0; ch < w->c; ch++)
    for (int ky = 0; ky < w->k; ky++)
      for (int kx = 0; kx < w->k; kx++, t++) {
        LLVMValueRef at = padded_at(c, w, &p, r, ch, add(c, iy0, c_i64(c, ky)), add(c, ix0, c_i64(c, kx)));
        acc = fmuladd(c, wt[t], load_f32(c, p.base, at), acc, c->f32, "llvm.fmuladd.f32");
      }
  store_f32(c, acc, out, mad(c, mad(c, add(c, mulk(c, r, maps), m), w->ho, oy), w->wo, ox));
  loop_end(c, &lx);
  loop_end(c, &ly);
  loop_end(c, &lm);
  loop_end(c, &lr);
  free(wt);
}

/* <VL x i1> with the first `on` lanes set. */
static LLVMValueRef lane_mask(LowerCtx *c, int on) {
  LLVMTypeRef i1 = LLVMInt1TypeInContext(c->ctx);
  LLVMValueRef bits[VL];
  for (int i = 0; i < VL; i++) bits[i] = LLVMConstInt(i1, i < on, false);
  return LLVMConstVector(bits, VL);
}

static LLVMValueRef masked_load(LowerCtx *c, LLVMValueRef base, LLVMValueRef index, int on) {
  LLVMTypeRef vec = LLVMVectorType(c->f32, VL), i1v = LLVMVectorType(LLVMInt1TypeInContext(c->ctx), VL);
  LLVMTypeRef p[4] = {c->ptr, c->i32, i1v, vec};
  LLVMValueRef args[4] = {elem_ptr(c, base, index), c_i32(c, 4), lane_mask(c, on), LLVMConstNull(vec)};
  return call_fn(c, "llvm.masked.load.v16f32.p0", vec, p, 4, args);
}

/* conv_dw with stride 1: per map, one vector accumulator per tap over chunks of VL columns. */
static void conv_dw_vector(LowerCtx *c, const Node *y, const Padded *p, LLVMValueRef dy) {
  const Window *w = y->attr.win;
  int maps = y->shape.dim[0], taps = w->c * w->k * w->k;
  LLVMTypeRef vec = LLVMVectorType(c->f32, VL);
  LLVMValueRef dW = buffer_of(c, y);
  LLVMValueRef *acc = malloc(sizeof(LLVMValueRef) * (size_t)taps);
  /* Accumulators live in allocas that mem2reg turns into registers. */
  LLVMBasicBlockRef here = LLVMGetInsertBlock(c->b);
  LLVMValueRef first = LLVMGetFirstInstruction(LLVMGetEntryBasicBlock(c->fn));
  LLVMPositionBuilderBefore(c->b, first);
  for (int t = 0; t < taps; t++) acc[t] = LLVMBuildAlloca(c->b, vec, "acc");
  LLVMPositionBuilderAtEnd(c->b, here);
  Loop lm, lr, ly;
  LLVMValueRef m = loop_begin(c, &lm, c_i64(c, maps), "map");
  for (int t = 0; t < taps; t++) LLVMBuildStore(c->b, LLVMConstNull(vec), acc[t]);
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  LLVMValueRef oy = loop_begin(c, &ly, c_i64(c, w->ho), "oy");
  LLVMValueRef row = mad(c, mad(c, add(c, mulk(c, r, maps), m), w->ho, oy), w->wo, c_i64(c, 0));
  for (int x0 = 0; x0 < w->wo; x0 += VL) {
    int on = w->wo - x0 < VL ? w->wo - x0 : VL;
    LLVMValueRef d = masked_load(c, dy, add(c, row, c_i64(c, x0)), on);
    for (int ch = 0, t = 0; ch < w->c; ch++)
      for (int ky = 0; ky < w->k; ky++)
        for (int kx = 0; kx < w->k; kx++, t++) {
          LLVMValueRef at = padded_at(c, w, p, r, ch, add(c, oy, c_i64(c, ky)), c_i64(c, x0 + kx));
          LLVMValueRef a = LLVMBuildLoad2(c->b, vec, acc[t], "");
          LLVMBuildStore(c->b, fmuladd(c, d, masked_load(c, p->base, at, on), a, vec, "llvm.fmuladd.v16f32"), acc[t]);
        }
  }
  loop_end(c, &ly);
  loop_end(c, &lr);
  for (int t = 0; t < taps; t++) {
    LLVMTypeRef pr[2] = {c->f32, vec};
    LLVMValueRef args[2] = {c_f32(c, 0), LLVMBuildLoad2(c->b, vec, acc[t], "")};
    LLVMValueRef sum = call_fn(c, "llvm.vector.reduce.fadd.v16f32", c->f32, pr, 2, args);
    store_f32(c, sum, dW, mad(c, m, taps, c_i64(c, t)));
  }
  loop_end(c, &lm);
  free(acc);
}

/* conv_dw with any stride: dW[m,t] accumulated element by element. */
static void conv_dw_scalar(LowerCtx *c, const Node *y, const Padded *p, LLVMValueRef dy) {
  const Window *w = y->attr.win;
  int maps = y->shape.dim[0], taps = w->c * w->k * w->k;
  LLVMValueRef dW = buffer_of(c, y);
  zero(c, dW, c_i64(c, (int64_t)maps * taps));
  Loop lr, lm, ly, lx;
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  LLVMValueRef m = loop_begin(c, &lm, c_i64(c, maps), "map");
  LLVMValueRef oy = loop_begin(c, &ly, c_i64(c, w->ho), "oy");
  LLVMValueRef ox = loop_begin(c, &lx, c_i64(c, w->wo), "ox");
  LLVMValueRef d = load_f32(c, dy, mad(c, mad(c, add(c, mulk(c, r, maps), m), w->ho, oy), w->wo, ox));
  for (int ch = 0, t = 0; ch < w->c; ch++)
    for (int ky = 0; ky < w->k; ky++)
      for (int kx = 0; kx < w->k; kx++, t++) {
        LLVMValueRef at = padded_at(c, w, p, r, ch, add(c, mulk(c, oy, w->stride), c_i64(c, ky)),
                                    add(c, mulk(c, ox, w->stride), c_i64(c, kx)));
        LLVMValueRef k = mad(c, m, taps, c_i64(c, t));
        store_f32(c, fmuladd(c, d, load_f32(c, p->base, at), load_f32(c, dW, k), c->f32, "llvm.fmuladd.f32"), dW, k);
      }
  loop_end(c, &lx);
  loop_end(c, &ly);
  loop_end(c, &lm);
  loop_end(c, &lr);
}

static void lower_conv_dw(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  Padded p = padded(c, y);
  pad_input(c, w, &p, buffer_of(c, y->in[1]));
  if (w->stride == 1) conv_dw_vector(c, y, &p, buffer_of(c, y->in[0]));
  else conv_dw_scalar(c, y, &p, buffer_of(c, y->in[0]));
}

static void lower_conv_dx(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  const Node *dyn = y->in[0];
  int maps = dyn->shape.dim[0], taps = w->c * w->k * w->k;
  Padded p = padded(c, y);
  zero(c, p.base, mulk(c, c->n, w->c * p.plane));
  LLVMValueRef dy = buffer_of(c, dyn), W = buffer_of(c, y->in[1]);
  Loop lr, lm, ly, lx;
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  LLVMValueRef m = loop_begin(c, &lm, c_i64(c, maps), "map");
  LLVMValueRef *wt = malloc(sizeof(LLVMValueRef) * (size_t)taps);
  for (int t = 0; t < taps; t++) wt[t] = load_f32(c, W, mad(c, m, taps, c_i64(c, t)));
  LLVMValueRef oy = loop_begin(c, &ly, c_i64(c, w->ho), "oy");
  for (int ch = 0, t = 0; ch < w->c; ch++)
    for (int ky = 0; ky < w->k; ky++)
      for (int kx = 0; kx < w->k; kx++, t++) {
        /* one vectorisable row update per tap */
        LLVMValueRef ox = loop_begin(c, &lx, c_i64(c, w->wo), "ox");
        LLVMValueRef d = load_f32(c, dy, mad(c, mad(c, add(c, mulk(c, r, maps), m), w->ho, oy), w->wo, ox));
        LLVMValueRef at = padded_at(c, w, &p, r, ch, add(c, mulk(c, oy, w->stride), c_i64(c, ky)),
                                    add(c, mulk(c, ox, w->stride), c_i64(c, kx)));
        store_f32(c, fmuladd(c, wt[t], d, load_f32(c, p.base, at), c->f32, "llvm.fmuladd.f32"), p.base, at);
        loop_end(c, &lx);
      }
  loop_end(c, &ly);
  free(wt);
  loop_end(c, &lm);
  loop_end(c, &lr);
  copy_interior(c, w, &p, buffer_of(c, y), true);
}

void lower_conv(LowerCtx *c, const Node *y) {
  switch (y->op) {
  case OP_CONV: lower_conv_forward(c, y); break;
  case OP_CONV_DW: lower_conv_dw(c, y); break;
  case OP_CONV_DX: lower_conv_dx(c, y); break;
  default: DLC_UNREACHABLE();
  }
}
