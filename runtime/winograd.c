/* winograd.c — 3x3 stride-1 convolutions by Winograd's minimal filtering F(4x4, 3x3)
 * (Lavin and Gray 2016), for the conv and conv_dx passes that opt/conv_algo.c gives this way.
 *
 * The output is cut into 4x4 tiles; each reads a 6x6 tile of the zero-padded input. In the
 * transform domain a tile's convolution is 36 independent products, one per transform
 * point xi = (i, k):
 *   V[xi][ci][t] = (B^T d_t B)[i][k]        the input tile t of map ci
 *   U[xi][co][ci] = (G g G^T)[i][k]         the kernel of (co, ci)
 *   M[xi] = U[xi] V[xi]                     a [cout x cin] x [cin x tiles] sgemm (OpenBLAS)
 *   y_t = A^T M_t A                         the 4x4 output tile
 * 36 * cin * cout multiplies per 16 outputs instead of 144 * cin * cout: 4x fewer, against
 * F(2x2, 3x3)'s 2.25x. The price is the transforms (linear in cin + cout, not their
 * product, so small beside the products once both have 32 maps or more) and fp32 error: the
 * points 0, +-1, +-2 make B and A's entries up to 8 and G's as small as 1/24, so a result is
 * off by a few times 1e-6 of the sum of its terms' magnitudes rather than 1e-7
 * (docs/performance.md, tests/check_conv.c).
 *
 * conv_dw by the same tiles: the forward output is linear in U, so the gradient of a kernel is
 *   dW[co][ci] = G^T [ sum over tiles t of (A dy_t A^T) (.) (B^T d_t B) ] G
 * (A dy_t A^T: dy's 4x4 tile of map co taken to 6x6; the tiles outside the output are zero):
 * per transform point, a [cout x tiles] by [tiles x cin] product summed over the blocks.
 *
 * Tiles are taken a block of images at a time, so that V and M (36 (cin + cout) floats a
 * tile) stay near the core's second-level cache; within a block the tiles are numbered
 * image by image, row by row, and every transform runs along that number: long loops of
 * independent lanes, which the compiler vectorises for the host (target_clones). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "dlrt.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HOST_VERSIONS __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define HOST_VERSIONS
#endif
/* The helpers are inlined into each version of dlrt_winograd_conv, so vectorised for it. */
#define INLINE static inline __attribute__((always_inline))

enum { TILE = 4, IN_TILE = 6, POINTS = 36 };
/* Tiles per block: the best of 64, 128, 256 and 512 on VGG's layers (bench/convbench; a
 * block's V and M then fill 0.3 to 1.2 MB, within the second-level cache, and the 36
 * products, 32 to 128 maps by 64 tiles, are still large enough for OpenBLAS). */
enum { BLOCK_TILES = 64 };
/* ... but with 128 maps in and out, U alone is 2.4 MB, read again for every block: half the
 * block keeps V and M (1.2 MB) in the cache while U streams by; 10-15% less time on VGG's
 * 128->128 layer (its conv and conv_dx), the same on 64->128. */
static int64_t block_tiles(int32_t cin, int32_t cout) { return cin + cout >= 256 ? BLOCK_TILES / 2 : BLOCK_TILES; }
/* conv_dw's products run along the tiles ([cout x tiles] by [tiles x cin]). With 32 maps a
 * side a block of 64 makes them too short for OpenBLAS: 256 (measured as BLOCK_TILES was).
 * With 64 maps or more out, 64 tiles are long enough, and the block's V and M stay nearer the
 * cache: 5-15% less time than 256 on VGG's 32->64, 64->64, 64->128 and 128->128 layers
 * (bench/convbench, shared machine), the same on 32->32. */
static int64_t dw_block_tiles(int32_t cout) { return cout >= 64 ? 64 : 256; }

