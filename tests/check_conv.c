/* check_conv.c — the convolution kernels, pass by pass, against the reference evaluator.
 *
 * For each shape below (channels and maps that are not multiples of the vector width or of
 * a tile, 1x1, 3x3, 5x5 and 7x7 kernels, padding 0, 1, 2 and 3, stride 2, rows narrower and
 * wider than a vector, connection tables with odd shapes and LeNet-5's) a graph computes conv(x, W), conv_dx(dy, W) and
 * conv_dw(dy, x) on random values; it is compiled with each kernel the passes can run with
 * (the table kernels, and register tiles of several sizes: the cost model's, 1 x 1, and
 * uneven ones that leave partial tiles), for the host's instruction set and for AVX2 without
 * AVX-512, and run on batches of 1, 3 and 5 rows; every output must match the double-
 * precision reference to float rounding, and nothing may be written outside the arena. The
 * cost model itself is checked for the choices it must make; and max pooling in vectors
 * (lower_pool.c), forward and backward, on rows of several vectors and images that are not a
 * whole number of windows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dlrt.h"
#include "helpers.h"
#include "interp.h"
#include "passes.h"
#include "rng.h"

/* Connection tables: none; map m reading input maps m and m + 1 (mod c) (as sparse as a
 * grouped convolution: the table kernels only); map m reading every input map but m (mod c);
 * LeNet-5's Table I (6 input maps, 16 output maps: 60 of 96 pairs). */
enum { NO_TABLE, PAIRS, ALL_BUT_ONE, LENET_TABLE };

typedef struct ConvCase {
  int c, h, w, maps, k, stride, pad;
  int table;
} ConvCase;

static const ConvCase CASES[] = {
    {16, 14, 14, 32, 3, 1, 1, false}, /* the small CNN's second layer */
    {3, 9, 11, 5, 3, 1, 0, false},    /* odd sizes, no padding, 5 maps */
    {17, 7, 7, 33, 3, 1, 1, false},   /* 7x7: a grid row narrower than a vector; 17 and 33 */
    {5, 6, 13, 7, 5, 1, 2, false},    /* 5x5, padding 2 */
    {6, 10, 9, 20, 1, 1, 0, false},   /* 1x1: no junk columns */
    {4, 8, 8, 9, 3, 2, 1, false},     /* stride 2 */
    {7, 11, 10, 6, 3, 2, 0, false},   /* stride 2, odd sizes, no padding */
    {2, 5, 5, 3, 3, 1, 2, false},     /* padding 2 with a 3x3 kernel */
    {8, 4, 23, 12, 3, 1, 1, false},   /* rows wider than a vector (a 25-wide grid) */
    {1, 28, 28, 6, 5, 1, 2, false},   /* LeNet-5's C1 */
    {1, 9, 13, 4, 3, 1, 1, false},    /* one input map, 3x3: conv_dw unrolled, two maps a pass */
    {12, 9, 9, 10, 7, 1, 3, false},   /* 7x7: a loop over kernel rows */
    {3, 3, 3, 4, 3, 1, 1, false},     /* 3x3 maps: a vector spans 6 rows (AVX-512: positions along the grid) */
    {5, 13, 11, 7, 5, 1, 2, ALL_BUT_ONE}, /* tables, odd: 5x5, padding 2, 7 maps of 5 */
    {3, 9, 10, 5, 1, 1, 0, ALL_BUT_ONE},  /* 1x1 */
    {5, 11, 9, 4, 3, 2, 1, ALL_BUT_ONE},  /* stride 2 (conv_dw by tiles, the others by taps) */
    {6, 14, 14, 16, 5, 1, 0, LENET_TABLE}, /* LeNet-5's C3 */
    {6, 9, 7, 16, 5, 1, 1, LENET_TABLE},   /* its table, padding 1, odd sizes */
    {33, 6, 7, 9, 3, 1, 1, ALL_BUT_ONE}, /* a table whose uneven tiles run dense (over 64 plane bodies) */
    {4, 9, 9, 6, 3, 1, 1, PAIRS},     /* a sparse table, 3x3: the table kernels only */
};
enum { N_CASES = sizeof CASES / sizeof *CASES, BATCH = 5 };

/* Tiles tried besides the cost model's (conv and conv_dx: maps x position vectors;
 * conv_dw: map vectors x kernel rows), each cut to what fits. */
static const int TILES[][2] = {{1, 1}, {3, 2}, {5, 3}};
enum { N_TILES = sizeof TILES / sizeof *TILES };
enum { GUARD = 256 };
static const float SENTINEL = -4242.0f;

typedef struct Built {
  Graph *g;
  Node *x, *dy, *W, *out[3];
  Window w;
} Built;

