/* interp.c — the reference evaluator: one obvious loop nest per op class, double precision.
 * Keep it independent of lower/: it is what the compiled code is checked against. */
#include "interp.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int64_t interp_size(const Node *x, int n) {
  return shape_numel(x->shape) * (x->shape.batched ? n : 1);
}

double interp_scalar(const Node *y, double a, double b) {
  switch (y->op) {
  case OP_NEG: return -a;
  case OP_EXP: return exp(a);
  case OP_LOG: return log(a);
  case OP_SIGMOID: return 1 / (1 + exp(-a));
  case OP_TANH: return tanh(a);
  case OP_RELU: return a > 0 ? a : 0;
  case OP_STEP: return a > 0 ? 1 : 0;
  case OP_POWC: return pow(a, y->attr.c);
  case OP_ABS: return fabs(a);
  case OP_ERF: return erf(a);
  case OP_SOFTPLUS: return (a > 0 ? a : 0) + log1p(exp(-fabs(a)));
  case OP_LEAKY_RELU: return a > 0 ? a : y->attr.c * a;
  case OP_BROADCAST: return a;
  case OP_ADD: return a + b;
  case OP_SUB: return a - b;
  case OP_MUL: return a * b;
  case OP_DIV: return a / b;
  case OP_MAX: return a >= b ? a : b;
  case OP_MIN: return a <= b ? a : b;
  default: DLC_UNREACHABLE();
  }
}

/* Element i (flat over batch and features) of input x broadcast to the shape of y. */
static double operand(const Interp *it, const Node *x, const Node *y, int64_t i) {
  int64_t per = shape_numel(y->shape);
  int64_t row = i / per, col = i % per;
  int64_t k = shape_broadcast_index(x->shape, y->shape, col);
  if (x->shape.batched) k += row * shape_numel(x->shape);
  return it->val[x->id][k];
}

/* A gemm operand as a matrix: element (r, c) of op(X). */
static double mat_at(const Node *x, const double *v, bool t, int64_t r, int64_t c) {
  MatDims d;
  gemm_dims(x->shape, &d);
  return t ? v[c * d.cols + r] : v[r * d.cols + c];
}

/* One product per example: operand k of example r is its matrix r if batched, else the one
 * shared matrix. */
static void run_gemm_per_example(Interp *it, const Node *y, double *out) {
  const Node *a = y->in[0], *b = y->in[1];
  bool ta = y->attr.gemm.ta, tb = y->attr.gemm.tb;
  int ar = a->shape.dim[0], ac = a->shape.dim[1], br = b->shape.dim[0], bc = b->shape.dim[1];
  int m = y->shape.dim[0], n = y->shape.dim[1], k = ta ? ar : ac;
  for (int64_t r = 0; r < it->n; r++) {
    const double *av = it->val[a->id] + (a->shape.batched ? r * ar * ac : 0);
    const double *bv = it->val[b->id] + (b->shape.batched ? r * br * bc : 0);
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int q = 0; q < k; q++) s += (ta ? av[q * ac + i] : av[i * ac + q]) * (tb ? bv[j * bc + q] : bv[q * bc + j]);
        out[(r * m + i) * n + j] = s;
      }
  }
}

static void run_gemm(Interp *it, const Node *y, double *out) {
  const Node *a = y->in[0], *b = y->in[1];
  bool ta = y->attr.gemm.ta, tb = y->attr.gemm.tb;
  if (y->attr.gemm.per_example) {
    run_gemm_per_example(it, y, out);
    return;
  }
  MatDims da;
  DLC_ASSERT(gemm_dims(a->shape, &da));
  int64_t a_rows = da.rows * (da.batched ? it->n : 1), a_cols = da.cols;
  int64_t m = ta ? a_cols : a_rows, k = ta ? a_rows : a_cols;
  int64_t cols = interp_size(y, it->n) / m;
  for (int64_t r = 0; r < m; r++)
    for (int64_t c = 0; c < cols; c++) {
      double s = 0;
      for (int64_t j = 0; j < k; j++)
        s += mat_at(a, it->val[a->id], ta, r, j) * mat_at(b, it->val[b->id], tb, j, c);
      out[r * cols + c] = s;
    }
}

static void run_sum_to(Interp *it, const Node *y, double *out) {
  const Node *x = y->in[0];
  int64_t per_x = shape_numel(x->shape), per_y = shape_numel(y->shape);
  memset(out, 0, sizeof(double) * (size_t)interp_size(y, it->n));
  for (int64_t i = 0; i < interp_size(x, it->n); i++) {
    int64_t row = i / per_x, col = i % per_x;
    int64_t k = shape_broadcast_index(y->shape, x->shape, col);
    if (y->shape.batched) k += row * per_y;
    out[k] += it->val[x->id][i];
  }
}