typedef struct Plan {
  int64_t ho, wo, tiles_y, tiles_x, per_image, block_images, block_tiles;
  int64_t hp, wp; /* the padded plane a tile reads from: 4 tiles_y + 2 rows of 4 tiles_x + 2 */
  /* scratch offsets, in floats */
  int64_t u, v, m, d, tmp, plane, dyplane, total;
} Plan;

static Plan plan_for(int64_t batch, int32_t cin, int32_t h, int32_t w, int32_t cout, int32_t pad, int64_t block) {
  Plan p;
  p.ho = h + 2 * pad - 2;
  p.wo = w + 2 * pad - 2;
  p.tiles_y = (p.ho + TILE - 1) / TILE;
  p.tiles_x = (p.wo + TILE - 1) / TILE;
  p.per_image = p.tiles_y * p.tiles_x;
  p.block_images = (block + p.per_image - 1) / p.per_image;
  if (p.block_images > batch) p.block_images = batch;
  if (p.block_images < 1) p.block_images = 1;
  p.block_tiles = p.block_images * p.per_image;
  p.hp = TILE * p.tiles_y + 2;
  p.wp = TILE * p.tiles_x + 2;
  int64_t t = p.block_tiles;
  p.u = 0;
  p.v = p.u + (int64_t)POINTS * cout * cin;
  p.m = p.v + (int64_t)POINTS * cin * t;
  p.d = p.m + (int64_t)POINTS * cout * t;
  p.tmp = p.d + (int64_t)POINTS * t;
  p.plane = p.tmp + (int64_t)POINTS * t;
  p.dyplane = p.plane + p.hp * p.wp; /* conv_dw: dy's maps in planes of whole tiles */
  p.total = p.dyplane + TILE * p.tiles_y * TILE * p.tiles_x;
  return p;
}

int64_t dlrt_winograd_workspace(int64_t batch, int32_t cin, int32_t h, int32_t w, int32_t cout, int32_t pad) {
  int64_t conv = plan_for(batch, cin, h, w, cout, pad, block_tiles(cin, cout)).total;
  int64_t dw = plan_for(batch, cin, h, w, cout, pad, dw_block_tiles(cout)).total;
  return conv > dw ? conv : dw; /* (the pass is not asked: the larger) */
}

/* F(4x4, 3x3)'s kernel transform (points 0, +-1, +-2 and infinity): U = G g G^T, and the
 * kernel gradient G^T S G. */
static const float G[IN_TILE][3] = {{1.0f / 4, 0, 0},           {-1.0f / 6, -1.0f / 6, -1.0f / 6},
                                    {-1.0f / 6, 1.0f / 6, -1.0f / 6}, {1.0f / 24, 1.0f / 12, 1.0f / 6},
                                    {1.0f / 24, -1.0f / 12, 1.0f / 6}, {0, 0, 1}};

/* Kernels are transformed LANES input maps at a time: U's rows and S's run along ci, so
 * each step below is a loop over the lanes that the compiler vectorises (the sums of each
 * kernel in the same order as one at a time: the same floats). */
enum { LANES = 16 };

/* U[xi][co][ci] = G g G^T for every kernel g: W[co][ci] (row-major 3x3), or for conv_dx,
 * W[ci][co] turned by 180 degrees (W is then the forward conv's [cin_fwd = cout][cout_fwd =
 * cin] kernels). */
