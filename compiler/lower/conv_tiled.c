/* conv_tiled.c — register-tiled direct convolutions: the 3x3 (or any k) convolutions of
 * many maps of VGG-style and residual nets, and connection tables' layers as dense ones with
 * zero kernels (dense_kernels), where the table kernels of lower_conv.c load an
 * input row and a weight per multiply-add, and im2col + gemm copies every pixel k*k times,
 * runs a product of awkward shape and transposes it back.
 * opt/conv_algo.c chooses these kernels and their tiles (Window.choice).
 *
 * conv and conv_dx (stride 1): the images (dy for conv_dx) are placed in zero-padded planes
 * of width wq, the grid. Output positions are numbered along the output's rows, p = oy*wo +
 * ox, so no lane computes a padding column (position_width; where a vector would span more
 * than MAX_LOAD_ROWS rows, a 3x3 map, they are numbered along the grid's rows instead, p =
 * oy*wq + ox, the columns ox >= wo junk, computed and never stored). Position p reads, for
 * tap (ky, kx) of input plane i, the grid float at i*plane + p + oy*(wq - wo) + ky*wq + kx:
 * a vector of L positions (the vector unit's width) is one unaligned load per output row it
 * touches, the first plain and the others merged in by masked loads, so 7x7 maps fill
 * vectors as 32x32 ones do. A tile holds M output maps x P position vectors in registers:
 * per tap, those loads of the input and M broadcast weights (with AVX-512 an operand of the
 * multiply-add itself) for M*P multiply-adds. The stores are plain vectors of the output
 * (along the grid: the lanes of grid row q go to output index p - q*(wq - wo), one masked
 * store per row a vector touches).
 *   conv:    y[m, oy, ox]  = sum over input maps i and taps of W[m, i, ky, kx] * xp[i, oy + ky, ox + kx]
 *   conv_dx: dx[c, iy, ix] = sum over maps m and taps of W[m, c, k-1-ky, k-1-kx] * dyp[m, iy + ky, ix + kx]
 *            (dy placed at k-1-pad in a grid w + k - 1 wide: each dx row is written once)
 * conv_dw (any stride): dW[m, (i, t)] = sum over images and positions of dy[m, p] *
 *   xp[i, p*stride + offset t]. Here the vectors run along the maps: dy is transposed per
 *   image to [positions, maps], and x is broadcast, so no lane is spent on junk columns and
 *   no vector needs its lanes summed. A tile holds A map vectors x B kernel rows (k taps
 *   each): per position, A loads of dy and k*B broadcasts of x for A*B*k multiply-adds. The
 *   sums go to dWT [i, t, maps] (loaded and stored per tile and image), which is transposed
 *   into dW at the end. */
#include <stdlib.h>
#include "lower_private.h"

#define add ix_add
#define mulk ix_mulk
#define addk ix_addk

/* base + index floats, for an address that may lie outside base's buffer (a masked store
 * whose lanes in use are inside it): not inbounds. */
static LLVMValueRef any_ptr(LowerCtx *c, LLVMValueRef base, LLVMValueRef index) {
  return LLVMBuildGEP2(c->b, c->f32, base, &index, 1, "");
}

/* The lanes of `into`, those of mask replaced by the floats at p (the others not read). */
static LLVMValueRef merge_load(LowerCtx *c, LLVMValueRef into, LLVMValueRef p, LLVMValueRef mask) {
  unsigned lanes = LLVMGetVectorSize(LLVMTypeOf(into));
  char name[48];
  snprintf(name, sizeof name, "llvm.masked.load.v%uf32.p0", lanes);
  LLVMTypeRef params[4] = {c->ptr, c->i32, LLVMTypeOf(mask), LLVMTypeOf(into)};
  LLVMValueRef args[4] = {p, c_i32(c, 4), mask, into};
  return call_fn(c, name, LLVMTypeOf(into), params, 4, args);
}

/* Images in zero-padded planes: `planes` per image of hq rows of wq floats. */
typedef struct Grid {
  int planes;
  int64_t hq, wq, plane, image;
  LLVMValueRef base;
} Grid;

static Grid grid_make(int planes, int64_t hq, int64_t wq, LLVMValueRef base) {
  return (Grid){planes, hq, wq, hq * wq, planes * hq * wq, base};
}

/* Floats after the last image that a kernel may read: the junk lanes of its last tile (up to
 * MAX_TILE_P vectors past the positions, each spread over up to wq / pw as many grid
 * floats when positions run along the output's rows), shifted by the last tap. */
enum { MAX_TILE_P = 8 };
static int64_t grid_slack(int lanes, int k, int64_t wq) { return ((int64_t)MAX_TILE_P * lanes + lanes) * wq + (k + 1) * wq; }

