/* lower_conv.c — direct convolutions: layers with few kernel taps (LeNet-5's C1: one input
 * map, 5x5), where im2col + gemm spends its time copying patches and running one of
 * OpenBLAS's weakest shapes (6 x 50176 x 25), and layers with a connection table (C3), whose
 * kernels exist only for the connected map pairs.
 *
 * The output maps are unrolled at compile time, each with the input maps it reads, so every
 * tap's weight and offset is a constant. All three ops read a zero-padded copy of an image
 * batch (the node's workspace; the input itself when there is no padding), so no loop has
 * a bounds check:
 *   conv:    y[r,m,oy,ox] = sum over taps t = (c,ky,kx) of W[t] * xp[r,c,oy*s+ky,ox*s+kx]
 *            the weights loaded once per map, ox innermost (vectorised by LLVM)
 *   conv_dw: dW[t] = sum over r, oy, ox of dy[r,m,oy,ox] * xp[r,c,oy*s+ky,ox*s+kx]; with
 *            stride 1 in <16 x float> accumulators, one per tap in groups that fit the
 *            registers, so the sum over ox runs in vector lanes (LLVM would not reassociate
 *            a float reduction itself), reduced once at the end; otherwise scalar loops
 *   conv_dx: dxp[r,c,oy*s+ky,ox*s+kx] += W[t] * dy[r,m,oy,ox], then cropped into dx. */
#include <stdlib.h>
#include "lower_private.h"

enum {
  VL = 16,        /* vector lanes of the explicit-vector kernel (two AVX2 registers elsewhere) */
  ACC_GROUP = 24, /* accumulators live at once: AVX-512 has 32 vector registers */
};

static LLVMValueRef add(LowerCtx *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(c->b, a, b, ""); }
static LLVMValueRef mulk(LowerCtx *c, LLVMValueRef a, int64_t k) { return LLVMBuildNSWMul(c->b, a, c_i64(c, k), ""); }
static LLVMValueRef addk(LowerCtx *c, LLVMValueRef a, int64_t k) { return add(c, a, c_i64(c, k)); }
static LLVMValueRef fmuladd(LowerCtx *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef d, LLVMTypeRef t) {
  LLVMTypeRef p[3] = {t, t, t};
  LLVMValueRef args[3] = {a, b, d};
  return call_fn(c, t == c->f32 ? "llvm.fmuladd.f32" : "llvm.fmuladd.v16f32", t, p, 3, args);
}

/* One output map's taps: the input map, row and column of each, and its weight's index. */
typedef struct Tap {
  int c, ky, kx;
  int64_t weight;
} Tap;

static int map_taps(const Window *w, int m, Tap *taps) {
  int inputs[MAX_CONV_INPUTS], n = conv_inputs(w, m, inputs), first = conv_first_kernel(w, m), t = 0;
  for (int j = 0; j < n; j++)
    for (int ky = 0; ky < w->k; ky++)
      for (int kx = 0; kx < w->k; kx++, t++)
        taps[t] = (Tap){inputs[j], ky, kx, (int64_t)(first + j) * w->k * w->k + ky * w->k + kx};
  return t;
}

/* The images a conv reads, padded: in the node's workspace (right after its result), or the
 * images themselves when there is no padding. */
typedef struct Padded {
  int64_t hp, wp, plane; /* padded height, width, floats per (image, map) */
  LLVMValueRef base;
} Padded;

static Padded padded(LowerCtx *c, const Node *y, LLVMValueRef unpadded) {
  const Window *w = y->attr.win;
  Padded p = {w->h + 2 * w->pad, w->w + 2 * w->pad, 0, unpadded};
  p.plane = p.hp * p.wp;
  if (w->pad == 0) return p;
  int64_t result = shape_numel(y->shape) * (y->shape.batched ? c->plan->batch : 1);
  LLVMValueRef at = c_i64(c, (result + ARENA_ALIGN_FLOATS - 1) / ARENA_ALIGN_FLOATS * ARENA_ALIGN_FLOATS);
  p.base = LLVMBuildInBoundsGEP2(c->b, c->f32, buffer_of(c, y), &at, 1, "padded");
  return p;
}

static void zero(LowerCtx *c, LLVMValueRef base, LLVMValueRef count) {
  Loop l;
  LLVMValueRef i = loop_begin(c, &l, count, "zero");
  store_f32(c, c_f32(c, 0), base, i);
  loop_end(c, &l);
}

