/* conv_algo.c — how each convolution runs, chosen from its shapes before autodiff by a cost
 * model of the vector unit the code is made for (ConvTarget).
 *
 * The front end makes one conv op per conv() call. Three ways to run it:
 *  - im2col: patches [patches, c*k*k] times the kernels [maps, c*k*k]^T (OpenBLAS), transposed
 *    back to images [maps, ho, wo]; backwards two more products, col2im and a transpose. The
 *    rewrite happens here, in place (graph_splice_before), so the graph is the one the front
 *    end would have built for that choice, node for node.
 *  - the direct conv op, each of its passes (conv, conv_dx, conv_dw) with a kernel of its own
 *    (Window.choice): the table kernels of lower/lower_conv.c (connection tables, strides,
 *    and the taps of few-input layers unrolled, LeNet-5's C1), or the register tiles of
 *    lower/conv_tiled.c (many maps, or a table of more than half the pairs; conv and conv_dx at
 *    stride 1, conv_dw at any),
 *    or for a 3x3 stride-1 layer, Winograd's F(4x4, 3x3) (runtime/winograd.c: a quarter
 *    of the multiplies, in 36 OpenBLAS products, and transforms in and out; conv_dw sums
 *    the same tiles' products).
 * The model estimates cycles per image of each pass for each kernel: the multiply-adds and
 * loads of its inner loop against the vector unit's throughput (one vector multiply-add per
 * cycle per 16 lanes; three loads a cycle, a 512-bit vector counting two), the lanes a row
 * leaves empty, and what each copies (padding, patches, transposes); and picks the cheapest.
 * A table always runs directly. DLC_CONV_KERNEL (ConvTarget.force) overrides the choice where
 * the forced way can run, for measuring the ways against each other (docs/performance.md). */
#include "passes.h"
#include "schedule.h"

/* Cycles of the vector unit for v vector multiply-adds, and for loads: vector loads of its
 * width and broadcast scalars. */
static double fma_cycles(const ConvTarget *t, double v) { return v * t->lanes / 16.0; }
static double load_cycles(const ConvTarget *t, double vectors, double scalars) {
  return (vectors * (t->lanes > 8 ? 2 : 1) + scalars) / 3.0;
}

/* The register tiles: accumulators, plus the vectors loaded per step, within the registers. */
static int spare_registers(const ConvTarget *t) { return t->registers - (t->lanes > 8 ? 1 : 2); }

/* The most rows `width` wide that a vector of L positions starting at a multiple of L
 * touches. */
static int rows_touched(int width, int L) {
  int most = 1;
  for (int v = 0; v < width; v++) {
    int rows = (v * L % width + L - 1) / width + 1;
    if (rows > most) most = rows;
  }
  return most;
}

/* conv and conv_dx by register tiles: out maps of ho x wo from `in` planes of a grid wq
 * wide. Positions run along the output's rows where a vector spans at most 4 of them (a
 * load per row and tap), else along the grid's (junk columns computed): the rule of
 * position_width in lower/conv_tiled.c. Chooses the tile (maps x position vectors) of least
 * estimated cycles per image among those whose maps divide `out` (a partial tile would be a
 * second copy of the kernel's code; the last tile of positions runs past the end instead,
 * its lanes there junk). */
static double gather_cycles(const ConvTarget *t, int out, int in, int k, int ho, int wo, int wq, double pairs,
                            ConvChoice *best) {
  int L = t->lanes;
  int pw = rows_touched(wo, L) <= 4 ? wo : wq;
  int load_rows = pw == wq ? 1 : rows_touched(pw, L), rows = pw == wo ? 1 : rows_touched(pw, L);
  int64_t vectors = ((int64_t)ho * pw + L - 1) / L;
  int taps = k * k;
  double least = -1;
  for (int m = 1; m <= out && m <= 32; m++)
    for (int p = 1; p <= vectors && p <= 8; p++) {
      if (out % m || m * p + p > spare_registers(t) || m * p > 32) continue;
      /* a table's missing pairs are skipped where the kernel unrolls its planes
       * (conv_tiles_unroll_planes), one position vector wide (the most maps on each load:
       * convbench --table) */
      bool skips = pairs < 1 && conv_tiles_unroll_planes(in, out / m);
      if (skips && p > 1) continue;
      double tiles = (double)(out / m) * ((vectors + p - 1) / p);
      double step = fma_cycles(t, m * p * (skips ? pairs : 1)), loads = load_cycles(t, p * load_rows, m);
      double per_tap = (step > loads ? step : loads) + 0.5; /* + the loop and addressing */
      double cost = tiles * ((double)in * taps * per_tap + p * m * (2 + rows) + 12 * p); /* + the stores */
      if (least < 0 || cost < least) {
        least = cost;
        *best = (ConvChoice){CONV_KERNEL_TILED, (unsigned char)m, (unsigned char)p};
      }
    }
  return least + (double)in * (ho + k) * wq / 4; /* placing the images in the grid */
}

/* conv_dw by register tiles: a map vectors x b kernel rows, over every position; a divides
 * the map vectors and b the kernel rows (one copy of the tile's code). */
