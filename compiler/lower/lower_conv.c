/* lower_conv.c — direct convolutions: layers with few kernel taps (LeNet-5's C1: one input
 * map, 5x5), where im2col + gemm spends its time copying patches and running one of
 * OpenBLAS's weakest shapes (6 x 50176 x 25), and layers with a connection table (C3), whose
 * kernels exist only for the connected map pairs.
 *
 * Each op reads a zero-padded copy of an image batch (in the node's workspace, or the images
 * themselves when there is no padding), so no loop has a bounds check, and walks a constant
 * table of taps: for each output map, its taps t = (input map c, ky, kx) as an offset into a
 * padded image and the index of the weight. With stride 1 the arithmetic is explicit
 * <16 x float> vectors along a row (every buffer is in the one arena, so LLVM's vectoriser
 * would need a run-time overlap check per tap, and gives up; and it would not reassociate
 * the float sums of conv_dw):
 *   conv:    y[r,m,oy,x..x+15]  = sum over m's taps of W[t] * xp[r, offset(t) + oy*wp + x..]
 *   conv_dw: dW[t] = reduce(sum over r, oy, x of dy[r,m,oy,x..] * xp[r, offset(t) + oy*wp + x..])
 *   conv_dx: dx[r,c,iy,x..] = sum over the maps reading c, flipped taps, of W[t] * dyp[...]
 *            (a forward convolution of dy padded by k-1-pad: each row written once)
 * Other strides use scalar loops over the same tables. */
#include <stdlib.h>
#include "lower_private.h"

enum { MAX_KERNEL_ROW = 32 }; /* accumulators of conv_dw: one per tap of a kernel row */

#define add ix_add
#define mulk ix_mulk
#define addk ix_addk

/* The first `on` lanes of a row (the rest read as 0, and are not written). */
static LLVMValueRef masked_load(LowerCtx *c, LLVMValueRef base, LLVMValueRef index, int on) {
  return load_vec(c, base, index, lanes_below(c, on));
}

static void masked_store(LowerCtx *c, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index, int on) {
  store_vec(c, v, base, index, lanes_below(c, on));
}

static LLVMValueRef table_at(LowerCtx *c, LLVMValueRef table, LLVMValueRef i) {
  return LLVMBuildLoad2(c->b, c->i64, LLVMBuildInBoundsGEP2(c->b, c->i64, table, &i, 1, ""), "");
}

/* The node's scratch, which the memory plan put right after its result. */
static LLVMValueRef workspace_of(LowerCtx *c, const Node *y) {
  DLC_ASSERT(c->plan->workspace[y->id] >= 0);
  return arena_at(c, c->plan->workspace[y->id], "workspace");
}

/* The images one op reads, padded: `maps` maps of hp x wp per image. */
typedef struct Padded {
  int maps;
  int64_t hp, wp, plane;
  LLVMValueRef base;
} Padded;

/* Pads n images [maps, h, w] at x by `pad` into the workspace right after y's result (or, with
 * no padding, reads x in place). */
static Padded pad_images(LowerCtx *c, const Node *y, LLVMValueRef x, int maps, int h, int w, int pad) {
  Padded p = {maps, h + 2 * pad, w + 2 * pad, (int64_t)(h + 2 * pad) * (w + 2 * pad), x};
  if (pad == 0) return p;
  p.base = workspace_of(c, y);
  fill_zeros(c, p.base, mulk(c, c->n, maps * p.plane));
  Loop lp, ly;
  LLVMValueRef plane = loop_begin(c, &lp, mulk(c, c->n, maps), "plane");
  LLVMValueRef iy = loop_begin(c, &ly, c_i64(c, h), "iy");
  LLVMValueRef src = mulk(c, add(c, mulk(c, plane, h), iy), w);
  LLVMValueRef dst = addk(c, mulk(c, add(c, mulk(c, plane, p.hp), addk(c, iy, pad)), p.wp), pad);
  copy_floats(c, elem_ptr(c, p.base, dst), elem_ptr(c, x, src), c_i64(c, w)); /* a row */
  loop_end(c, &ly);
  loop_end(c, &lp);
  return p;
}

