/* lower_elem.c — loop nests for elementwise ops, reductions, row ops and effects.
 *
 * An elementwise node becomes a strided loop nest over its shape (nest.h) whose body loads
 * each operand at its broadcast index, applies the op's formula and stores: one flat loop
 * when every operand has the node's shape, (rows, maps, pixels) for a bias per map. The
 * innermost loop works on vectors of 16 floats (nest_inner_vectors). */
#include "lower_private.h"
#include "nest.h"

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

static LLVMValueRef select_positive(LowerCtx *c, LLVMValueRef a, LLVMValueRef yes) {
  LLVMValueRef zero = f32_like(c, a, 0);
  LLVMValueRef pos = LLVMBuildFCmp(c->b, LLVMRealOGT, a, zero, "pos");
  return LLVMBuildSelect(c->b, pos, yes, zero, "");
}

static LLVMValueRef emit_pow(LowerCtx *c, LLVMValueRef a, float e) {
  if (e == 1) return a;
  if (e == 2) return LLVMBuildFMul(c->b, a, a, "sq");
  if (e == 0.5f) return call_like(c, "llvm.sqrt", a, &a, 1);
  if (e == -1) return LLVMBuildFDiv(c->b, f32_like(c, a, 1), a, "");
  LLVMValueRef args[2] = {a, f32_like(c, a, e)};
  return call_like(c, "llvm.pow", a, args, 2);
}

/* The formula of each elementwise op (the same ones as interp.c, in float), on floats or on
 * vectors of floats. */
static LLVMValueRef emit_formula(LowerCtx *c, const Node *y, LLVMValueRef a, LLVMValueRef b) {
  switch (y->op) {
  case OP_NEG: return LLVMBuildFNeg(c->b, a, "neg");
  case OP_EXP: return emit_exp(c, a);
  case OP_LOG: return call_like(c, "llvm.log", a, &a, 1);
  case OP_SIGMOID: return emit_sigmoid(c, a);
  case OP_TANH: return emit_tanh(c, a);
  case OP_RELU: return select_positive(c, a, a);
  case OP_STEP: return select_positive(c, a, f32_like(c, a, 1));
  case OP_POWC: return emit_pow(c, a, y->attr.c);
  case OP_ABS: return call_like(c, "llvm.fabs", a, &a, 1);
  case OP_ERF: return emit_erf(c, a);
  case OP_SOFTPLUS: return emit_softplus(c, a);
  case OP_LEAKY_RELU: {
    LLVMValueRef pos = LLVMBuildFCmp(c->b, LLVMRealOGT, a, f32_like(c, a, 0), "pos");
    return LLVMBuildSelect(c->b, pos, a, LLVMBuildFMul(c->b, a, f32_like(c, a, y->attr.c), ""), "leaky_relu");
  }
  case OP_BROADCAST: return a;
  case OP_ADD: return LLVMBuildFAdd(c->b, a, b, "add");
  case OP_SUB: return LLVMBuildFSub(c->b, a, b, "sub");
  case OP_MUL: return LLVMBuildFMul(c->b, a, b, "mul");
  case OP_DIV: return LLVMBuildFDiv(c->b, a, b, "div");
  case OP_MAX: return LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOGE, a, b, ""), a, b, "max");
  case OP_MIN: return LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOLE, a, b, ""), a, b, "min");
  default: DLC_UNREACHABLE();
  }
}

/* The memory operands of a fused expression tree, each a slot of the loop nest. */
typedef struct Tree {
  const Node *leaf[NEST_MAX_OPERANDS];
  Shape shape[NEST_MAX_OPERANDS];
  LLVMValueRef base[NEST_MAX_OPERANDS], loaded[NEST_MAX_OPERANDS];
  int n;
} Tree;

static bool fused(const LowerCtx *c, const Node *x) { return c->sched->fused_into && c->sched->fused_into[x->id]; }