static double dw_tiled_cycles(const ConvTarget *t, const Window *w, ConvChoice *best) {
  int L = t->lanes, k = w->k;
  int vectors = (w->maps + L - 1) / L, positions = w->ho * w->wo;
  double least = -1;
  for (int a = 1; a <= vectors && a <= 8; a++)
    for (int b = 1; b <= k; b++) {
      if (vectors % a || k % b || a * b * k + a > spare_registers(t) || a * b * k > 32) continue;
      double tiles = (double)(vectors / a) * (k / b) * w->c;
      double step = fma_cycles(t, a * b * k), loads = load_cycles(t, a, b * k);
      double cost = tiles * ((double)positions * ((step > loads ? step : loads) + 1) + 4.0 * a * b * k);
      if (least < 0 || cost < least) {
        least = cost;
        *best = (ConvChoice){CONV_KERNEL_TILED, (unsigned char)a, (unsigned char)b};
      }
    }
  /* transposing dy (scalar), placing x */
  return least + 1.5 * w->maps * positions + (double)w->c * (w->h + 2 * w->pad) * (w->w + 2 * w->pad) / 4;
}

/* The table kernels (lower_conv.c), as measured on LeNet-5 (docs/performance.md): vectors
 * along output rows, a load per multiply-add, about half the vector unit's rate on the lanes
 * in use; strided passes are scalar. */
static double taps_cycles(const ConvTarget *t, const Window *w, ConvPass pass) {
  int L = t->lanes;
  double macs = (double)w->maps * w->c * w->k * w->k * w->ho * w->wo;
  if (w->connect) macs = macs / w->c * (conv_kernels(w) / (double)w->maps);
  if (w->stride != 1 && pass != CONV_DW) return macs * 1.2; /* scalar */
  if (pass == CONV_DX) macs = macs / w->wo * w->w; /* dy padded: every kernel row spans a row of dx */
  if (w->stride != 1) return macs * 1.0;
  int row = pass == CONV_DX ? w->w : w->wo;
  double used = (double)row / (((row + L - 1) / L) * L);
  double rate = 16.0 * (pass == CONV_FWD && !w->connect && w->c * w->k * w->k <= 32 ? 0.55 : 0.45);
  return macs / (rate * used);
}

/* im2col + gemm, all three passes (or two without conv_dx): the products at about 60% of the
 * unit's rate (OpenBLAS on these shapes), the patches, col2im and transposes scalar. */
static double im2col_cycles(const Window *w, bool need_dx) {
  double patches = (double)w->c * w->k * w->k * w->ho * w->wo, outs = (double)w->maps * w->ho * w->wo;
  double macs = patches * w->maps, gemm = macs / (16.0 * 0.6);
  double fwd = gemm + patches * 1.0 + outs * 1.0;
  double bwd = gemm + outs * 1.0 + (need_dx ? gemm + patches * 1.5 : 0);
  return fwd + bwd;
}

/* conv(x, W) becomes reshape(transpose(gemm(im2col(x), W^T))), the reshape being the conv
 * node itself, so that whatever reads or names it is unchanged. */
static void expand_im2col(Graph *g, Node *conv) {
  const Window *w = conv->attr.win;
  Node *x = conv->in[0], *W = conv->in[1];
  int first_new = g->len;
  Node *patches = g_gemm(g, g_im2col(g, x, w, conv->loc), W, false, true, conv->loc); /* [patches, maps] */
  Node *maps_first = g_transpose(g, patches, conv->loc);
  graph_splice_before(g, conv, first_new);
  conv->op = OP_RESHAPE;
  conv->in[0] = maps_first;
  conv->in[1] = NULL;
  conv->attr = (NodeAttr){0};
}

/* Winograd's F(4x4, 3x3) for conv or conv_dx, of `in` maps to `out` maps of ho x wo: per
 * 4x4 output tile, 36 products of [out x in] by [in x tiles] at about 60% of the unit's rate
 * (OpenBLAS on 64 tiles), less when either side has fewer than 32 maps; about 40 cycles per
 * tile and map, in or out, to gather, transform and scatter; and a pass for the bias and
 * whatever follows (since taken into the output tiles where it is a bias and ReLU, but kept
 * here, so that the choices stay the ones measured). Fitted to bench/convbench's ratios
 * against the register tiles on VGG's layers and the small CNN's 16->32 (docs/performance.md). */
static double winograd_cycles(int out, int in, int ho, int wo) {
  double tiles = (double)((ho + 3) / 4) * ((wo + 3) / 4);
  double rate = 16.0 * 0.6 * (in < 32 ? in / 32.0 : 1) * (out < 32 ? out / 32.0 : 1);
  return 36.0 * in * out * tiles / rate + 40.0 * tiles * (in + out) + 1.0 * out * ho * wo;
}

/* Whether x is an interior node of an epilogue's tree (computed in its root's loop). */
static bool in_tree(const Schedule *s, const Node *x) { return s->fused_into && s->fused_into[x->id]; }