static void run_row(Interp *it, const Node *y, double *out) {
  const double *in = it->val[y->in[0]->id];
  int64_t len = y->shape.dim[y->shape.rank - 1];
  for (int64_t r = 0; r < interp_size(y, it->n) / len; r++) {
    const double *a = in + r * len;
    double mx = a[0], sum = 0;
    for (int64_t j = 1; j < len; j++) mx = a[j] > mx ? a[j] : mx;
    for (int64_t j = 0; j < len; j++) sum += exp(a[j] - mx);
    for (int64_t j = 0; j < len; j++)
      out[r * len + j] = y->op == OP_SOFTMAX ? exp(a[j] - mx) / sum : a[j] - mx - log(sum);
  }
}

/* Element (c, y, x) of image r, or 0 in the padding. */
static double pixel(const double *img, const Window *w, int64_t r, int c, int y, int x) {
  if (y < 0 || y >= w->h || x < 0 || x >= w->w) return 0;
  return img[((r * w->c + c) * w->h + y) * w->w + x];
}

/* Visits every (image r, channel c, output cell oy ox, window cell ky kx) with the input
 * position it reads: the one loop nest that every window op below shares. */
#define FOR_WINDOW(w, n)                                                      \
  for (int64_t r = 0; r < (n); r++)                                           \
    for (int c = 0; c < (w)->c; c++)                                          \
      for (int oy = 0; oy < (w)->ho; oy++)                                    \
        for (int ox = 0; ox < (w)->wo; ox++)                                  \
          for (int ky = 0; ky < (w)->k; ky++)                                 \
            for (int kx = 0; kx < (w)->k; kx++)

/* out[r][i0..] = in[r][j0..] where output axis d is input axis perm[d]: every input element
 * is visited in order, its coordinates taken apart and put back in the output's order. */
static void run_permute(const Node *y, const double *in, double *out, int64_t n) {
  Shape a = y->in[0]->shape;
  int64_t per = shape_numel(a);
  for (int64_t r = 0; r < n; r++)
    for (int64_t i = 0; i < per; i++) {
      int coord[MAX_RANK];
      int64_t rest = i;
      for (int d = a.rank - 1; d >= 0; d--) {
        coord[d] = (int)(rest % a.dim[d]);
        rest /= a.dim[d];
      }
      int64_t o = 0;
      for (int d = 0; d < a.rank; d++) o = o * y->shape.dim[d] + coord[y->attr.axes.perm[d]];
      out[r * per + o] = in[r * per + i];
    }
}

/* CONCAT, SLICE, PAD: for each (example, position before the axis), the rows along the axis
 * of each input land at an offset along the output's axis (out is zero to start with). */
static void run_along_axis(Interp *it, const Node *y, double *out, int64_t n) {
  int axis = y->op == OP_CONCAT ? y->attr.axis : y->attr.range.axis;
  int64_t outer, len_y, inner;
  shape_axis_split(y->shape, axis, &outer, &len_y, &inner);
  for (int k = 0; k < op_info(y->op)->arity; k++) {
    const Node *x = y->in[k];
    const double *in = it->val[x->id];
    int64_t o_, len_x, i_;
    shape_axis_split(x->shape, axis, &o_, &len_x, &i_);
    for (int64_t r = 0; r < n * outer; r++)
      for (int64_t j = 0; j < len_x; j++)
        for (int64_t i = 0; i < inner; i++) {
          int64_t at_x = (r * len_x + j) * inner + i;
          switch (y->op) {
          case OP_CONCAT: out[(r * len_y + (k ? y->in[0]->shape.dim[axis] : 0) + j) * inner + i] = in[at_x]; break;
          case OP_PAD: out[(r * len_y + y->attr.range.start + j) * inner + i] = in[at_x]; break;
          default: /* SLICE */
            if (j >= y->attr.range.start && j < y->attr.range.start + len_y)
              out[(r * len_y + j - y->attr.range.start) * inner + i] = in[at_x];
            break;
          }
        }
  }
}

/* REDUCE_MAX: the largest value along the axis (the first, on ties). REDUCE_MAX_BACK: the
 * gradient b of that value to the position of that first maximum of a. */