/* For each output map m (of `groups`), taps [first[m], first[m+1]) with their offsets into a
 * padded image and their weights' indices. */
typedef struct Taps {
  int64_t *first, *offset, *weight;
  int n;
} Taps;

/* The taps of each output map of a conv: input map c, row ky, column kx of its kernel. */
static Taps forward_taps(const Window *w, const Padded *p) {
  Taps t = {malloc(sizeof(int64_t) * (size_t)(w->maps + 1)), NULL, NULL, 0};
  int total = conv_kernels(w) * w->k * w->k, inputs[MAX_CONV_INPUTS];
  t.offset = malloc(sizeof(int64_t) * (size_t)total);
  t.weight = malloc(sizeof(int64_t) * (size_t)total);
  for (int m = 0; m < w->maps; m++) {
    t.first[m] = t.n;
    int n_in = conv_inputs(w, m, inputs), kernel = conv_first_kernel(w, m);
    for (int j = 0; j < n_in; j++)
      for (int ky = 0; ky < w->k; ky++)
        for (int kx = 0; kx < w->k; kx++, t.n++) {
          t.offset[t.n] = inputs[j] * p->plane + ky * p->wp + kx;
          t.weight[t.n] = (int64_t)(kernel + j) * w->k * w->k + ky * w->k + kx;
        }
  }
  t.first[w->maps] = t.n;
  return t;
}

/* The taps of each input map c for conv_dx: every map m that reads c, its kernel flipped,
 * as offsets into dy padded by k-1-pad. */
static Taps backward_taps(const Window *w, const Padded *dyp) {
  Taps t = {malloc(sizeof(int64_t) * (size_t)(w->c + 1)), NULL, NULL, 0};
  int total = conv_kernels(w) * w->k * w->k, inputs[MAX_CONV_INPUTS];
  t.offset = malloc(sizeof(int64_t) * (size_t)total);
  t.weight = malloc(sizeof(int64_t) * (size_t)total);
  for (int ch = 0; ch < w->c; ch++) {
    t.first[ch] = t.n;
    for (int m = 0; m < w->maps; m++) {
      int n_in = conv_inputs(w, m, inputs), j = 0;
      while (j < n_in && inputs[j] != ch) j++;
      if (j == n_in) continue;
      int64_t kernel = (int64_t)(conv_first_kernel(w, m) + j) * w->k * w->k;
      for (int ky = 0; ky < w->k; ky++)
        for (int kx = 0; kx < w->k; kx++, t.n++) {
          t.offset[t.n] = m * dyp->plane + ky * dyp->wp + kx;
          t.weight[t.n] = kernel + (w->k - 1 - ky) * w->k + (w->k - 1 - kx);
        }
    }
  }
  t.first[w->c] = t.n;
  return t;
}

static void taps_free(Taps *t) {
  free(t->first);
  free(t->offset);
  free(t->weight);
}

/* The tables in the module; ky (kernel rows only): the row of the kernel, so that a row
 * landing in the padding can be skipped. */
typedef struct TapTables {
  LLVMValueRef first, offset, weight, ky;
} TapTables;

/* The tables of kernel rows: the taps (c, ky, 0) only, since the k taps of a row are
 * consecutive (offsets +kx, weights +kx, or -kx for the flipped kernels of conv_dx): the
 * stride-1 kernels unroll kx, one table lookup per k multiply-adds. */
static TapTables emit_rows(LowerCtx *c, const Taps *t, int groups, int k, const Padded *in) {
  int rows = t->n / k;
  int64_t *first = malloc(sizeof(int64_t) * (size_t)(groups + 1)), *offset = malloc(sizeof(int64_t) * (size_t)(rows + 1)),
          *weight = malloc(sizeof(int64_t) * (size_t)(rows + 1)), *ky = malloc(sizeof(int64_t) * (size_t)(rows + 1));
  for (int g = 0; g <= groups; g++) first[g] = t->first[g] / k;
  for (int r = 0; r < rows; r++) {
    offset[r] = t->offset[r * k];
    weight[r] = t->weight[r * k];
    ky[r] = offset[r] % in->plane / in->wp; /* offsets are (map, ky, 0) in the padded images */
  }
  TapTables tt = {const_i64_array(c, first, groups + 1, "row_first"), const_i64_array(c, offset, rows, "row_offset"),
                  const_i64_array(c, weight, rows, "row_weight"), const_i64_array(c, ky, rows, "row_ky")};
  free(first);
  free(offset);
  free(weight);
  free(ky);
  return tt;
}