/* Copies `count` planes of h x w floats from src into the grid, each at row `top`, column
 * `left` of its plane. With `zero`, each plane is zeroed first (while it is in the cache,
 * rather than the whole grid in a pass of its own, which for conv_dx's grid of a batch was
 * megabytes written twice); else what is around them must be zero already. */
static void place_rows(LowerCtx *c, LLVMValueRef src, LLVMValueRef count, int h, int w, const Grid *g, int top, int left,
                       bool zero) {
  DLC_ASSERT(top + h <= g->hq && left + w <= g->wq);
  Loop lp, ly;
  LLVMValueRef plane = loop_begin(c, &lp, count, "plane");
  if (zero) fill_zeros(c, elem_ptr(c, g->base, mulk(c, plane, g->plane)), c_i64(c, g->plane));
  LLVMValueRef iy = loop_begin(c, &ly, c_i64(c, h), "iy");
  LLVMValueRef from = mulk(c, add(c, mulk(c, plane, h), iy), w);
  LLVMValueRef to = addk(c, add(c, mulk(c, plane, g->plane), mulk(c, iy, g->wq)), top * g->wq + left);
  copy_floats(c, elem_ptr(c, g->base, to), elem_ptr(c, src, from), c_i64(c, w));
  loop_end(c, &ly);
  loop_end(c, &lp);
}

/* What a conv or conv_dx kernel computes: out_maps maps of ho x wo from in_planes planes of
 * a grid, weight (o, i, tap) at W[o*w_out + i*w_in + tap], tap = ky*k + kx (flipped:
 * k*k - 1 - that). Positions are numbered along rows pw wide (position_width). */
typedef struct Gather {
  int out_maps, in_planes, k, ho, wo;
  int64_t w_out, w_in;
  bool flip;
  int tile_m, tile_p;
  int64_t pw;
  const unsigned char *connect; /* a table's pairs (Window.connect) if its planes are unrolled */
} Gather;

/* A table's tiles unroll the input planes of every map block (gather_tile) where there are
 * few enough (conv_tiles_unroll_planes), else run the dense layer. */
static bool unrolls_planes(const Gather *t) {
  return conv_tiles_unroll_planes(t->in_planes, (t->out_maps + t->tile_m - 1) / t->tile_m);
}

/* Whether output map o reads input plane i: always without a table; with one, the pair of
 * conv's output map o and input map i, or for conv_dx (flip) of input map o and map i. */
static bool connected(const Gather *t, int o, int i) {
  if (!t->connect) return true;
  return t->flip ? t->connect[o * t->in_planes + i] : t->connect[i * t->out_maps + o];
}

/* The most rows `width` wide that a vector of L positions starting at a multiple of L
 * touches (the starts repeat with period width): (L - 1) / width + 2 at most, but 1 where
 * the rows are whole vectors (a 14x14 map padded to 16), so that no store is masked off
 * whole. */
static int rows_touched(int64_t width, int L) {
  int most = 1;
  for (int64_t v = 0; v < width; v++) {
    int64_t start = v * L % width;
    int rows = (int)((start + L - 1) / width) + 1;
    if (rows > most) most = rows;
  }
  return most;
}

/* The width positions are numbered along: the output's rows (no junk columns: a 14x14 map
 * fills 12.25 vectors, not the 14 of its 16-wide grid rows) where a vector spans at most
 * MAX_LOAD_ROWS of them, each a load of its own per tap; else the grid's rows (one load
 * per tap; junk columns computed and dropped). opt/conv_algo.c estimates with the same
 * rule. */
enum { MAX_LOAD_ROWS = 4 };
static int64_t position_width(int64_t wo, int64_t wq, int L) {
  return rows_touched(wo, L) <= MAX_LOAD_ROWS ? wo : wq;
}

/* Multiply-adds a tile's plane step may unroll: more, and the kernel rows are a loop (of k
 * taps each, enough to hide the loop's cost; unrolled, a 3x3 tile of 8 x 3 was 216
 * multiply-adds of code per pass and copy of it). */
enum { MAX_TILE = 32, UNROLL_FMAS = 96 };

typedef struct Tile {
  const Node *y; /* the kernel's node: its epilogue, if any, is applied as it stores */
  const Gather *t;
  const Grid *g;
  LLVMValueRef W, out, img, out_img; /* img, out_img: this image's index in g->base and out */
  /* the tile's position vectors: vector j's lanes in its row q (of load_rows) read the grid
   * from shift[j][q] on; rows after the first are merged in by masked loads (mask) */
  int load_rows;
  LLVMValueRef shift[MAX_TILE_P][MAX_LOAD_ROWS], mask[MAX_TILE_P][MAX_LOAD_ROWS];
  LLVMValueRef acc[MAX_TILE];
  LLVMValueRef spill; /* the accumulators stored for store_tile */
  int lanes;
} Tile;

