/* builtins_axes.c — the built-in functions on the axes of a tensor: reshape, transpose,
 * permute, concat and slice (ops of their own), and sums, means, maxima and minima over all
 * values or over one axis, global average pooling among them. Axes are counted per example
 * (the batch axis is implicit) from 0; a negative axis counts from the end (-1: the last). */
#include <math.h>
#include "sema_private.h"

/* A node from a checked constructor, or NULL after reporting its shape rule's message. */
static Node *reported(Node *n, SrcLoc loc, const char *err) {
  if (!n) diag_error(loc, "%s", err);
  return n;
}

/* The axis named `axis:` of x (def if absent), counted from the end if negative; -1 after
 * reporting. */
static int axis_named(const CallArgs *a, const Node *x, int def) {
  int rank = x->shape.rank, axis;
  if (rank == 0) {
    char sx[SHAPE_STR_MAX];
    diag_error(a->pos_loc[0], "'%s' needs a value with axes, got %s", a->call->name, describe(x, sx, sizeof sx));
    return -1;
  }
  if (!int_named(a, "axis", def, -rank, rank - 1, &axis)) return -1;
  return axis < 0 ? axis + rank : axis;
}

/* x's shape with axis kept as size 1 (what sums to, and broadcasts back), or without it. */
static Shape keep_axis(Shape s, int axis) {
  s.dim[axis] = 1;
  return s;
}
static Shape drop_axis(Shape s, int axis) {
  for (int d = axis; d + 1 < s.rank; d++) s.dim[d] = s.dim[d + 1];
  s.dim[--s.rank] = 0;
  return s;
}

/* reshape(x, [d0, d1, ...]): the same values per example in another shape; one dimension may
 * be -1, inferred from the others. */
Node *builtin_reshape(Sema *s, const CallArgs *a) {
  if (!arity(a, 2)) return NULL;
  Node *x = tensor_arg(s, a, 0);
  int dims[MAX_RANK], n = int_list_arg(a, 1, -1, MAX_NUMEL, dims, "the shape of 'reshape'");
  if (!x || n < 0) return NULL;
  int64_t known = 1;
  int infer = -1;
  for (int i = 0; i < n; i++) {
    if (dims[i] == 0 || (dims[i] == -1 && infer >= 0)) {
      diag_error(a->pos_loc[1], "the shape of 'reshape' has sizes from 1 up, and at most one -1 (inferred)");
      return NULL;
    }
    if (dims[i] == -1) infer = i;
    else known *= dims[i];
  }
  if (infer >= 0) dims[infer] = known && shape_numel(x->shape) % known == 0 ? (int)(shape_numel(x->shape) / known) : 0;
  char err[256];
  if (infer >= 0 && dims[infer] == 0) {
    char sx[SHAPE_STR_MAX];
    diag_error(a->call->loc, "cannot reshape %s (%lld values) with a -1: the other sizes multiply to %lld",
               describe(x, sx, sizeof sx), (long long)shape_numel(x->shape), (long long)known);
    return NULL;
  }
  Shape to = shape_make(x->shape.batched, n, dims);
  return reported(g_op_checked(s->g, OP_RESHAPE, x, NULL, NULL, to, a->call->loc, err, sizeof err), a->call->loc, err);
}

/* transpose(x): a matrix [p, q] (per example, or shared) as [q, p]. */
Node *builtin_transpose(Sema *s, const CallArgs *a) {
  if (!arity(a, 1)) return NULL;
  Node *x = tensor_arg(s, a, 0);
  if (!x) return NULL;
  if (x->shape.rank != 2) {
    char sx[SHAPE_STR_MAX];
    diag_error(a->pos_loc[0], "'transpose' swaps the two axes of a matrix, got %s (permute reorders more)",
               describe(x, sx, sizeof sx));
    return NULL;
  }
  return g_transpose(s->g, x, a->call->loc);
}

