/* lower_elem.c — loop nests for elementwise ops, reductions, row ops and effects.
 *
 * An elementwise node of shape S becomes
 *     for (b = 0; b < rows; b++) for (f = 0; f < numel(S); f++) out[b*F + f] = op(...)
 * where each operand is read at its broadcast index: the same f, element 0 (a scalar), or
 * the general right-aligned broadcast arithmetic. The inner loop is what LLVM vectorises. */
#include "lower_private.h"

/* An alloca in the entry block (so mem2reg turns it into SSA values). */
static LLVMValueRef entry_alloca(LowerCtx *c, const char *name) {
  LLVMBasicBlockRef here = LLVMGetInsertBlock(c->b);
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(c->fn);
  LLVMValueRef first = LLVMGetFirstInstruction(entry);
  if (first) LLVMPositionBuilderBefore(c->b, first);
  else LLVMPositionBuilderAtEnd(c->b, entry);
  LLVMValueRef a = LLVMBuildAlloca(c->b, c->f32, name);
  LLVMPositionBuilderAtEnd(c->b, here);
  return a;
}

/* Index into `from` of element f of a broadcast to `to` (mirrors shape_broadcast_index). */
static LLVMValueRef broadcast_index(LowerCtx *c, Shape from, Shape to, LLVMValueRef f) {
  int64_t nf = shape_numel(from);
  if (nf == shape_numel(to)) return f;
  if (nf == 1) return c_i64(c, 0);
  LLVMValueRef idx = c_i64(c, 0), rest = f;
  int64_t stride = 1;
  for (int d = 0; d < to.rank; d++) {
    int dt = to.dim[to.rank - 1 - d];
    int df = d < from.rank ? from.dim[from.rank - 1 - d] : 1;
    LLVMValueRef coord = LLVMBuildSRem(c->b, rest, c_i64(c, dt), "coord");
    rest = LLVMBuildSDiv(c->b, rest, c_i64(c, dt), "rest");
    if (df != 1) idx = LLVMBuildAdd(c->b, idx, LLVMBuildMul(c->b, coord, c_i64(c, stride), ""), "idx");
    stride *= df;
  }
  return idx;
}

/* An operand either inline (a scalar value) or in memory (a base pointer). */
typedef struct Operand {
  const Node *node;
  LLVMValueRef value, base;
} Operand;

static Operand operand(LowerCtx *c, const Node *x) {
  Operand o = {x, NULL, NULL};
  switch (x->op) {
  case OP_CONST: o.value = c_f32(c, x->attr.c); break;
  case OP_HYPER: o.value = c->feed_ptr[x->attr.slot]; break;
  case OP_INV_BATCH: o.value = c->inv_n; break;
  default: o.base = buffer_of(c, x); break;
  }
  return o;
}

static LLVMValueRef operand_load(LowerCtx *c, const Operand *o, const Node *y, LLVMValueRef b,
                                 LLVMValueRef f) {
  if (o->value) return o->value;
  LLVMValueRef idx = broadcast_index(c, o->node->shape, y->shape, f);
  if (o->node->shape.batched)
    idx = LLVMBuildAdd(c->b, LLVMBuildMul(c->b, b, c_i64(c, shape_numel(o->node->shape)), ""), idx, "");
  return load_f32(c, o->base, idx);
}

static LLVMValueRef select_positive(LowerCtx *c, LLVMValueRef a, LLVMValueRef yes) {
  LLVMValueRef pos = LLVMBuildFCmp(c->b, LLVMRealOGT, a, c_f32(c, 0), "pos");
  return LLVMBuildSelect(c->b, pos, yes, c_f32(c, 0), "");
}

static LLVMValueRef emit_pow(LowerCtx *c, LLVMValueRef a, float e) {
  if (e == 1) return a;
  if (e == 2) return LLVMBuildFMul(c->b, a, a, "sq");
  if (e == 0.5f) return call_f32(c, "llvm.sqrt.f32", a);
  if (e == -1) return LLVMBuildFDiv(c->b, c_f32(c, 1), a, "");
  LLVMTypeRef p[2] = {c->f32, c->f32};
  LLVMValueRef args[2] = {a, c_f32(c, e)};
  return call_fn(c, "llvm.pow.f32", c->f32, p, 2, args);
}