/* Position tiles of a pass: whole tiles of tile_p vectors covering ho rows of the grid. */
static int64_t tiles_along(const Gather *t, int lanes) {
  int64_t vectors = ((int64_t)t->ho * t->pw + lanes - 1) / lanes;
  return (vectors + t->tile_p - 1) / t->tile_p;
}

/* Kernel rows [ky0, ky0 + rows) of every tap, for m maps from m0 and p vectors from the
 * position index `at` (in g->base), weights from w_at: the multiply-adds into a[]. */
static void gather_taps(LowerCtx *c, Tile *tl, LLVMValueRef at, LLVMValueRef w_at, LLVMValueRef ky0, int rows, int m,
                        int p, const bool *use, LLVMValueRef *a) {
  const Gather *t = tl->t;
  int k = t->k, L = tl->lanes;
  LLVMValueRef row_at = add(c, at, mulk(c, ky0, tl->g->wq));
  /* flipped taps run backwards: tap(ky, kx) = k*k - 1 - ky*k - kx */
  LLVMValueRef w_row = t->flip ? LLVMBuildNSWSub(c->b, addk(c, w_at, k * k - 1), mulk(c, ky0, k), "")
                               : add(c, w_at, mulk(c, ky0, k));
  for (int ky = 0; ky < rows; ky++)
    for (int kx = 0; kx < k; kx++) {
      LLVMValueRef v[MAX_TILE];
      for (int j = 0; j < p; j++) {
        int64_t tap_at = ky * tl->g->wq + kx;
        v[j] = load_vec_at(c, L, elem_ptr(c, tl->g->base, addk(c, add(c, row_at, tl->shift[j][0]), tap_at)), NULL);
        for (int q = 1; q < tl->load_rows; q++)
          v[j] = merge_load(c, v[j], any_ptr(c, tl->g->base, addk(c, add(c, row_at, tl->shift[j][q]), tap_at)), tl->mask[j][q]);
      }
      int64_t tap = t->flip ? -(int64_t)(ky * k + kx) : ky * k + kx;
      for (int i = 0; i < m; i++) {
        if (!use[i]) continue; /* a pair the table lacks: its kernel is zero */
        LLVMValueRef wv = splat_of(c, load_f32(c, tl->W, addk(c, w_row, i * t->w_out + tap)), L);
        for (int j = 0; j < p; j++) a[i * p + j] = fmuladd(c, wv, v[j], a[i * p + j]);
      }
    }
}

/* Stores a tile's accumulators (m maps from m0, p vectors of positions from v0, held in
 * tl->acc) without the junk: a loop over the maps and vectors, so that the masks and stores
 * are written once, not once per accumulator (it was a third of a kernel's code). */
static void store_tile(LowerCtx *c, Tile *tl, int m, int p, LLVMValueRef m0, LLVMValueRef v0) {
  const Gather *t = tl->t;
  int L = tl->lanes;
  int64_t wq = t->pw, npos = (int64_t)t->ho * wq, plane = (int64_t)t->ho * t->wo;
  Loop lj, li;
  LLVMValueRef j = loop_begin(c, &lj, c_i64(c, p), "vector");
  LLVMValueRef p_start = mulk(c, add(c, v0, j), L);
  LLVMValueRef pos = LLVMBuildAdd(c->b, splat_of(c, LLVMBuildTrunc(c->b, p_start, c->i32, ""), L), lane_numbers(c, L), "pos");
  LLVMValueRef inside = LLVMBuildICmp(c->b, LLVMIntULT, pos, splat_of(c, c_i32(c, (int32_t)npos), L), "");
  /* the rows (pw wide) a vector touches: its lanes in row q go to output index pos - q*(pw - wo) */
  int rows = wq == t->wo ? 1 : rows_touched(wq, L);
  LLVMValueRef mask[MAX_TILE], off[MAX_TILE];
  if (wq == t->wo) {
    mask[0] = inside;
    off[0] = p_start;
  } else {
    LLVMValueRef wqv = splat_of(c, c_i32(c, (int32_t)wq), L);
    LLVMValueRef row = LLVMBuildUDiv(c->b, pos, wqv, "row");
    LLVMValueRef col = LLVMBuildSub(c->b, pos, LLVMBuildMul(c->b, row, wqv, ""), "col");
    LLVMValueRef valid = LLVMBuildAnd(c->b, inside, LLVMBuildICmp(c->b, LLVMIntULT, col, splat_of(c, c_i32(c, t->wo), L), ""), "");
    LLVMValueRef row0 = LLVMBuildUDiv(c->b, p_start, c_i64(c, wq), "row0");
    for (int q = 0; q < rows; q++) {
      LLVMValueRef rq = addk(c, row0, q);
      LLVMValueRef same = LLVMBuildICmp(c->b, LLVMIntEQ, row, splat_of(c, LLVMBuildTrunc(c->b, rq, c->i32, ""), L), "");
      mask[q] = LLVMBuildAnd(c->b, valid, same, "");
      off[q] = LLVMBuildSub(c->b, p_start, mulk(c, rq, wq - t->wo), "");
    }
  }
  LLVMValueRef i = loop_begin(c, &li, c_i64(c, m), "map");
  LLVMValueRef v = load_vec_at(c, L, elem_ptr(c, tl->spill, mulk(c, add(c, mulk(c, i, p), j), L)), NULL);
  LLVMValueRef map = add(c, m0, i), out_at = add(c, tl->out_img, mulk(c, map, plane));
  for (int q = 0; q < rows; q++) {
    LLVMValueRef at = add(c, out_at, off[q]);
    store_vec_at(c, lower_epilogue(c, tl->y, v, at, map, mask[q]), any_ptr(c, tl->out, at), mask[q]);
  }
  loop_end(c, &li);
  loop_end(c, &lj);
}

