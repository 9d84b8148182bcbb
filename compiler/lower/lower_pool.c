/* lower_pool.c — pooling over windows that tile the image (stride = k: 2x2 by 2, the usual),
 * in vectors: 16 windows of a row at a time. Each of the window's k input rows is loaded as k
 * vectors and split by shuffles into its k columns, so each cell (ky, kx) of the 16 windows is
 * one vector.
 *   maxpool:      y = the largest cell;
 *   pool_sum:     y = the sum of the cells, row by row (as the reference adds them);
 *   maxpool_back: the first largest cell in window order (ky, then kx; as the reference)
 *                 takes the window's gradient, the others 0;
 *   unpool_sum:   every cell takes the window's gradient.
 * The backward ops write every cell of a window, the columns interleaved back by shuffles, so
 * no pass zeroes the gradient first (only the cells outside every window, where the image is
 * not a whole number of windows, are zeroed). A backward op with an epilogue may also add up
 * the epilogue's values per map (Schedule.epilogue_sum: the bias gradient), a vector of
 * partial sums per plane, so that no pass reads its images back for it.
 *
 * Saved choices (Schedule.pool_argmax): max pooling whose backward takes exactly the ReLU
 * derivative mul(maxpool_back(a, dy), step(a)) as its epilogue saves, per window, the cell
 * its backward would pick (ky * k + kx, bits 0-3) and whether that cell is positive (bit 4)
 * as a byte, at the window's index in bytes of a's buffer (which only these two read); the
 * backward reads the bytes instead of a's k * k floats a window and gives the picked cell
 * dy * step, the others 0: what the epilogue would compute from a, bit for bit. */
#include "lower_private.h"

#define add ix_add
#define mulk ix_mulk
#define addk ix_addk

enum { MAX_POOL_K = 4 };

bool lower_pool_in_vectors(const Window *w) { return window_tiles_image(w) && w->k <= MAX_POOL_K; }

/* The k vectors v[0..k) as one vector of 16 * 2^ceil(log2 k) lanes (the rest undefined). */
static LLVMValueRef concat(LowerCtx *c, LLVMValueRef *v, int k) {
  LLVMValueRef parts[MAX_POOL_K];
  int n = k;
  for (int i = 0; i < k; i++) parts[i] = v[i];
  while (n > 1) {
    int half = (n + 1) / 2;
    for (int i = 0; i < half; i++) {
      LLVMValueRef a = parts[2 * i], b = 2 * i + 1 < n ? parts[2 * i + 1] : LLVMGetUndef(LLVMTypeOf(a));
      unsigned len = LLVMGetVectorSize(LLVMTypeOf(a));
      LLVMValueRef idx[4 * MAX_POOL_K * LANES];
      for (unsigned j = 0; j < 2 * len; j++) idx[j] = c_i32(c, (int32_t)j);
      parts[i] = LLVMBuildShuffleVector(c->b, a, b, LLVMConstVector(idx, 2 * len), "");
    }
    n = half;
  }
  return parts[0];
}

/* LANES lanes of `wide` picked by index(j) = first + step * j. */
static LLVMValueRef pick(LowerCtx *c, LLVMValueRef wide, int first, int step) {
  LLVMValueRef idx[LANES];
  for (int j = 0; j < LANES; j++) idx[j] = c_i32(c, first + step * j);
  return LLVMBuildShuffleVector(c->b, wide, LLVMGetUndef(LLVMTypeOf(wide)), LLVMConstVector(idx, LANES), "");
}

/* Floats [from, from + count) of a row in vectors of LANES: vector q's mask. */
static LLVMValueRef row_mask(LowerCtx *c, LLVMValueRef count, int q) {
  return lanes_below_value(c, LLVMBuildNSWSub(c->b, count, c_i64(c, q * LANES), ""));
}

/* LANES bytes of a buffer at byte index `at`, as i32 lanes, or stored from them (masked). */
static LLVMValueRef load_choices(LowerCtx *c, LLVMValueRef base, LLVMValueRef at, LLVMValueRef mask) {
  LLVMTypeRef i8 = LLVMInt8TypeInContext(c->ctx), bytes = LLVMVectorType(i8, LANES);
  LLVMTypeRef params[4] = {c->ptr, c->i32, LLVMTypeOf(mask), bytes};
  LLVMValueRef args[4] = {LLVMBuildGEP2(c->b, i8, base, &at, 1, ""), c_i32(c, 1), mask, LLVMConstNull(bytes)};
  LLVMValueRef v = call_fn(c, "llvm.masked.load.v16i8.p0", bytes, params, 4, args);
  return LLVMBuildZExt(c->b, v, LLVMVectorType(c->i32, LANES), "choice");
}

