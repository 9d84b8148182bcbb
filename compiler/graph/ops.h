/* ops.h — the op enum, classes, flags and attribute kinds, all generated from ops.def. */
#ifndef DLC_OPS_H
#define DLC_OPS_H
#include <stdbool.h>

typedef enum DlcOp {
#define OP(id, name, arity, cls, grad, flags, attr, shape) OP_##id,
#include "ops.def"
#undef OP
  OP_COUNT
} DlcOp;

typedef enum OpClass { LEAF, UNARY, BINARY, GEMM, REDUCE, ROW, VIEW, MOVE, CONV, EFFECT } OpClass;

/* What a node of the op carries in Node.attr (graph.h); attr.c compares, hashes and prints
 * each kind, so that CSE and the dumps need no code per op. */
typedef enum AttrKind {
  ATTR_NONE,
  ATTR_SCALAR, /* attr.c: a float (CONST's value, POWC's exponent), compared bit for bit */
  ATTR_GEMM,   /* attr.gemm: the transpose flags, and whether per example */
  ATTR_WINDOW, /* attr.win: a sliding window, with a conv's maps and connection table */
  ATTR_FEED,   /* attr.slot: the feed slot of a fed leaf */
  ATTR_RESULT, /* attr.slot: the result slot of an OUTPUT */
  ATTR_AXIS,   /* attr.axis: a per-example axis */
  ATTR_AXES,   /* attr.axes: a permutation of the per-example axes */
  ATTR_RANGE,  /* attr.range: an axis, a start and a size along it */
  ATTR_KINDS
} AttrKind;

enum { INLINE = 1 << 0, CALL = 1 << 1 };
enum { grad_N = 0, grad_D = 1 }; /* the grad column of ops.def */

typedef struct OpInfo {
  const char *name;
  int arity;
  OpClass cls;
  bool differentiable;
  unsigned flags;
  AttrKind attr;
} OpInfo;

const OpInfo *op_info(DlcOp op);
const char *op_name(DlcOp op);
static inline bool op_is_elementwise(DlcOp op) {
  OpClass c = op_info(op)->cls;
  return c == UNARY || c == BINARY;
}
static inline bool op_has_grad(DlcOp op) { return op_info(op)->differentiable; }
static inline bool op_is_inline(DlcOp op) { return op_info(op)->flags & INLINE; }
/* The op the language calls by this name (ops.def's CALL flag), or OP_COUNT. */
DlcOp op_callable(const char *name);
#endif