/* Adds the operands of y's tree that live in memory (inputs computed elsewhere), once each. */
static void collect(LowerCtx *c, const Node *y, Tree *t) {
  for (int k = 0; k < op_info(y->op)->arity; k++) {
    const Node *x = y->in[k];
    if (fused(c, x)) {
      collect(c, x, t);
      continue;
    }
    if (op_is_inline(x->op)) continue;
    bool seen = false;
    for (int i = 0; i < t->n && !seen; i++) seen = t->leaf[i] == x;
    if (seen) continue;
    DLC_ASSERT(t->n < NEST_MAX_OPERANDS);
    t->leaf[t->n] = x;
    t->shape[t->n] = x->shape;
    t->base[t->n++] = buffer_of(c, x);
  }
}

/* The value of x at the nest's current iteration (a float, or a vector in
 * nest_inner_vectors): an inline scalar, a load, or (fused) its own formula over its
 * operands' values. slot0 is the nest slot of the tree's first leaf. A fused node computed
 * in place (a persistent leaf's new value, fuse.c) is also stored into the leaf, at the
 * output's index (it has the output's shape). */
static LLVMValueRef value_of(LowerCtx *c, const Node *x, const Nest *n, Tree *t, int slot0) {
  if (fused(c, x)) {
    LLVMValueRef v[MAX_INPUTS] = {NULL};
    for (int k = 0; k < op_info(x->op)->arity; k++) v[k] = value_of(c, x->in[k], n, t, slot0);
    LLVMValueRef value = emit_formula(c, x, v[0], v[1]);
    if (c->sched->in_place && c->sched->in_place[x->id]) nest_store(c, n, 0, buffer_of(c, x), value);
    return value;
  }
  if (op_is_inline(x->op)) return n->vector ? splat(c, operand(c, x).value) : operand(c, x).value;
  for (int i = 0; i < t->n; i++)
    if (t->leaf[i] == x) {
      if (!t->loaded[i]) t->loaded[i] = nest_load(c, n, slot0 + i, t->base[i]);
      return t->loaded[i];
    }
  DLC_UNREACHABLE();
}

/* Opens the outer loops of the nest and loads the leaves that are invariant along the
 * innermost loop before it (see nest_begin_outer). */
static void open_outer(LowerCtx *c, Nest *n, Tree *t, int slot0, bool vector) {
  nest_begin_outer(c, n);
  for (int i = 0; i < t->n; i++)
    if (nest_inner_invariant(n, slot0 + i)) {
      LLVMValueRef v = load_f32(c, t->base[i], nest_outer_index(c, n, slot0 + i));
      t->loaded[i] = vector ? splat(c, v) : v;
    }
}

/* Forgets the loads of the last iteration (keeping the invariant ones). */
static void forget_loads(const Nest *n, Tree *t, int slot0) {
  for (int i = 0; i < t->n; i++)
    if (!nest_inner_invariant(n, slot0 + i)) t->loaded[i] = NULL;
}

/* Plans a nest over `space` for slot 0 (the output, of shape out) and the tree's leaves. */
static void plan_tree(Nest *n, Shape space, Shape out, const Tree *t) {
  Shape shapes[NEST_MAX_OPERANDS + 1] = {out};
  for (int i = 0; i < t->n; i++) shapes[1 + i] = t->shape[i];
  nest_plan(n, space, shapes, 1 + t->n);
}

typedef struct ElemBody {
  const Node *y;
  Tree *t;
  LLVMValueRef out;
} ElemBody;

/* One iteration of an elementwise node, or of a sum_to (which adds its operand's value to
 * what the output holds). */
static void elementwise_body(LowerCtx *c, Nest *n, void *arg) {
  ElemBody *e = arg;
  const Node *y = e->y;
  forget_loads(n, e->t, 1);
  LLVMValueRef v;
  if (y->op == OP_SUM_TO) {
    v = LLVMBuildFAdd(c->b, nest_load(c, n, 0, e->out), value_of(c, y->in[0], n, e->t, 1), "acc");
  } else {
    LLVMValueRef in[MAX_INPUTS] = {NULL};
    for (int k = 0; k < op_info(y->op)->arity; k++) in[k] = value_of(c, y->in[k], n, e->t, 1);
    v = emit_formula(c, y, in[0], in[1]);
  }
  nest_store(c, n, 0, e->out, v);
}

/* A sum along the innermost loop (a bias gradient: rows x maps x pixels into one value per
 * map): each vector of the tree's values is added to a vector of partial sums, masked lanes
 * adding zero, and the partial sums' lanes are added into the output after the loop. */