static TapTables emit_taps(LowerCtx *c, const Taps *t, int groups) {
  return (TapTables){const_i64_array(c, t->first, groups + 1, "tap_first"), const_i64_array(c, t->offset, t->n, "tap_offset"),
                     const_i64_array(c, t->weight, t->n, "tap_weight"), NULL};
}

enum { ROW_BLOCK = 2 }; /* output rows per pass over the taps: each weight loaded once for both */

/* Output rows y .. y + nrows - 1 (nrows <= ROW_BLOCK) of map g of image r: the body of
 * gather_rows. Each kernel row's k weights are loaded once and used for every row of the
 * block, so the loads per multiply-add go from two (a row of input and a weight) to about
 * 1.5. A block is skipped for a kernel row only if all its rows land on padding (reading
 * padding adds zeros, so computing a padding row with the others is harmless). */
static void gather_block(LowerCtx *c, const TapTables *tt, int groups, LLVMValueRef W, const Padded *in, LLVMValueRef out,
                         LLVMValueRef r, LLVMValueRef g, LLVMValueRef y, int nrows, int rows, int cols, int k, int step,
                         int pad, LLVMValueRef *acc) {
  LLVMValueRef t0 = table_at(c, tt->first, g), t1 = table_at(c, tt->first, addk(c, g, 1));
  LLVMValueRef row = add(c, mulk(c, r, in->maps * in->plane), mulk(c, y, in->wp));
  LLVMValueRef out_row = mulk(c, add(c, mulk(c, add(c, mulk(c, r, groups), g), rows), y), cols);
  for (int x0 = 0; x0 < cols; x0 += LANES) {
    int on = cols - x0 < LANES ? cols - x0 : LANES;
    for (int j = 0; j < nrows; j++) LLVMBuildStore(c->b, LLVMConstNull(vec_t(c)), acc[j]);
    Loop lt;
    LLVMValueRef t = loop_begin(c, &lt, LLVMBuildNSWSub(c->b, t1, t0, ""), "tap_row");
    LLVMValueRef tap = add(c, t0, t), w0 = table_at(c, tt->weight, tap);
    LLVMBasicBlockRef next = NULL;
    if (pad > 0) { /* the padded rows read: y + ky .. y + ky + nrows - 1 */
      LLVMValueRef iy = add(c, y, table_at(c, tt->ky, tap));
      LLVMValueRef in_data = LLVMBuildAnd(c->b, LLVMBuildICmp(c->b, LLVMIntSGT, iy, c_i64(c, pad - nrows), ""),
                                          LLVMBuildICmp(c->b, LLVMIntSLT, iy, c_i64(c, in->hp - pad), ""), "in_data");
      LLVMBasicBlockRef taps = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "taps");
      next = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "tap_next");
      LLVMBuildCondBr(c->b, in_data, taps, next);
      LLVMPositionBuilderAtEnd(c->b, taps);
    }
    LLVMValueRef at = addk(c, add(c, row, table_at(c, tt->offset, tap)), x0), a[ROW_BLOCK];
    for (int j = 0; j < nrows; j++) a[j] = LLVMBuildLoad2(c->b, vec_t(c), acc[j], "");
    for (int kx = 0; kx < k; kx++) {
      LLVMValueRef wt = splat(c, load_f32(c, W, addk(c, w0, step * kx)));
      for (int j = 0; j < nrows; j++)
        a[j] = fmuladd(c, wt, masked_load(c, in->base, addk(c, at, j * in->wp + kx), on), a[j]);
    }
    for (int j = 0; j < nrows; j++) LLVMBuildStore(c->b, a[j], acc[j]);
    if (next) {
      LLVMBuildBr(c->b, next);
      LLVMPositionBuilderAtEnd(c->b, next);
    }
    loop_end(c, &lt);
    for (int j = 0; j < nrows; j++)
      masked_store(c, LLVMBuildLoad2(c->b, vec_t(c), acc[j], ""), out, addk(c, out_row, j * cols + x0), on);
  }
}