/* Where the tile's p position vectors from vector v0 read the grid: position pos of row
 * oy = pos / pw is grid float pos + oy * (wq - pw) (on from the plane's first output
 * position), so a vector's lanes in each row it touches are a load of their own. */
static void position_rows(LowerCtx *c, Tile *tl, int p, LLVMValueRef v0) {
  const Gather *t = tl->t;
  int L = tl->lanes;
  int64_t pw = t->pw, gap = tl->g->wq - pw;
  tl->load_rows = gap ? rows_touched(pw, L) : 1;
  for (int j = 0; j < p; j++) {
    LLVMValueRef start = mulk(c, addk(c, v0, j), L);
    if (!gap) {
      tl->shift[j][0] = start;
      continue;
    }
    LLVMValueRef row0 = LLVMBuildUDiv(c->b, start, c_i64(c, pw), "row0");
    LLVMValueRef lane_pos = LLVMBuildAdd(c->b, splat_of(c, LLVMBuildTrunc(c->b, start, c->i32, ""), L), lane_numbers(c, L), "");
    LLVMValueRef lane_row = LLVMBuildUDiv(c->b, lane_pos, splat_of(c, c_i32(c, (int32_t)pw), L), "lane_row");
    for (int q = 0; q < tl->load_rows; q++) {
      LLVMValueRef rq = addk(c, row0, q);
      tl->shift[j][q] = add(c, start, mulk(c, rq, gap));
      tl->mask[j][q] = LLVMBuildICmp(c->b, LLVMIntEQ, lane_row, splat_of(c, LLVMBuildTrunc(c->b, rq, c->i32, ""), L), "");
    }
  }
}

/* Input plane i's taps for the tile's m maps (those of use[]) x p vectors: the multiply-adds
 * into the accumulators tl->acc. */
static void gather_plane(LowerCtx *c, Tile *tl, int m, int p, LLVMValueRef m0, LLVMValueRef i, const bool *use) {
  const Gather *t = tl->t;
  int n_acc = m * p;
  LLVMTypeRef vt = vec_of(c, tl->lanes);
  LLVMValueRef at = add(c, tl->img, mulk(c, i, tl->g->plane));
  LLVMValueRef w_at = add(c, mulk(c, m0, t->w_out), mulk(c, i, t->w_in));
  LLVMValueRef a[MAX_TILE];
  Loop lk;
  if (t->k * t->k * n_acc <= UNROLL_FMAS) {
    for (int q = 0; q < n_acc; q++) a[q] = LLVMBuildLoad2(c->b, vt, tl->acc[q], "");
    gather_taps(c, tl, at, w_at, c_i64(c, 0), t->k, m, p, use, a);
  } else { /* wide kernels: a loop over the kernel rows */
    LLVMValueRef ky = loop_begin(c, &lk, c_i64(c, t->k), "ky");
    for (int q = 0; q < n_acc; q++) a[q] = LLVMBuildLoad2(c->b, vt, tl->acc[q], "");
    gather_taps(c, tl, at, w_at, ky, 1, m, p, use, a);
    for (int q = 0; q < n_acc; q++) LLVMBuildStore(c->b, a[q], tl->acc[q]);
    loop_end(c, &lk);
    for (int q = 0; q < n_acc; q++) a[q] = LLVMBuildLoad2(c->b, vt, tl->acc[q], "");
  }
  for (int q = 0; q < n_acc; q++) LLVMBuildStore(c->b, a[q], tl->acc[q]);
}

/* One tile: m maps from m0 x p position vectors from vector v0, over every input plane.
 * With a table (m0 then a constant: gather_images), the input planes are unrolled and each
 * does only its connected maps' multiply-adds, so the dense layer's zero kernels cost
 * nothing and every sum is the table kernels' in the same order. */