static Built build(const ConvCase *cc) {
  Built b = {graph_new(), NULL, NULL, NULL, {NULL}, {0}};
  ck_assert(window_make(cc->c, cc->h, cc->w, cc->k, cc->stride, cc->pad, &b.w, NULL, 0));
  b.w.maps = cc->maps;
  if (cc->table) {
    static const char *const lenet[6] = {"X...XXX..XXXX.XX", "XX...XXX..XXXX.X", "XXX...XXX..X.XXX",
                                         ".XXX..XXXX..X.XX", "..XXX..XXXX.XX.X", "...XXX..XXXX.XXX"};
    unsigned char *t = ARENA_ARRAY(&b.g->arena, unsigned char, cc->c * cc->maps);
    ck_assert(cc->table != LENET_TABLE || (cc->c == 6 && cc->maps == 16));
    for (int ch = 0; ch < cc->c; ch++)
      for (int m = 0; m < cc->maps; m++)
        t[ch * cc->maps + m] = cc->table == LENET_TABLE ? lenet[ch][m] == 'X'
                               : cc->table == PAIRS     ? ch == m % cc->c || ch == (m + 1) % cc->c
                                                        : ch != m % cc->c;
    b.w.connect = t;
  }
  int xd[3] = {cc->c, cc->h, cc->w}, yd[3] = {cc->maps, b.w.ho, b.w.wo};
  int wd[2] = {conv_kernels(&b.w), cc->k * cc->k};
  if (!cc->table) wd[0] = cc->maps, wd[1] = cc->c * cc->k * cc->k;
  b.x = g_input(b.g, "x", shape_make(true, 3, xd), NO_LOC);
  b.dy = g_input(b.g, "dy", shape_make(true, 3, yd), NO_LOC);
  b.W = g_param(b.g, "W", shape_make(false, 2, wd), NO_LOC);
  return b;
}

/* The three passes with the window's kernel choices, each an output. */
static void add_passes(Built *b) {
  b->out[0] = g_output(b->g, g_conv(b->g, b->x, b->W, &b->w, NO_LOC), NO_LOC);
  b->out[1] = g_output(b->g, g_conv_dx(b->g, b->dy, b->W, &b->w, NO_LOC), NO_LOC);
  b->out[2] = g_output(b->g, g_conv_dw(b->g, b->dy, b->x, &b->w, NO_LOC, b->W->shape), NO_LOC);
}

static double *random_values(int64_t n, unsigned seed) {
  DlrtRng rng;
  dlrt_rng_seed(&rng, seed);
  double *v = malloc(sizeof(double) * (size_t)n);
  for (int64_t i = 0; i < n; i++) v[i] = 2 * dlrt_rng_uniform(&rng) - 1;
  return v;
}

/* The reference: each output's values (computed again on absolute values, it bounds the
 * terms each sum adds, which scales the tolerance). */
static void reference(Built *b, int n, const double *x, const double *dy, double *W, double **into) {
  Interp it = {b->g, n, NULL, 0, calloc((size_t)b->g->len, sizeof(double *)), NULL};
  it.leaf[b->W->id] = W;
  const double *feeds[2];
  feeds[b->x->attr.slot] = x;
  feeds[b->dy->attr.slot] = dy;
  it.feeds = feeds;
  double *results[3];
  for (int k = 0; k < 3; k++) results[b->out[k]->attr.slot] = into[k] = malloc(sizeof(double) * (size_t)interp_size(b->out[k], n));
  interp_run(&it, (NodeList){b->g->nodes, b->g->len}, results);
  interp_clear(&it);
  free(it.leaf);
}

/* Error allowed, relative to the sum of the magnitudes of an output's terms: float rounding
 * of the direct sums, and Winograd's F(4x4, 3x3), whose transforms (entries up to 8 in B and
 * A, 1/24 in G) make its error larger (measured: at most 3.6e-6 of that sum on the cases of
 * winograd_matches_reference, which prints it; a direct kernel's sums err by about 1e-7). */
static const double DIRECT_TOLERANCE = 3e-5, WINOGRAD_TOLERANCE = 2e-5;

/* Whether got (floats) matches the reference within `rel` of the sums' terms. */
static bool matches_within(const float *got, const double *want, const double *bound, int64_t count, double rel, char *why,
                           int len) {
  for (int64_t i = 0; i < count; i++) {
    double tol = rel * bound[i] + 1e-7;
    if (!(fabs(got[i] - want[i]) <= tol)) {
      snprintf(why, (size_t)len, "element %lld: %.9g, reference %.9g (tolerance %.3g)", (long long)i, got[i], want[i], tol);
      return false;
    }
  }
  return true;
}

/* Within float rounding of the sums' terms. */
static bool matches(const float *got, const double *want, const double *bound, int64_t count, char *why, int len) {
  return matches_within(got, want, bound, count, DIRECT_TOLERANCE, why, len);
}

/* The largest |got - want| / bound over the elements (the error's share of the terms). */
static double worst_share(const float *got, const double *want, const double *bound, int64_t count) {
  double worst = 0;
  for (int64_t i = 0; i < count; i++)
    if (bound[i] > 0 && fabs(got[i] - want[i]) / bound[i] > worst) worst = fabs(got[i] - want[i]) / bound[i];
  return worst;
}