/* out[group g, row, x..] = sum over g's taps t of W[weight t] * in[row start + offset t + x..],
 * for rows 0..rows of every image: the stride-1 kernel of conv and conv_dx, over the kernel
 * rows of emit_rows with their k taps unrolled, ROW_BLOCK output rows at a time. A kernel
 * row that lands on padding rows (outside `pad` rows at either edge of the padded images)
 * adds zeros and is skipped: for conv_dx, whose gradient is padded by k - 1, that is a third
 * of the work. */
static void gather_rows(LowerCtx *c, const TapTables *tt, int groups, LLVMValueRef W, const Padded *in, LLVMValueRef out,
                       int rows, int cols, int k, int step, int pad) {
  LLVMValueRef acc[ROW_BLOCK];
  for (int j = 0; j < ROW_BLOCK; j++) acc[j] = entry_alloca(c, vec_t(c), "acc");
  Loop lr, lg, ly;
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  LLVMValueRef g = loop_begin(c, &lg, c_i64(c, groups), "map");
  LLVMValueRef yb = loop_begin(c, &ly, c_i64(c, rows / ROW_BLOCK), "rows");
  gather_block(c, tt, groups, W, in, out, r, g, mulk(c, yb, ROW_BLOCK), ROW_BLOCK, rows, cols, k, step, pad, acc);
  loop_end(c, &ly);
  if (rows % ROW_BLOCK) /* the last rows, fewer than a block */
    gather_block(c, tt, groups, W, in, out, r, g, c_i64(c, rows - rows % ROW_BLOCK), rows % ROW_BLOCK, rows, cols, k,
                 step, pad, acc);
  loop_end(c, &lg);
  loop_end(c, &lr);
}

/* Strided conv: scalar loops over the same taps. */
static void conv_strided(LowerCtx *c, const Window *w, const TapTables *tt, LLVMValueRef W, const Padded *p,
                         LLVMValueRef out) {
  LLVMValueRef acc = entry_alloca(c, c->f32, "acc");
  Loop lr, lm, ly, lx, lt;
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  LLVMValueRef m = loop_begin(c, &lm, c_i64(c, w->maps), "map");
  LLVMValueRef t0 = table_at(c, tt->first, m), t1 = table_at(c, tt->first, addk(c, m, 1));
  LLVMValueRef oy = loop_begin(c, &ly, c_i64(c, w->ho), "oy");
  LLVMValueRef ox = loop_begin(c, &lx, c_i64(c, w->wo), "ox");
  LLVMValueRef corner = add(c, mulk(c, r, p->maps * p->plane), add(c, mulk(c, oy, w->stride * p->wp), mulk(c, ox, w->stride)));
  LLVMBuildStore(c->b, c_f32(c, 0), acc);
  LLVMValueRef t = loop_begin(c, &lt, LLVMBuildNSWSub(c->b, t1, t0, ""), "tap");
  LLVMValueRef tap = add(c, t0, t);
  LLVMValueRef v = load_f32(c, p->base, add(c, corner, table_at(c, tt->offset, tap)));
  LLVMBuildStore(c->b, fmuladd(c, load_f32(c, W, table_at(c, tt->weight, tap)), v, LLVMBuildLoad2(c->b, c->f32, acc, "")), acc);
  loop_end(c, &lt);
  LLVMValueRef cell = add(c, mulk(c, add(c, mulk(c, add(c, mulk(c, r, w->maps), m), w->ho), oy), w->wo), ox);
  store_f32(c, LLVMBuildLoad2(c->b, c->f32, acc, ""), out, cell);
  loop_end(c, &lx);
  loop_end(c, &ly);
  loop_end(c, &lm);
  loop_end(c, &lr);
}

/* Few taps, every map reading every input (LeNet-5's C1: 25): the taps unrolled with
 * constant offsets, each weight loaded once per map, a vector accumulator in registers;
 * twice as fast as walking the table. (opt/conv_algo.c keeps convolutions of up to as many
 * taps direct.) */
enum { UNROLLED_TAPS = 32 };

static bool unrolled(const Window *w) {
  return !w->connect && w->stride == 1 && w->c * w->k * w->k <= UNROLLED_TAPS;
}

