/* ops.h — the op enum, classes and flags, all generated from ops.def. */
#ifndef DLC_OPS_H
#define DLC_OPS_H
#include <stdbool.h>

typedef enum DlcOp {
#define OP(id, name, arity, cls, grad, flags) OP_##id,
#include "ops.def"
#undef OP
  OP_COUNT
} DlcOp;

typedef enum OpClass { LEAF, UNARY, BINARY, GEMM, REDUCE, ROW, MOVE, CONV, EFFECT } OpClass;

enum { INLINE = 1 << 0 };
enum { grad_N = 0, grad_D = 1 }; /* the grad column of ops.def */

typedef struct OpInfo {
  const char *name;
  int arity;
  OpClass cls;
  bool differentiable;
  unsigned flags;
} OpInfo;

const OpInfo *op_info(DlcOp op);
const char *op_name(DlcOp op);
static inline bool op_is_elementwise(DlcOp op) {
  OpClass c = op_info(op)->cls;
  return c == UNARY || c == BINARY;
}
static inline bool op_has_grad(DlcOp op) { return op_info(op)->differentiable; }
static inline bool op_is_inline(DlcOp op) { return op_info(op)->flags & INLINE; }
#endif