/* The scalar formula of each elementwise op (the same ones as interp.c, in float). */
static LLVMValueRef emit_scalar(LowerCtx *c, const Node *y, LLVMValueRef a, LLVMValueRef b) {
  switch (y->op) {
  case OP_NEG: return LLVMBuildFNeg(c->b, a, "neg");
  case OP_EXP: return call_f32(c, "llvm.exp.f32", a);
  case OP_LOG: return call_f32(c, "llvm.log.f32", a);
  case OP_SIGMOID: {
    LLVMValueRef e = call_f32(c, "llvm.exp.f32", LLVMBuildFNeg(c->b, a, ""));
    return LLVMBuildFDiv(c->b, c_f32(c, 1), LLVMBuildFAdd(c->b, c_f32(c, 1), e, ""), "sigmoid");
  }
  case OP_TANH: return call_f32(c, "tanhf", a);
  case OP_RELU: return select_positive(c, a, a);
  case OP_STEP: return select_positive(c, a, c_f32(c, 1));
  case OP_POWC: return emit_pow(c, a, y->attr.c);
  case OP_BROADCAST:
  case OP_RESHAPE: return a;
  case OP_ADD: return LLVMBuildFAdd(c->b, a, b, "add");
  case OP_SUB: return LLVMBuildFSub(c->b, a, b, "sub");
  case OP_MUL: return LLVMBuildFMul(c->b, a, b, "mul");
  case OP_DIV: return LLVMBuildFDiv(c->b, a, b, "div");
  default: DLC_UNREACHABLE();
  }
}

void lower_elementwise(LowerCtx *c, const Node *y) {
  int arity = op_info(y->op)->arity;
  Operand in[MAX_INPUTS];
  for (int k = 0; k < arity; k++) in[k] = operand(c, y->in[k]);
  LLVMValueRef out = buffer_of(c, y);
  int64_t F = shape_numel(y->shape);
  Loop lb, lf;
  LLVMValueRef b = loop_begin(c, &lb, rows_of(c, y), "row");
  LLVMValueRef f = loop_begin(c, &lf, c_i64(c, F), "col");
  LLVMValueRef a0 = operand_load(c, &in[0], y, b, f);
  LLVMValueRef a1 = arity > 1 ? operand_load(c, &in[1], y, b, f) : NULL;
  LLVMValueRef v = emit_scalar(c, y, a0, a1);
  store_f32(c, v, out, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, b, c_i64(c, F), ""), f, "i"));
  loop_end(c, &lf);
  loop_end(c, &lb);
}

static void fill_zero(LowerCtx *c, LLVMValueRef base, LLVMValueRef count) {
  Loop l;
  LLVMValueRef i = loop_begin(c, &l, count, "zero");
  store_f32(c, c_f32(c, 0), base, i);
  loop_end(c, &l);
}

/* y = sum of x over the axes along which y broadcasts to x (the batch axis included). */
void lower_sum_to(LowerCtx *c, const Node *y) {
  const Node *x = y->in[0];
  LLVMValueRef out = buffer_of(c, y), in = buffer_of(c, x);
  int64_t Fx = shape_numel(x->shape), Fy = shape_numel(y->shape);
  fill_zero(c, out, LLVMBuildMul(c->b, rows_of(c, y), c_i64(c, Fy), ""));
  Loop lb, lf;
  LLVMValueRef b = loop_begin(c, &lb, rows_of(c, x), "row");
  LLVMValueRef f = loop_begin(c, &lf, c_i64(c, Fx), "col");
  LLVMValueRef k = broadcast_index(c, y->shape, x->shape, f);
  if (y->shape.batched) k = LLVMBuildAdd(c->b, LLVMBuildMul(c->b, b, c_i64(c, Fy), ""), k, "k");
  LLVMValueRef v = load_f32(c, in, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, b, c_i64(c, Fx), ""), f, ""));
  store_f32(c, LLVMBuildFAdd(c->b, load_f32(c, out, k), v, "acc"), out, k);
  loop_end(c, &lf);
  loop_end(c, &lb);
}