typedef struct ReduceBody {
  ElemBody e;
  LLVMValueRef acc; /* the partial sums (an alloca) */
} ReduceBody;

LLVMValueRef lanes_sum(LowerCtx *c, LLVMValueRef v) {
  for (int half = LANES / 2; half >= 1; half /= 2) {
    LLVMValueRef idx[LANES];
    for (int i = 0; i < LANES; i++) idx[i] = c_i32(c, i < half ? i + half : i);
    v = LLVMBuildFAdd(c->b, v, LLVMBuildShuffleVector(c->b, v, LLVMGetUndef(vec_t(c)), LLVMConstVector(idx, LANES), ""), "");
  }
  return LLVMBuildExtractElement(c->b, v, c_i32(c, 0), "sum");
}

static void reduce_body(LowerCtx *c, Nest *n, void *arg) {
  ReduceBody *r = arg;
  forget_loads(n, r->e.t, 1);
  LLVMValueRef v = value_of(c, r->e.y->in[0], n, r->e.t, 1);
  if (n->mask) v = LLVMBuildSelect(c->b, n->mask, v, f32_like(c, v, 0), "");
  LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, vec_t(c), r->acc, ""), v, ""), r->acc);
}

static void reduce_inner(LowerCtx *c, const Node *y, Nest *n, Tree *t, LLVMValueRef out) {
  ReduceBody r = {{y, t, out}, entry_alloca(c, vec_t(c), "partial")};
  open_outer(c, n, t, 1, true);
  LLVMBuildStore(c->b, LLVMConstNull(vec_t(c)), r.acc);
  nest_inner_vectors(c, n, reduce_body, &r);
  /* the lanes' sum, then into the output */
  LLVMValueRef sum = lanes_sum(c, LLVMBuildLoad2(c->b, vec_t(c), r.acc, ""));
  n->vector = false; /* the output's index from the outer loops alone */
  LLVMValueRef at = nest_outer_index(c, n, 0);
  store_f32(c, LLVMBuildFAdd(c->b, load_f32(c, out, at), sum, ""), out, at);
  n->vector = true;
}

/* The nest of y's tree over `space`, with y's value (of shape out) in slot 0: the innermost
 * loop in vectors where it can be; a sum along it adds vectors of partial sums. */
static void emit_nest(LowerCtx *c, const Node *y, Shape space, LLVMValueRef out) {
  Tree t = {0};
  collect(c, y, &t);
  Nest n;
  plan_tree(&n, space, y->shape, &t);
  if (y->op == OP_SUM_TO && nest_vectorisable(&n) && nest_inner_invariant(&n, 0) && n.count[n.dims - 1] > 1) {
    reduce_inner(c, y, &n, &t, out);
    nest_end(c, &n);
    return;
  }
  bool vector = nest_vectorisable(&n) && !nest_inner_invariant(&n, 0);
  ElemBody body = {y, &t, out};
  open_outer(c, &n, &t, 1, vector);
  if (vector) {
    nest_inner_vectors(c, &n, elementwise_body, &body);
  } else {
    nest_begin_inner(c, &n);
    elementwise_body(c, &n, &body);
  }
  nest_end(c, &n);
}

void lower_elementwise(LowerCtx *c, const Node *y) { emit_nest(c, y, y->shape, buffer_of(c, y)); }

/* An epilogue's tree (opt/epilogue.c) at one vector: the kernel's value where the tree reads
 * it, the formula of each fused node, and each other operand loaded for the vector's lanes
 * (at the same index, or the one value of its map). */
static LLVMValueRef epilogue_value(LowerCtx *c, const Node *x, const Node *p, LLVMValueRef v, LLVMValueRef at,
                                   LLVMValueRef map, LLVMValueRef mask) {
  int lanes = (int)LLVMGetVectorSize(LLVMTypeOf(v));
  if (x == p) return v;
  if (fused(c, x) || x == c->sched->epilogue[p->id]) { /* a node of the tree, or its root */
    LLVMValueRef in[MAX_INPUTS] = {NULL};
    for (int k = 0; k < op_info(x->op)->arity; k++) in[k] = epilogue_value(c, x->in[k], p, v, at, map, mask);
    return emit_formula(c, x, in[0], in[1]);
  }
  if (op_is_inline(x->op)) return splat_of(c, operand(c, x).value, lanes);
  LLVMValueRef base = buffer_of(c, x);
  if (!x->shape.batched && shape_numel(x->shape) != shape_numel(p->shape)) /* one value per map */
    return splat_of(c, load_f32(c, base, map), lanes);
  return load_vec_at(c, lanes, LLVMBuildGEP2(c->b, c->f32, base, &at, 1, ""), mask);
}

