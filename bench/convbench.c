/* convbench.c — one convolution layer's three passes (conv, conv_dx, conv_dw) timed with each
 * way dlc can run them: im2col + gemm, the table kernels, the register tiles (the cost
 * model's tile, or one given) and Winograd's F(4x4, 3x3) where it applies (conv and conv_dx
 * of a 3x3 stride-1 layer; conv_dw then by the model's kernel), on the host's instruction set or AVX2. The ways run in turn,
 * round after round, and each pass keeps its fastest round, so a neighbour's load on this
 * shared machine hurts every way alike; the core's multiply-add peak is measured between
 * rounds (the best of them), and each pass is reported in GFLOP/s (the direct convolution's
 * multiply-adds, whatever the way computes), as a share of that peak, and as a speed-up over
 * the register tiles in the same rounds.
 *
 *   build/bench/convbench C H W MAPS K [STRIDE [PAD]] [--batch N] [--rounds R] [--isa avx2]
 *                         [--tile AxB] (conv's tile; conv_dx and conv_dw keep the model's)
 *                         [--table] (LeNet-5's C3 connection table, C 6 and MAPS 16: the
 *                         table kernels against the tiles of the dense layer with zero
 *                         kernels; GFLOP/s counts the 60 connected pairs' multiply-adds)
 *
 * The graph is the one dlc builds for conv(x, MAPS, K, stride: S, pad: P, bias: false) inside
 * a network (x depends on a parameter, so conv_dx is computed), differentiated by autodiff,
 * scheduled, fused, planned and compiled with every node timed (runtime/profile.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dlrt.h"
#include "driver.h"
#include "grad.h"
#include "interp.h"
#include "passes.h"

enum { WAYS = 4 };
static const char *const WAY_NAMES[WAYS] = {"im2col", "taps", "tiled", "winograd"};
static const ConvForce WAY_FORCE[WAYS] = {CONV_FORCE_IM2COL, CONV_FORCE_TAPS, CONV_FORCE_TILED, CONV_FORCE_WINOGRAD};

typedef struct Layer {
  int c, h, w, maps, k, stride, pad, batch;
  int tile_a, tile_b;
  bool table; /* LeNet-5's Table I */
  LowerOptions lower;
} Layer;

/* LeNet-5's Table I: row i is input map i, column j output map j (examples/lenet.net). */
static const char *const LENET_TABLE[6] = {"X...XXX..XXXX.XX", "XX...XXX..XXXX.X", "XXX...XXX..X.XXX",
                                           ".XXX..XXXX..X.XX", "..XXX..XXXX.XX.X", "...XXX..XXXX.XXX"};
static unsigned char lenet_connect[6 * 16];

typedef struct Way {
  Graph *g;
  Arena arena;
  DlcJit *jit;
  DlrtModelFn fn;
  MemPlan plan;
  Node *x, *r;
  float *mem, *x_in, *r_in, *out[3]; /* results: the two gradients, the loss sums */
  int pass_of[4096]; /* by node id: 0 conv, 1 conv_dx, 2 conv_dw, -1 neither */
  double best[3];
  Window chosen;
  bool ok;
} Way;

/* Which pass a node of the differentiated graph belongs to (-1: the loss around it). */
static int pass_of(const Node *n, int n_forward) {
  switch (n->op) {
  case OP_CONV: return 0;
  case OP_CONV_DX: return 1;
  case OP_CONV_DW: return 2;
  case OP_IM2COL: return 0;
  case OP_COL2IM: return 1;
  case OP_PERMUTE: return n->id < n_forward ? 0 : 1; /* dy back to rows: shared, counted with dx */
  case OP_GEMM: return n->id < n_forward ? 0 : n->attr.gemm.ta ? 2 : 1;
  default: return -1;
  }
}