static void gather_tile(LowerCtx *c, Tile *tl, int m, int p, LLVMValueRef m0, LLVMValueRef v0) {
  const Gather *t = tl->t;
  int L = tl->lanes, n_acc = m * p;
  LLVMTypeRef vt = vec_of(c, L);
  for (int q = 0; q < n_acc; q++) LLVMBuildStore(c->b, LLVMConstNull(vt), tl->acc[q]);
  position_rows(c, tl, p, v0);
  bool use[MAX_TILE];
  if (t->connect) {
    int first = (int)LLVMConstIntGetSExtValue(m0);
    for (int i = 0; i < t->in_planes; i++) {
      bool any = false;
      for (int o = 0; o < m; o++) any |= use[o] = connected(t, first + o, i);
      if (any) gather_plane(c, tl, m, p, m0, c_i64(c, i), use);
    }
  } else {
    for (int o = 0; o < m; o++) use[o] = true;
    Loop li;
    gather_plane(c, tl, m, p, m0, loop_begin(c, &li, c_i64(c, t->in_planes), "in_plane"), use);
    loop_end(c, &li);
  }
  for (int q = 0; q < n_acc; q++)
    store_vec_at(c, LLVMBuildLoad2(c->b, vt, tl->acc[q], ""), elem_ptr(c, tl->spill, c_i64(c, (int64_t)q * L)), NULL);
  store_tile(c, tl, m, p, m0, v0);
}

/* The tiles of m maps from m0 along every position vector, in tiles of P: the last tile runs
 * past the positions (its lanes there are junk, read from the grid's slack and never
 * stored), so that one tile's code serves them all. */
static void gather_positions(LowerCtx *c, Tile *tl, int m, LLVMValueRef m0) {
  int P = tl->t->tile_p;
  Loop lv;
  LLVMValueRef v = loop_begin(c, &lv, c_i64(c, tiles_along(tl->t, tl->lanes)), "pos_tile");
  gather_tile(c, tl, m, P, m0, mulk(c, v, P));
  loop_end(c, &lv);
}

/* Every image: the map blocks of M (then the rest) x the position tiles. */
static void gather_images(LowerCtx *c, const Node *y, const Gather *t, const Grid *g, LLVMValueRef W, LLVMValueRef out) {
  int M = t->tile_m;
  DLC_ASSERT(M * t->tile_p <= MAX_TILE && M >= 1 && t->tile_p >= 1 && t->tile_p <= MAX_TILE_P);
  Tile tl = {.y = y, .t = t, .g = g, .W = W, .out = out, .lanes = c->lanes};
  for (int q = 0; q < M * t->tile_p; q++) tl.acc[q] = entry_alloca(c, vec_of(c, c->lanes), "acc");
  tl.spill = entry_alloca(c, LLVMArrayType(c->f32, (unsigned)(M * t->tile_p * c->lanes)), "tile");
  Loop lr, lm;
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  tl.img = mulk(c, r, g->image);
  tl.out_img = mulk(c, r, (int64_t)t->out_maps * t->ho * t->wo);
  if (t->connect) { /* the map blocks unrolled: each tile knows its maps' pairs */
    for (int m0 = 0; m0 < t->out_maps; m0 += M)
      gather_positions(c, &tl, t->out_maps - m0 < M ? t->out_maps - m0 : M, c_i64(c, m0));
  } else if (t->out_maps / M) {
    LLVMValueRef mb = loop_begin(c, &lm, c_i64(c, t->out_maps / M), "map_block");
    gather_positions(c, &tl, M, mulk(c, mb, M));
    loop_end(c, &lm);
  }
  if (!t->connect && t->out_maps % M) gather_positions(c, &tl, t->out_maps % M, c_i64(c, t->out_maps / M * M));
  loop_end(c, &lr);
}

static LLVMValueRef workspace_of(LowerCtx *c, const Node *y) {
  DLC_ASSERT(c->plan->workspace[y->id] >= 0);
  return arena_at(c, c->plan->workspace[y->id], "workspace");
}

/* A connection table's layer (LeNet-5's C3; opt/conv_algo.c gives tiles to tables of more
 * than half the pairs) runs as the dense one whose unconnected pairs have zero kernels.
 * Those exist only in the scratch of conv and conv_dx (dense_kernels), whose tiles skip the
 * zero kernels' multiply-adds where they unroll the planes (gather_tile); conv_dw computes
 * the dense gradient (maps are its lanes) and keeps only the connected pairs' sums. The
 * parameters stay the table's, one k x k kernel per connected pair by output map
 * (lower_conv.c). */
static int64_t dense_floats(const Window *w) { return w->connect ? (int64_t)w->maps * w->c * w->k * w->k : 0; }

/* For each of the table's kernels (connected pairs), its output map times map_scale plus its
 * input map times input_scale: where the pair sits in a dense layout. */