static void store_choices(LowerCtx *c, LLVMValueRef v, LLVMValueRef base, LLVMValueRef at, LLVMValueRef mask) {
  LLVMTypeRef i8 = LLVMInt8TypeInContext(c->ctx), bytes = LLVMVectorType(i8, LANES);
  LLVMTypeRef params[4] = {bytes, c->ptr, c->i32, LLVMTypeOf(mask)};
  LLVMValueRef args[4] = {LLVMBuildTrunc(c->b, v, bytes, ""), LLVMBuildGEP2(c->b, i8, base, &at, 1, ""), c_i32(c, 1), mask};
  call_fn(c, "llvm.masked.store.v16i8.p0", c->void_t, params, 4, args);
}

void lower_pool_vectors(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  int k = w->k;
  bool forward = y->op == OP_MAXPOOL || y->op == OP_POOL_SUM, sum = y->op == OP_POOL_SUM || y->op == OP_UNPOOL_SUM;
  const Node *pair = c->sched->pool_argmax ? c->sched->pool_argmax[y->id] : NULL; /* choices saved or read */
  LLVMValueRef choices = pair ? buffer_of(c, y->in[0]) : NULL;
  /* unpool_sum reads only the gradient, a backward with saved choices those */
  const Node *img = y->op == OP_UNPOOL_SUM || (pair && !forward) ? NULL : y->in[0];
  LLVMValueRef in = img ? buffer_of(c, img) : NULL, out = lower_kernel_output(c, y);
  LLVMValueRef dy = forward ? NULL : buffer_of(c, y->op == OP_UNPOOL_SUM ? y->in[0] : y->in[1]);
  if (!forward && (w->h % k || w->w % k)) fill_zeros(c, out, mulk(c, rows_of(c, y), shape_numel(y->shape)));
  const Node *adds = c->sched->epilogue_sum ? c->sched->epilogue_sum[y->id] : NULL; /* the tree's sum per map */
  LLVMValueRef sums = adds ? buffer_of(c, adds) : NULL, partial = adds ? entry_alloca(c, vec_t(c), "plane_sum") : NULL;
  if (adds) fill_zeros(c, sums, c_i64(c, w->c));
  Loop lp, ly, lx;
  LLVMValueRef plane = loop_begin(c, &lp, mulk(c, rows_of(c, y), w->c), "plane");
  LLVMValueRef map = LLVMBuildURem(c->b, plane, c_i64(c, w->c), "map"); /* for an epilogue's values per map */
  if (adds) LLVMBuildStore(c->b, LLVMConstNull(vec_t(c)), partial);
  LLVMValueRef oy = loop_begin(c, &ly, c_i64(c, w->ho), "oy");
  int64_t vectors = (w->wo + LANES - 1) / LANES;
  LLVMValueRef vx = loop_begin(c, &lx, c_i64(c, vectors), "windows");
  LLVMValueRef ox0 = mulk(c, vx, LANES);
  LLVMValueRef windows = LLVMBuildNSWSub(c->b, c_i64(c, w->wo), ox0, ""); /* those left in the row */
  LLVMValueRef cells = mulk(c, windows, k);                                 /* input floats they cover */
  LLVMValueRef cell_at = add(c, mulk(c, add(c, mulk(c, plane, w->ho), oy), w->wo), ox0);
  LLVMValueRef mask = lanes_below_value(c, windows);
  LLVMValueRef v[MAX_POOL_K][MAX_POOL_K]; /* v[ky][kx]: cell (ky, kx) of the 16 windows */
  for (int ky = 0; ky < k && in; ky++) {
    LLVMValueRef row = add(c, mulk(c, add(c, mulk(c, plane, w->h), addk(c, mulk(c, oy, k), ky)), w->w), mulk(c, ox0, k));
    LLVMValueRef part[MAX_POOL_K];
    for (int q = 0; q < k; q++) part[q] = load_vec(c, in, addk(c, row, q * LANES), row_mask(c, cells, q));
    LLVMValueRef wide = concat(c, part, k);
    for (int kx = 0; kx < k; kx++) v[ky][kx] = pick(c, wide, kx, k);
  }
  LLVMValueRef best = in ? v[0][0] : NULL, which = LLVMConstNull(LLVMVectorType(c->i32, LANES));
  for (int t = 1; t < k * k && in; t++) {
    LLVMValueRef cell = v[t / k][t % k], more = sum ? NULL : LLVMBuildFCmp(c->b, LLVMRealOGT, cell, best, "");
    best = sum ? LLVMBuildFAdd(c->b, best, cell, "") : LLVMBuildSelect(c->b, more, cell, best, "");
    if (!sum && (!forward || pair)) which = LLVMBuildSelect(c->b, more, splat(c, c_i32(c, t)), which, "");
  }
  if (forward) {
    store_vec(c, lower_epilogue(c, y, best, cell_at, map, mask), out, cell_at, mask);
    if (pair) {
      LLVMValueRef positive = LLVMBuildFCmp(c->b, LLVMRealOGT, best, LLVMConstNull(vec_t(c)), "");
      LLVMValueRef bit = LLVMBuildSelect(c->b, positive, splat(c, c_i32(c, 16)), splat(c, c_i32(c, 0)), "");
      store_choices(c, LLVMBuildOr(c->b, which, bit, ""), choices, cell_at, mask);
    }
  } else {
    LLVMValueRef g = load_vec(c, dy, cell_at, mask), zero = LLVMConstNull(vec_t(c));
    if (pair) { /* the epilogue's mul(., step(a)) at the picked cell, in its operands' order */
      LLVMValueRef code = load_choices(c, choices, cell_at, mask);
      which = LLVMBuildAnd(c->b, code, splat(c, c_i32(c, 15)), "which");
      LLVMValueRef positive = LLVMBuildICmp(c->b, LLVMIntNE, LLVMBuildAnd(c->b, code, splat(c, c_i32(c, 16)), ""),
                                            splat(c, c_i32(c, 0)), "");
      LLVMValueRef step = LLVMBuildSelect(c->b, positive, f32_like(c, g, 1), zero, "step");
      bool first = c->sched->epilogue[y->id]->in[0] == y;
      g = first ? LLVMBuildFMul(c->b, g, step, "") : LLVMBuildFMul(c->b, step, g, "");
    }
    for (int ky = 0; ky < k; ky++) {
      LLVMValueRef cols[MAX_POOL_K];
      for (int kx = 0; kx < k; kx++) {
        LLVMValueRef here = LLVMBuildICmp(c->b, LLVMIntEQ, which, splat(c, c_i32(c, ky * k + kx)), "");
        cols[kx] = sum ? g : LLVMBuildSelect(c->b, here, g, zero, "");
      }
      /* back to the row's order: float p of the row is column p % k of window p / k */
      LLVMValueRef wide = concat(c, cols, k);
      LLVMValueRef row = add(c, mulk(c, add(c, mulk(c, plane, w->h), addk(c, mulk(c, oy, k), ky)), w->w), mulk(c, ox0, k));
      for (int q = 0; q < k; q++) {
        LLVMValueRef idx[LANES];
        for (int j = 0; j < LANES; j++) {
          int p = q * LANES + j;
          idx[j] = c_i32(c, (p % k) * LANES + p / k);
        }
        LLVMValueRef o = LLVMBuildShuffleVector(c->b, wide, LLVMGetUndef(LLVMTypeOf(wide)), LLVMConstVector(idx, LANES), "");
        LLVMValueRef at = addk(c, row, q * LANES), m = row_mask(c, cells, q);
        LLVMValueRef value = pair ? o : lower_epilogue(c, y, o, at, map, m);
        store_vec(c, value, out, at, m);
        if (adds) {
          LLVMValueRef stored = LLVMBuildSelect(c->b, m, value, zero, "");
          LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, vec_t(c), partial, ""), stored, ""), partial);
        }
      }
    }
  }
  loop_end(c, &lx);
  loop_end(c, &ly);
  if (adds) {
    LLVMValueRef total = lanes_sum(c, LLVMBuildLoad2(c->b, vec_t(c), partial, ""));
    store_f32(c, LLVMBuildFAdd(c->b, load_f32(c, sums, map), total, ""), sums, map);
  }
  loop_end(c, &lp);
}
