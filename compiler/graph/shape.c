/* shape.c — static shapes and the pure rules on them: broadcasting, printing, indexing. */
#include <stdio.h>
#include <string.h>
#include "graph.h"

Shape shape_scalar(bool batched) {
  Shape s = {0};
  s.batched = batched;
  return s;
}

Shape shape_make(bool batched, int rank, const int *dims) {
  DLC_ASSERT(rank >= 0 && rank <= MAX_RANK);
  Shape s = {0};
  s.batched = batched;
  s.rank = rank;
  for (int i = 0; i < rank; i++) s.dim[i] = dims[i];
  return s;
}

int64_t shape_numel(Shape s) {
  int64_t n = 1;
  for (int i = 0; i < s.rank; i++) n *= s.dim[i];
  return n;
}

bool shape_too_big(Shape s) {
  double n = 1; /* in double: int64 would overflow on the shapes it has to reject */
  for (int i = 0; i < s.rank; i++) n *= s.dim[i];
  return n > MAX_NUMEL;
}

bool shape_equal(Shape a, Shape b) {
  if (a.rank != b.rank || a.batched != b.batched) return false;
  for (int i = 0; i < a.rank; i++)
    if (a.dim[i] != b.dim[i]) return false;
  return true;
}

/* Dimension i of s counted from the right (0 = last), 1 beyond its rank. */
static int dim_from_right(Shape s, int i) { return i < s.rank ? s.dim[s.rank - 1 - i] : 1; }

bool shape_broadcast(Shape a, Shape b, Shape *out) {
  Shape r = {0};
  r.rank = a.rank > b.rank ? a.rank : b.rank;
  r.batched = a.batched || b.batched;
  for (int i = 0; i < r.rank; i++) {
    int da = dim_from_right(a, i), db = dim_from_right(b, i);
    if (da != db && da != 1 && db != 1) return false;
    r.dim[r.rank - 1 - i] = da == 1 ? db : da;
  }
  *out = r;
  return true;
}

bool shape_broadcasts_to(Shape from, Shape to) {
  Shape r;
  if (from.batched && !to.batched) return false;
  return shape_broadcast(from, to, &r) && shape_equal(r, to);
}

const char *shape_str(Shape s, char *buf, int len) {
  int k = snprintf(buf, (size_t)len, "%s[", s.batched ? "batch x " : "");
  for (int i = 0; i < s.rank && k < len; i++)
    k += snprintf(buf + k, (size_t)(len - k), i ? ", %d" : "%d", s.dim[i]);
  if (k < len) snprintf(buf + k, (size_t)(len - k), "]");
  return buf;
}

const char *shape_user_str(Shape s, char *buf, int len) {
  if (s.rank == 0) {
    snprintf(buf, (size_t)len, "%s", s.batched ? "one number per example" : "a scalar");
    return buf;
  }
  Shape per = s;
  per.batched = false;
  shape_str(per, buf, len);
  if (s.batched) snprintf(buf + strlen(buf), (size_t)len - strlen(buf), " per example");
  return buf;
}

int64_t shape_broadcast_index(Shape from, Shape to, int64_t i) {
  int64_t nf = shape_numel(from);
  if (nf == shape_numel(to)) return i;
  if (nf == 1) return 0;
  int64_t idx = 0, stride = 1;
  for (int d = 0; d < to.rank; d++) {
    int dt = to.dim[to.rank - 1 - d], df = dim_from_right(from, d);
    int64_t coord = i % dt;
    i /= dt;
    if (df != 1) idx += coord * stride;
    stride *= df;
  }
  return idx;
}

void shape_axis_split(Shape s, int axis, int64_t *outer, int64_t *len, int64_t *inner) {
  DLC_ASSERT(axis >= 0 && axis < s.rank);
  *outer = *inner = 1;
  for (int d = 0; d < axis; d++) *outer *= s.dim[d];
  *len = s.dim[axis];
  for (int d = axis + 1; d < s.rank; d++) *inner *= s.dim[d];
}