static LLVMValueRef pair_table(LowerCtx *c, const Window *w, int64_t map_scale, int64_t input_scale, const char *name) {
  int n = conv_kernels(w), inputs[MAX_CONV_INPUTS];
  int64_t *at = malloc(sizeof(int64_t) * (size_t)n);
  for (int m = 0; m < w->maps; m++) {
    int n_in = conv_inputs(w, m, inputs), first = conv_first_kernel(w, m);
    for (int j = 0; j < n_in; j++) at[first + j] = m * map_scale + inputs[j] * input_scale;
  }
  LLVMValueRef t = const_i64_array(c, at, n, name);
  free(at);
  return t;
}

static LLVMValueRef i64_at(LowerCtx *c, LLVMValueRef table, LLVMValueRef i) {
  return LLVMBuildLoad2(c->b, c->i64, LLVMBuildInBoundsGEP2(c->b, c->i64, table, &i, 1, ""), "");
}

/* The table's kernels W as dense [maps, c, k, k] kernels at `dense`, zeros where no pair is. */
static LLVMValueRef dense_kernels(LowerCtx *c, const Window *w, LLVMValueRef W, LLVMValueRef dense) {
  int64_t kk = (int64_t)w->k * w->k;
  LLVMValueRef at = pair_table(c, w, w->c * kk, kk, "dense_at");
  fill_zeros(c, dense, c_i64(c, dense_floats(w)));
  Loop lk, lt;
  LLVMValueRef kern = loop_begin(c, &lk, c_i64(c, conv_kernels(w)), "kernel");
  LLVMValueRef to = i64_at(c, at, kern);
  LLVMValueRef t = loop_begin(c, &lt, c_i64(c, kk), "tap");
  store_f32(c, load_f32(c, W, add(c, mulk(c, kern, kk), t)), dense, add(c, to, t));
  loop_end(c, &lt);
  loop_end(c, &lk);
  return dense;
}

/* Where conv's and conv_dx's grid starts in their scratch: after the dense kernels, if any. */
static int64_t grid_offset(const Window *w) { return w->connect ? arena_align(dense_floats(w)) : 0; }

/* The kernels conv and conv_dx read: the weights, or a table's made dense in the scratch. */
static LLVMValueRef kernels_of(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  LLVMValueRef W = buffer_of(c, y->in[1]);
  return w->connect ? dense_kernels(c, w, W, workspace_of(c, y)) : W;
}

/* conv: the images padded by `pad` into a grid w + 2 pad wide. */
static void tiled_forward(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  LLVMValueRef W = kernels_of(c, y);
  Grid g = grid_make(w->c, w->h + 2 * w->pad, w->w + 2 * w->pad, elem_ptr(c, workspace_of(c, y), c_i64(c, grid_offset(w))));
  place_rows(c, buffer_of(c, y->in[0]), mulk(c, c->n, w->c), w->h, w->w, &g, w->pad, w->pad, true);
  fill_zeros(c, elem_ptr(c, g.base, mulk(c, c->n, g.image)), c_i64(c, grid_slack(c->lanes, w->k, g.wq)));
  const ConvChoice *ch = &w->choice[CONV_FWD];
  Gather t = {w->maps, w->c, w->k, w->ho, w->wo, (int64_t)w->c * w->k * w->k, (int64_t)w->k * w->k, false, ch->tile_a, ch->tile_b,
              position_width(w->wo, g.wq, c->lanes), w->connect};
  if (!unrolls_planes(&t)) t.connect = NULL; /* the dense layer */
  gather_images(c, y, &t, &g, W, lower_kernel_output(c, y));
}

/* conv_dx: dy placed at k-1-pad in a grid w + k - 1 wide, read with the flipped kernels. */
static void tiled_dx(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  int edge = w->k - 1 - w->pad;
  LLVMValueRef W = kernels_of(c, y);
  Grid g = grid_make(w->maps, w->h + w->k - 1, w->w + w->k - 1, elem_ptr(c, workspace_of(c, y), c_i64(c, grid_offset(w))));
  place_rows(c, buffer_of(c, y->in[0]), mulk(c, c->n, w->maps), w->ho, w->wo, &g, edge, edge, true);
  fill_zeros(c, elem_ptr(c, g.base, mulk(c, c->n, g.image)), c_i64(c, grid_slack(c->lanes, w->k, g.wq)));
  const ConvChoice *ch = &w->choice[CONV_DX];
  Gather t = {w->c, w->maps, w->k, w->h, w->w, (int64_t)w->k * w->k, (int64_t)w->c * w->k * w->k, true, ch->tile_a, ch->tile_b,
              position_width(w->w, g.wq, c->lanes), w->connect};
  if (!unrolls_planes(&t)) t.connect = NULL; /* the dense layer */
  gather_images(c, y, &t, &g, W, lower_kernel_output(c, y));
}

/* conv_dw's scratch, in floats: dy of one image transposed, that image's padded x, dWT. */
typedef struct DwSpace {
  int64_t maps_l;               /* the maps rounded up to whole vectors: dyT's and dWT's rows */
  int64_t dyt, grid, dwt, total; /* offsets */
} DwSpace;