static void transform_kernels(const float *W, float *U, int32_t cin, int32_t cout, int flip) {
  int64_t plane = (int64_t)cout * cin;
  for (int32_t co = 0; co < cout; co++)
    for (int32_t c0 = 0; c0 < cin; c0 += LANES) {
      int n = cin - c0 < LANES ? cin - c0 : LANES;
      float g[3][3][LANES], gt[IN_TILE][3][LANES];
      for (int l = 0; l < n; l++) {
        int32_t ci = c0 + l;
        const float *src = flip ? W + ((int64_t)ci * cout + co) * 9 : W + ((int64_t)co * cin + ci) * 9;
        for (int a = 0; a < 3; a++)
          for (int b = 0; b < 3; b++) g[a][b][l] = flip ? src[(2 - a) * 3 + (2 - b)] : src[a * 3 + b];
      }
      for (int i = 0; i < IN_TILE; i++)
        for (int b = 0; b < 3; b++)
          for (int l = 0; l < n; l++) gt[i][b][l] = G[i][0] * g[0][b][l] + G[i][1] * g[1][b][l] + G[i][2] * g[2][b][l];
      for (int i = 0; i < IN_TILE; i++)
        for (int k = 0; k < IN_TILE; k++) {
          float *to = U + (i * IN_TILE + k) * plane + (int64_t)co * cin + c0;
          for (int l = 0; l < n; l++) to[l] = gt[i][0][l] * G[k][0] + gt[i][1][l] * G[k][1] + gt[i][2][l] * G[k][2];
        }
    }
}

/* The kernels' transform, remembered. U = G g G^T costs some 160 multiply-adds per kernel,
 * scattered over 36 planes: nothing beside a batch of 64, but at batch 1 (dlc predict, an
 * inference server) it was most of a VGG layer's time (VGG at batch 1 ran 4x slower than with
 * the direct kernels). The same weights are seen call after call in inference, and by every
 * worker of a step, so each kernel set's U is kept with a copy of the W it came from and
 * reused while W is the same, compared float for float (an exact memo of a pure function:
 * a changed weight, as after every training step, is a recomputation, never a stale U). The
 * lock is held across the check and the transform; the transformed kernels are then only
 * read: W does not change during a call of the generated code, in which all workers run. */
typedef struct KernelMemo {
  const float *w_at; /* the W it is for: its address, shape and whether turned */
  int32_t cin, cout, flip;
  float *w;          /* a copy of W when U was made: [cout * cin * 9] */
  float *u;          /* U: [36][cout][cin] */
} KernelMemo;

enum { MEMO_SLOTS = 64 }; /* kernel sets remembered (a conv and its conv_dx are two) */
static KernelMemo memo[MEMO_SLOTS];
static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned memo_next; /* the slot given up next when all are taken */

/* U for W (cin, cout, flip): remembered, or made into ws_u when no slot can be had. */
static const float *kernels_for(const float *W, float *ws_u, int32_t cin, int32_t cout, int flip) {
  size_t wn = (size_t)cout * (size_t)cin * 9;
  pthread_mutex_lock(&memo_lock);
  KernelMemo *m = NULL;
  for (int i = 0; i < MEMO_SLOTS && !m; i++) /* its slot, else a free one, else the next in turn */
    if (memo[i].w_at == W && memo[i].cin == cin && memo[i].cout == cout && memo[i].flip == flip) m = &memo[i];
  if (m && memcmp(m->w, W, sizeof(float) * wn) == 0) {
    pthread_mutex_unlock(&memo_lock);
    return m->u;
  }
  for (int i = 0; i < MEMO_SLOTS && !m; i++)
    if (!memo[i].w_at) m = &memo[i];
  if (!m) m = &memo[memo_next++ % MEMO_SLOTS];
  if (m->w_at == NULL || m->cin != cin || m->cout != cout) { /* a slot (re)sized for this shape */
    free(m->w);
    free(m->u);
    m->w = malloc(sizeof(float) * wn);
    m->u = malloc(sizeof(float) * wn * 4); /* 36 / 9 */
    if (!m->w || !m->u) {
      free(m->w), free(m->u);
      *m = (KernelMemo){0};
      pthread_mutex_unlock(&memo_lock);
      transform_kernels(W, ws_u, cin, cout, flip);
      return ws_u;
    }
  }
  m->w_at = W, m->cin = cin, m->cout = cout, m->flip = flip;
  memcpy(m->w, W, sizeof(float) * wn);
  transform_kernels(W, m->u, cin, cout, flip);
  pthread_mutex_unlock(&memo_lock);
  return m->u;
}