/* Index of (image r, map ch, padded row iy, padded column ix). */
static LLVMValueRef padded_at(LowerCtx *c, const Window *w, const Padded *p, LLVMValueRef r, int ch, LLVMValueRef iy,
                              LLVMValueRef ix) {
  return add(c, mulk(c, add(c, mulk(c, addk(c, mulk(c, r, w->c), ch), p->hp), iy), p->wp), ix);
}

/* The padded copy from x (or, with `back`, its interior back into x). */
static void copy_interior(LowerCtx *c, const Window *w, const Padded *p, LLVMValueRef x, bool back) {
  Loop lr, lc, ly, lx;
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  LLVMValueRef ch = loop_begin(c, &lc, c_i64(c, w->c), "ch");
  LLVMValueRef iy = loop_begin(c, &ly, c_i64(c, w->h), "iy");
  LLVMValueRef ix = loop_begin(c, &lx, c_i64(c, w->w), "ix");
  LLVMValueRef plane = add(c, mulk(c, r, w->c), ch);
  LLVMValueRef src = add(c, mulk(c, add(c, mulk(c, plane, w->h), iy), w->w), ix);
  LLVMValueRef dst = add(c, mulk(c, add(c, mulk(c, plane, p->hp), addk(c, iy, w->pad)), p->wp), addk(c, ix, w->pad));
  if (back) store_f32(c, load_f32(c, p->base, dst), x, src);
  else store_f32(c, load_f32(c, x, src), p->base, dst);
  loop_end(c, &lx);
  loop_end(c, &ly);
  loop_end(c, &lc);
  loop_end(c, &lr);
}

static Padded pad_input(LowerCtx *c, const Node *y, LLVMValueRef x) {
  const Window *w = y->attr.win;
  Padded p = padded(c, y, x);
  if (w->pad == 0) return p;
  zero(c, p.base, mulk(c, c->n, w->c * p.plane));
  copy_interior(c, w, &p, x, false);
  return p;
}

/* Index of output cell (image r, map m, oy, ox). */
static LLVMValueRef cell_at(LowerCtx *c, const Window *w, LLVMValueRef r, int m, LLVMValueRef oy, LLVMValueRef ox) {
  return add(c, mulk(c, add(c, mulk(c, addk(c, mulk(c, r, w->maps), m), w->ho), oy), w->wo), ox);
}

static LLVMValueRef lane_mask(LowerCtx *c, int on);
static LLVMValueRef masked_load(LowerCtx *c, LLVMValueRef base, LLVMValueRef index, int on);

static void masked_store(LowerCtx *c, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index, int on) {
  LLVMTypeRef vec = LLVMVectorType(c->f32, VL), i1v = LLVMVectorType(LLVMInt1TypeInContext(c->ctx), VL);
  LLVMTypeRef p[4] = {vec, c->ptr, c->i32, i1v};
  LLVMValueRef args[4] = {v, elem_ptr(c, base, index), c_i32(c, 4), lane_mask(c, on)};
  call_fn(c, "llvm.masked.store.v16f32.p0", c->void_t, p, 4, args);
}

static LLVMValueRef splat(LowerCtx *c, LLVMValueRef x) {
  LLVMTypeRef vec = LLVMVectorType(c->f32, VL);
  LLVMValueRef one = LLVMBuildInsertElement(c->b, LLVMGetUndef(vec), x, c_i32(c, 0), "");
  return LLVMBuildShuffleVector(c->b, one, LLVMGetUndef(vec), LLVMConstNull(LLVMVectorType(c->i32, VL)), "splat");
}

/* Stride 1, in explicit vectors of VL columns: every image buffer is in the one arena, so
 * LLVM's vectoriser would need a run-time overlap check per tap, and gives up. */