static DwSpace dw_space(const Window *w, int lanes) {
  DwSpace s;
  int64_t hp = w->h + 2 * w->pad, wp = w->w + 2 * w->pad;
  s.maps_l = (w->maps + lanes - 1) / lanes * lanes;
  s.dyt = 0;
  s.grid = arena_align(s.dyt + (int64_t)w->ho * w->wo * s.maps_l);
  s.dwt = arena_align(s.grid + w->c * hp * wp + grid_slack(lanes, w->k, wp));
  s.total = s.dwt + (int64_t)w->c * w->k * w->k * s.maps_l;
  return s;
}

typedef struct DwTile {
  const Window *w;
  DwSpace s;
  Grid g;
  LLVMValueRef dyt, dwt;
  LLVMValueRef acc[MAX_TILE];
  int lanes;
} DwTile;

/* a map vectors from vector mv0 x kernel rows [ky0, ky0 + b) of input map i, over every
 * position of this image: the sums of dWT, loaded and stored back. */
static void dw_tile(LowerCtx *c, DwTile *d, int a, int b, LLVMValueRef mv0, LLVMValueRef i, int ky0) {
  const Window *w = d->w;
  int L = d->lanes, k = w->k, taps = b * k, kk = k * k;
  LLVMTypeRef vt = vec_of(c, L);
  /* dWT[(i*kk + t) * maps_l + mv*L] for the tile's taps t */
  LLVMValueRef first = add(c, mulk(c, addk(c, mulk(c, i, kk), ky0 * k), d->s.maps_l), mulk(c, mv0, L));
  for (int v = 0; v < a; v++)
    for (int t = 0; t < taps; t++)
      LLVMBuildStore(c->b, load_vec_at(c, L, elem_ptr(c, d->dwt, addk(c, first, t * d->s.maps_l + v * L)), NULL),
                     d->acc[v * taps + t]);
  Loop ly, lx;
  LLVMValueRef oy = loop_begin(c, &ly, c_i64(c, w->ho), "oy");
  LLVMValueRef x_row = add(c, mulk(c, i, d->g.plane), mulk(c, addk(c, mulk(c, oy, w->stride), ky0), d->g.wq));
  LLVMValueRef dy_row = mulk(c, oy, w->wo);
  LLVMValueRef ox = loop_begin(c, &lx, c_i64(c, w->wo), "ox");
  LLVMValueRef x_at = add(c, x_row, mulk(c, ox, w->stride));
  LLVMValueRef dy_at = add(c, mulk(c, add(c, dy_row, ox), d->s.maps_l), mulk(c, mv0, L));
  LLVMValueRef dv[MAX_TILE], acc[MAX_TILE];
  for (int v = 0; v < a; v++) dv[v] = load_vec_at(c, L, elem_ptr(c, d->dyt, addk(c, dy_at, v * L)), NULL);
  for (int q = 0; q < a * taps; q++) acc[q] = LLVMBuildLoad2(c->b, vt, d->acc[q], "");
  for (int ky = 0; ky < b; ky++)
    for (int kx = 0; kx < k; kx++) {
      LLVMValueRef xv = splat_of(c, load_f32(c, d->g.base, addk(c, x_at, ky * d->g.wq + kx)), L);
      for (int v = 0; v < a; v++) acc[v * taps + ky * k + kx] = fmuladd(c, dv[v], xv, acc[v * taps + ky * k + kx]);
    }
  for (int q = 0; q < a * taps; q++) LLVMBuildStore(c->b, acc[q], d->acc[q]);
  loop_end(c, &lx);
  loop_end(c, &ly);
  for (int v = 0; v < a; v++)
    for (int t = 0; t < taps; t++)
      store_vec_at(c, LLVMBuildLoad2(c->b, vt, d->acc[v * taps + t], ""),
                   elem_ptr(c, d->dwt, addk(c, first, t * d->s.maps_l + v * L)), NULL);
}

/* The kernel-row tiles of B rows (then the rest) for a map vectors from mv0 of input map i. */
static void dw_rows(LowerCtx *c, DwTile *d, int a, LLVMValueRef mv0, LLVMValueRef i) {
  int B = d->w->choice[CONV_DW].tile_b;
  for (int ky0 = 0; ky0 < d->w->k; ky0 += B) dw_tile(c, d, a, d->w->k - ky0 < B ? d->w->k - ky0 : B, mv0, i, ky0);
}