/* out[i][t] = (B^T d)[i] for six rows d[j] = in + j * in_step, t < n; out[i] = out + i * out_step. */
INLINE void b_transform(const float *restrict in, int64_t in_step, float *restrict out, int64_t out_step, int64_t n) {
  const float *d0 = in, *d1 = in + in_step, *d2 = in + 2 * in_step, *d3 = in + 3 * in_step, *d4 = in + 4 * in_step,
              *d5 = in + 5 * in_step;
  float *o0 = out, *o1 = out + out_step, *o2 = out + 2 * out_step, *o3 = out + 3 * out_step, *o4 = out + 4 * out_step,
        *o5 = out + 5 * out_step;
#pragma GCC ivdep /* the rows do not overlap: no run-time check per pair of them */
  for (int64_t t = 0; t < n; t++) {
    float a = d4[t] - 4 * d2[t], b = d3[t] - 4 * d1[t], c = d4[t] - d2[t], e = 2 * (d3[t] - d1[t]);
    o0[t] = 4 * d0[t] - 5 * d2[t] + d4[t];
    o1[t] = a + b;
    o2[t] = a - b;
    o3[t] = c + e;
    o4[t] = c - e;
    o5[t] = 4 * d1[t] - 5 * d3[t] + d5[t];
  }
}

/* out[i][t] = (A^T m)[i] for six rows m[j] = in + j * in_step, i < 4. */
INLINE void a_transform(const float *restrict in, int64_t in_step, float *restrict out, int64_t out_step, int64_t n) {
  const float *m0 = in, *m1 = in + in_step, *m2 = in + 2 * in_step, *m3 = in + 3 * in_step, *m4 = in + 4 * in_step,
              *m5 = in + 5 * in_step;
  float *o0 = out, *o1 = out + out_step, *o2 = out + 2 * out_step, *o3 = out + 3 * out_step;
#pragma GCC ivdep
  for (int64_t t = 0; t < n; t++) {
    float s1 = m1[t] + m2[t], d1 = m1[t] - m2[t], s2 = m3[t] + m4[t], d2 = m3[t] - m4[t];
    o0[t] = m0[t] + s1 + s2;
    o1[t] = d1 + 2 * d2;
    o2[t] = s1 + 4 * s2;
    o3[t] = d1 + 8 * d2 + m5[t];
  }
}

/* Image r's size x size tiles, TILE apart, of a plane of rows plane_w wide into
 * d[a * size + b][t] (t: the tile's number in the block of nt). size is a constant where this
 * is inlined (6 for input tiles, 4 for dy's), so the copy of a tile row is unrolled. */
INLINE void cut_tiles(const Plan *p, const float *plane, int64_t plane_w, int size, int64_t r, int64_t nt, float *d) {
  for (int64_t ty = 0; ty < p->tiles_y; ty++)
    for (int a = 0; a < size; a++) {
      const float *row = plane + (TILE * ty + a) * plane_w;
      float *to = d + a * size * nt + r * p->per_image + ty * p->tiles_x;
#pragma GCC ivdep /* the rows of d do not overlap */
      for (int64_t tx = 0; tx < p->tiles_x; tx++)
        for (int b = 0; b < size; b++) to[b * nt + tx] = row[TILE * tx + b];
    }
}

/* The 6x6 input tiles of one map of `images` images into d[a * 6 + b][t], through the
 * padded plane (x of those images at stride image_step), whose border is zero: each image
 * writes the same cells of it. */