static double worst_winograd_share; /* over every Winograd pass run_and_compare checked */

typedef struct Compiled {
  DlcJit *jit;
  DlrtModelFn fn;
  MemPlan plan;
  Arena arena;
} Compiled;

static Compiled compile(Built *b, const LowerOptions *o) {
  Compiled cp = {0};
  arena_init(&cp.arena);
  Node *roots[3] = {b->out[0], b->out[1], b->out[2]};
  LowerFn fn = {.name = "convs", .sched = schedule_build(b->g, roots, 3, &cp.arena)};
  schedule_fuse(b->g, &fn.sched, &cp.arena);
  fn.plan = memplan_build(b->g, &fn.sched, BATCH, lower_workspace, &cp.arena);
  cp.plan = fn.plan;
  DlcModule *mod = lower_module(b->g, &fn, 1, o);
  ck_assert_msg(!lower_error(mod), "%s", lower_error(mod) ? lower_error(mod) : "");
  ck_assert(lower_optimize(mod));
  char err[512];
  cp.jit = jit_compile(mod, err, sizeof err);
  ck_assert_msg(cp.jit, "%s", err);
  cp.fn = (DlrtModelFn)jit_lookup(cp.jit, "convs", err, sizeof err);
  ck_assert_msg(cp.fn, "%s", err);
  return cp;
}

static void compiled_free(Compiled *cp) {
  jit_free(cp->jit);
  arena_free(&cp->arena);
}

static float *to_floats(const double *v, int64_t n) {
  float *f = malloc(sizeof(float) * (size_t)(n ? n : 1));
  for (int64_t i = 0; i < n; i++) f[i] = (float)v[i];
  return f;
}

/* Runs the compiled passes on n rows and compares them with the reference. */
static void run_and_compare(Built *b, Compiled *cp, int n, const char *what) {
  int64_t nx = interp_size(b->x, n), ndy = interp_size(b->dy, n), nw = shape_numel(b->W->shape);
  double *x = random_values(nx, 11u + (unsigned)n), *dy = random_values(ndy, 23u + (unsigned)n), *W = random_values(nw, 37u);
  double *want[3], *bound[3];
  reference(b, n, x, dy, W, want);
  double *ax = malloc(sizeof(double) * (size_t)nx), *ady = malloc(sizeof(double) * (size_t)ndy), *aw = malloc(sizeof(double) * (size_t)nw);
  for (int64_t i = 0; i < nx; i++) ax[i] = fabs(x[i]);
  for (int64_t i = 0; i < ndy; i++) ady[i] = fabs(dy[i]);
  for (int64_t i = 0; i < nw; i++) aw[i] = fabs(W[i]);
  reference(b, n, ax, ady, aw, bound);

  int64_t floats = cp->plan.total_floats;
  float *arena = aligned_alloc(64, sizeof(float) * (size_t)(floats + 2 * GUARD));
  for (int64_t i = 0; i < floats + 2 * GUARD; i++) arena[i] = SENTINEL;
  float *fw = to_floats(W, nw);
  memcpy(arena + GUARD + cp->plan.offset[b->W->id], fw, sizeof(float) * (size_t)nw);
  float *fx = to_floats(x, nx), *fdy = to_floats(dy, ndy);
  const float *feeds[2];
  feeds[b->x->attr.slot] = fx;
  feeds[b->dy->attr.slot] = fdy;
  float *got[3], *results[3];
  for (int k = 0; k < 3; k++) results[b->out[k]->attr.slot] = got[k] = malloc(sizeof(float) * (size_t)interp_size(b->out[k], n));
  cp->fn(arena + GUARD, arena + GUARD + cp->plan.persist_floats, feeds, results, n);
  for (int i = 0; i < GUARD; i++) {
    ck_assert_msg(arena[i] == SENTINEL, "%s: written before the arena", what);
    ck_assert_msg(arena[GUARD + floats + i] == SENTINEL, "%s: written after the arena", what);
  }
  static const char *const pass[3] = {"conv", "conv_dx", "conv_dw"};
  for (int k = 0; k < 3; k++) {
    char why[256];
    bool wg = b->w.choice[k].kernel == CONV_KERNEL_WINOGRAD;
    int64_t count = interp_size(b->out[k], n);
    bool ok = matches_within(got[k], want[k], bound[k], count, wg ? WINOGRAD_TOLERANCE : DIRECT_TOLERANCE, why, sizeof why);
    if (wg && worst_share(got[k], want[k], bound[k], count) > worst_winograd_share)
      worst_winograd_share = worst_share(got[k], want[k], bound[k], count);
    ck_assert_msg(ok, "%s, %s, %d rows: %s", what, pass[k], n, why);
    free(got[k]);
    free(want[k]);
    free(bound[k]);
  }
  free(arena);
  free(fw);
  free(fx);
  free(fdy);
  free(x);
  free(dy);
  free(W);
  free(ax);
  free(ady);
  free(aw);
}