static bool build(Way *v, const Layer *l, ConvForce force) {
  memset(v, 0, sizeof *v);
  v->g = graph_new();
  arena_init(&v->arena);
  Graph *g = v->g;
  Window w;
  char err[256];
  if (!window_make(l->c, l->h, l->w, l->k, l->stride, l->pad, &w, err, sizeof err)) {
    fprintf(stderr, "convbench: %s\n", err);
    exit(1);
  }
  w.maps = l->maps;
  int xd[3] = {l->c, l->h, l->w}, yd[3] = {l->maps, w.ho, w.wo}, wd[2] = {l->maps, l->c * l->k * l->k};
  if (l->table) {
    if (force == CONV_FORCE_IM2COL || force == CONV_FORCE_WINOGRAD) return false; /* neither runs a table */
    for (int i = 0; i < 6 * 16; i++) lenet_connect[i] = LENET_TABLE[i / 16][i % 16] == 'X';
    w.connect = lenet_connect;
    wd[0] = conv_kernels(&w), wd[1] = l->k * l->k;
  }
  Node *xin = g_input(g, "x", shape_make(true, 3, xd), NO_LOC);
  v->r = g_input(g, "r", shape_make(true, 3, yd), NO_LOC);
  Node *s = g_param(g, "s", shape_scalar(false), NO_LOC);
  Node *W = g_param(g, "W", shape_make(false, 2, wd), NO_LOC);
  v->x = xin;
  Node *x = g_binary(g, OP_MUL, xin, s, NO_LOC); /* so that conv_dx is wanted */
  Node *y = g_conv(g, x, W, &w, NO_LOC);
  VectorUnit unit = lower_vector_unit(&l->lower);
  ConvTarget t = {unit.lanes, unit.registers, force};
  opt_choose_convolutions(g, &t);
  if (y->op == OP_CONV) {
    Window *yw = (Window *)y->attr.win;
    if (force == CONV_FORCE_TILED && l->tile_a && yw->choice[CONV_FWD].kernel == CONV_KERNEL_TILED)
      yw->choice[CONV_FWD].tile_a = (unsigned char)l->tile_a, yw->choice[CONV_FWD].tile_b = (unsigned char)l->tile_b;
    v->chosen = *yw;
  } else if (force != CONV_FORCE_IM2COL) {
    return false;
  }
  int n_forward = g->len;
  Node *loss = g_sum_to(g, g_binary(g, OP_MUL, y, v->r, NO_LOC), shape_scalar(true), NO_LOC);
  n_forward = g->len;
  Node **grads = grad_build(g, loss);
  Node *roots[3] = {g_output(g, grads[s->id], NO_LOC), g_output(g, grads[W->id], NO_LOC), g_output(g, loss, NO_LOC)};
  LowerFn fn = {.name = "bench", .sched = schedule_build(g, roots, 3, &v->arena), .profile = true};
  schedule_fuse(g, &fn.sched, &v->arena);
  fn.plan = memplan_build(g, &fn.sched, l->batch, lower_workspace, &v->arena);
  v->plan = fn.plan;
  for (int i = 0; i < g->len && i < 4096; i++) v->pass_of[i] = pass_of(g->nodes[i], n_forward);
  DlcModule *mod = lower_module(g, &fn, 1, &l->lower);
  lower_optimize(mod);
  v->jit = jit_compile(mod, err, sizeof err);
  v->fn = v->jit ? (DlrtModelFn)jit_lookup(v->jit, "bench", err, sizeof err) : NULL;
  if (!v->fn) {
    fprintf(stderr, "convbench: %s\n", err);
    exit(1);
  }
  v->mem = aligned_alloc(64, sizeof(float) * (size_t)arena_align(v->plan.total_floats));
  int64_t nx = (int64_t)l->batch * l->c * l->h * l->w, nr = (int64_t)l->batch * l->maps * w.ho * w.wo;
  v->x_in = malloc(sizeof(float) * (size_t)nx);
  v->r_in = malloc(sizeof(float) * (size_t)nr);
  DlrtRng rng;
  dlrt_rng_seed(&rng, 1);
  for (int64_t i = 0; i < v->plan.total_floats; i++) v->mem[i] = (float)(dlrt_rng_uniform(&rng) - 0.5);
  for (int64_t i = 0; i < nx; i++) v->x_in[i] = (float)dlrt_rng_uniform(&rng);
  for (int64_t i = 0; i < nr; i++) v->r_in[i] = (float)(dlrt_rng_uniform(&rng) - 0.5) * 1e-2f;
  for (int k = 0; k < 3; k++) v->out[k] = malloc(sizeof(float) * (size_t)(shape_numel(roots[k]->in[0]->shape) * l->batch + 1));
  for (int p = 0; p < 3; p++) v->best[p] = INFINITY;
  v->ok = true;
  return true;
}

static void run_round(Way *v, const Layer *l) {
  const float *feeds[2];
  feeds[v->x->attr.slot] = v->x_in;
  feeds[v->r->attr.slot] = v->r_in;
  float *results[3];
  for (int k = 0; k < 3; k++) results[k] = v->out[k];
  int n = v->g->len;
  double *t = calloc((size_t)n, sizeof(double));
  dlrt_prof_reset();
  v->fn(v->mem, v->mem + v->plan.persist_floats, feeds, results, l->batch);
  dlrt_prof_read(t, n);
  double pass[3] = {0, 0, 0};
  for (int i = 0; i < n && i < 4096; i++)
    if (v->pass_of[i] >= 0) pass[v->pass_of[i]] += t[i];
  for (int p = 0; p < 3; p++)
    if (pass[p] < v->best[p]) v->best[p] = pass[p];
  free(t);
}