static void tiled_dw(LowerCtx *c, const Node *y) {
  const Window *w = y->attr.win;
  int L = c->lanes, A = w->choice[CONV_DW].tile_a, kk = w->k * w->k;
  DwTile d = {w, dw_space(w, L), {0}, NULL, NULL, {NULL}, L};
  DLC_ASSERT(A * w->choice[CONV_DW].tile_b * w->k <= MAX_TILE && A >= 1);
  LLVMValueRef ws = workspace_of(c, y), dy = buffer_of(c, y->in[0]), x = buffer_of(c, y->in[1]);
  d.dyt = elem_ptr(c, ws, c_i64(c, d.s.dyt));
  d.dwt = elem_ptr(c, ws, c_i64(c, d.s.dwt));
  d.g = grid_make(w->c, w->h + 2 * w->pad, w->w + 2 * w->pad, elem_ptr(c, ws, c_i64(c, d.s.grid)));
  for (int q = 0; q < MAX_TILE && q < A * w->choice[CONV_DW].tile_b * w->k; q++) d.acc[q] = entry_alloca(c, vec_of(c, L), "acc");
  /* dWT and the padding of the grid and of dyT's rows start at zero and stay so */
  fill_zeros(c, ws, c_i64(c, d.s.total));
  int64_t positions = (int64_t)w->ho * w->wo, vectors = d.s.maps_l / L;
  Loop lr, lm, lp, li, lv;
  LLVMValueRef r = loop_begin(c, &lr, c->n, "img");
  /* dyT[p, m] = dy[r, m, p] */
  LLVMValueRef m = loop_begin(c, &lm, c_i64(c, w->maps), "map");
  LLVMValueRef from = mulk(c, add(c, mulk(c, r, w->maps), m), positions);
  LLVMValueRef p = loop_begin(c, &lp, c_i64(c, positions), "pos");
  store_f32(c, load_f32(c, dy, add(c, from, p)), d.dyt, add(c, mulk(c, p, d.s.maps_l), m));
  loop_end(c, &lp);
  loop_end(c, &lm);
  place_rows(c, elem_ptr(c, x, mulk(c, r, (int64_t)w->c * w->h * w->w)), c_i64(c, w->c), w->h, w->w, &d.g, w->pad, w->pad, false);
  LLVMValueRef i = loop_begin(c, &li, c_i64(c, w->c), "in_map");
  if (vectors / A) {
    LLVMValueRef v = loop_begin(c, &lv, c_i64(c, vectors / A), "map_vectors");
    dw_rows(c, &d, A, mulk(c, v, A), i);
    loop_end(c, &lv);
  }
  if (vectors % A) dw_rows(c, &d, (int)(vectors % A), c_i64(c, vectors / A * A), i);
  loop_end(c, &li);
  loop_end(c, &lr);
  LLVMValueRef dW = buffer_of(c, y);
  if (w->connect) { /* kernel j of map m, of input map i: dW[first(m) + j, t] = dWT[i, t, m] */
    LLVMValueRef from = pair_table(c, w, 1, kk * d.s.maps_l, "dwt_at");
    Loop lk, lt;
    LLVMValueRef kern = loop_begin(c, &lk, c_i64(c, conv_kernels(w)), "kernel");
    LLVMValueRef at = i64_at(c, from, kern);
    LLVMValueRef t = loop_begin(c, &lt, c_i64(c, kk), "tap");
    store_f32(c, load_f32(c, d.dwt, add(c, at, mulk(c, t, d.s.maps_l))), dW, add(c, mulk(c, kern, kk), t));
    loop_end(c, &lt);
    loop_end(c, &lk);
    return;
  }
  /* dW[m, q] = dWT[q, m] */
  Loop lq, lm2;
  LLVMValueRef q = loop_begin(c, &lq, c_i64(c, (int64_t)w->c * kk), "tap");
  LLVMValueRef m2 = loop_begin(c, &lm2, c_i64(c, w->maps), "map");
  store_f32(c, load_f32(c, d.dwt, add(c, mulk(c, q, d.s.maps_l), m2)), dW, add(c, mulk(c, m2, (int64_t)w->c * kk), q));
  loop_end(c, &lm2);
  loop_end(c, &lq);
}

void lower_conv_tiled(LowerCtx *c, const Node *y) {
  switch (y->op) {
  case OP_CONV: tiled_forward(c, y); break;
  case OP_CONV_DX: tiled_dx(c, y); break;
  case OP_CONV_DW: tiled_dw(c, y); break;
  default: DLC_UNREACHABLE();
  }
}

int64_t conv_tiled_workspace(const Node *y, int batch, int lanes) {
  const Window *w = y->attr.win;
  switch (y->op) {
  case OP_CONV: {
    int64_t wq = w->w + 2 * w->pad;
    return grid_offset(w) + (int64_t)batch * w->c * (w->h + 2 * w->pad) * wq + grid_slack(lanes, w->k, wq);
  }
  case OP_CONV_DX: {
    int64_t wq = w->w + w->k - 1;
    return grid_offset(w) + (int64_t)batch * w->maps * (w->h + w->k - 1) * wq + grid_slack(lanes, w->k, wq);
  }
  case OP_CONV_DW: return dw_space(w, lanes).total;
  default: DLC_UNREACHABLE();
  }
}