/* permute(x, [p0, p1, ...]): axis i of the result is axis p_i of x. */
Node *builtin_permute(Sema *s, const CallArgs *a) {
  if (!arity(a, 2)) return NULL;
  Node *x = tensor_arg(s, a, 0);
  int perm[MAX_RANK], n = int_list_arg(a, 1, 0, MAX_RANK - 1, perm, "the axes of 'permute'");
  if (!x || n < 0) return NULL;
  NodeAttr at = {.axes = {n, {0}}};
  for (int i = 0; i < n; i++) at.axes.perm[i] = (signed char)perm[i];
  char err[256];
  return reported(g_op_checked(s->g, OP_PERMUTE, x, NULL, &at, x->shape, a->call->loc, err, sizeof err), a->pos_loc[1], err);
}

/* concat(a, b, ..., axis: 0): the tensors one after the other along the axis; the other axes
 * must agree. */
Node *builtin_concat(Sema *s, const CallArgs *a) {
  if (a->n_pos < 2) {
    diag_error(a->call->loc, "'concat' expects at least 2 tensors, got %d", a->n_pos);
    return NULL;
  }
  Node *y = tensor_arg(s, a, 0);
  int axis = y ? axis_named(a, y, 0) : -1;
  if (axis < 0) return NULL;
  for (int i = 1; i < a->n_pos; i++) {
    Node *x = tensor_arg(s, a, i);
    char err[512];
    if (!x) return NULL;
    y = reported(g_op_checked(s->g, OP_CONCAT, y, x, &(NodeAttr){.axis = axis}, y->shape, a->call->loc, err, sizeof err),
                 a->call->loc, err);
    if (!y) return NULL;
  }
  return y;
}

/* slice(x, start, end, axis: 0): positions start .. end - 1 along the axis (negative ones
 * count from the end, as in Python). */
Node *builtin_slice(Sema *s, const CallArgs *a) {
  if (!arity(a, 3)) return NULL;
  Node *x = tensor_arg(s, a, 0);
  int axis = x ? axis_named(a, x, 0) : -1;
  if (axis < 0) return NULL;
  int len = x->shape.dim[axis], at[2];
  for (int k = 0; k < 2; k++) {
    Value v = a->pos[1 + k];
    if (v.kind != V_NUM || v.num != floor(v.num) || v.num < -len || v.num > len) {
      diag_error(a->pos_loc[1 + k], "the %s of 'slice' must be a whole number from %d to %d (axis %d has %d positions)",
                 k ? "end" : "start", -len, len, axis, len);
      return NULL;
    }
    at[k] = v.num < 0 ? (int)v.num + len : (int)v.num;
  }
  int start = at[0], end = at[1];
  if (start >= end) {
    char sx[SHAPE_STR_MAX];
    diag_error(a->call->loc, "slice from %d to %d of axis %d of %s is empty", start, end, axis, describe(x, sx, sizeof sx));
    return NULL;
  }
  return g_slice(s->g, x, axis, start, end - start, a->call->loc);
}

/* The sum of x over all its values (per example), or over one axis, which goes. */
static Node *sum_over(Sema *s, Node *x, int axis, SrcLoc loc) {
  if (axis < 0) return g_reduce_like(s->g, x, shape_scalar(x->shape.batched), loc);
  Node *kept = g_reduce_like(s->g, x, keep_axis(x->shape, axis), loc);
  return g_reshape(s->g, kept, drop_axis(x->shape, axis), loc);
}

/* The axis of a reduction: `axis:` if given (else -1: over everything), or -2 after reporting. */
static int reduction_axis(const CallArgs *a, const Node *x) {
  if (!named_arg_of(a->call, "axis")) return -1;
  int axis = axis_named(a, x, 0);
  return axis < 0 ? -2 : axis;
}

/* sum(x), mean(x): over all values of each example (of x itself, if shared); with axis: over
 * that axis. */