static void conv_forward_vector(LowerCtx *c, const Node *y, const Padded *p) {
  const Window *w = y->attr.win;
  LLVMValueRef W = buffer_of(c, y->in[1]), out = buffer_of(c, y);
  Tap *taps = malloc(sizeof(Tap) * (size_t)w->c * w->k * w->k);
  LLVMValueRef *wt = malloc(sizeof(LLVMValueRef) * (size_t)w->c * w->k * w->k);
  LLVMTypeRef vec = LLVMVectorType(c->f32, VL);
  Loop lr, ly;
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  for (int m = 0; m < w->maps; m++) {
    int n = map_taps(w, m, taps);
    for (int t = 0; t < n; t++) wt[t] = splat(c, load_f32(c, W, c_i64(c, taps[t].weight)));
    LLVMValueRef oy = loop_begin(c, &ly, c_i64(c, w->ho), "oy");
    for (int x0 = 0; x0 < w->wo; x0 += VL) {
      int on = w->wo - x0 < VL ? w->wo - x0 : VL;
      LLVMValueRef acc = LLVMConstNull(vec);
      for (int t = 0; t < n; t++) {
        LLVMValueRef at = padded_at(c, w, p, r, taps[t].c, addk(c, oy, taps[t].ky), c_i64(c, x0 + taps[t].kx));
        acc = fmuladd(c, wt[t], masked_load(c, p->base, at, on), acc, vec);
      }
      masked_store(c, acc, out, cell_at(c, w, r, m, oy, c_i64(c, x0)), on);
    }
    loop_end(c, &ly);
  }
  loop_end(c, &lr);
  free(taps);
  free(wt);
}