static void conv_unrolled(LowerCtx *c, const Window *w, const Taps *t, LLVMValueRef W, const Padded *p, LLVMValueRef out) {
  int n = (int)t->first[1]; /* every map has the same taps, at weight m * n + j */
  LLVMValueRef wt[UNROLLED_TAPS];
  Loop lr, lm, ly;
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  LLVMValueRef m = loop_begin(c, &lm, c_i64(c, w->maps), "map");
  for (int j = 0; j < n; j++) wt[j] = splat(c, load_f32(c, W, addk(c, mulk(c, m, n), t->weight[j])));
  LLVMValueRef oy = loop_begin(c, &ly, c_i64(c, w->ho), "oy");
  LLVMValueRef row = add(c, mulk(c, r, p->maps * p->plane), mulk(c, oy, p->wp));
  LLVMValueRef out_row = mulk(c, add(c, mulk(c, add(c, mulk(c, r, w->maps), m), w->ho), oy), w->wo);
  for (int x0 = 0; x0 < w->wo; x0 += LANES) {
    int on = w->wo - x0 < LANES ? w->wo - x0 : LANES;
    LLVMValueRef acc = LLVMConstNull(vec_t(c));
    for (int j = 0; j < n; j++) acc = fmuladd(c, wt[j], masked_load(c, p->base, addk(c, row, t->offset[j] + x0), on), acc);
    masked_store(c, acc, out, addk(c, out_row, x0), on);
  }
  loop_end(c, &ly);
  loop_end(c, &lm);
  loop_end(c, &lr);
}

/* out[first + j] = the sum of vector accumulator j's lanes, in lane order (as
 * llvm.vector.reduce.fadd without reassociation adds them), for j < n: through a buffer
 * and a loop, because 16 ordered additions per accumulator, inline, made C1's kernel
 * gradient alone a tenth of LeNet-5's machine code. */
static void store_lane_sums(LowerCtx *c, LLVMValueRef *acc, int n, LLVMValueRef out, LLVMValueRef first) {
  LLVMValueRef lanes = entry_alloca(c, LLVMArrayType(c->f32, (unsigned)(n * LANES)), "lanes");
  LLVMValueRef sum = entry_alloca(c, c->f32, "sum");
  for (int j = 0; j < n; j++) store_vec(c, LLVMBuildLoad2(c->b, vec_t(c), acc[j], ""), lanes, c_i64(c, j * LANES), NULL);
  Loop lj, ll;
  LLVMValueRef j = loop_begin(c, &lj, c_i64(c, n), "acc");
  LLVMBuildStore(c->b, c_f32(c, 0), sum);
  LLVMValueRef l = loop_begin(c, &ll, c_i64(c, LANES), "lane");
  LLVMValueRef v = load_f32(c, lanes, add(c, mulk(c, j, LANES), l));
  LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->f32, sum, ""), v, ""), sum);
  loop_end(c, &ll);
  store_f32(c, LLVMBuildLoad2(c->b, c->f32, sum, ""), out, add(c, first, j));
  loop_end(c, &lj);
}

/* Maps whose kernel gradients one pass of conv_dw_unrolled sums together: 2 where their
 * accumulators, dy vectors and an image vector fit the registers (AVX-512 with up to 14
 * taps: the small CNN's 3x3 C1), so each image vector loaded serves two maps' multiply-adds
 * (one load per multiply-add made C1's gradient load-bound); else 1. */
static int dw_maps_per_pass(LowerCtx *c, const Window *w, int taps) {
  int registers = c->vector_regs * c->lanes / LANES; /* of LANES floats */
  return w->maps % 2 == 0 && 2 * taps + 3 <= registers ? 2 : 1;
}

/* The kernel gradient of an unrolled conv: per map (or pair of maps), one vector
 * accumulator per tap, all in registers, over every image row. Each map's sums are in the
 * same order whichever maps share the pass. */