static void run_reduce_max(Interp *it, const Node *y, double *out, int64_t n) {
  const Node *x = y->in[0];
  const double *in = it->val[x->id], *dy = y->op == OP_REDUCE_MAX_BACK ? it->val[y->in[1]->id] : NULL;
  int64_t outer, len, inner;
  shape_axis_split(x->shape, y->attr.axis, &outer, &len, &inner);
  for (int64_t r = 0; r < n * outer; r++)
    for (int64_t i = 0; i < inner; i++) {
      int64_t best = 0;
      for (int64_t j = 1; j < len; j++)
        if (in[(r * len + j) * inner + i] > in[(r * len + best) * inner + i]) best = j;
      if (dy) out[(r * len + best) * inner + i] += dy[r * inner + i];
      else out[r * inner + i] = in[(r * len + best) * inner + i];
    }
}

static void run_move(Interp *it, const Node *y, double *out) {
  const Node *a = y->in[0];
  const double *in = it->val[a->id];
  int64_t n = y->shape.batched ? it->n : 1;
  const Window *w = y->attr.win;
  switch (y->op) {
  case OP_PERMUTE: run_permute(y, in, out, n); break;
  case OP_CONCAT:
  case OP_SLICE:
  case OP_PAD: run_along_axis(it, y, out, n); break;
  case OP_REDUCE_MAX:
  case OP_REDUCE_MAX_BACK: run_reduce_max(it, y, out, n); break;
  case OP_IM2COL: /* out[r][patch][c k k] */
    FOR_WINDOW(w, n) {
      int64_t patch = oy * w->wo + ox, q = (c * w->k + ky) * w->k + kx;
      out[(r * w->ho * w->wo + patch) * w->c * w->k * w->k + q] =
          pixel(in, w, r, c, oy * w->stride - w->pad + ky, ox * w->stride - w->pad + kx);
    }
    break;
  case OP_COL2IM:
    FOR_WINDOW(w, n) {
      int iy = oy * w->stride - w->pad + ky, ix = ox * w->stride - w->pad + kx;
      if (iy < 0 || iy >= w->h || ix < 0 || ix >= w->w) continue;
      int64_t patch = oy * w->wo + ox, q = (c * w->k + ky) * w->k + kx;
      out[((r * w->c + c) * w->h + iy) * w->w + ix] += in[(r * w->ho * w->wo + patch) * w->c * w->k * w->k + q];
    }
    break;
  case OP_POOL_SUM:
    FOR_WINDOW(w, n) out[((r * w->c + c) * w->ho + oy) * w->wo + ox] += pixel(in, w, r, c, oy * w->stride + ky, ox * w->stride + kx);
    break;
  case OP_UNPOOL_SUM:
    FOR_WINDOW(w, n) out[((r * w->c + c) * w->h + oy * w->stride + ky) * w->w + ox * w->stride + kx] +=
        in[((r * w->c + c) * w->ho + oy) * w->wo + ox];
    break;
  case OP_MAXPOOL:
  case OP_MAXPOOL_BACK: {
    const double *dy = y->op == OP_MAXPOOL_BACK ? it->val[y->in[1]->id] : NULL;
    for (int64_t r = 0; r < n; r++)
      for (int c = 0; c < w->c; c++)
        for (int oy = 0; oy < w->ho; oy++)
          for (int ox = 0; ox < w->wo; ox++) {
            int by = oy * w->stride, bx = ox * w->stride; /* the first maximum wins */
            for (int ky = 0; ky < w->k; ky++)
              for (int kx = 0; kx < w->k; kx++)
                if (pixel(in, w, r, c, oy * w->stride + ky, ox * w->stride + kx) > pixel(in, w, r, c, by, bx)) {
                  by = oy * w->stride + ky;
                  bx = ox * w->stride + kx;
                }
            int64_t o = ((r * w->c + c) * w->ho + oy) * w->wo + ox;
            if (dy) out[((r * w->c + c) * w->h + by) * w->w + bx] += dy[o];
            else out[o] = pixel(in, w, r, c, by, bx);
          }
    break;
  }
  default: DLC_UNREACHABLE();
  }
}

/* Direct convolution and its gradients: every (image, map, input map it reads, output
 * cell, kernel tap). */