/* The cost model's choices for the case on this instruction set (as the driver asks). */
static Window model_choice(const ConvCase *cc, const LowerOptions *o, ConvForce force) {
  Built b = build(cc);
  Node *y = g_conv(b.g, g_unary(b.g, OP_TANH, b.x, NO_LOC), b.W, &b.w, NO_LOC); /* conv_dx wanted */
  VectorUnit unit = lower_vector_unit(o);
  ConvTarget t = {unit.lanes, unit.registers, force};
  opt_choose_convolutions(b.g, &t);
  Window w = y->op == OP_CONV ? *y->attr.win : b.w;
  if (y->op != OP_CONV) w.choice[0].kernel = 99; /* made im2col */
  graph_free(b.g);
  return w;
}

/* Compiles the case with the window w's choices and checks it on batches of 1, 3 and 5. */
static void check_choice(const ConvCase *cc, const Window *w, const LowerOptions *o, const char *what) {
  Built b = build(cc);
  memcpy(b.w.choice, w->choice, sizeof b.w.choice);
  add_passes(&b);
  Compiled cp = compile(&b, o);
  for (int n = 1; n <= BATCH; n += 2) run_and_compare(&b, &cp, n, what);
  compiled_free(&cp);
  graph_free(b.g);
}

/* _i: case * 2 + instruction set (0: the host's, 1: AVX2). */
START_TEST(kernels_match_reference) {
  const ConvCase *cc = &CASES[_i / 2];
  LowerOptions o = {TAILS_BY_HOST, _i % 2 ? ISA_AVX2 : ISA_HOST};
  if (!lower_isa_supported(o.isa)) return; /* (a CPU without AVX2: the host's code only) */
  char what[128];
  snprintf(what, sizeof what, "case %d (%d maps of %dx%d -> %d, k %d, stride %d, pad %d), %s", _i / 2, cc->c, cc->h, cc->w,
           cc->maps, cc->k, cc->stride, cc->pad, _i % 2 ? "AVX2" : "host");
  /* the table kernels everywhere */
  Window w = model_choice(cc, &o, CONV_FORCE_TAPS);
  check_choice(cc, &w, &o, what);
  /* the cost model's choice, then its tiles and others (a table's as the dense layer) */
  w = model_choice(cc, &o, CONV_FORCE_NONE);
  check_choice(cc, &w, &o, what);
  if (cc->table == PAIRS) return; /* no tiles for a table that sparse */
  w = model_choice(cc, &o, CONV_FORCE_TILED);
  ck_assert_int_eq(w.choice[CONV_DW].kernel, CONV_KERNEL_TILED);
  check_choice(cc, &w, &o, what);
  VectorUnit unit = lower_vector_unit(&o);
  int vectors = (cc->maps + unit.lanes - 1) / unit.lanes;
  for (int t = 0; t < N_TILES; t++) {
    if (cc->table && t != 1) continue; /* a table's map blocks are unrolled: one uneven tile is enough */
    Window v = w;
    for (int pass = 0; pass < 2; pass++)
      if (v.choice[pass].kernel == CONV_KERNEL_TILED) {
        int m = TILES[t][0], p = TILES[t][1];
        while (m > 1 && m * p + p > unit.registers - 2) m--;
        v.choice[pass].tile_a = (unsigned char)m;
        v.choice[pass].tile_b = (unsigned char)p;
      }
    int a = TILES[t][0] < vectors ? TILES[t][0] : vectors, rows = TILES[t][1] < cc->k ? TILES[t][1] : cc->k;
    while (a * rows * cc->k + a > unit.registers - 2 && rows > 1) rows--;
    while (a * rows * cc->k + a > unit.registers - 2 && a > 1) a--;
    if (a * rows * cc->k + a > unit.registers - 2) continue;
    v.choice[CONV_DW].tile_a = (unsigned char)a;
    v.choice[CONV_DW].tile_b = (unsigned char)rows;
    check_choice(cc, &v, &o, what);
  }
}
END_TEST

/* Winograd's F(4x4, 3x3) for conv, conv_dx and conv_dw on every 3x3
 * stride-1 case without a table (odd channels and maps, sizes not a multiple of the 4x4
 * tile, padding 0, 1 and 2, grids narrower and wider than a vector) and a VGG layer, on
 * batches of 1, 3 and 5, for either instruction set of the code around the call (the
 * runtime's C picks its own for the host); the error within WINOGRAD_TOLERANCE of the terms'
 * magnitudes, its worst printed. _i: case * 2 + instruction set. */