static void conv_dw_unrolled(LowerCtx *c, const Window *w, const Taps *t, LLVMValueRef dy, const Padded *p,
                             LLVMValueRef dW) {
  enum { MAX_MAPS = 2 };
  int n = (int)t->first[1], B = dw_maps_per_pass(c, w, n);
  int64_t plane = (int64_t)w->ho * w->wo;
  LLVMValueRef acc[MAX_MAPS][UNROLLED_TAPS];
  for (int b = 0; b < B; b++)
    for (int j = 0; j < n; j++) acc[b][j] = entry_alloca(c, vec_t(c), "acc");
  Loop lm, lr, ly;
  LLVMValueRef m = mulk(c, loop_begin(c, &lm, c_i64(c, w->maps / B), "maps"), B);
  for (int b = 0; b < B; b++)
    for (int j = 0; j < n; j++) LLVMBuildStore(c->b, LLVMConstNull(vec_t(c)), acc[b][j]);
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  LLVMValueRef oy = loop_begin(c, &ly, c_i64(c, w->ho), "oy");
  LLVMValueRef row = add(c, mulk(c, r, p->maps * p->plane), mulk(c, oy, p->wp));
  LLVMValueRef dy_row = mulk(c, add(c, mulk(c, add(c, mulk(c, r, w->maps), m), w->ho), oy), w->wo);
  for (int x0 = 0; x0 < w->wo; x0 += LANES) {
    int on = w->wo - x0 < LANES ? w->wo - x0 : LANES;
    LLVMValueRef d[MAX_MAPS];
    for (int b = 0; b < B; b++) d[b] = masked_load(c, dy, addk(c, dy_row, b * plane + x0), on);
    for (int j = 0; j < n; j++) {
      LLVMValueRef v = masked_load(c, p->base, addk(c, row, t->offset[j] + x0), on);
      for (int b = 0; b < B; b++)
        LLVMBuildStore(c->b, fmuladd(c, d[b], v, LLVMBuildLoad2(c->b, vec_t(c), acc[b][j], "")), acc[b][j]);
    }
  }
  loop_end(c, &ly);
  loop_end(c, &lr);
  DLC_ASSERT(t->weight[n - 1] == n - 1); /* map m's taps are its weights m * n + j in order */
  for (int b = 0; b < B; b++) store_lane_sums(c, acc[b], n, dW, mulk(c, addk(c, m, b), n));
  loop_end(c, &lm);
}

static void lower_conv_forward(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  Padded p = pad_images(c, y, buffer_of(c, y->in[0]), w->c, w->h, w->w, w->pad);
  Taps t = forward_taps(w, &p);
  if (unrolled(w)) {
    conv_unrolled(c, w, &t, buffer_of(c, y->in[1]), &p, buffer_of(c, y));
  } else {
    if (w->stride == 1) {
      TapTables tt = emit_rows(c, &t, w->maps, w->k, &p);
      gather_rows(c, &tt, w->maps, buffer_of(c, y->in[1]), &p, buffer_of(c, y), w->ho, w->wo, w->k, 1, w->pad);
    } else {
      TapTables tt = emit_taps(c, &t, w->maps);
      conv_strided(c, w, &tt, buffer_of(c, y->in[1]), &p, buffer_of(c, y));
    }
  }
  taps_free(&t);
}

/* dW[weight t] = the sum over images, rows and columns of dy[r,m,row,x] * xp[r, offset t + ...]:
 * per tap, a vector accumulator over the columns (any stride: scalar). */
