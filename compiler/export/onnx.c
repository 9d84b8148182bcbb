/* onnx.c — the inference graph as an ONNX model (opset ONNX_OPSET), built as protobuf
 * messages (onnx_msg.c) and packed by protobuf-c.
 *
 * Tensors: a batched dlc value of per-example shape [d...] is the ONNX tensor [N, d...], N the
 * symbolic batch dimension; any other is [d...]. The input is the .net file's input, the output
 * its `out`; every parameter and state (batch norm's running statistics) is an initializer
 * of the checkpoint's name and shape, so the checkpoint layout holds for the ONNX file too.
 *
 * One row of `rules` per dlc op maps it to ONNX: a node, or a few where ONNX has no single
 * equivalent (pool_sum is a grouped convolution with a kernel of ones, a block-diagonal
 * connection table a grouped Conv and any other a Gather that places each kernel, zeros where
 * maps are not connected, an im2col that is not part of a convolution a convolution with
 * one-hot kernels). An op without a row cannot be exported: a located error names it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export.h"
#include "outfile.h"
#include "onnx_msg.h"
#include "vec.h"

typedef struct Onnx {
  Arena a;
  const Inference *inf;
  const ExportParams *params;
  NameSet names;
  const char **value;   /* by node id: the ONNX name of the node's value, once made */
  VEC(Onnx__NodeProto *) nodes;
  VEC(Onnx__TensorProto *) inits;
  const char *batch;    /* N as a 1-D int64 tensor [N], made when first needed */
  const Node *at;       /* the dlc node being mapped: what the ONNX nodes are made for */
  int64_t parameters;
} Onnx;

/* ---- values and nodes ---- */

static const char *fresh(Onnx *o, const char *hint) { return names_unique(&o->names, hint, false); }

/* The base of the names made for the node being mapped: its .net name where it has one. */
static const char *base_name(Onnx *o) {
  const Node *y = o->at;
  return y->name ? y->name : arena_printf(&o->a, "%s_%d", op_name(y->op), y->id);
}

/* A name for a helper value of the node being mapped: "c1/reshape". */
static const char *helper(Onnx *o, const char *what) {
  return fresh(o, arena_printf(&o->a, "%s/%s", base_name(o), what));
}

/* op_type(in...) -> a new value named like `out`; the node, for attributes. */
static Onnx__NodeProto *node(Onnx *o, const char *op_type, int n_in, const char *const *in, const char *out) {
  Onnx__NodeProto *n = onnx_node(&o->a, op_type, out, n_in, in, out);
  const SrcLoc *l = o->at ? &o->at->loc : NULL;
  if (l && l->file) n->doc_string = arena_printf(&o->a, "%s:%d:%d", l->file->name, l->line, l->col);
  vec_push(&o->nodes, n);
  return n;
}

static const char *node1(Onnx *o, const char *op_type, const char *a, const char *out) {
  node(o, op_type, 1, (const char *[]){a}, out);
  return out;
}

static const char *node2(Onnx *o, const char *op_type, const char *a, const char *b, const char *out) {
  node(o, op_type, 2, (const char *[]){a, b}, out);
  return out;
}

static const char *ints(Onnx *o, const char *hint, int n, const int64_t *v) {
  const char *name = fresh(o, hint);
  vec_push(&o->inits, onnx_tensor_i64(&o->a, name, 1, (int64_t[]){n}, v));
  return name;
}

/* A float initializer of `rank` dims holding data (which must outlive the packing). */
static const char *floats(Onnx *o, const char *hint, int rank, const int64_t *dims, const float *data) {
  const char *name = fresh(o, hint);
  vec_push(&o->inits, onnx_tensor_f32(&o->a, name, rank, dims, data));
  return name;
}

static const char *scalar(Onnx *o, float c) {
  float *v = ARENA_NEW(&o->a, float);
  *v = c;
  return floats(o, "const", 0, NULL, v);
}

/* The batch size as a 1-D tensor [N]: the input's first dimension. */
static const char *batch_size(Onnx *o) {
  if (o->batch) return o->batch;
  DLC_ASSERT(o->inf->input && o->value[o->inf->input->id]);
  const Node *at = o->at;
  o->at = NULL;
  const char *shape = node1(o, "Shape", o->value[o->inf->input->id], fresh(o, "N/shape"));
  o->batch = node2(o, "Gather", shape, ints(o, "N/index", 1, (int64_t[]){0}), fresh(o, "N"));
  o->at = at;
  return o->batch;
}