static const ConvCase WINOGRAD_CASES[] = {
    {16, 14, 14, 32, 3, 1, 1, false}, {3, 9, 11, 5, 3, 1, 0, false},  {17, 7, 7, 33, 3, 1, 1, false},
    {2, 5, 5, 3, 3, 1, 2, false},     {8, 4, 23, 12, 3, 1, 1, false}, {32, 32, 32, 32, 3, 1, 1, false},
    {1, 3, 3, 2, 3, 1, 0, false}, /* a single output */
    /* 127 + 129 maps: the runtime's half blocks (32 tiles, 3 of them in a batch of 5) and
     * conv_dw's 64-tile blocks (2), kernels transformed 16 maps at a time with a tail of 15 */
    {127, 13, 13, 129, 3, 1, 1, false},
};
enum { N_WINOGRAD = sizeof WINOGRAD_CASES / sizeof *WINOGRAD_CASES };

START_TEST(winograd_matches_reference) {
  const ConvCase *cc = &WINOGRAD_CASES[_i / 2];
  LowerOptions o = {TAILS_BY_HOST, _i % 2 ? ISA_AVX2 : ISA_HOST};
  if (!lower_isa_supported(o.isa)) return;
  char what[128];
  snprintf(what, sizeof what, "winograd %d maps of %dx%d -> %d, pad %d, %s", cc->c, cc->h, cc->w, cc->maps, cc->pad,
           _i % 2 ? "AVX2" : "host");
  Window w = model_choice(cc, &o, CONV_FORCE_WINOGRAD);
  ck_assert_int_eq(w.choice[CONV_FWD].kernel, CONV_KERNEL_WINOGRAD);
  ck_assert_int_eq(w.choice[CONV_DX].kernel, CONV_KERNEL_WINOGRAD);
  ck_assert_int_eq(w.choice[CONV_DW].kernel, CONV_KERNEL_WINOGRAD);
  worst_winograd_share = 0;
  check_choice(cc, &w, &o, what);
  printf("%s: worst error %.2g of the terms' magnitudes (allowed %.2g)\n", what, worst_winograd_share, WINOGRAD_TOLERANCE);
  ck_assert(worst_winograd_share > 0); /* the passes did run by Winograd */
}
END_TEST

/* The comparison catches a missing term: an output element off by the size of an average
 * term of its sum (one tap of 144 left out) is an error, the element itself is not. */
START_TEST(comparison_catches_a_missing_tap) {
  const ConvCase *cc = &CASES[0];
  Built b = build(cc);
  add_passes(&b);
  int n = 2;
  int64_t nx = interp_size(b.x, n), ndy = interp_size(b.dy, n), nw = shape_numel(b.W->shape);
  double *x = random_values(nx, 5), *dy = random_values(ndy, 6), *W = random_values(nw, 7);
  double *want[3], *bound[3];
  reference(&b, n, x, dy, W, want);
  for (int64_t i = 0; i < nx; i++) x[i] = fabs(x[i]);
  for (int64_t i = 0; i < ndy; i++) dy[i] = fabs(dy[i]);
  for (int64_t i = 0; i < nw; i++) W[i] = fabs(W[i]);
  reference(&b, n, x, dy, W, bound);
  int64_t at = 3 * b.w.wo + 4, count = interp_size(b.out[0], n);
  float *got = to_floats(want[0], count);
  char why[256];
  ck_assert(matches(got, want[0], bound[0], count, why, sizeof why));
  got[at] = (float)(want[0][at] + bound[0][at] / (cc->c * cc->k * cc->k));
  ck_assert(!matches(got, want[0], bound[0], count, why, sizeof why));
  ck_assert(!matches_within(got, want[0], bound[0], count, WINOGRAD_TOLERANCE, why, sizeof why));
  free(got);
  for (int k = 0; k < 3; k++) free(want[k]), free(bound[k]);
  free(x);
  free(dy);
  free(W);
  graph_free(b.g);
}
END_TEST

/* What the cost model must choose: register tiles for the many-map layers with fewer than
 * 32 maps on a side (the small CNN's 16 -> 32, VGG's first 3 -> 32; 5x5) in every pass, and
 * for VGG's 3x3 layers of 32 to 128 maps Winograd's F(4x4, 3x3) in every pass (1.2 to 2.7
 * times as fast as the tiles in bench/convbench), on either instruction set; LeNet-5's C3
 * table by tiles for conv and conv_dw, and for conv_dx with AVX-512 (AVX2: the table
 * kernels; bench/convbench --table), a table of half the pairs or fewer (grouped
 * convolutions) by the table kernels even when tiles are forced; a strided layer's conv and conv_dx
 * never get tiles or Winograd (they need stride 1). */