static void way_free(Way *v) {
  if (!v->g) return;
  jit_free(v->jit);
  free(v->mem);
  free(v->x_in);
  free(v->r_in);
  for (int k = 0; k < 3; k++) free(v->out[k]);
  graph_free(v->g);
  arena_free(&v->arena);
}

int main(int argc, char **argv) {
  Layer l = {0, 0, 0, 0, 0, 1, 0, 64, 0, 0, false, {0}};
  int rounds = 20, pos = 0, *fields[7] = {&l.c, &l.h, &l.w, &l.maps, &l.k, &l.stride, &l.pad};
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--batch") && i + 1 < argc) l.batch = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--isa") && i + 1 < argc) l.lower.isa = strcmp(argv[++i], "avx2") ? ISA_HOST : ISA_AVX2;
    else if (!strcmp(argv[i], "--tile") && i + 1 < argc) sscanf(argv[++i], "%dx%d", &l.tile_a, &l.tile_b);
    else if (!strcmp(argv[i], "--table")) l.table = true;
    else if (pos < 7) *fields[pos++] = atoi(argv[i]);
  }
  if (pos < 5 || l.batch < 1 || rounds < 1) {
    fprintf(stderr,
            "usage: convbench C H W MAPS K [STRIDE [PAD]] [--batch N] [--rounds R] [--isa avx2] [--tile AxB] [--table]\n");
    return 2;
  }
  if (l.table && (l.c != 6 || l.maps != 16)) {
    fprintf(stderr, "convbench: --table is LeNet-5's C3 table: 6 input maps, 16 maps\n");
    return 2;
  }
  if (!lower_isa_supported(l.lower.isa)) {
    fprintf(stderr, "convbench: this CPU cannot run AVX2 code\n");
    return 1;
  }
  dlrt_set_threads(1); /* OpenBLAS on this thread, as the kernels */
  Way ways[WAYS];
  for (int k = 0; k < WAYS; k++)
    if (!build(&ways[k], &l, WAY_FORCE[k])) ways[k].ok = false;
  double peak = 0;
  for (int r = 0; r < rounds; r++) {
    for (int k = 0; k < WAYS; k++)
      if (ways[k].ok) run_round(&ways[k], &l);
    double p = dlrt_fma_peak_gflops();
    if (p > peak) peak = p;
  }
  Window w;
  window_make(l.c, l.h, l.w, l.k, l.stride, l.pad, &w, NULL, 0);
  double macs = (double)l.batch * l.maps * l.c * l.k * l.k * w.ho * w.wo * (l.table ? 60.0 / 96 : 1);
  printf("conv %d@%dx%d -> %d maps%s, %dx%d, stride %d, pad %d, batch %d, %s: %.1f MFLOP per pass, peak %.1f GFLOP/s\n", l.c,
         l.h, l.w, l.maps, l.table ? " (LeNet-5's table)" : "", l.k, l.k, l.stride, l.pad, l.batch,
         l.lower.isa == ISA_AVX2 ? "AVX2" : "host", 2 * macs / 1e6, peak);
  static const char *const pass[3] = {"conv", "conv_dx", "conv_dw"};
  printf("  %-8s %-8s %10s %9s %7s %8s  %s\n", "pass", "way", "ms", "GFLOP/s", "% peak", "x tiled", "kernel");
  for (int p = 0; p < 3; p++)
    for (int k = 0; k < WAYS; k++) {
      if (!ways[k].ok) continue;
      char kernel[32] = "";
      if (k > 0) {
        const ConvChoice *ch = &ways[k].chosen.choice[p];
        if (ch->kernel == CONV_KERNEL_TILED) snprintf(kernel, sizeof kernel, "tiled %dx%d", ch->tile_a, ch->tile_b);
        else if (ch->kernel == CONV_KERNEL_WINOGRAD) snprintf(kernel, sizeof kernel, "winograd F(4x4,3x3)");
        else snprintf(kernel, sizeof kernel, "taps");
      }
      double s = ways[k].best[p], gf = 2 * macs / s / 1e9;
      double tiled = ways[2].ok ? ways[2].best[p] : 0; /* speed against the register tiles, in the same rounds */
      printf("  %-8s %-8s %10.3f %9.1f %6.1f%% %8.2f  %s\n", pass[p], WAY_NAMES[k], 1e3 * s, gf, peak > 0 ? 100 * gf / peak : 0,
             tiled > 0 ? tiled / s : 0, kernel);
    }
  for (int k = 0; k < WAYS; k++) way_free(&ways[k]);
  return 0;
}