INLINE void gather_tiles(const Plan *p, const float *x, int64_t image_step, int64_t images, int32_t h, int32_t w,
                         int32_t pad, float *plane, float *d) {
  int64_t nt = images * p->per_image;
  for (int64_t r = 0; r < images; r++) {
    const float *img = x + r * image_step;
    for (int32_t y = 0; y < h; y++) {
      float *to = plane + (y + pad) * p->wp + pad;
      const float *from = img + (int64_t)y * w;
      for (int32_t i = 0; i < w; i++) to[i] = from[i]; /* short rows: inline, not memcpy */
    }
    cut_tiles(p, plane, p->wp, IN_TILE, r, nt, d);
  }
}

/* The 4x4 output tiles y[i * 4 + j][t] of one map into the images (at stride image_step). */
INLINE void scatter_tiles(const Plan *p, const float *yt, int64_t nt, int64_t images, float *y, int64_t image_step) {
  int64_t full = p->wo / TILE, rest = p->wo % TILE;
  for (int64_t r = 0; r < images; r++)
    for (int64_t ty = 0; ty < p->tiles_y; ty++)
      for (int i = 0; i < TILE && TILE * ty + i < p->ho; i++) {
        float *row = y + r * image_step + (TILE * ty + i) * p->wo;
        const float *from = yt + i * TILE * nt + r * p->per_image + ty * p->tiles_x;
#pragma GCC ivdep
        for (int64_t tx = 0; tx < full; tx++) {
          float *at = row + TILE * tx;
          at[0] = from[tx];
          at[1] = from[nt + tx];
          at[2] = from[2 * nt + tx];
          at[3] = from[3 * nt + tx];
        }
        for (int j = 0; j < rest; j++) row[TILE * full + j] = from[j * nt + full];
      }
}

/* The epilogue of a map's output tiles y[16][nt], in place, before they are scattered: its bias
 * (if any), then ReLU, in the floats of the elementwise code it replaces (v + b; v > 0 ? v :
 * 0). Along the tiles, in vectors: in the scatter, one value at a time, it cost more than
 * the pass over the images it saves. */
INLINE void finish_tiles(float *restrict yt, int64_t n, const float *bias, int32_t co, int relu) {
  if (bias) {
    float b = bias[co];
    for (int64_t t = 0; t < n; t++) yt[t] = yt[t] + b;
  }
  if (relu)
    for (int64_t t = 0; t < n; t++) yt[t] = yt[t] > 0 ? yt[t] : 0.0f;
}

/* Rows of the block: V, and back from M. */
INLINE void input_block(const Plan *p, const float *x, int64_t images, int32_t cin, int32_t h, int32_t w, int32_t pad,
                        float *ws) {
  int64_t nt = images * p->per_image, image_step = (int64_t)cin * h * w;
  float *d = ws + p->d, *tmp = ws + p->tmp, *v = ws + p->v;
  for (int32_t ci = 0; ci < cin; ci++) {
    gather_tiles(p, x + (int64_t)ci * h * w, image_step, images, h, w, pad, ws + p->plane, d);
    /* B^T d: along a (rows of the tile), each column b */
    for (int b = 0; b < IN_TILE; b++) b_transform(d + b * nt, IN_TILE * nt, tmp + b * nt, IN_TILE * nt, nt);
    /* (B^T d) B: along b, each row i, into V[i * 6 + k][ci] */
    for (int i = 0; i < IN_TILE; i++)
      b_transform(tmp + i * IN_TILE * nt, nt, v + ((int64_t)i * IN_TILE * cin + ci) * nt, (int64_t)cin * nt, nt);
  }
}

INLINE void output_block(const Plan *p, float *y, int64_t images, int32_t cout, float *ws, const float *bias, int relu) {
  int64_t nt = images * p->per_image, image_step = (int64_t)cout * p->ho * p->wo;
  float *tmp = ws + p->tmp, *yt = ws + p->d, *m = ws + p->m;
  for (int32_t co = 0; co < cout; co++) {
    /* A^T M: along the rows i of each column k, into tmp[i * 6 + k] */
    for (int k = 0; k < IN_TILE; k++)
      a_transform(m + ((int64_t)k * cout + co) * nt, (int64_t)IN_TILE * cout * nt, tmp + k * nt, IN_TILE * nt, nt);
    /* (A^T M) A: along k, each row i, into yt[i * 4 + j] */
    for (int i = 0; i < TILE; i++) a_transform(tmp + i * IN_TILE * nt, nt, yt + i * TILE * nt, nt, nt);
    finish_tiles(yt, TILE * TILE * nt, bias, co, relu);
    scatter_tiles(p, yt, nt, images, y + (int64_t)co * p->ho * p->wo, image_step);
  }
}