START_TEST(cost_model_chooses_tiles_for_many_maps) {
  static const ConvCase many[] = {
      {16, 14, 14, 32, 3, 1, 1, false}, {3, 32, 32, 32, 3, 1, 1, false}, {32, 12, 12, 32, 5, 1, 2, false},
  };
  static const ConvCase vgg[] = {
      {32, 32, 32, 32, 3, 1, 1, false}, {32, 16, 16, 64, 3, 1, 1, false}, {64, 16, 16, 64, 3, 1, 1, false},
      {64, 8, 8, 128, 3, 1, 1, false},  {128, 8, 8, 128, 3, 1, 1, false},
  };
  for (int isa = 0; isa < 2; isa++) {
    LowerOptions o = {TAILS_BY_HOST, isa ? ISA_AVX2 : ISA_HOST};
    if (!lower_isa_supported(o.isa)) continue;
    for (size_t i = 0; i < sizeof many / sizeof *many; i++) {
      Window w = model_choice(&many[i], &o, CONV_FORCE_NONE);
      for (int pass = 0; pass < CONV_PASSES; pass++)
        ck_assert_msg(w.choice[pass].kernel == CONV_KERNEL_TILED, "case %zu, pass %d, isa %d: not tiled", i, pass, isa);
    }
    for (size_t i = 0; i < sizeof vgg / sizeof *vgg; i++) {
      Window w = model_choice(&vgg[i], &o, CONV_FORCE_NONE);
      ck_assert_msg(w.choice[CONV_FWD].kernel == CONV_KERNEL_WINOGRAD, "VGG case %zu, isa %d: conv not Winograd", i, isa);
      ck_assert_msg(w.choice[CONV_DX].kernel == CONV_KERNEL_WINOGRAD, "VGG case %zu, isa %d: conv_dx not Winograd", i, isa);
      ck_assert_msg(w.choice[CONV_DW].kernel == CONV_KERNEL_WINOGRAD, "VGG case %zu, isa %d: conv_dw not Winograd", i, isa);
    }
    Window sparse = model_choice(&CASES[N_CASES - 1], &o, CONV_FORCE_TILED); /* half the pairs or fewer */
    for (int pass = 0; pass < CONV_PASSES; pass++) ck_assert_int_eq(sparse.choice[pass].kernel, CONV_KERNEL_TAPS);
    Window c3 = model_choice(&CASES[N_CASES - 4], &o, CONV_FORCE_NONE); /* LeNet-5's C3 */
    bool wide = lower_vector_unit(&o).lanes > 8; /* AVX-512 */
    ck_assert_int_eq(c3.choice[CONV_FWD].kernel, CONV_KERNEL_TILED);
    ck_assert_int_eq(c3.choice[CONV_DX].kernel, wide ? CONV_KERNEL_TILED : CONV_KERNEL_TAPS);
    ck_assert_int_eq(c3.choice[CONV_DW].kernel, CONV_KERNEL_TILED);
    Window s = model_choice(&CASES[5], &o, CONV_FORCE_TILED);
    ck_assert_int_eq(s.choice[CONV_FWD].kernel, CONV_KERNEL_TAPS);
    ck_assert_int_eq(s.choice[CONV_DX].kernel, CONV_KERNEL_TAPS);
    ck_assert_int_eq(s.choice[CONV_DW].kernel, CONV_KERNEL_TILED);
    for (size_t i = 0; i < N_CASES; i++) { /* forced, Winograd only where it can run */
      Window f = model_choice(&CASES[i], &o, CONV_FORCE_WINOGRAD);
      bool fits = CASES[i].k == 3 && CASES[i].stride == 1 && CASES[i].pad <= 2 && !CASES[i].table;
      for (int pass = 0; pass < CONV_PASSES; pass++)
        ck_assert_msg((f.choice[pass].kernel == CONV_KERNEL_WINOGRAD) == fits, "case %zu pass %d", i, pass);
    }
  }
}
END_TEST

/* maxpool, maxpool_back, pool_sum and unpool_sum of images [3, h, w] by k x k windows of
 * stride k, on 1, 3 and 5 rows, against the reference: w = 37 gives rows of 18, 12 and 9
 * windows (vectors of 16 and masked ones) and columns outside every window, h = 9 rows
 * outside them; integer-valued images give ties, whose gradient goes to the first (and sums
 * that are exact in float). */