static void lower_conv_forward(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  if (w->stride == 1) {
    Padded p = pad_input(c, y, buffer_of(c, y->in[0]));
    conv_forward_vector(c, y, &p);
    return;
  }
  Padded p = pad_input(c, y, buffer_of(c, y->in[0]));
  LLVMValueRef W = buffer_of(c, y->in[1]), out = buffer_of(c, y);
  Tap *taps = malloc(sizeof(Tap) * (size_t)w->c * w->k * w->k);
  LLVMValueRef *wt = malloc(sizeof(LLVMValueRef) * (size_t)w->c * w->k * w->k);
  Loop lr, ly, lx;
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  for (int m = 0; m < w->maps; m++) {
    int n = map_taps(w, m, taps);
    for (int t = 0; t < n; t++) wt[t] = load_f32(c, W, c_i64(c, taps[t].weight));
    LLVMValueRef oy = loop_begin(c, &ly, c_i64(c, w->ho), "oy");
    LLVMValueRef ox = loop_begin(c, &lx, c_i64(c, w->wo), "ox");
    LLVMValueRef acc = c_f32(c, 0), iy0 = mulk(c, oy, w->stride), ix0 = mulk(c, ox, w->stride);
    for (int t = 0; t < n; t++) {
      LLVMValueRef at = padded_at(c, w, &p, r, taps[t].c, addk(c, iy0, taps[t].ky), addk(c, ix0, taps[t].kx));
      acc = fmuladd(c, wt[t], load_f32(c, p.base, at), acc, c->f32);
    }
    store_f32(c, acc, out, cell_at(c, w, r, m, oy, ox));
    loop_end(c, &lx);
    loop_end(c, &ly);
  }
  loop_end(c, &lr);
  free(taps);
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

static LLVMValueRef entry_alloca(LowerCtx *c, LLVMTypeRef type) {
  LLVMBasicBlockRef here = LLVMGetInsertBlock(c->b);
  LLVMPositionBuilderBefore(c->b, LLVMGetFirstInstruction(LLVMGetEntryBasicBlock(c->fn)));
  LLVMValueRef a = LLVMBuildAlloca(c->b, type, "acc");
  LLVMPositionBuilderAtEnd(c->b, here);
  return a;
}

/* conv_dw, stride 1: for a group of taps of map m, vector accumulators over the batch. */
static void conv_dw_group(LowerCtx *c, const Window *w, const Padded *p, LLVMValueRef dy, LLVMValueRef dW, int m,
                          const Tap *taps, int n, LLVMValueRef *acc) {
  LLVMTypeRef vec = LLVMVectorType(c->f32, VL);
  for (int t = 0; t < n; t++) LLVMBuildStore(c->b, LLVMConstNull(vec), acc[t]);
  Loop lr, ly;
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  LLVMValueRef oy = loop_begin(c, &ly, c_i64(c, w->ho), "oy");
  LLVMValueRef row = cell_at(c, w, r, m, oy, c_i64(c, 0));
  for (int x0 = 0; x0 < w->wo; x0 += VL) {
    int on = w->wo - x0 < VL ? w->wo - x0 : VL;
    LLVMValueRef d = masked_load(c, dy, addk(c, row, x0), on);
    for (int t = 0; t < n; t++) {
      LLVMValueRef at = padded_at(c, w, p, r, taps[t].c, addk(c, oy, taps[t].ky), c_i64(c, x0 + taps[t].kx));
      LLVMValueRef a = LLVMBuildLoad2(c->b, vec, acc[t], "");
      LLVMBuildStore(c->b, fmuladd(c, d, masked_load(c, p->base, at, on), a, vec), acc[t]);
    }
  }
  loop_end(c, &ly);
  loop_end(c, &lr);
  for (int t = 0; t < n; t++) {
    LLVMTypeRef pr[2] = {c->f32, vec};
    LLVMValueRef args[2] = {c_f32(c, 0), LLVMBuildLoad2(c->b, vec, acc[t], "")};
    store_f32(c, call_fn(c, "llvm.vector.reduce.fadd.v16f32", c->f32, pr, 2, args), dW, c_i64(c, taps[t].weight));
  }
}

/* conv_dw, any stride: each kernel weight accumulated element by element. */
static void conv_dw_scalar(LowerCtx *c, const Window *w, const Padded *p, LLVMValueRef dy, LLVMValueRef dW, int m,
                           const Tap *taps, int n) {
  for (int t = 0; t < n; t++) store_f32(c, c_f32(c, 0), dW, c_i64(c, taps[t].weight));
  Loop lr, ly, lx;
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  LLVMValueRef oy = loop_begin(c, &ly, c_i64(c, w->ho), "oy");
  LLVMValueRef ox = loop_begin(c, &lx, c_i64(c, w->wo), "ox");
  LLVMValueRef d = load_f32(c, dy, cell_at(c, w, r, m, oy, ox));
  for (int t = 0; t < n; t++) {
    LLVMValueRef at = padded_at(c, w, p, r, taps[t].c, addk(c, mulk(c, oy, w->stride), taps[t].ky),
                                addk(c, mulk(c, ox, w->stride), taps[t].kx));
    LLVMValueRef k = c_i64(c, taps[t].weight);
    store_f32(c, fmuladd(c, d, load_f32(c, p->base, at), load_f32(c, dW, k), c->f32), dW, k);
  }
  loop_end(c, &lx);
  loop_end(c, &ly);
  loop_end(c, &lr);
}

static void lower_conv_dw(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  Padded p = pad_input(c, y, buffer_of(c, y->in[1]));
  LLVMValueRef dy = buffer_of(c, y->in[0]), dW = buffer_of(c, y);
  Tap *taps = malloc(sizeof(Tap) * (size_t)w->c * w->k * w->k);
  LLVMValueRef acc[ACC_GROUP];
  for (int i = 0; i < ACC_GROUP; i++) acc[i] = entry_alloca(c, LLVMVectorType(c->f32, VL));
  for (int m = 0; m < w->maps; m++) {
    int n = map_taps(w, m, taps);
    for (int g = 0; g < n; g += ACC_GROUP) {
      int size = n - g < ACC_GROUP ? n - g : ACC_GROUP;
      if (w->stride == 1) conv_dw_group(c, w, &p, dy, dW, m, taps + g, size, acc);
      else conv_dw_scalar(c, w, &p, dy, dW, m, taps + g, size);
    }
  }
  free(taps);
}

/* conv_dx with stride 1, as a forward convolution: each pixel of dx pulls from the maps that
 * read its input map, through the flipped kernels, over dy padded by k-1-pad (in the
 * workspace). Every output row is written once, in vectors, with no read-modify-write. */
static void conv_dx_vector(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  int pp = w->k - 1 - w->pad;
  int64_t hp = w->ho + 2 * pp, wp = w->wo + 2 * pp;
  LLVMValueRef dx = buffer_of(c, y), dy = buffer_of(c, y->in[0]), W = buffer_of(c, y->in[1]);
  int64_t result = shape_numel(y->shape) * c->plan->batch;
  LLVMValueRef skip = c_i64(c, (result + ARENA_ALIGN_FLOATS - 1) / ARENA_ALIGN_FLOATS * ARENA_ALIGN_FLOATS);
  LLVMValueRef dyp = LLVMBuildInBoundsGEP2(c->b, c->f32, dx, &skip, 1, "dy_padded");
  /* dy, zero-padded by pp on every side */
  zero(c, dyp, mulk(c, c->n, w->maps * hp * wp));
  Window dyw = {w->maps, w->ho, w->wo, w->k, 1, pp, w->h, w->w, 0, NULL};
  Padded p = {hp, wp, hp * wp, dyp};
  copy_interior(c, &dyw, &p, dy, false);

  int max_taps = w->maps * w->k * w->k, inputs[MAX_CONV_INPUTS];
  Tap *taps = malloc(sizeof(Tap) * (size_t)max_taps);
  LLVMValueRef *wt = malloc(sizeof(LLVMValueRef) * (size_t)max_taps);
  LLVMTypeRef vec = LLVMVectorType(c->f32, VL);
  Loop lr, ly;
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  for (int ch = 0; ch < w->c; ch++) {
    int n = 0; /* the taps of input map ch: every (map m reading ch, ky, kx), kernel flipped */
    for (int m = 0; m < w->maps; m++) {
      int n_in = conv_inputs(w, m, inputs), j = 0;
      while (j < n_in && inputs[j] != ch) j++;
      if (j == n_in) continue;
      int64_t kernel = (int64_t)(conv_first_kernel(w, m) + j) * w->k * w->k;
      for (int ky = 0; ky < w->k; ky++)
        for (int kx = 0; kx < w->k; kx++)
          taps[n++] = (Tap){m, ky, kx, kernel + (w->k - 1 - ky) * w->k + (w->k - 1 - kx)};
    }
    for (int t = 0; t < n; t++) wt[t] = splat(c, load_f32(c, W, c_i64(c, taps[t].weight)));
    LLVMValueRef iy = loop_begin(c, &ly, c_i64(c, w->h), "iy");
    for (int x0 = 0; x0 < w->w; x0 += VL) {
      int on = w->w - x0 < VL ? w->w - x0 : VL;
      LLVMValueRef acc = LLVMConstNull(vec);
      for (int t = 0; t < n; t++) {
        LLVMValueRef at = padded_at(c, &dyw, &p, r, taps[t].c, addk(c, iy, taps[t].ky), c_i64(c, x0 + taps[t].kx));
        acc = fmuladd(c, wt[t], masked_load(c, dyp, at, on), acc, vec);
      }
      LLVMValueRef out = add(c, mulk(c, add(c, mulk(c, addk(c, mulk(c, r, w->c), ch), w->h), iy), w->w), c_i64(c, x0));
      masked_store(c, acc, dx, out, on);
    }
    loop_end(c, &ly);
  }
  loop_end(c, &lr);
  free(taps);
  free(wt);
}

/* conv_dx with any stride: dxp[r,c,oy*s+ky,ox*s+kx] += W[t] * dy[r,m,oy,ox], then cropped. */
static void lower_conv_dx(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  if (w->stride == 1) {
    conv_dx_vector(c, y);
    return;
  }
  LLVMValueRef dx = buffer_of(c, y);
  Padded p = padded(c, y, dx);
  zero(c, p.base, mulk(c, c->n, w->c * p.plane));
  LLVMValueRef dy = buffer_of(c, y->in[0]), W = buffer_of(c, y->in[1]);
  Tap *taps = malloc(sizeof(Tap) * (size_t)w->c * w->k * w->k);
  Loop lr, ly, lx;
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  for (int m = 0; m < w->maps; m++) {
    int n = map_taps(w, m, taps);
    LLVMValueRef oy = loop_begin(c, &ly, c_i64(c, w->ho), "oy");
    for (int t = 0; t < n; t++) {
      LLVMValueRef wt = load_f32(c, W, c_i64(c, taps[t].weight));
      LLVMValueRef ox = loop_begin(c, &lx, c_i64(c, w->wo), "ox");
      LLVMValueRef d = load_f32(c, dy, cell_at(c, w, r, m, oy, ox));
      LLVMValueRef at = padded_at(c, w, &p, r, taps[t].c, addk(c, mulk(c, oy, w->stride), taps[t].ky),
                                  addk(c, mulk(c, ox, w->stride), taps[t].kx));
      store_f32(c, fmuladd(c, wt, d, load_f32(c, p.base, at), c->f32), p.base, at);
      loop_end(c, &lx);
    }
    loop_end(c, &ly);
  }
  loop_end(c, &lr);
  free(taps);
  if (w->pad) copy_interior(c, w, &p, dx, true);
}

void lower_conv(LowerCtx *c, const Node *y) {
  switch (y->op) {
  case OP_CONV: lower_conv_forward(c, y); break;
  case OP_CONV_DW: lower_conv_dw(c, y); break;
  case OP_CONV_DX: lower_conv_dx(c, y); break;
  default: DLC_UNREACHABLE();
  }
}