HOST_VERSIONS
void dlrt_winograd_conv(const float *x, const float *W, float *y, float *ws, int64_t n, int32_t cin, int32_t h,
                        int32_t w, int32_t cout, int32_t pad, int32_t flip, const float *bias, int32_t relu) {
  Plan p = plan_for(n, cin, h, w, cout, pad, block_tiles(cin, cout));
  const float *U = kernels_for(W, ws + p.u, cin, cout, flip);
  memset(ws + p.plane, 0, sizeof(float) * (size_t)(p.hp * p.wp));
  for (int64_t r0 = 0; r0 < n; r0 += p.block_images) {
    int64_t images = n - r0 < p.block_images ? n - r0 : p.block_images, nt = images * p.per_image;
    input_block(&p, x + r0 * cin * h * w, images, cin, h, w, pad, ws);
    for (int xi = 0; xi < POINTS; xi++)
      dlrt_gemm(0, 0, cout, nt, cin, U + (int64_t)xi * cout * cin, cin, ws + p.v + (int64_t)xi * cin * nt, nt, 0.0f,
                ws + p.m + (int64_t)xi * cout * nt, nt);
    output_block(&p, y + r0 * cout * p.ho * p.wo, images, cout, ws, bias, relu);
  }
}

/* The 4x4 tiles of one map of dy of `images` images (at stride image_step) into d[i * 4 + j][t],
 * through a plane of whole tiles whose cells past the output are zero. */
INLINE void gather_dy(const Plan *p, const float *dy, int64_t image_step, int64_t images, float *plane, float *d) {
  int64_t nt = images * p->per_image, wq = TILE * p->tiles_x;
  for (int64_t r = 0; r < images; r++) {
    const float *img = dy + r * image_step;
    for (int64_t y = 0; y < p->ho; y++) {
      float *to = plane + y * wq;
      const float *from = img + y * p->wo;
      for (int64_t i = 0; i < p->wo; i++) to[i] = from[i];
    }
    cut_tiles(p, plane, wq, TILE, r, nt, d);
  }
}

/* out[j][t] = (A m)[j], j < 6, for four rows m[i] = in + i * in_step (A = (A^T)^T). */
INLINE void at_transform(const float *restrict in, int64_t in_step, float *restrict out, int64_t out_step, int64_t n) {
  const float *m0 = in, *m1 = in + in_step, *m2 = in + 2 * in_step, *m3 = in + 3 * in_step;
  float *o0 = out, *o1 = out + out_step, *o2 = out + 2 * out_step, *o3 = out + 3 * out_step, *o4 = out + 4 * out_step,
        *o5 = out + 5 * out_step;
#pragma GCC ivdep
  for (int64_t t = 0; t < n; t++) {
    float e = m0[t] + m2[t], o = m1[t] + m3[t], e4 = m0[t] + 4 * m2[t], o8 = 2 * m1[t] + 8 * m3[t];
    o0[t] = m0[t];
    o1[t] = e + o;
    o2[t] = e - o;
    o3[t] = e4 + o8;
    o4[t] = e4 - o8;
    o5[t] = m3[t];
  }
}

