/* ops.c — the op table as data, expanded from ops.def. */
#include "ops.h"
#include <string.h>
#include "diag.h"

static const OpInfo op_table[OP_COUNT] = {
#define OP(id, name, arity, cls, grad, flags, attr, shape) [OP_##id] = {name, arity, cls, grad_##grad, flags, ATTR_##attr},
#include "ops.def"
#undef OP
};

const OpInfo *op_info(DlcOp op) {
  DLC_ASSERT((unsigned)op < OP_COUNT);
  return &op_table[op];
}

const char *op_name(DlcOp op) { return op_info(op)->name; }

DlcOp op_callable(const char *name) {
  for (int i = 0; i < OP_COUNT; i++)
    if ((op_table[i].flags & CALL) && strcmp(op_table[i].name, name) == 0) return (DlcOp)i;
  return OP_COUNT;
}