START_TEST(pooling_matches_reference) {
  int k = 2 + _i % 3, h = 9, w = 37;
  LowerOptions o = {TAILS_BY_HOST, _i / 3 ? ISA_AVX2 : ISA_HOST};
  if (!lower_isa_supported(o.isa)) return;
  Graph *g = graph_new();
  Window win;
  ck_assert(window_make(3, h, w, k, k, 0, &win, NULL, 0));
  int xd[3] = {3, h, w}, yd[3] = {3, win.ho, win.wo};
  Node *x = g_input(g, "x", shape_make(true, 3, xd), NO_LOC), *dy = g_input(g, "dy", shape_make(true, 3, yd), NO_LOC);
  enum { OUTS = 4 };
  Node *out[OUTS] = {g_output(g, g_pool(g, OP_MAXPOOL, x, &win, NO_LOC), NO_LOC),
                     g_output(g, g_maxpool_back(g, x, dy, &win, NO_LOC), NO_LOC),
                     g_output(g, g_pool(g, OP_POOL_SUM, x, &win, NO_LOC), NO_LOC),
                     g_output(g, g_unpool_sum(g, dy, &win, NO_LOC), NO_LOC)};
  Arena a;
  arena_init(&a);
  LowerFn fn = {.name = "pool", .sched = schedule_build(g, out, OUTS, &a)};
  schedule_fuse(g, &fn.sched, &a);
  fn.plan = memplan_build(g, &fn.sched, BATCH, lower_workspace, &a);
  DlcModule *mod = lower_module(g, &fn, 1, &o);
  ck_assert(lower_optimize(mod));
  char err[256];
  DlcJit *jit = jit_compile(mod, err, sizeof err);
  ck_assert_msg(jit, "%s", err);
  DlrtModelFn f = (DlrtModelFn)jit_lookup(jit, "pool", err, sizeof err);
  ck_assert_msg(f, "%s", err);
  for (int n = 1; n <= BATCH; n += 2) {
    int64_t nx = interp_size(x, n), ndy = interp_size(dy, n);
    double *xv = random_values(nx, 3u + (unsigned)n), *dyv = random_values(ndy, 4u + (unsigned)n);
    for (int64_t i = 0; i < nx; i++) xv[i] = floor(4 * xv[i]); /* ties */
    float *fx = to_floats(xv, nx), *fdy = to_floats(dyv, ndy), *arena = aligned_alloc(64, sizeof(float) * (size_t)(fn.plan.total_floats + 16));
    float *got[OUTS];
    double *want[OUTS];
    for (int r = 0; r < OUTS; r++) {
      got[r] = malloc(sizeof(float) * (size_t)interp_size(out[r], n));
      want[r] = malloc(sizeof(double) * (size_t)interp_size(out[r], n));
      for (int64_t i = 0; i < interp_size(out[r], n); i++) got[r][i] = SENTINEL; /* every cell must be written */
    }
    const float *feeds[2];
    const double *dfeeds[2];
    feeds[x->attr.slot] = fx, feeds[dy->attr.slot] = fdy;
    dfeeds[x->attr.slot] = xv, dfeeds[dy->attr.slot] = dyv;
    float *results[OUTS];
    double *dresults[OUTS];
    for (int r = 0; r < OUTS; r++) results[out[r]->attr.slot] = got[r], dresults[out[r]->attr.slot] = want[r];
    f(arena, arena + fn.plan.persist_floats, feeds, results, n);
    Interp it = {g, n, NULL, 0, NULL, dfeeds};
    interp_run(&it, (NodeList){g->nodes, g->len}, dresults);
    interp_clear(&it);
    static const char *const names[OUTS] = {"maxpool", "maxpool_back", "pool_sum", "unpool_sum"};
    for (int r = 0; r < OUTS; r++)
      for (int64_t i = 0; i < interp_size(out[r], n); i++)
        ck_assert_msg(got[r][i] == (float)want[r][i], "k %d, %s, %d rows, element %lld: %g, reference %g", k, names[r], n,
                      (long long)i, got[r][i], want[r][i]);
    for (int r = 0; r < OUTS; r++) free(got[r]), free(want[r]);
    free(xv), free(dyv), free(fx), free(fdy), free(arena);
  }
  jit_free(jit);
  arena_free(&a);
  graph_free(g);
}
END_TEST

/* Winograd's epilogue (opt/conv_algo.c winograd_epilogue, computed by runtime/winograd.c on
 * the output tiles): relu(conv(x, W) + bias), as a VGG layer's forward has it, taken into the
 * pass (the schedule says so, or the test fails), and conv_dx(dy, W) * step(x), its backward,
 * left to a loop of its own; both equal to the reference evaluator within Winograd's
 * tolerance, on batches of 1, 3 and 5. _i: case (odd maps, sizes, padding) * 2 + instruction
 * set. */
static const ConvCase EPILOGUE_CASES[] = {{17, 7, 7, 33, 3, 1, 1, false}, {3, 9, 11, 5, 3, 1, 0, false},
                                          {8, 4, 23, 12, 3, 1, 2, false}};