/* dy's tiles of the block, A dy A^T, into M[xi][co][t]. */
INLINE void dy_block(const Plan *p, const float *dy, int64_t images, int32_t cout, float *ws) {
  int64_t nt = images * p->per_image, image_step = (int64_t)cout * p->ho * p->wo;
  float *d = ws + p->d, *tmp = ws + p->tmp, *m = ws + p->m;
  for (int32_t co = 0; co < cout; co++) {
    gather_dy(p, dy + (int64_t)co * p->ho * p->wo, image_step, images, ws + p->dyplane, d);
    /* A dy: along i, each column j, into tmp[a * 4 + j] */
    for (int j = 0; j < TILE; j++) at_transform(d + j * nt, TILE * nt, tmp + j * nt, TILE * nt, nt);
    /* (A dy) A^T: along j, each row a, into M[a * 6 + b][co] */
    for (int a = 0; a < IN_TILE; a++)
      at_transform(tmp + a * TILE * nt, nt, m + ((int64_t)a * IN_TILE * cout + co) * nt, (int64_t)cout * nt, nt);
  }
}

/* dW[co][ci] = G^T S G from S[xi][co][ci], LANES input maps at a time. */
static void kernel_gradients(const float *S, float *dW, int32_t cin, int32_t cout) {
  int64_t plane = (int64_t)cout * cin;
  for (int32_t co = 0; co < cout; co++)
    for (int32_t c0 = 0; c0 < cin; c0 += LANES) {
      int n = cin - c0 < LANES ? cin - c0 : LANES;
      float gs[3][IN_TILE][LANES], out[9][LANES];
      for (int a = 0; a < 3; a++)
        for (int k = 0; k < IN_TILE; k++) {
          float v[LANES] = {0};
          for (int i = 0; i < IN_TILE; i++) {
            const float *s = S + (i * IN_TILE + k) * plane + (int64_t)co * cin + c0;
            for (int l = 0; l < n; l++) v[l] += G[i][a] * s[l];
          }
          for (int l = 0; l < n; l++) gs[a][k][l] = v[l];
        }
      for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
          float v[LANES] = {0};
          for (int k = 0; k < IN_TILE; k++)
            for (int l = 0; l < n; l++) v[l] += gs[a][k][l] * G[k][b];
          for (int l = 0; l < n; l++) out[a * 3 + b][l] = v[l];
        }
      for (int l = 0; l < n; l++)
        for (int j = 0; j < 9; j++) dW[((int64_t)co * cin + c0 + l) * 9 + j] = out[j][l];
    }
}

HOST_VERSIONS
void dlrt_winograd_dw(const float *dy, const float *x, float *dW, float *ws, int64_t n, int32_t cin, int32_t h, int32_t w,
                      int32_t cout, int32_t pad) {
  if (n < 1) {
    memset(dW, 0, sizeof(float) * 9 * (size_t)cin * (size_t)cout);
    return;
  }
  Plan p = plan_for(n, cin, h, w, cout, pad, dw_block_tiles(cout));
  memset(ws + p.plane, 0, sizeof(float) * (size_t)(p.hp * p.wp));
  memset(ws + p.dyplane, 0, sizeof(float) * (size_t)(TILE * p.tiles_y * TILE * p.tiles_x));
  for (int64_t r0 = 0; r0 < n; r0 += p.block_images) {
    int64_t images = n - r0 < p.block_images ? n - r0 : p.block_images, nt = images * p.per_image;
    input_block(&p, x + r0 * cin * h * w, images, cin, h, w, pad, ws);
    dy_block(&p, dy + r0 * cout * p.ho * p.wo, images, cout, ws);
    for (int xi = 0; xi < POINTS; xi++) /* S[xi] (+)= M[xi] V[xi]^T, in U's place */
      dlrt_gemm(0, 1, cout, cin, nt, ws + p.m + (int64_t)xi * cout * nt, nt, ws + p.v + (int64_t)xi * cin * nt, nt,
                r0 ? 1.0f : 0.0f, ws + p.u + (int64_t)xi * cout * cin, cin);
  }
  kernel_gradients(ws + p.u, dW, cin, cout);
}