/* The ONNX shape of a dlc value as a 1-D int64 tensor: [N, d...] (N from the input) or [d...]. */
static const char *shape_of(Onnx *o, Shape s) {
  int64_t d[MAX_RANK];
  for (int i = 0; i < s.rank; i++) d[i] = s.dim[i];
  const char *dims = ints(o, helper(o, "dims"), s.rank, d);
  if (!s.batched) return dims;
  Onnx__NodeProto *n = node(o, "Concat", 2, (const char *[]){batch_size(o), dims}, helper(o, "shape"));
  onnx_attr_int(&o->a, n, "axis", 0);
  return n->output[0];
}

/* A Reshape target: [0, d...] for batched values (0 keeps the batch dimension), else [d...]. */
static const char *reshape_target(Onnx *o, Shape s) {
  int64_t d[MAX_RANK + 1];
  int n = 0;
  if (s.batched) d[n++] = 0;
  for (int i = 0; i < s.rank; i++) d[n++] = s.dim[i];
  return ints(o, helper(o, "shape"), n, d);
}

static const char *reshape(Onnx *o, const char *x, Shape to) {
  return node2(o, "Reshape", x, reshape_target(o, to), helper(o, "reshape"));
}

/* A folded node (every element the constant c): a scalar, expanded to its shape. */
static const char *constant(Onnx *o, const Node *x) {
  const char *c = scalar(o, o->inf->constant[x->id]);
  if (x->shape.rank == 0 && !x->shape.batched) return c;
  return node2(o, "Expand", c, shape_of(o, x->shape), helper(o, "constant"));
}

/* The value of node x (resolved through the folds) as an ONNX name. */
static const char *val(Onnx *o, const Node *x) {
  if (o->inf->folded[x->id]) return constant(o, x);
  DLC_ASSERT(o->value[x->id]); /* inference order: inputs first */
  return o->value[x->id];
}

/* Input k of the node being mapped. */
static const char *input(Onnx *o, int k) { return val(o, inference_input(o->inf, o->at, k)); }

/* The name of the node's own value. */
static const char *result(Onnx *o) { return fresh(o, base_name(o)); }

/* ---- the rules, one per op ---- */

typedef const char *(*OnnxMap)(Onnx *o, const Node *y, const char *op_type);
typedef struct OnnxRule {
  OnnxMap map;          /* makes the nodes; returns the name of y's value */
  const char *op_type;  /* the ONNX op, for maps that serve several */
} OnnxRule;

static const char *map_input(Onnx *o, const Node *y, const char *op_type) {
  (void)op_type;
  return fresh(o, y->name ? y->name : "x");
}

/* A parameter or state: an initializer of the checkpoint's name and shape. */
static const char *map_leaf(Onnx *o, const Node *y, const char *op_type) {
  (void)op_type;
  int64_t d[MAX_RANK];
  for (int i = 0; i < y->shape.rank; i++) d[i] = y->shape.dim[i];
  if (y->op == OP_PARAM) o->parameters += shape_numel(y->shape);
  return floats(o, y->name, y->shape.rank, d, o->params->value[y->id]);
}