LLVMValueRef lower_epilogue(LowerCtx *c, const Node *p, LLVMValueRef v, LLVMValueRef at, LLVMValueRef map, LLVMValueRef mask) {
  const Node *root = c->sched->epilogue ? c->sched->epilogue[p->id] : NULL;
  return root ? epilogue_value(c, root, p, v, at, map, mask) : v;
}

LLVMValueRef lower_kernel_output(LowerCtx *c, const Node *p) {
  const Node *root = c->sched->epilogue ? c->sched->epilogue[p->id] : NULL;
  return buffer_of(c, root ? root : p);
}

/* y = sum of x over the axes along which y broadcasts to x (the batch axis included): a nest
 * over x's shape that adds each element (computed here if x is fused) into y at y's index. */
void lower_sum_to(LowerCtx *c, const Node *y) {
  LLVMValueRef out = buffer_of(c, y);
  fill_zeros(c, out, LLVMBuildMul(c->b, rows_of(c, y), c_i64(c, shape_numel(y->shape)), ""));
  emit_nest(c, y, y->in[0]->shape, out);
}

/* softmax / log_softmax of each row of the last axis, shifted by the row maximum. */
void lower_row(LowerCtx *c, const Node *y) {
  const Node *x = y->in[0];
  int64_t len = y->shape.dim[y->shape.rank - 1];
  LLVMValueRef in = buffer_of(c, x), out = buffer_of(c, y);
  LLVMValueRef mx = entry_alloca(c, c->f32, "max"), sum = entry_alloca(c, c->f32, "sum");
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
  LLVMValueRef e = emit_exp(c, LLVMBuildFSub(c->b, v, m_row, ""));
  LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->f32, sum, ""), e, ""), sum);
  loop_end(c, &l2);
  LLVMValueRef s = LLVMBuildLoad2(c->b, c->f32, sum, "s");
  LLVMValueRef log_s = y->op == OP_LOG_SOFTMAX ? call_like(c, "llvm.log", s, &s, 1) : NULL;
  j = loop_begin(c, &l3, c_i64(c, len), "write");
  LLVMValueRef at = LLVMBuildAdd(c->b, base, j, "");
  LLVMValueRef d = LLVMBuildFSub(c->b, load_f32(c, in, at), m_row, "");
  LLVMValueRef res = y->op == OP_SOFTMAX
                         ? LLVMBuildFDiv(c->b, emit_exp(c, d), s, "softmax")
                         : LLVMBuildFSub(c->b, d, log_s, "log_softmax");
  store_f32(c, res, out, at);
  loop_end(c, &l3);
  loop_end(c, &lr);
}

/* n floats of dst set to the inline scalar x (which has no buffer). */
static void fill_value(LowerCtx *c, LLVMValueRef dst, const Node *x, LLVMValueRef count) {
  Loop l;
  LLVMValueRef i = loop_begin(c, &l, count, "fill");
  store_f32(c, operand(c, x).value, dst, i);
  loop_end(c, &l);
}

/* A view (reshape) normally shares its input's buffer and emits nothing (fuse.c); what is
 * left here is a view of an inline scalar, which has no buffer to share, and a view in a
 * schedule without view decisions: both are copies. */
void lower_view(LowerCtx *c, const Node *y) {
  const Node *x = y->in[0];
  LLVMValueRef count = LLVMBuildMul(c->b, rows_of(c, y), c_i64(c, shape_numel(y->shape)), "");
  if (op_is_inline(x->op)) fill_value(c, buffer_of(c, y), x, count);
  else copy_floats(c, buffer_of(c, y), buffer_of(c, x), count);
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
  if (op_is_inline(src->op)) { /* the passes may leave an effect reading a constant */
    fill_value(c, dst, src, count);
    return;
  }
  copy_floats(c, dst, buffer_of(c, src), count);
}