/* softmax / log_softmax of each row of the last axis, shifted by the row maximum. */
void lower_row(LowerCtx *c, const Node *y) {
  const Node *x = y->in[0];
  int64_t len = y->shape.dim[y->shape.rank - 1];
  LLVMValueRef in = buffer_of(c, x), out = buffer_of(c, y);
  LLVMValueRef mx = entry_alloca(c, "max"), sum = entry_alloca(c, "sum");
  LLVMValueRef rows = LLVMBuildMul(c->b, rows_of(c, y), c_i64(c, shape_numel(y->shape) / len), "rows");
  Loop lr, l1, l2, l3;
  LLVMValueRef r = loop_begin(c, &lr, rows, "row");
  LLVMValueRef base = LLVMBuildMul(c->b, r, c_i64(c, len), "base");
  LLVMValueRef at_base = load_f32(c, in, base);
  LLVMBuildStore(c->b, at_base, mx);
  LLVMValueRef j = loop_begin(c, &l1, c_i64(c, len), "max");
  LLVMValueRef v = load_f32(c, in, LLVMBuildAdd(c->b, base, j, ""));
  LLVMValueRef m = LLVMBuildLoad2(c->b, c->f32, mx, "m");
  LLVMBuildStore(c->b, LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT, v, m, ""), v, m, ""), mx);
  loop_end(c, &l1);
  LLVMValueRef m_row = LLVMBuildLoad2(c->b, c->f32, mx, "m");
  LLVMBuildStore(c->b, c_f32(c, 0), sum);
  j = loop_begin(c, &l2, c_i64(c, len), "sum");
  v = load_f32(c, in, LLVMBuildAdd(c->b, base, j, ""));
  LLVMValueRef e = call_f32(c, "llvm.exp.f32", LLVMBuildFSub(c->b, v, m_row, ""));
  LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->f32, sum, ""), e, ""), sum);
  loop_end(c, &l2);
  LLVMValueRef s = LLVMBuildLoad2(c->b, c->f32, sum, "s");
  LLVMValueRef log_s = y->op == OP_LOG_SOFTMAX ? call_f32(c, "llvm.log.f32", s) : NULL;
  j = loop_begin(c, &l3, c_i64(c, len), "write");
  LLVMValueRef at = LLVMBuildAdd(c->b, base, j, "");
  LLVMValueRef d = LLVMBuildFSub(c->b, load_f32(c, in, at), m_row, "");
  LLVMValueRef res = y->op == OP_SOFTMAX
                         ? LLVMBuildFDiv(c->b, call_f32(c, "llvm.exp.f32", d), s, "softmax")
                         : LLVMBuildFSub(c->b, d, log_s, "log_softmax");
  store_f32(c, res, out, at);
  loop_end(c, &l3);
  loop_end(c, &lr);
}

static void copy_floats(LowerCtx *c, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef count) {
  Loop l;
  LLVMValueRef i = loop_begin(c, &l, count, "copy");
  store_f32(c, load_f32(c, src, i), dst, i);
  loop_end(c, &l);
}

/* ASSIGN: a persistent leaf takes its new value. OUTPUT: results[slot] receives a value. */
void lower_effect(LowerCtx *c, const Node *y) {
  const Node *src = y->op == OP_ASSIGN ? y->in[1] : y->in[0];
  LLVMValueRef count = LLVMBuildMul(c->b, rows_of(c, src), c_i64(c, shape_numel(src->shape)), "");
  LLVMValueRef dst;
  if (y->op == OP_ASSIGN) {
    dst = buffer_of(c, y->in[0]);
  } else {
    LLVMValueRef idx = c_i64(c, y->attr.slot);
    dst = LLVMBuildLoad2(c->b, c->ptr, LLVMBuildInBoundsGEP2(c->b, c->ptr, c->results, &idx, 1, ""), "result");
  }
  copy_floats(c, dst, buffer_of(c, src), count);
}