/* 1/n for a batch of n: the reciprocal of N as a float scalar. */
static const char *map_inv_batch(Onnx *o, const Node *y, const char *op_type) {
  (void)y, (void)op_type;
  Onnx__NodeProto *cast = node(o, "Cast", 1, (const char *[]){batch_size(o)}, helper(o, "n"));
  onnx_attr_int(&o->a, cast, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
  const char *inv = node1(o, "Reciprocal", cast->output[0], helper(o, "inverse"));
  return node2(o, "Reshape", inv, ints(o, helper(o, "scalar"), 0, NULL), result(o));
}

static const char *map_unary(Onnx *o, const Node *y, const char *op_type) {
  (void)y;
  return node1(o, op_type, input(o, 0), result(o));
}

/* step(a) = a > 0 ? 1 : 0 */
static const char *map_step(Onnx *o, const Node *y, const char *op_type) {
  (void)y, (void)op_type;
  const char *positive = node2(o, "Greater", input(o, 0), scalar(o, 0), helper(o, "positive"));
  Onnx__NodeProto *cast = node(o, "Cast", 1, (const char *[]){positive}, result(o));
  onnx_attr_int(&o->a, cast, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
  return cast->output[0];
}

static const char *map_pow(Onnx *o, const Node *y, const char *op_type) {
  (void)op_type;
  return node2(o, "Pow", input(o, 0), scalar(o, y->attr.c), result(o));
}

/* leaky_relu(a, c): LeakyRelu with alpha c (x < 0 ? c x : x; at 0 both are 0). */
static const char *map_leaky_relu(Onnx *o, const Node *y, const char *op_type) {
  Onnx__NodeProto *n = node(o, op_type, 1, (const char *[]){input(o, 0)}, result(o));
  onnx_attr_float(&o->a, n, "alpha", y->attr.c);
  return n->output[0];
}

/* A batched operand of lower rank than the result gets 1s after N: dlc broadcasts the
 * feature dimensions right-aligned, the batch dimension apart. A folded operand is a scalar
 * when the other operand alone has the result's shape. */
static const char *operand(Onnx *o, const Node *y, int k) {
  const Node *x = inference_input(o->inf, y, k), *other = inference_input(o->inf, y, 1 - k);
  if (o->inf->folded[x->id] && !o->inf->folded[other->id] && shape_equal(other->shape, y->shape))
    return scalar(o, o->inf->constant[x->id]);
  const char *v = val(o, x);
  if (!x->shape.batched || x->shape.rank == y->shape.rank) return v;
  Shape aligned = y->shape;
  int pad = y->shape.rank - x->shape.rank;
  for (int i = 0; i < aligned.rank; i++) aligned.dim[i] = i < pad ? 1 : x->shape.dim[i - pad];
  return reshape(o, v, aligned);
}

static const char *map_binary(Onnx *o, const Node *y, const char *op_type) {
  return node2(o, op_type, operand(o, y, 0), operand(o, y, 1), result(o));
}

static const char *map_broadcast(Onnx *o, const Node *y, const char *op_type) {
  (void)op_type;
  const Node *x = inference_input(o->inf, y, 0);
  const char *v = val(o, x);
  if (x->shape.batched && x->shape.rank < y->shape.rank) { /* right-align the features, as operand() */
    Shape aligned = y->shape;
    int pad = y->shape.rank - x->shape.rank;
    for (int i = 0; i < aligned.rank; i++) aligned.dim[i] = i < pad ? 1 : x->shape.dim[i - pad];
    v = reshape(o, v, aligned);
  }
  return node2(o, "Expand", v, shape_of(o, y->shape), result(o));
}

static Onnx__NodeProto *conv_node(Onnx *o, const char *x, const char *kernels, const Window *w, const char *out);

/* A reshape is a Reshape, or the end of a convolution computed through patches: a Conv. */
static const char *map_reshape(Onnx *o, const Node *y, const char *op_type) {
  (void)op_type;
  const PatchConv *c = o->inf->patch_conv[y->id];
  if (!c) return node2(o, "Reshape", input(o, 0), reshape_target(o, y->shape), result(o));
  const Window *w = &c->win;
  const char *kernels = node2(o, "Reshape", val(o, c->kernels), ints(o, helper(o, "shape"), 4,
                              (int64_t[]){w->maps, w->c, w->k, w->k}), helper(o, "kernels"));
  return conv_node(o, val(o, c->image), kernels, w, result(o))->output[0];
}

/* op(x) of a per-example product: x transposed (a batched [N, p, q] as [N, q, p]) or as it is. */
static const char *matrix(Onnx *o, const Node *x, const char *v, bool transposed) {
  if (!transposed) return v;
  Onnx__NodeProto *t = node(o, "Transpose", 1, (const char *[]){v}, helper(o, "transpose"));
  onnx_attr_ints(&o->a, t, "perm", 2 + x->shape.batched, x->shape.batched ? (int64_t[]){0, 2, 1} : (int64_t[]){1, 0});
  return t->output[0];
}

/* gemm per example: MatMul, which broadcasts a shared matrix over the batch. Otherwise on the
 * 2-D views of its operands (graph.h's MatDims): rows from a batched a (a [N, k] or
 * [N, p, k]) times a parameter; two parameters; or a sum over the batch (a^T b with both
 * batched), each as Gemm or MatMul. */
static const char *map_gemm(Onnx *o, const Node *y, const char *op_type) {
  (void)op_type;
  const Node *a = inference_input(o->inf, y, 0), *b = inference_input(o->inf, y, 1);
  bool ta = y->attr.gemm.ta, tb = y->attr.gemm.tb;
  const char *va = val(o, a), *vb = val(o, b);
  if (y->attr.gemm.per_example) return node2(o, "MatMul", matrix(o, a, va, ta), matrix(o, b, vb, tb), result(o));
  if (a->shape.batched && !ta && a->shape.rank == 2) { /* [N, p, k] @ op(b) */
    Onnx__NodeProto *t = NULL;
    if (tb) {
      t = node(o, "Transpose", 1, (const char *[]){vb}, helper(o, "transpose"));
      onnx_attr_ints(&o->a, t, "perm", 2, (int64_t[]){1, 0});
    }
    return node2(o, "MatMul", va, t ? t->output[0] : vb, result(o));
  }
  if (a->shape.batched && ta) { /* the batch is contracted: both as (rows x cols) matrices */
    MatDims da, db;
    DLC_ASSERT(gemm_dims(a->shape, &da) && gemm_dims(b->shape, &db));
    va = node2(o, "Reshape", va, ints(o, helper(o, "rows"), 2, (int64_t[]){-1, da.cols}), helper(o, "a"));
    if (b->shape.batched)
      vb = node2(o, "Reshape", vb, ints(o, helper(o, "rows"), 2, (int64_t[]){-1, db.cols}), helper(o, "b"));
  }
  /* [N, k] or [m, k] times a matrix: Gemm with its transposes */
  Onnx__NodeProto *n = node(o, "Gemm", 2, (const char *[]){va, vb}, result(o));
  if (ta) onnx_attr_int(&o->a, n, "transA", 1);
  if (tb) onnx_attr_int(&o->a, n, "transB", 1);
  return n->output[0];
}

/* sum_to: ReduceSum over the axes where the result is 1 or missing (right-aligned) and over
 * the batch when the result is not batched; then the result's own shape. */
static const char *map_sum_to(Onnx *o, const Node *y, const char *op_type) {
  (void)op_type;
  const Node *x = inference_input(o->inf, y, 0);
  int64_t axes[MAX_RANK + 1];
  int n = 0, xb = x->shape.batched, pad = x->shape.rank - y->shape.rank;
  if (xb && !y->shape.batched) axes[n++] = 0;
  for (int i = 0; i < x->shape.rank; i++)
    if (i < pad || (y->shape.dim[i - pad] == 1 && x->shape.dim[i] != 1)) axes[n++] = i + xb;
  const char *v = val(o, x);
  if (n) {
    Onnx__NodeProto *r = node(o, "ReduceSum", 2, (const char *[]){v, ints(o, helper(o, "axes"), n, axes)},
                              helper(o, "sum"));
    onnx_attr_int(&o->a, r, "keepdims", 1);
    v = r->output[0];
  }
  return node2(o, "Reshape", v, reshape_target(o, y->shape), result(o));
}

static const char *map_row(Onnx *o, const Node *y, const char *op_type) {
  (void)y;
  Onnx__NodeProto *n = node(o, op_type, 1, (const char *[]){input(o, 0)}, result(o));
  onnx_attr_int(&o->a, n, "axis", -1);
  return n->output[0];
}

/* permute: Transpose with the permutation, the batch axis (if any) kept first. */
static const char *map_permute(Onnx *o, const Node *y, const char *op_type) {
  (void)op_type;
  Onnx__NodeProto *n = node(o, "Transpose", 1, (const char *[]){input(o, 0)}, result(o));
  int64_t perm[MAX_RANK + 1];
  int b = y->shape.batched, rank = y->attr.axes.rank;
  if (b) perm[0] = 0;
  for (int i = 0; i < rank; i++) perm[b + i] = b + y->attr.axes.perm[i];
  onnx_attr_ints(&o->a, n, "perm", b + rank, perm);
  return n->output[0];
}

/* An axis of y's per-example shape as an ONNX axis (after N, if batched). */
static int64_t onnx_axis(const Node *y, int axis) { return y->shape.batched + axis; }

static const char *map_concat(Onnx *o, const Node *y, const char *op_type) {
  Onnx__NodeProto *n = node(o, op_type, 2, (const char *[]){input(o, 0), input(o, 1)}, result(o));
  onnx_attr_int(&o->a, n, "axis", onnx_axis(y, y->attr.axis));
  return n->output[0];
}

/* slice: Slice, whose starts, ends and axes are inputs from opset 10 on. */
static const char *map_slice(Onnx *o, const Node *y, const char *op_type) {
  int64_t start = y->attr.range.start, end = start + y->attr.range.size, axis = onnx_axis(y, y->attr.range.axis);
  const char *in[] = {input(o, 0), ints(o, helper(o, "starts"), 1, &start), ints(o, helper(o, "ends"), 1, &end),
                      ints(o, helper(o, "axes"), 1, &axis)};
  return node(o, op_type, 4, in, result(o))->output[0];
}

/* pad: Pad with zeros (its default), the pads an input from opset 11 on: [begin..., end...]
 * over every axis, N's included. */
static const char *map_pad(Onnx *o, const Node *y, const char *op_type) {
  const Node *x = inference_input(o->inf, y, 0);
  int rank = y->shape.batched + y->shape.rank, at = (int)onnx_axis(y, y->attr.range.axis);
  int64_t pads[2 * (MAX_RANK + 1)] = {0};
  pads[at] = y->attr.range.start;
  pads[rank + at] = y->attr.range.size - y->attr.range.start - x->shape.dim[y->attr.range.axis];
  return node2(o, op_type, input(o, 0), ints(o, helper(o, "pads"), 2 * rank, pads), result(o));
}

/* reduce_max: ReduceMax along the axis, which goes (its axes are still an attribute in
 * opset 13). */
static const char *map_reduce_max(Onnx *o, const Node *y, const char *op_type) {
  const Node *x = inference_input(o->inf, y, 0);
  Onnx__NodeProto *n = node(o, op_type, 1, (const char *[]){input(o, 0)}, result(o));
  onnx_attr_ints(&o->a, n, "axes", 1, (int64_t[]){onnx_axis(x, y->attr.axis)});
  onnx_attr_int(&o->a, n, "keepdims", 0);
  return n->output[0];
}

/* The window's kernel_shape, strides and pads on a Conv or a pooling node. */
static void window_attrs(Onnx *o, Onnx__NodeProto *n, const Window *w, bool pads) {
  onnx_attr_ints(&o->a, n, "kernel_shape", 2, (int64_t[]){w->k, w->k});
  onnx_attr_ints(&o->a, n, "strides", 2, (int64_t[]){w->stride, w->stride});
  if (pads) onnx_attr_ints(&o->a, n, "pads", 4, (int64_t[]){w->pad, w->pad, w->pad, w->pad});
}

/* Conv(x, kernels) -> out, with the window's attributes. */
static Onnx__NodeProto *conv_node(Onnx *o, const char *x, const char *kernels, const Window *w, const char *out) {
  Onnx__NodeProto *n = node(o, "Conv", 2, (const char *[]){x, kernels}, out);
  window_attrs(o, n, w, true);
  return n;
}

/* Kernels beyond this many values are too large to spell out (im2col's one-hot kernels). */
enum { MAX_SPELLED_KERNEL = 1 << 26 };

/* im2col: a convolution whose kernel q is one-hot at tap q = (c k + ky) k + kx gives each
 * patch as the channels of one output pixel; [N, c k k, ho wo] transposed is the patches. */
static const char *map_im2col(Onnx *o, const Node *y, const char *op_type) {
  (void)op_type;
  const Window *w = y->attr.win;
  int64_t taps = (int64_t)w->c * w->k * w->k;
  if (taps * taps > MAX_SPELLED_KERNEL) {
    diag_error(y->loc, "cannot export to ONNX: im2col of %lld taps per patch would need %lld one-hot kernel values",
               (long long)taps, (long long)(taps * taps));
    return NULL;
  }
  float *onehot = ARENA_ARRAY(&o->a, float, taps * taps);
  for (int64_t q = 0; q < taps; q++) onehot[q * taps + q] = 1;
  const char *kernels = floats(o, helper(o, "onehot"), 4, (int64_t[]){taps, w->c, w->k, w->k}, onehot);
  const char *pixels = conv_node(o, input(o, 0), kernels, w, helper(o, "taps"))->output[0];
  const char *flat = node2(o, "Reshape", pixels, ints(o, helper(o, "shape"), 3, (int64_t[]){0, taps, w->ho * w->wo}),
                           helper(o, "flat"));
  Onnx__NodeProto *t = node(o, "Transpose", 1, (const char *[]){flat}, result(o));
  onnx_attr_ints(&o->a, t, "perm", 3, (int64_t[]){0, 2, 1});
  return t->output[0];
}

/* pool_sum: a convolution of each map with a kernel of ones (group = maps): the exact sum. */
static const char *map_pool_sum(Onnx *o, const Node *y, const char *op_type) {
  (void)op_type;
  const Window *w = y->attr.win;
  int64_t n = (int64_t)w->c * w->k * w->k;
  float *ones = ARENA_ARRAY(&o->a, float, n);
  for (int64_t i = 0; i < n; i++) ones[i] = 1;
  const char *kernels = floats(o, helper(o, "ones"), 4, (int64_t[]){w->c, 1, w->k, w->k}, ones);
  Onnx__NodeProto *c = conv_node(o, input(o, 0), kernels, w, result(o));
  onnx_attr_int(&o->a, c, "group", w->c);
  return c->output[0];
}

static const char *map_maxpool(Onnx *o, const Node *y, const char *op_type) {
  (void)op_type;
  Onnx__NodeProto *n = node(o, "MaxPool", 1, (const char *[]){input(o, 0)}, result(o));
  window_attrs(o, n, y->attr.win, false);
  return n->output[0];
}

/* conv: ONNX wants kernels [maps, c/g, k, k] for g groups. dlc's are [maps, c k k] (the same
 * values), or with a connection table one k x k kernel per connected pair: by output map,
 * so a block-diagonal table's are the grouped convolution's [maps, c/g, k, k] (conv_groups);
 * for any other table a Gather of the rows of [kernels; zeros] places each where its pair is
 * and zeros elsewhere (a masked convolution over all pairs). */
static const char *map_conv(Onnx *o, const Node *y, const char *op_type) {
  (void)op_type;
  const Window *w = y->attr.win;
  int groups = conv_groups(w);
  int64_t kk = (int64_t)w->k * w->k, full[4] = {w->maps, groups ? w->c / groups : w->c, w->k, w->k};
  const char *kernels = input(o, 1);
  if (!groups) {
    int64_t n_kernels = conv_kernels(w);
    const char *rows = node2(o, "Reshape", kernels, ints(o, helper(o, "rows"), 2, (int64_t[]){n_kernels, kk}),
                             helper(o, "kernels"));
    float *zero = ARENA_ARRAY(&o->a, float, kk);
    const char *zeros = floats(o, helper(o, "zeros"), 2, (int64_t[]){1, kk}, zero);
    Onnx__NodeProto *cat = node(o, "Concat", 2, (const char *[]){rows, zeros}, helper(o, "padded"));
    onnx_attr_int(&o->a, cat, "axis", 0);
    int64_t *where = ARENA_ARRAY(&o->a, int64_t, (int64_t)w->maps * w->c);
    int inputs[MAX_CONV_INPUTS];
    for (int m = 0; m < w->maps; m++) {
      for (int c = 0; c < w->c; c++) where[m * w->c + c] = n_kernels; /* the zero row */
      int n_in = conv_inputs(w, m, inputs), first = conv_first_kernel(w, m);
      for (int j = 0; j < n_in; j++) where[m * w->c + inputs[j]] = first + j;
    }
    const char *index = ints(o, helper(o, "table"), w->maps * w->c, where);
    kernels = node2(o, "Gather", cat->output[0], index, helper(o, "masked"));
  }
  kernels = node2(o, "Reshape", kernels, ints(o, helper(o, "shape"), 4, full), helper(o, "kernels"));
  Onnx__NodeProto *c = conv_node(o, input(o, 0), kernels, w, result(o));
  if (groups > 1) onnx_attr_int(&o->a, c, "group", groups);
  return c->output[0];
}

/* Every op ONNX can express, and how. An op missing here (ops only gradients make:
 * reduce_max_back, col2im, unpool_sum, maxpool_back, conv_dx, conv_dw; the training leaves: a
 * target, a hyper-parameter other than the training flag, dropout's noise, a fed gradient;
 * the effects) is a located error. */
static const OnnxRule rules[OP_COUNT] = {
    [OP_INPUT] = {map_input, NULL},
    [OP_PARAM] = {map_leaf, NULL},
    [OP_STATE] = {map_leaf, NULL},
    [OP_INV_BATCH] = {map_inv_batch, NULL},
    [OP_NEG] = {map_unary, "Neg"},
    [OP_EXP] = {map_unary, "Exp"},
    [OP_LOG] = {map_unary, "Log"},
    [OP_SIGMOID] = {map_unary, "Sigmoid"},
    [OP_TANH] = {map_unary, "Tanh"},
    [OP_RELU] = {map_unary, "Relu"},
    [OP_STEP] = {map_step, NULL},
    [OP_POWC] = {map_pow, NULL},
    [OP_ABS] = {map_unary, "Abs"},
    [OP_ERF] = {map_unary, "Erf"},
    [OP_SOFTPLUS] = {map_unary, "Softplus"},
    [OP_LEAKY_RELU] = {map_leaky_relu, "LeakyRelu"},
    [OP_BROADCAST] = {map_broadcast, NULL},
    [OP_ADD] = {map_binary, "Add"},
    [OP_SUB] = {map_binary, "Sub"},
    [OP_MUL] = {map_binary, "Mul"},
    [OP_DIV] = {map_binary, "Div"},
    [OP_MAX] = {map_binary, "Max"},
    [OP_MIN] = {map_binary, "Min"},
    [OP_GEMM] = {map_gemm, NULL},
    [OP_SUM_TO] = {map_sum_to, NULL},
    [OP_SOFTMAX] = {map_row, "Softmax"},
    [OP_LOG_SOFTMAX] = {map_row, "LogSoftmax"},
    [OP_RESHAPE] = {map_reshape, NULL},
    [OP_PERMUTE] = {map_permute, NULL},
    [OP_CONCAT] = {map_concat, "Concat"},
    [OP_SLICE] = {map_slice, "Slice"},
    [OP_PAD] = {map_pad, "Pad"},
    [OP_REDUCE_MAX] = {map_reduce_max, "ReduceMax"},
    [OP_IM2COL] = {map_im2col, NULL},
    [OP_POOL_SUM] = {map_pool_sum, NULL},
    [OP_MAXPOOL] = {map_maxpool, NULL},
    [OP_CONV] = {map_conv, NULL},
};

bool export_onnx_maps(DlcOp op) { return rules[op].map != NULL; }

/* ---- the model ---- */

/* Maps every node; false after reporting the first that cannot be. */
static bool map_nodes(Onnx *o) {
  const Inference *inf = o->inf;
  for (int i = 0; i < inf->order.len; i++) {
    const Node *y = inf->order.nodes[i];
    if (inf->folded[y->id]) continue; /* made where it is read */
    const OnnxRule *r = &rules[y->op];
    if (!r->map) {
      diag_error(y->loc, "cannot export to ONNX: op '%s'%s%s%s has no ONNX equivalent (see docs/interop.md)",
                 op_name(y->op), y->name ? " ('" : "", y->name ? y->name : "", y->name ? "')" : "");
      return false;
    }
    o->at = y;
    o->value[y->id] = r->map(o, y, r->op_type);
    if (!o->value[y->id]) return false;
  }
  o->at = NULL;
  return true;
}

static Onnx__ModelProto *model(Onnx *o, const ExportInfo *info) {
  const Inference *inf = o->inf;
  Arena *a = &o->a;
  Onnx__GraphProto *g = ARENA_NEW(a, Onnx__GraphProto);
  *g = (Onnx__GraphProto)ONNX__GRAPH_PROTO__INIT;
  const char *base = strrchr(info->source, '/');
  g->name = arena_strdup(a, base ? base + 1 : info->source);
  /* the output: a value some node makes (an input or a constant passes through Identity) */
  const Node *out = inf->out;
  o->at = out;
  const char *out_name = val(o, out);
  if (out->op == OP_INPUT || out->op == OP_PARAM || out->op == OP_STATE || inf->folded[out->id])
    out_name = node1(o, "Identity", out_name, fresh(o, "out"));
  o->at = NULL;
  g->n_node = (size_t)o->nodes.len;
  g->node = o->nodes.data;
  g->n_initializer = (size_t)o->inits.len;
  g->initializer = o->inits.data;
  if (inf->input) {
    g->n_input = 1;
    g->input = ARENA_ARRAY(a, Onnx__ValueInfoProto *, 1);
    g->input[0] = onnx_value_info(a, o->value[inf->input->id], "N", inf->input->shape.rank, inf->input->shape.dim);
  }
  g->n_output = 1;
  g->output = ARENA_ARRAY(a, Onnx__ValueInfoProto *, 1);
  g->output[0] = onnx_value_info(a, out_name, out->shape.batched ? "N" : NULL, out->shape.rank, out->shape.dim);
  g->doc_string = arena_printf(a,
                               "%s as dlc classifies with it: input %s of N examples (pixel values 0..255 scaled "
                               "linearly to %g..%g), output %s (the class is its largest value)",
                               info->source, inf->input ? o->value[inf->input->id] : "(none)", (double)info->pixel_lo,
                               (double)info->pixel_hi, out_name);

  Onnx__ModelProto *m = ARENA_NEW(a, Onnx__ModelProto);
  *m = (Onnx__ModelProto)ONNX__MODEL_PROTO__INIT;
  m->has_ir_version = 1;
  m->ir_version = 7; /* the IR of opset 13 (ONNX 1.8) and later */
  Onnx__OperatorSetIdProto *opset = ARENA_NEW(a, Onnx__OperatorSetIdProto);
  *opset = (Onnx__OperatorSetIdProto)ONNX__OPERATOR_SET_ID_PROTO__INIT;
  opset->domain = arena_strdup(a, "");
  opset->has_version = 1;
  opset->version = ONNX_OPSET;
  m->n_opset_import = 1;
  m->opset_import = ARENA_ARRAY(a, Onnx__OperatorSetIdProto *, 1);
  m->opset_import[0] = opset;
  m->producer_name = arena_strdup(a, "dlc");
  m->producer_version = arena_strdup(a, DLC_VERSION);
  m->graph = g;
  char lo[32], hi[32];
  snprintf(lo, sizeof lo, "%.9g", (double)info->pixel_lo);
  snprintf(hi, sizeof hi, "%.9g", (double)info->pixel_hi);
  Onnx__StringStringEntryProto *meta[] = {
      onnx_meta(a, "dlc.source", info->source),
      onnx_meta(a, "dlc.parameters", o->params->source ? o->params->source : "initial (from the seed)"),
      onnx_meta(a, "dlc.pixel_lo", lo),
      onnx_meta(a, "dlc.pixel_hi", hi),
  };
  m->n_metadata_props = sizeof meta / sizeof *meta;
  m->metadata_props = ARENA_ARRAY(a, Onnx__StringStringEntryProto *, m->n_metadata_props);
  memcpy(m->metadata_props, meta, sizeof meta);
  return m;
}

bool export_onnx(const Inference *inf, const ExportParams *p, const ExportInfo *info, const char *path,
                 ExportSummary *sum) {
  Onnx o = {.inf = inf, .params = p};
  arena_init(&o.a);
  o.names.arena = &o.a;
  o.value = ARENA_ARRAY(&o.a, const char *, inf->g->len);
  bool ok = map_nodes(&o);
  if (ok) {
    Onnx__ModelProto *m = model(&o, info);
    size_t len = onnx__model_proto__get_packed_size(m);
    uint8_t *bytes = malloc(len ? len : 1);
    if (!bytes) dlc_fatal("out of memory");
    onnx__model_proto__pack(m, bytes);
    char err[1024];
    if (dlrt_outfile_write(path, "an ONNX model", bytes, len, err, sizeof err) != 0) {
      diag_path_error(err);
      ok = false;
    }
    free(bytes);
    if (sum) *sum = (ExportSummary){o.nodes.len, o.parameters};
  }
  vec_free(&o.nodes);
  vec_free(&o.inits);
  names_free(&o.names);
  arena_free(&o.a);
  return ok;
}