START_TEST(winograd_epilogues_match_reference) {
  const ConvCase *cc = &EPILOGUE_CASES[_i / 2];
  LowerOptions o = {TAILS_BY_HOST, _i % 2 ? ISA_AVX2 : ISA_HOST};
  if (!lower_isa_supported(o.isa)) return;
  Built b = build(cc);
  for (int k = 0; k < CONV_PASSES; k++) b.w.choice[k] = (ConvChoice){CONV_KERNEL_WINOGRAD, 0, 0};
  int bd[3] = {cc->maps, 1, 1};
  Node *bias = g_param(b.g, "b", shape_make(false, 3, bd), NO_LOC);
  Node *conv = g_conv(b.g, b.x, b.W, &b.w, NO_LOC), *dx = g_conv_dx(b.g, b.dy, b.W, &b.w, NO_LOC);
  Node *fwd = g_unary(b.g, OP_RELU, g_binary(b.g, OP_ADD, conv, bias, NO_LOC), NO_LOC);
  Node *bwd = g_binary(b.g, OP_MUL, dx, g_unary(b.g, OP_STEP, b.x, NO_LOC), NO_LOC);
  b.out[0] = g_output(b.g, fwd, NO_LOC);
  b.out[1] = g_output(b.g, bwd, NO_LOC);
  b.out[2] = g_output(b.g, g_conv_dw(b.g, b.dy, b.x, &b.w, NO_LOC, b.W->shape), NO_LOC);
  Compiled cp = compile(&b, &o);
  Arena a;
  arena_init(&a);
  Node *roots[3] = {b.out[0], b.out[1], b.out[2]};
  Schedule sched = schedule_build(b.g, roots, 3, &a);
  schedule_fuse(b.g, &sched, &a);
  ck_assert_ptr_eq(sched.epilogue[conv->id], fwd);
  ck_assert_ptr_null(sched.epilogue[dx->id]);
  arena_free(&a);
  for (int n = 1; n <= BATCH; n += 2) {
    int64_t nx = interp_size(b.x, n), ndy = interp_size(b.dy, n), nw = shape_numel(b.W->shape), nb = cc->maps;
    double *v[4] = {random_values(nx, 3u + (unsigned)n), random_values(ndy, 5u + (unsigned)n), random_values(nw, 7u),
                    random_values(nb, 9u)};
    double *want[2][3]; /* the values, and on magnitudes the bounds of their terms */
    for (int pass = 0; pass < 2; pass++) {
      Interp it = {b.g, n, NULL, 0, calloc((size_t)b.g->len, sizeof(double *)), NULL};
      const double *feeds[2];
      double *abs_v[4];
      for (int k = 0; k < 4; k++) {
        int64_t len = k == 0 ? nx : k == 1 ? ndy : k == 2 ? nw : nb;
        abs_v[k] = malloc(sizeof(double) * (size_t)len);
        for (int64_t i = 0; i < len; i++) abs_v[k][i] = pass ? fabs(v[k][i]) : v[k][i];
      }
      it.leaf[b.W->id] = abs_v[2];
      it.leaf[bias->id] = abs_v[3];
      feeds[b.x->attr.slot] = abs_v[0];
      feeds[b.dy->attr.slot] = abs_v[1];
      it.feeds = feeds;
      double *results[3];
      for (int k = 0; k < 3; k++) results[b.out[k]->attr.slot] = want[pass][k] = malloc(sizeof(double) * (size_t)interp_size(b.out[k], n));
      interp_run(&it, (NodeList){b.g->nodes, b.g->len}, results);
      interp_clear(&it);
      free(it.leaf);
      for (int k = 0; k < 4; k++) free(abs_v[k]);
    }
    float *arena = aligned_alloc(64, sizeof(float) * (size_t)arena_align(cp.plan.total_floats));
    float *fw = to_floats(v[2], nw), *fb = to_floats(v[3], nb), *fx = to_floats(v[0], nx), *fdy = to_floats(v[1], ndy);
    memcpy(arena + cp.plan.offset[b.W->id], fw, sizeof(float) * (size_t)nw);
    memcpy(arena + cp.plan.offset[bias->id], fb, sizeof(float) * (size_t)nb);
    const float *feeds[2];
    feeds[b.x->attr.slot] = fx;
    feeds[b.dy->attr.slot] = fdy;
    float *got[3], *results[3];
    for (int k = 0; k < 3; k++) results[b.out[k]->attr.slot] = got[k] = malloc(sizeof(float) * (size_t)interp_size(b.out[k], n));
    cp.fn(arena, arena + cp.plan.persist_floats, feeds, results, n);
    static const char *const pass[3] = {"relu(conv + bias)", "conv_dx * step(x)", "conv_dw"};
    for (int k = 0; k < 3; k++) {
      char why[256];
      ck_assert_msg(matches_within(got[k], want[0][k], want[1][k], interp_size(b.out[k], n), WINOGRAD_TOLERANCE, why, sizeof why),
                    "epilogue case %d, %s, %d rows: %s", _i, pass[k], n, why);
      free(got[k]), free(want[0][k]), free(want[1][k]);
    }
    free(arena), free(fw), free(fb), free(fx), free(fdy);
    for (int k = 0; k < 4; k++) free(v[k]);
  }
  compiled_free(&cp);
  graph_free(b.g);
}
END_TEST

int main(void) {
  Suite *s = suite_create("conv");
  TCase *tc = tcase_create("kernels");
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, kernels_match_reference, 0, 2 * N_CASES);
  tcase_add_loop_test(tc, winograd_matches_reference, 0, 2 * N_WINOGRAD);
  tcase_add_test(tc, comparison_catches_a_missing_tap);
  tcase_add_test(tc, cost_model_chooses_tiles_for_many_maps);
  tcase_add_loop_test(tc, pooling_matches_reference, 0, 6);
  tcase_add_loop_test(tc, winograd_epilogues_match_reference, 0, 6);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