/* One value per output map, in a buffer: [maps, 1, 1]. */
static bool per_map(const Node *b, const Node *p) {
  Shape s = b->shape;
  return !op_is_inline(b->op) && !s.batched && s.rank == 3 && s.dim[0] == p->shape.dim[0] && s.dim[1] == 1 && s.dim[2] == 1;
}

/* x is p + bias or bias + p. */
static bool bias_of(const Schedule *s, const Node *x, const Node *p, WinogradEpilogue *e) {
  if (x->op != OP_ADD) return false;
  const Node *b = x->in[0] == p ? x->in[1] : x->in[1] == p ? x->in[0] : NULL;
  if (!b || b == p || !per_map(b, p) || in_tree(s, b)) return false;
  e->bias = b;
  return true;
}

bool winograd_epilogue(const Schedule *s, const Node *p, const Node *root, WinogradEpilogue *e) {
  WinogradEpilogue found = {NULL, false};
  bool ok = false;
  if (root->op == OP_RELU) { /* relu(p) or relu(p + bias) */
    const Node *x = root->in[0];
    found.relu = true;
    ok = x == p || (in_tree(s, x) && bias_of(s, x, p, &found));
  } else if (root->op == OP_ADD) {
    ok = bias_of(s, root, p, &found);
  }
  if (ok && e) *e = found;
  return ok;
}

static bool winograd_fits(const Window *w, ConvPass pass) {
  (void)pass; /* every pass */
  return !w->connect && w->k == 3 && w->stride == 1 && w->pad <= 2;
}

/* Whether a pass can run by register tiles. A table's layer runs as the dense one whose
 * missing pairs' multiply-adds conv and conv_dx skip (gather_cycles counts the connected
 * pairs', dw_tiled_cycles all), where more than half the pairs are connected (LeNet-5's
 * C3); sparser tables, grouped convolutions among them, keep the table kernels (by tiles,
 * a 3x3 groups: 4 layer's conv_dx ran 1.3-1.5x slower, groups: 2's conv and conv_dx
 * 1.2-1.5x slower on AVX2 and about as fast with AVX-512). */
static bool tiles_fit(const Window *w, ConvPass pass) {
  if (w->connect && 2 * conv_kernels(w) <= w->maps * w->c) return false;
  return pass == CONV_DW || w->stride == 1;
}

/* Each pass's kernel for a direct convolution, and the estimated cycles of all of them. */
static double choose_direct(const ConvTarget *t, Window *w, bool need_dx) {
  double total = 0;
  for (int pass = 0; pass < CONV_PASSES; pass++) {
    if (pass == CONV_DX && !need_dx) continue;
    w->choice[pass] = (ConvChoice){CONV_KERNEL_TAPS, 0, 0};
    double taps = taps_cycles(t, w, (ConvPass)pass), tiled = -1;
    ConvChoice tile = {0};
    if (tiles_fit(w, (ConvPass)pass)) {
      double pairs = (double)conv_kernels(w) / ((double)w->maps * w->c); /* a table's: the tiles skip the rest */
      if (pass == CONV_FWD) tiled = gather_cycles(t, w->maps, w->c, w->k, w->ho, w->wo, w->w + 2 * w->pad, pairs, &tile);
      else if (pass == CONV_DX) tiled = gather_cycles(t, w->c, w->maps, w->k, w->h, w->w, w->w + w->k - 1, pairs, &tile);
      else tiled = dw_tiled_cycles(t, w, &tile);
    }
    bool use_tiles = tiled >= 0 && (t->force == CONV_FORCE_TILED || (t->force != CONV_FORCE_TAPS && tiled < taps));
    if (use_tiles) w->choice[pass] = tile;
    double best = use_tiles ? tiled : taps;
    if (winograd_fits(w, (ConvPass)pass) && (t->force == CONV_FORCE_NONE || t->force == CONV_FORCE_WINOGRAD)) {
      double wg = pass == CONV_DX ? winograd_cycles(w->c, w->maps, w->h, w->w) : winograd_cycles(w->maps, w->c, w->ho, w->wo);
      if (pass == CONV_DW) wg *= 1.3; /* dy's tiles as well as x's, products summed over blocks */
      if (t->force == CONV_FORCE_WINOGRAD || wg < best) {
        w->choice[pass] = (ConvChoice){CONV_KERNEL_WINOGRAD, 0, 0};
        best = wg;
      }
    }
    total += best;
  }
  return total;
}

bool opt_choose_convolutions(Graph *g, const ConvTarget *t) {
  bool changed = false;
  for (int i = 0; i < g->len; i++) {
    Node *y = g->nodes[i];
    if (y->op != OP_CONV) continue;
    Window *w = (Window *)y->attr.win; /* the node's own copy (attr_keep) */
    bool need_dx = y->in[0]->op != OP_INPUT; /* no gradient is taken to the data */
    double direct = choose_direct(t, w, need_dx);
    if (w->connect) continue;
    bool patches = t->force == CONV_FORCE_IM2COL || (t->force == CONV_FORCE_NONE && im2col_cycles(w, need_dx) < direct);
    if (!patches) continue;
    expand_im2col(g, y);
    changed = true;
  }
  return changed;
}