static void lower_conv_dw(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  Padded p = pad_images(c, y, buffer_of(c, y->in[1]), w->c, w->h, w->w, w->pad);
  Taps taps = forward_taps(w, &p);
  if (unrolled(w)) {
    conv_dw_unrolled(c, w, &taps, buffer_of(c, y->in[0]), &p, buffer_of(c, y));
    taps_free(&taps);
    return;
  }
  LLVMValueRef dy = buffer_of(c, y->in[0]), dW = buffer_of(c, y);
  bool vector = w->stride == 1 && w->k <= MAX_KERNEL_ROW;
  /* stride 1: a kernel row (k taps) at a time, k vector accumulators; else one tap at a time */
  int k = vector ? w->k : 1;
  TapTables tt = vector ? emit_rows(c, &taps, w->maps, k, &p) : emit_taps(c, &taps, w->maps);
  LLVMValueRef acc[MAX_KERNEL_ROW];
  DLC_ASSERT(k <= MAX_KERNEL_ROW);
  for (int kx = 0; kx < k; kx++) acc[kx] = entry_alloca(c, vector ? vec_t(c) : c->f32, "acc");
  Loop lm, lt, lr, ly, lx;
  LLVMValueRef m = loop_begin(c, &lm, c_i64(c, w->maps), "map");
  LLVMValueRef t0 = table_at(c, tt.first, m), t1 = table_at(c, tt.first, addk(c, m, 1));
  LLVMValueRef t = loop_begin(c, &lt, LLVMBuildNSWSub(c->b, t1, t0, ""), "tap");
  LLVMValueRef tap = add(c, t0, t), offset = table_at(c, tt.offset, tap);
  for (int kx = 0; kx < k; kx++) LLVMBuildStore(c->b, vector ? LLVMConstNull(vec_t(c)) : c_f32(c, 0), acc[kx]);
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  LLVMValueRef oy = loop_begin(c, &ly, c_i64(c, w->ho), "oy");
  LLVMValueRef dy_row = mulk(c, add(c, mulk(c, add(c, mulk(c, r, w->maps), m), w->ho), oy), w->wo);
  LLVMValueRef x_row = add(c, add(c, mulk(c, r, p.maps * p.plane), mulk(c, oy, w->stride * p.wp)), offset);
  if (vector) {
    for (int x0 = 0; x0 < w->wo; x0 += LANES) {
      int on = w->wo - x0 < LANES ? w->wo - x0 : LANES;
      LLVMValueRef d = masked_load(c, dy, addk(c, dy_row, x0), on);
      for (int kx = 0; kx < k; kx++) {
        LLVMValueRef v = masked_load(c, p.base, addk(c, x_row, x0 + kx), on);
        LLVMBuildStore(c->b, fmuladd(c, d, v, LLVMBuildLoad2(c->b, vec_t(c), acc[kx], "")), acc[kx]);
      }
    }
  } else {
    LLVMValueRef ox = loop_begin(c, &lx, c_i64(c, w->wo), "ox");
    LLVMValueRef d = load_f32(c, dy, add(c, dy_row, ox)), v = load_f32(c, p.base, add(c, x_row, mulk(c, ox, w->stride)));
    LLVMBuildStore(c->b, fmuladd(c, d, v, LLVMBuildLoad2(c->b, c->f32, acc[0], "")), acc[0]);
    loop_end(c, &lx);
  }
  loop_end(c, &ly);
  loop_end(c, &lr);
  LLVMValueRef w0 = table_at(c, tt.weight, tap);
  if (vector) store_lane_sums(c, acc, k, dW, w0);
  else store_f32(c, LLVMBuildLoad2(c->b, c->f32, acc[0], ""), dW, w0);
  loop_end(c, &lt);
  loop_end(c, &lm);
  taps_free(&taps);
}