static void run_conv(Interp *it, const Node *y, double *out) {
  const Window *w = y->attr.win;
  const double *a = it->val[y->in[0]->id], *b = it->val[y->in[1]->id];
  int kk = w->k * w->k, inputs[MAX_CONV_INPUTS];
  DLC_ASSERT(w->c <= MAX_CONV_INPUTS);
  for (int64_t r = 0; r < it->n; r++)
    for (int m = 0; m < w->maps; m++) {
      int n_in = conv_inputs(w, m, inputs), first = conv_first_kernel(w, m);
      for (int j = 0; j < n_in; j++)
        for (int oy = 0; oy < w->ho; oy++)
          for (int ox = 0; ox < w->wo; ox++)
            for (int ky = 0; ky < w->k; ky++)
              for (int kx = 0; kx < w->k; kx++) {
                int iy = oy * w->stride - w->pad + ky, ix = ox * w->stride - w->pad + kx;
                if (iy < 0 || iy >= w->h || ix < 0 || ix >= w->w) continue;
                int64_t o = ((r * w->maps + m) * w->ho + oy) * w->wo + ox;
                int64_t at = ((r * w->c + inputs[j]) * w->h + iy) * w->w + ix;
                int64_t t = (int64_t)(first + j) * kk + ky * w->k + kx;
                switch (y->op) {
                case OP_CONV: out[o] += b[t] * a[at]; break;       /* a: x, b: W */
                case OP_CONV_DX: out[at] += b[t] * a[o]; break;    /* a: dy, b: W */
                default: out[t] += a[o] * b[at]; break;            /* a: dy, b: x */
                }
              }
    }
}

static double *leaf_value(Interp *it, const Node *x) {
  int64_t size = interp_size(x, it->n);
  double *v = malloc(sizeof(double) * (size_t)size);
  if (!v) dlc_fatal("out of memory");
  switch (x->op) {
  case OP_INPUT:
  case OP_TARGET:
  case OP_NOISE:
  case OP_GRAD_IN: memcpy(v, it->feeds[x->attr.slot], sizeof(double) * (size_t)size); break;
  case OP_HYPER: v[0] = it->feeds[x->attr.slot][0]; break;
  case OP_PARAM:
  case OP_STATE: memcpy(v, it->leaf[x->id], sizeof(double) * (size_t)size); break;
  case OP_CONST: v[0] = x->attr.c; break;
  case OP_INV_BATCH: v[0] = 1.0 / it->n; break;
  default: DLC_UNREACHABLE();
  }
  return v;
}

void interp_run(Interp *it, NodeList order, double *const *results) {
  if (it->val_len < it->g->len) {
    it->val = realloc(it->val, sizeof(double *) * (size_t)it->g->len);
    if (!it->val) dlc_fatal("out of memory");
    for (int i = it->val_len; i < it->g->len; i++) it->val[i] = NULL;
    it->val_len = it->g->len;
  }
  for (int pos = 0; pos < order.len; pos++) {
    const Node *y = order.nodes[pos];
    int64_t size = interp_size(y, it->n);
    if (op_info(y->op)->cls == LEAF) {
      free(it->val[y->id]);
      it->val[y->id] = leaf_value(it, y);
      continue;
    }
    double *out = calloc((size_t)size, sizeof(double));
    if (!out) dlc_fatal("out of memory");
    switch (op_info(y->op)->cls) {
    case UNARY:
      for (int64_t i = 0; i < size; i++) out[i] = interp_scalar(y, operand(it, y->in[0], y, i), 0);
      break;
    case BINARY:
      for (int64_t i = 0; i < size; i++)
        out[i] = interp_scalar(y, operand(it, y->in[0], y, i), operand(it, y->in[1], y, i));
      break;
    case VIEW: /* the same elements in the same order */
      memcpy(out, it->val[y->in[0]->id], sizeof(double) * (size_t)size);
      break;
    case GEMM: run_gemm(it, y, out); break;
    case REDUCE: run_sum_to(it, y, out); break;
    case ROW: run_row(it, y, out); break;
    case MOVE: run_move(it, y, out); break;
    case CONV: run_conv(it, y, out); break;
    case EFFECT:
      if (y->op == OP_ASSIGN)
        memcpy(it->leaf[y->in[0]->id], it->val[y->in[1]->id], sizeof(double) * (size_t)size);
      else
        memcpy(results[y->attr.slot], it->val[y->in[0]->id], sizeof(double) * (size_t)size);
      break;
    case LEAF: DLC_UNREACHABLE();
    }
    free(it->val[y->id]);
    it->val[y->id] = out;
  }
}

void interp_clear(Interp *it) {
  if (!it->val) return;
  for (int i = 0; i < it->val_len; i++) free(it->val[i]);
  free(it->val);
  it->val = NULL;
  it->val_len = 0;
}