static Node *reduce_call(Sema *s, const CallArgs *a, bool mean) {
  if (!arity(a, 1)) return NULL;
  Node *x = tensor_arg(s, a, 0);
  int axis = x ? reduction_axis(a, x) : -2;
  if (axis < -1) return NULL;
  SrcLoc loc = a->call->loc;
  Node *r = sum_over(s, x, axis, loc);
  int64_t count = axis < 0 ? shape_numel(x->shape) : x->shape.dim[axis];
  if (mean) r = g_binary(s->g, OP_MUL, r, g_const(s->g, 1.0f / (float)count, loc), loc);
  return r;
}

Node *builtin_sum(Sema *s, const CallArgs *a) { return reduce_call(s, a, false); }
Node *builtin_mean(Sema *s, const CallArgs *a) { return reduce_call(s, a, true); }

/* The largest value of x over all values of each example, or over one axis. */
static Node *max_over(Sema *s, Node *x, int axis, SrcLoc loc) {
  if (axis >= 0) return g_reduce_max(s->g, x, axis, loc);
  if (x->shape.rank == 0) return x;
  int all[1] = {(int)shape_numel(x->shape)};
  return g_reduce_max(s->g, g_reshape(s->g, x, shape_make(x->shape.batched, 1, all), loc), 0, loc);
}

/* max(a, b), min(a, b): elementwise, with broadcasting (ties: a's gradient). max(x), min(x):
 * over all values of each example; with axis: over that axis (ties: the first position). */
static Node *extremum_call(Sema *s, const CallArgs *a, bool max) {
  SrcLoc loc = a->call->loc;
  if (a->n_pos == 2) {
    Node *l = tensor_arg(s, a, 0), *r = tensor_arg(s, a, 1);
    char err[256];
    if (!l || !r) return NULL;
    if (named_arg_of(a->call, "axis")) {
      diag_error(named_arg_of(a->call, "axis")->loc, "'%s' of two tensors is elementwise and takes no axis", a->call->name);
      return NULL;
    }
    return reported(g_binary_checked(s->g, max ? OP_MAX : OP_MIN, l, r, loc, err, sizeof err), loc, err);
  }
  if (a->n_pos != 1) {
    diag_error(loc, "'%s' expects one tensor (and axis:) or two tensors, got %d arguments", a->call->name, a->n_pos);
    return NULL;
  }
  Node *x = tensor_arg(s, a, 0);
  int axis = x ? reduction_axis(a, x) : -2;
  if (axis < -1) return NULL;
  if (max) return max_over(s, x, axis, loc);
  return g_unary(s->g, OP_NEG, max_over(s, g_unary(s->g, OP_NEG, x, loc), axis, loc), loc); /* min x = -max(-x) */
}

Node *builtin_max(Sema *s, const CallArgs *a) { return extremum_call(s, a, true); }
Node *builtin_min(Sema *s, const CallArgs *a) { return extremum_call(s, a, false); }

/* global_avgpool(x): the mean of each map of images [c, h, w], as [c]. */
Node *builtin_global_avgpool(Sema *s, const CallArgs *a) {
  if (!arity(a, 1)) return NULL;
  Node *x = tensor_arg(s, a, 0);
  if (!x) return NULL;
  if (!x->shape.batched || x->shape.rank != 3) {
    char sx[SHAPE_STR_MAX];
    diag_error(a->pos_loc[0], "'global_avgpool' expects images [channels, height, width] per example, got %s",
               describe(x, sx, sizeof sx));
    return NULL;
  }
  SrcLoc loc = a->call->loc;
  Shape per_map = x->shape;
  per_map.dim[1] = per_map.dim[2] = 1;
  Node *sums = g_reshape(s->g, g_sum_to(s->g, x, per_map, loc), drop_axis(drop_axis(per_map, 2), 1), loc);
  return g_binary(s->g, OP_MUL, sums, g_const(s->g, 1.0f / (float)(x->shape.dim[1] * x->shape.dim[2]), loc), loc);
}