/* conv_dx, any stride: dxp[r, c, oy*s+ky, ox*s+kx] += W[t] * dy[r, m, oy, ox], then cropped. */
static void conv_dx_strided(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  LLVMValueRef dx = buffer_of(c, y), dy = buffer_of(c, y->in[0]), W = buffer_of(c, y->in[1]);
  Padded p = {w->c, w->h + 2 * w->pad, w->w + 2 * w->pad, (int64_t)(w->h + 2 * w->pad) * (w->w + 2 * w->pad), dx};
  if (w->pad) p.base = workspace_of(c, y);
  fill_zeros(c, p.base, mulk(c, c->n, w->c * p.plane));
  Taps taps = forward_taps(w, &p);
  TapTables tt = emit_taps(c, &taps, w->maps);
  Loop lr, lm, ly, lx, lt;
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  LLVMValueRef m = loop_begin(c, &lm, c_i64(c, w->maps), "map");
  LLVMValueRef t0 = table_at(c, tt.first, m), t1 = table_at(c, tt.first, addk(c, m, 1));
  LLVMValueRef oy = loop_begin(c, &ly, c_i64(c, w->ho), "oy");
  LLVMValueRef ox = loop_begin(c, &lx, c_i64(c, w->wo), "ox");
  LLVMValueRef d = load_f32(c, dy, add(c, mulk(c, add(c, mulk(c, add(c, mulk(c, r, w->maps), m), w->ho), oy), w->wo), ox));
  LLVMValueRef corner = add(c, mulk(c, r, p.maps * p.plane), add(c, mulk(c, oy, w->stride * p.wp), mulk(c, ox, w->stride)));
  LLVMValueRef t = loop_begin(c, &lt, LLVMBuildNSWSub(c->b, t1, t0, ""), "tap");
  LLVMValueRef tap = add(c, t0, t), at = add(c, corner, table_at(c, tt.offset, tap));
  store_f32(c, fmuladd(c, load_f32(c, W, table_at(c, tt.weight, tap)), d, load_f32(c, p.base, at)), p.base, at);
  loop_end(c, &lt);
  loop_end(c, &lx);
  loop_end(c, &ly);
  loop_end(c, &lm);
  loop_end(c, &lr);
  if (w->pad) { /* crop */
    Loop lp, li;
    LLVMValueRef plane = loop_begin(c, &lp, mulk(c, c->n, w->c), "plane");
    LLVMValueRef iy = loop_begin(c, &li, c_i64(c, w->h), "iy");
    LLVMValueRef src = addk(c, mulk(c, add(c, mulk(c, plane, p.hp), addk(c, iy, w->pad)), p.wp), w->pad);
    LLVMValueRef dst = mulk(c, add(c, mulk(c, plane, w->h), iy), w->w);
    copy_floats(c, elem_ptr(c, dx, dst), elem_ptr(c, p.base, src), c_i64(c, w->w)); /* a row */
    loop_end(c, &li);
    loop_end(c, &lp);
  }
  taps_free(&taps);
}

static void lower_conv_dx(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  if (w->stride != 1) {
    conv_dx_strided(c, y);
    return;
  }
  Padded dyp = pad_images(c, y, buffer_of(c, y->in[0]), w->maps, w->ho, w->wo, w->k - 1 - w->pad);
  Taps t = backward_taps(w, &dyp);
  TapTables tt = emit_rows(c, &t, w->c, w->k, &dyp);
  gather_rows(c, &tt, w->c, buffer_of(c, y->in[1]), &dyp, buffer_of(c, y), w->h, w->w, w->k, -1, w->k - 1 - w->pad);
  taps_free(&t);
}

void lower_conv(LowerCtx *c, const Node *y) {
  if (y->attr.win->choice[conv_pass_of(y->op)].kernel == CONV_KERNEL_TILED) {
    lower_conv_tiled(c, y);
    return;
  }
  if (y->attr.win->choice[conv_pass_of(y->op)].kernel == CONV_KERNEL_WINOGRAD) {
    lower_conv_winograd(c, y);
    return;
  }
  switch (y->op) {
  case OP_CONV: lower_conv_forward(c, y); break;
  case OP_CONV_DW: lower_conv_dw(c, y); break;
  case OP_CONV_DX: lower_conv_dx(c, y); break;
  default: DLC_UNREACHABLE();
  }
}

/* The zero-padded copies the kernels read: the images with `pad` zeros on every side, or for
 * a stride-1 conv_dx, dy with k-1-pad (the full correlation). */
int64_t lower_workspace(const Node *n, int batch) {
  if (op_info(n->op)->cls != CONV) return 0;
  const Window *w = n->attr.win;
  /* sized for the widest vectors, whatever the instruction set the code is made for */
  if (w->choice[conv_pass_of(n->op)].kernel == CONV_KERNEL_TILED) return conv_tiled_workspace(n, batch, MAX_LANES);
  if (w->choice[conv_pass_of(n->op)].kernel == CONV_KERNEL_WINOGRAD) return conv_winograd_workspace(n, batch);
  if (n->op == OP_CONV_DX && w->stride == 1) { /* dy padded by k-1-pad */
    int pp = w->k - 1 - w->pad;
    return pp ? (int64_t)batch * w->maps * (w->ho + 2 * pp) * (w->wo + 2 * pp) : 0;
  }
  if (w->pad == 0) return 0; /* unpadded images are read in place */
  return (int64_t)batch * w->c * (w->h + 2 * w->pad) * (w->w + 2 * w->pad);
}
