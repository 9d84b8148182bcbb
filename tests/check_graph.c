/* check_graph.c — the middle of the compiler: static shapes (broadcasting, printing,
 * broadcast indexing), the shape-checking graph constructors and their error messages, the op
 * table, scheduling (dead-node elimination, ASSIGNs last), the static memory plan (no two live
 * buffers overlap, persistent leaves shared between functions, alignment, reuse), and the
 * reference interpreter on small graphs with hand-computed results. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "helpers.h"
#include "interp.h"

/* ---- helpers ---- */

static Shape shp(bool batched, int rank, ...) {
  int d[MAX_RANK] = {0};
  va_list ap;
  va_start(ap, rank);
  for (int i = 0; i < rank; i++) d[i] = va_arg(ap, int);
  va_end(ap);
  return shape_make(batched, rank, d);
}

/* shape_str into one of a few rotating buffers, so two can appear in one assertion. */
static const char *sstr(Shape s) {
  static char bufs[4][SHAPE_STR_MAX];
  static int k;
  char *b = bufs[k++ % 4];
  return shape_str(s, b, SHAPE_STR_MAX);
}

static const char *broadcast_str(Shape a, Shape b) {
  Shape r;
  if (!shape_broadcast(a, b, &r)) return "incompatible";
  return sstr(r);
}

static Model *load_mlp(void) {
  Model *m = model_load(DLC_SOURCE_DIR "/examples/mlp.net", NULL);
  ck_assert_msg(m, "examples/mlp.net does not load");
  model_build_training(m);
  return m;
}

/* The same net with momentum, so the graph also holds optimiser STATE leaves. */
static Model *load_momentum_mlp(void) {
  char *diags = NULL;
  Model *m = load_model_text("input x : [784]\ntarget y : onehot(10)\nh = sigmoid(dense(x, 30))\n"
                             "out = dense(h, 10)\nloss = cross_entropy(out, y)\n"
                             "train { optimizer = sgd(lr: 0.1, momentum: 0.9); batch = 16 }\n",
                             &diags);
  ck_assert_msg(m, "%s", diags);
  free(diags);
  model_build_training(m);
  return m;
}

static int64_t buffer_size(const Node *n, int batch) {
  return shape_numel(n->shape) * (n->shape.batched ? batch : 1);
}

/* ---- shapes ---- */

START_TEST(broadcast_equal_shapes) {
  ck_assert_str_eq(broadcast_str(shp(false, 2, 3, 4), shp(false, 2, 3, 4)), "[3, 4]");
  ck_assert_str_eq(broadcast_str(shp(true, 1, 784), shp(true, 1, 784)), "batch x [784]");
}
END_TEST

START_TEST(broadcast_scalar) {
  ck_assert_str_eq(broadcast_str(shape_scalar(false), shp(false, 2, 3, 4)), "[3, 4]");
  ck_assert_str_eq(broadcast_str(shp(false, 1, 5), shape_scalar(false)), "[5]");
  ck_assert_str_eq(broadcast_str(shape_scalar(true), shp(false, 1, 3)), "batch x [3]");
  ck_assert_str_eq(broadcast_str(shape_scalar(false), shape_scalar(false)), "[]");
}
END_TEST

START_TEST(broadcast_right_aligned) {
  /* dims are matched from the right; a 1 (or a missing dim) stretches */
  ck_assert_str_eq(broadcast_str(shp(false, 2, 3, 1), shp(false, 1, 4)), "[3, 4]");
  ck_assert_str_eq(broadcast_str(shp(false, 1, 4), shp(false, 2, 3, 1)), "[3, 4]");
  ck_assert_str_eq(broadcast_str(shp(false, 3, 2, 1, 3), shp(false, 2, 4, 1)), "[2, 4, 3]");
  ck_assert_str_eq(broadcast_str(shp(false, 1, 1), shp(false, 2, 2, 5)), "[2, 5]");
}
END_TEST

START_TEST(broadcast_incompatible) {
  ck_assert_str_eq(broadcast_str(shp(false, 1, 3), shp(false, 1, 4)), "incompatible");
  ck_assert_str_eq(broadcast_str(shp(false, 2, 2, 3), shp(false, 2, 3, 2)), "incompatible");
  /* the leading dim 3 meets 2 only after the trailing 4s match */
  ck_assert_str_eq(broadcast_str(shp(false, 2, 3, 4), shp(false, 2, 2, 4)), "incompatible");
  ck_assert_str_eq(broadcast_str(shp(true, 1, 10), shp(false, 1, 3)), "incompatible");
}
END_TEST

START_TEST(broadcast_batched_flag) {
  /* the batch axis is not a dim: batched if either operand is */
  ck_assert_str_eq(broadcast_str(shp(true, 1, 784), shp(false, 1, 784)), "batch x [784]");
  ck_assert_str_eq(broadcast_str(shp(false, 1, 784), shp(true, 1, 784)), "batch x [784]");
  ck_assert_str_eq(broadcast_str(shp(false, 1, 784), shp(false, 1, 784)), "[784]");
  ck_assert_str_eq(broadcast_str(shape_scalar(true), shape_scalar(false)), "batch x []");
}
END_TEST

START_TEST(broadcasts_to) {
  ck_assert(shape_broadcasts_to(shp(false, 1, 1), shp(false, 1, 3)));
  ck_assert(!shape_broadcasts_to(shp(false, 1, 3), shp(false, 1, 1)));
  ck_assert(shape_broadcasts_to(shp(false, 1, 3), shp(false, 2, 2, 3)));
  ck_assert(!shape_broadcasts_to(shp(false, 2, 2, 3), shp(false, 1, 3)));
  ck_assert(shape_broadcasts_to(shape_scalar(false), shp(true, 1, 10)));
  ck_assert(shape_broadcasts_to(shp(false, 1, 10), shp(true, 1, 10)));
  /* per-example values cannot become one value: that is a reduction */
  ck_assert(!shape_broadcasts_to(shp(true, 1, 10), shp(false, 1, 10)));
  ck_assert(!shape_broadcasts_to(shp(false, 1, 3), shp(false, 1, 4)));
  ck_assert(shape_broadcasts_to(shp(true, 1, 4), shp(true, 1, 4)));
}
END_TEST

START_TEST(broadcast_index_middle_axis) {
  /* [2,1,3] -> [2,4,3]: element (i0, i1, i2) of the result, flat i = 12 i0 + 3 i1 + i2,
   * reads element (i0, 0, i2) of the source, flat 3 i0 + i2. */
  Shape from = shp(false, 3, 2, 1, 3), to = shp(false, 3, 2, 4, 3);
  ck_assert_int_eq(shape_broadcast_index(from, to, 0), 0);
  ck_assert_int_eq(shape_broadcast_index(from, to, 4), 1);   /* (0,1,1) -> (0,0,1) */
  ck_assert_int_eq(shape_broadcast_index(from, to, 11), 2);  /* (0,3,2) -> (0,0,2) */
  ck_assert_int_eq(shape_broadcast_index(from, to, 12), 3);  /* (1,0,0) -> (1,0,0) */
  ck_assert_int_eq(shape_broadcast_index(from, to, 17), 5);  /* (1,1,2) -> (1,0,2) */
  ck_assert_int_eq(shape_broadcast_index(from, to, 23), 5);  /* (1,3,2) -> (1,0,2) */
  for (int i0 = 0; i0 < 2; i0++)
    for (int i1 = 0; i1 < 4; i1++)
      for (int i2 = 0; i2 < 3; i2++)
        ck_assert_int_eq(shape_broadcast_index(from, to, 12 * i0 + 3 * i1 + i2), 3 * i0 + i2);
}
END_TEST

START_TEST(broadcast_index_other_cases) {
  Shape to = shp(false, 3, 2, 4, 3);
  for (int i = 0; i < 24; i++) {
    ck_assert_int_eq(shape_broadcast_index(shp(false, 1, 3), to, i), i % 3);        /* a row */
    ck_assert_int_eq(shape_broadcast_index(shp(false, 2, 4, 1), to, i), i / 3 % 4); /* a column */
    ck_assert_int_eq(shape_broadcast_index(shape_scalar(false), to, i), 0);
    ck_assert_int_eq(shape_broadcast_index(to, to, i), i);
  }
}
END_TEST

START_TEST(shape_strings) {
  ck_assert_str_eq(sstr(shp(false, 2, 100, 784)), "[100, 784]");
  ck_assert_str_eq(sstr(shp(true, 1, 784)), "batch x [784]");
  ck_assert_str_eq(sstr(shape_scalar(false)), "[]");
  ck_assert_str_eq(sstr(shape_scalar(true)), "batch x []");
  ck_assert_str_eq(sstr(shp(true, 4, 1, 2, 3, 4)), "batch x [1, 2, 3, 4]");
  /* a short buffer truncates but stays terminated, and nothing past it is written */
  char buf[8];
  memset(buf, 'Z', sizeof buf);
  shape_str(shp(false, 2, 100, 784), buf, 5);
  ck_assert_str_eq(buf, "[100");
  ck_assert_int_eq(buf[5], 'Z');
}
END_TEST

START_TEST(shape_basics) {
  ck_assert_int_eq(shape_numel(shp(false, 2, 100, 784)), 78400);
  ck_assert_int_eq(shape_numel(shape_scalar(true)), 1);
  ck_assert_int_eq(shape_numel(shp(true, 1, 784)), 784); /* per example */
  ck_assert(shape_equal(shp(false, 1, 3), shp(false, 1, 3)));
  ck_assert(!shape_equal(shp(false, 1, 3), shp(true, 1, 3)));
  ck_assert(!shape_equal(shp(false, 1, 3), shp(false, 2, 1, 3)));
}
END_TEST

/* ---- constructors ---- */

START_TEST(binary_checked_errors_name_both_shapes) {
  Graph *g = graph_new();
  Node *p = g_param(g, "p", shp(false, 1, 3), NO_LOC);
  Node *x = g_input(g, "x", shp(true, 1, 4), NO_LOC);
  char err[256] = "";
  int len = g->len;
  ck_assert_ptr_null(g_binary_checked(g, OP_ADD, p, x, NO_LOC, err, sizeof err));
  ck_assert_str_eq(err, "shapes [3] and [4] per example do not match (nor broadcast) for '+'");
  ck_assert_int_eq(g->len, len); /* a failed constructor adds no node */
  ck_assert_ptr_null(g_binary_checked(g, OP_MUL, x, p, NO_LOC, NULL, 0)); /* err is optional */
  Node *q = g_param(g, "q", shp(false, 2, 2, 1), NO_LOC);
  Node *ok = g_binary_checked(g, OP_SUB, q, p, NO_LOC, err, sizeof err);
  ck_assert_ptr_nonnull(ok);
  ck_assert_str_eq(sstr(ok->shape), "[2, 3]");
  ck_assert_ptr_eq(ok->in[0], q);
  ck_assert_ptr_eq(ok->in[1], p);
  graph_free(g);
}
END_TEST

START_TEST(matmul_weight_times_batched_vector) {
  Graph *g = graph_new();
  Node *W = g_param(g, "W", shp(false, 2, 100, 784), NO_LOC);
  Node *x = g_input(g, "x", shp(true, 1, 784), NO_LOC);
  char err[256] = "";
  Node *y = g_matmul_checked(g, W, x, NO_LOC, err, sizeof err);
  ck_assert_msg(y, "%s", err);
  ck_assert_str_eq(sstr(y->shape), "batch x [100]");
  /* W @ x is computed row-wise as x W^T: x is the left operand, W is transposed */
  ck_assert_int_eq(y->op, OP_GEMM);
  ck_assert_ptr_eq(y->in[0], x);
  ck_assert_ptr_eq(y->in[1], W);
  ck_assert(!y->attr.gemm.ta);
  ck_assert(y->attr.gemm.tb);
  graph_free(g);
}
END_TEST

START_TEST(matmul_inner_dimension_mismatch) {
  Graph *g = graph_new();
  Node *W = g_param(g, "W", shp(false, 2, 100, 783), NO_LOC);
  Node *x = g_input(g, "x", shp(true, 1, 784), NO_LOC);
  char err[256] = "";
  ck_assert_ptr_null(g_matmul_checked(g, W, x, NO_LOC, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "[100, 783]"));
  ck_assert_ptr_nonnull(strstr(err, "[784] per example"));
  /* two matrices: an ordinary product */
  Node *A = g_param(g, "A", shp(false, 2, 2, 3), NO_LOC), *B = g_param(g, "B", shp(false, 2, 3, 4), NO_LOC);
  Node *AB = g_matmul_checked(g, A, B, NO_LOC, err, sizeof err);
  ck_assert_str_eq(sstr(AB->shape), "[2, 4]");
  ck_assert(!AB->attr.gemm.ta && !AB->attr.gemm.tb);
  ck_assert_ptr_null(g_matmul_checked(g, B, A, NO_LOC, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "[3, 4]"));
  ck_assert_ptr_nonnull(strstr(err, "[2, 3]"));
  /* a vector on the left is a row: [3] @ [3, 4] is [4] */
  Node *v = g_param(g, "v", shp(false, 1, 3), NO_LOC);
  ck_assert_str_eq(sstr(g_matmul_checked(g, v, B, NO_LOC, err, sizeof err)->shape), "[4]");
  /* only vectors and matrices */
  Node *t = g_input(g, "t", shp(true, 3, 3, 4, 4), NO_LOC);
  ck_assert_ptr_null(g_matmul_checked(g, A, t, NO_LOC, err, sizeof err));
  ck_assert_str_eq(err, "matrix product needs vectors or matrices (per example or shared); got [2, 3] and [3, 4, 4] per example");
  graph_free(g);
}
END_TEST

/* A matrix per example on either side of @: one product per example; the inner dimensions
 * are compared as they are (a weight [10, 28] @ images [28, 28] was once refused with "inner
 * dimensions differ"), and a mismatch names both sizes. */
START_TEST(matmul_per_example_matrices) {
  Graph *g = graph_new();
  Node *A = g_param(g, "A", shp(false, 2, 10, 28), NO_LOC), *x = g_input(g, "x", shp(true, 2, 28, 28), NO_LOC);
  char err[256] = "";
  Node *y = g_matmul_checked(g, A, x, NO_LOC, err, sizeof err);
  ck_assert_msg(y, "%s", err);
  ck_assert_str_eq(sstr(y->shape), "batch x [10, 28]");
  ck_assert(y->op == OP_GEMM && y->attr.gemm.per_example);
  Node *z = g_matmul_checked(g, x, x, NO_LOC, err, sizeof err); /* both per example */
  ck_assert(z && z->attr.gemm.per_example && z->shape.batched);
  Node *w = g_matmul_checked(g, x, A, NO_LOC, err, sizeof err); /* [28, 28] @ [10, 28]: 28 vs 10 */
  ck_assert_ptr_null(w);
  ck_assert_str_eq(err, "matrix product of [28, 28] per example and [10, 28]: inner dimensions differ (28 vs 10)");
  /* per-example vector @ per-example matrix: a row per example */
  Node *v = g_input(g, "v", shp(true, 1, 28), NO_LOC);
  ck_assert_str_eq(sstr(g_matmul_checked(g, v, x, NO_LOC, err, sizeof err)->shape), "batch x [28]");
  /* a per-example matrix times a shared vector: the stacked rows times one column */
  Node *u = g_param(g, "u", shp(false, 1, 28), NO_LOC);
  Node *xu = g_matmul_checked(g, x, u, NO_LOC, err, sizeof err);
  ck_assert_str_eq(sstr(xu->shape), "batch x [28]");
  ck_assert_ptr_null(graph_verify(g, err, sizeof err));
  graph_free(g);
}
END_TEST

START_TEST(gemm_shape_rules) {
  Graph *g = graph_new();
  Node *a = g_input(g, "a", shp(true, 1, 4), NO_LOC);
  Node *b = g_input(g, "b", shp(true, 1, 3), NO_LOC);
  Node *W = g_param(g, "W", shp(false, 2, 3, 4), NO_LOC);
  char err[256] = "";
  /* a^T b sums over the batch: (4 x n)(n x 3) is one unbatched [4, 3] (a weight gradient) */
  Node *c = g_gemm_checked(g, a, b, true, false, NO_LOC, err, sizeof err);
  ck_assert_msg(c, "%s", err);
  ck_assert_str_eq(sstr(c->shape), "[4, 3]");
  /* b W: (n x 3)(3 x 4) is batched [4] */
  Node *d = g_gemm_checked(g, b, W, false, false, NO_LOC, err, sizeof err);
  ck_assert_str_eq(sstr(d->shape), "batch x [4]");
  /* a W^T: (n x 4)(4 x 3) is batched [3] */
  ck_assert_str_eq(sstr(g_gemm(g, a, W, false, true, NO_LOC)->shape), "batch x [3]");
  /* (n x 4)(n x 3): the inner dims are 4 and n */
  ck_assert_ptr_null(g_gemm_checked(g, a, b, false, false, NO_LOC, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "inner dimensions differ"));
  /* W b^T would have n columns: not representable */
  ck_assert_ptr_null(g_gemm_checked(g, W, b, true, true, NO_LOC, NULL, 0));
  graph_free(g);
}
END_TEST

START_TEST(node_ids_are_creation_order_and_topological) {
  Model *m = load_mlp();
  const Graph *g = m->g;
  ck_assert_int_gt(g->len, m->n_forward);
  for (int i = 0; i < g->len; i++) {
    const Node *n = g->nodes[i];
    ck_assert_int_eq(n->id, i);
    for (int k = 0; k < op_info(n->op)->arity; k++) {
      ck_assert_ptr_nonnull(n->in[k]);
      ck_assert_int_lt(n->in[k]->id, n->id);
    }
    for (int k = op_info(n->op)->arity; k < MAX_INPUTS; k++) ck_assert_ptr_null(n->in[k]);
  }
  model_free(m);
}
END_TEST

START_TEST(leaf_constructors) {
  Graph *g = graph_new();
  /* inputs and targets are always batched, params and state never, whatever is asked */
  Node *x = g_input(g, "x", shp(false, 1, 4), NO_LOC);
  Node *y = g_target(g, "y", shp(false, 1, 2), NO_LOC);
  Node *p = g_param(g, "p", shp(true, 1, 4), NO_LOC);
  Node *lr = g_hyper(g, "lr", NO_LOC);
  ck_assert(x->shape.batched && y->shape.batched && !p->shape.batched);
  /* feed slots are numbered in creation order across inputs, targets and hypers */
  ck_assert_int_eq(x->attr.slot, 0);
  ck_assert_int_eq(y->attr.slot, 1);
  ck_assert_int_eq(lr->attr.slot, 2);
  ck_assert_int_eq(g->n_feeds, 3);
  ck_assert_ptr_eq(graph_find(g, OP_PARAM, "p"), p);
  ck_assert_ptr_null(graph_find(g, OP_INPUT, "p"));
  /* a broadcast of a broadcast collapses to one broadcast of the original */
  Node *s = g_param(g, "s", shape_scalar(false), NO_LOC);
  Node *b1 = g_broadcast(g, s, shp(false, 1, 4), NO_LOC);
  Node *b2 = g_broadcast(g, b1, shp(false, 2, 3, 4), NO_LOC);
  ck_assert_ptr_eq(b2->in[0], s);
  /* reduce_like is the identity on an equal shape */
  ck_assert_ptr_eq(g_reduce_like(g, p, p->shape, NO_LOC), p);
  graph_free(g);
}
END_TEST

START_TEST(op_table_is_consistent) {
  ck_assert_str_eq(op_name(OP_ADD), "add");
  ck_assert_str_eq(op_name(OP_POWC), "pow");
  for (int i = 0; i < OP_COUNT; i++) {
    const OpInfo *o = op_info((DlcOp)i);
    ck_assert_msg(o->name && o->name[0], "op %d has no name", i);
    ck_assert_int_ge(o->arity, 0);
    ck_assert_int_le(o->arity, MAX_INPUTS);
    for (int j = 0; j < i; j++) ck_assert_str_ne(o->name, op_name((DlcOp)j));
    /* the class fixes the arity (EFFECT: ASSIGN has 2, OUTPUT 1) */
    switch (o->cls) {
    case LEAF: ck_assert_int_eq(o->arity, 0); break;
    case UNARY: case REDUCE: case ROW: case VIEW: ck_assert_int_eq(o->arity, 1); break;
    case BINARY: case GEMM: case CONV: ck_assert_int_eq(o->arity, 2); break;
    case MOVE:
    case EFFECT: ck_assert_int_ge(o->arity, 1); break;
    }
    /* an op the language calls by name (front/builtins.c: builtin_op) takes its inputs and,
     * for a SCALAR attribute, one number: elementwise or row ops of those attribute kinds */
    if (o->flags & CALL) {
      ck_assert(o->cls == UNARY || o->cls == BINARY || o->cls == ROW);
      ck_assert(o->attr == ATTR_NONE || o->attr == ATTR_SCALAR);
      ck_assert_int_eq(op_callable(o->name), i);
    }
    /* only scalar leaves are inlined; leaves and sinks are never differentiated */
    if (op_is_inline((DlcOp)i)) ck_assert_int_eq(o->cls, LEAF);
    if (o->cls == LEAF || o->cls == EFFECT) ck_assert(!o->differentiable);
  }
  ck_assert(op_is_elementwise(OP_MUL));
  ck_assert(!op_is_elementwise(OP_GEMM));
}
END_TEST

/* ---- schedule ---- */

/* Epilogues (epilogue.c): a tiled conv's bias add and tanh are computed where the conv
 * stores, into the tanh's buffer, placed when the conv runs (the conv gets none, its
 * workspace its own block); not when the tree reads a value made after the kernel (1), a
 * bias broadcast along the rows (2), or when the kernel has a second reader (3). */
START_TEST(epilogues_computed_where_kernels_store) {
  for (int variant = 0; variant < 4; variant++) {
    Graph *g = graph_new();
    Arena arena;
    arena_init(&arena);
    Window w;
    ck_assert(window_make(4, 6, 6, 3, 1, 1, &w, NULL, 0));
    w.maps = 8;
    w.choice[CONV_FWD] = (ConvChoice){CONV_KERNEL_TILED, 4, 1};
    Node *x = g_input(g, "x", shp(true, 3, 4, 6, 6), NO_LOC), *x8 = g_input(g, "x8", shp(true, 3, 8, 6, 6), NO_LOC);
    Node *W = g_param(g, "W", shp(false, 2, 8, 36), NO_LOC);
    Node *b = g_param(g, "b", variant == 2 ? shp(false, 3, 1, 1, 6) : shp(false, 3, 8, 1, 1), NO_LOC);
    Node *y = g_conv(g, x, W, &w, NO_LOC);
    Node *late = g_unary(g, OP_EXP, x8, NO_LOC); /* made after the conv; stored (two readers) */
    Node *t = g_unary(g, OP_TANH, g_binary(g, OP_ADD, y, variant == 1 ? late : b, NO_LOC), NO_LOC);
    Node *roots[4] = {g_output(g, t, NO_LOC), g_output(g, late, NO_LOC), g_output(g, g_unary(g, OP_NEG, late, NO_LOC), NO_LOC),
                      variant == 3 ? g_output(g, y, NO_LOC) : NULL};
    Schedule s = schedule_build(g, roots, variant == 3 ? 4 : 3, &arena);
    schedule_fuse(g, &s, &arena);
    MemPlan plan = memplan_build(g, &s, 2, lower_workspace, &arena);
    if (variant == 0) {
      ck_assert_ptr_eq(s.epilogue[y->id], t);
      ck_assert_ptr_eq(schedule_site(&s, t), y);
      ck_assert_ptr_eq(schedule_site(&s, t->in[0]), y);
      ck_assert_int_eq(plan.offset[y->id], -1);
      ck_assert_int_ge(plan.offset[t->id], plan.persist_floats);
      ck_assert_int_ge(plan.workspace[y->id], plan.persist_floats);
    } else {
      ck_assert_msg(!s.epilogue[y->id], "variant %d: an epilogue", variant);
      ck_assert_int_ge(plan.offset[y->id], plan.persist_floats);
    }
    arena_free(&arena);
    graph_free(g);
  }
}
END_TEST

/* The new value of a persistent leaf is computed in the leaf's own buffer only when no node
 * reads the old value after that loop: here r reads p after v = 2p is computed (in creation
 * order), so v gets a buffer of its own; created the other way round, v writes p. */
START_TEST(update_in_place_only_when_the_old_value_is_dead) {
  for (int r_first = 0; r_first < 2; r_first++) {
    Graph *g = graph_new();
    Arena arena;
    arena_init(&arena);
    Node *x = g_input(g, "x", shp(true, 1, 3), NO_LOC);
    Node *p = g_param(g, "p", shp(false, 1, 3), NO_LOC);
    Node *r = r_first ? g_binary(g, OP_ADD, x, p, NO_LOC) : NULL;
    Node *v = g_binary(g, OP_MUL, p, g_const(g, 2, NO_LOC), NO_LOC);
    if (!r_first) r = g_binary(g, OP_ADD, x, p, NO_LOC);
    Node *roots[2] = {g_assign(g, p, v, NO_LOC), g_output(g, r, NO_LOC)};
    Schedule s = schedule_build(g, roots, 2, &arena);
    schedule_fuse(g, &s, &arena);
    MemPlan plan = memplan_build(g, &s, 4, lower_workspace, &arena);
    if (r_first) {
      ck_assert_ptr_eq(s.in_place[v->id], p);
      ck_assert_ptr_eq(schedule_storage(&s, v), p);
      ck_assert_int_eq(plan.offset[v->id], plan.offset[p->id]);
    } else {
      ck_assert_ptr_null(s.in_place[v->id]);
      ck_assert_int_ge(plan.offset[v->id], plan.persist_floats);
    }
    arena_free(&arena);
    graph_free(g);
  }
  /* the old value read later through a view (a reshape), or stored into another leaf: v
   * keeps a buffer of its own */
  for (int via_store = 0; via_store < 2; via_store++) {
    Graph *g = graph_new();
    Arena arena;
    arena_init(&arena);
    Node *x = g_input(g, "x", shp(true, 1, 3), NO_LOC);
    Node *p = g_param(g, "p", shp(false, 1, 3), NO_LOC);
    Node *v = g_binary(g, OP_MUL, p, g_const(g, 2, NO_LOC), NO_LOC);
    Node *later;
    if (via_store) {
      later = g_assign(g, g_state(g, "q", shp(false, 1, 3), NO_LOC), p, NO_LOC);
    } else {
      Node *view = g_reshape(g, p, shp(false, 2, 3, 1), NO_LOC);
      later = g_output(g, g_binary(g, OP_ADD, x, g_reshape(g, view, shp(false, 1, 3), NO_LOC), NO_LOC), NO_LOC);
    }
    Node *roots[2] = {g_assign(g, p, v, NO_LOC), later};
    Schedule s = schedule_build(g, roots, 2, &arena);
    schedule_fuse(g, &s, &arena);
    ck_assert_msg(!s.in_place[v->id], "via %s: computed in place", via_store ? "a store" : "a view");
    arena_free(&arena);
    graph_free(g);
  }
  /* SGD with momentum: the velocity and the weights are both written in place (the weights'
   * update reads the velocity's new value, which is then in the velocity's buffer) */
  Model *m = load_momentum_mlp();
  const Schedule *step = &m->fns[FN_TRAIN].sched;
  int assigns = 0;
  for (int i = 0; i < step->len; i++) {
    const Node *a = step->order[i];
    if (a->op != OP_ASSIGN) continue;
    assigns++;
    ck_assert_ptr_eq(schedule_storage(step, a->in[1]), a->in[0]);
  }
  ck_assert_int_eq(assigns, 8); /* W, b of two layers, and their velocities */
  model_free(m);
}
END_TEST

START_TEST(schedule_drops_dead_nodes_and_puts_assigns_last) {
  Graph *g = graph_new();
  Arena arena;
  arena_init(&arena);
  Node *x = g_input(g, "x", shp(true, 1, 3), NO_LOC);
  Node *p = g_param(g, "p", shp(false, 1, 3), NO_LOC);
  Node *dead = g_unary(g, OP_EXP, x, NO_LOC);
  Node *two = g_const(g, 2, NO_LOC);
  Node *v = g_binary(g, OP_MUL, p, two, NO_LOC);
  Node *asg = g_assign(g, p, v, NO_LOC);
  /* created after the ASSIGN, but it reads the old p, so it must run before it */
  Node *r = g_binary(g, OP_ADD, x, p, NO_LOC);
  Node *out = g_output(g, r, NO_LOC);
  Node *also_dead = g_unary(g, OP_NEG, r, NO_LOC);
  Node *roots[2] = {asg, out};
  Schedule s = schedule_build(g, roots, 2, &arena);
  ck_assert_int_eq(s.len, 7); /* x p two v r out asg */
  ck_assert_ptr_eq(s.order[s.len - 1], asg);
  int pos[16];
  for (int i = 0; i < g->len; i++) pos[i] = -1;
  for (int i = 0; i < s.len; i++) pos[s.order[i]->id] = i;
  ck_assert_int_eq(pos[dead->id], -1);
  ck_assert_int_eq(pos[also_dead->id], -1);
  ck_assert_int_lt(pos[r->id], pos[asg->id]);
  for (int i = 0; i < s.len; i++)
    for (int k = 0; k < op_info(s.order[i]->op)->arity; k++) ck_assert_int_lt(pos[s.order[i]->in[k]->id], i);
  /* from the output alone, the update is dead */
  s = schedule_build(g, &out, 1, &arena);
  ck_assert_int_eq(s.len, 4); /* x p r out */
  for (int i = 0; i < s.len; i++) ck_assert_int_ne(s.order[i]->op, OP_ASSIGN);
  arena_free(&arena);
  graph_free(g);
}
END_TEST

START_TEST(schedules_of_a_training_graph) {
  Model *m = load_mlp();
  const Schedule *fwd = &m->fns[FN_FORWARD].sched, *step = &m->fns[FN_TRAIN].sched;
  /* inference needs none of autodiff's nodes, nor the target */
  for (int i = 0; i < fwd->len; i++) {
    const Node *n = fwd->order[i];
    ck_assert(n->id < m->n_forward || n == m->out_result);
    ck_assert_int_ne(n->op, OP_TARGET);
  }
  /* the train step: topological, every ASSIGN after every other node, one per param */
  int *pos = malloc(sizeof(int) * (size_t)m->g->len);
  for (int i = 0; i < m->g->len; i++) pos[i] = -1;
  int first_assign = step->len, assigns = 0;
  for (int i = 0; i < step->len; i++) {
    const Node *n = step->order[i];
    pos[n->id] = i;
    for (int k = 0; k < op_info(n->op)->arity; k++) ck_assert_int_ge(pos[n->in[k]->id], 0);
    if (n->op == OP_ASSIGN) {
      assigns++;
      if (first_assign == step->len) first_assign = i;
    } else {
      ck_assert_int_eq(first_assign, step->len);
    }
  }
  ck_assert_int_eq(assigns, 4); /* W1 b1 W2 b2 */
  free(pos);
  model_free(m);
}
END_TEST

/* ---- memory plan ---- */

/* Whether a has a buffer of its own in this function: not fused into its reader's loop,
 * not a view of another node's buffer. */
static bool owns_buffer(const Schedule *s, const Node *a) {
  return node_has_buffer(a) && schedule_site(s, a) == a && schedule_storage(s, a) == a;
}

/* Every pair of buffers whose live ranges [definition, last use] overlap in the schedule
 * must occupy disjoint ranges; all offsets are aligned and inside the plan. A fused node
 * reads its inputs where its chain's final reader runs; reading a view reads the buffer it
 * shares. Returns the sum of the buffer sizes. */
static int64_t check_plan(const Graph *g, const Schedule *s, const MemPlan *p) {
  int *def = malloc(sizeof(int) * (size_t)g->len), *last = malloc(sizeof(int) * (size_t)g->len);
  for (int i = 0; i < g->len; i++) def[i] = last[i] = -1;
  for (int pos = 0; pos < s->len; pos++) def[s->order[pos]->id] = pos;
  for (int pos = 0; pos < s->len; pos++) {
    const Node *x = s->order[pos];
    int at = def[schedule_site(s, x)->id];
    for (int k = 0; k < op_info(x->op)->arity; k++) {
      int id = schedule_storage(s, x->in[k])->id;
      if (at > last[id]) last[id] = at;
    }
  }
  int64_t sum = 0;
  int buffered = 0;
  for (int i = 0; i < s->len; i++) {
    const Node *a = s->order[i];
    if (schedule_storage(s, a) != a) ck_assert_int_eq(p->offset[a->id], p->offset[schedule_storage(s, a)->id]);
    if (!owns_buffer(s, a)) {
      if (a->op != OP_PARAM && a->op != OP_STATE && schedule_storage(s, a) == a) ck_assert_int_eq(p->offset[a->id], -1);
      continue;
    }
    buffered++;
    int64_t oa = p->offset[a->id], sa = buffer_size(a, p->batch);
    sum += sa;
    ck_assert_int_ge(oa, p->persist_floats);
    ck_assert_int_le(oa + sa, p->total_floats);
    ck_assert_int_eq(oa % ARENA_ALIGN_FLOATS, 0);
    int la = last[a->id] > i ? last[a->id] : i;
    for (int j = i + 1; j < s->len; j++) {
      const Node *b = s->order[j];
      if (!owns_buffer(s, b)) continue;
      if (j > la) continue; /* b is defined after a's last use */
      int64_t ob = p->offset[b->id], sb = buffer_size(b, p->batch);
      ck_assert_msg(oa + sa <= ob || ob + sb <= oa,
                    "node %d (%s) [%lld, %lld) and node %d (%s) [%lld, %lld) are live together and overlap", a->id,
                    op_name(a->op), (long long)oa, (long long)(oa + sa), b->id, op_name(b->op), (long long)ob,
                    (long long)(ob + sb));
    }
  }
  ck_assert_int_gt(buffered, 0);
  free(def);
  free(last);
  return sum;
}

START_TEST(memplan_live_buffers_never_overlap) {
  Model *m = load_mlp();
  for (int k = 0; k < FN_COUNT; k++) {
    ck_assert_int_eq(m->fns[k].plan.batch, 10); /* mlp.net's batch */
    check_plan(m->g, &m->fns[k].sched, &m->fns[k].plan);
  }
  model_free(m);
  m = load_momentum_mlp();
  for (int k = 0; k < FN_COUNT; k++) check_plan(m->g, &m->fns[k].sched, &m->fns[k].plan);
  model_free(m);
}
END_TEST

static void check_persistent(const Model *m) {
  const MemPlan *f = &m->fns[FN_FORWARD].plan, *t = &m->fns[FN_TRAIN].plan;
  ck_assert_int_eq(f->persist_floats, t->persist_floats);
  ck_assert_int_eq(f->persist_floats % ARENA_ALIGN_FLOATS, 0);
  int64_t top = 0;
  for (int i = 0; i < m->g->len; i++) {
    const Node *n = m->g->nodes[i];
    if (n->op != OP_PARAM && n->op != OP_STATE) continue;
    /* the same place in both functions, so the train step updates what inference reads;
     * laid out in id order, so each starts at or after the end of the previous one */
    ck_assert_int_eq(f->offset[i], t->offset[i]);
    ck_assert_int_eq(t->offset[i] % ARENA_ALIGN_FLOATS, 0);
    ck_assert_int_ge(t->offset[i], top);
    top = t->offset[i] + shape_numel(n->shape);
    ck_assert_int_le(top, t->persist_floats);
  }
}

START_TEST(memplan_persistent_region_is_shared) {
  Model *m = load_mlp();
  check_persistent(m);
  /* W1 is the first leaf: it starts the arena */
  ck_assert_int_eq(m->fns[FN_TRAIN].plan.offset[graph_find(m->g, OP_PARAM, "W1")->id], 0);
  model_free(m);
  m = load_momentum_mlp();
  int states = 0;
  for (int i = 0; i < m->g->len; i++) states += m->g->nodes[i]->op == OP_STATE;
  ck_assert_int_eq(states, 4); /* a velocity per param */
  check_persistent(m);
  model_free(m);
}
END_TEST

START_TEST(memplan_reuses_memory) {
  Model *m = load_mlp();
  const MemPlan *p = &m->fns[FN_TRAIN].plan;
  int64_t sum = check_plan(m->g, &m->fns[FN_TRAIN].sched, p);
  int64_t scratch = p->total_floats - p->persist_floats;
  ck_assert_int_gt(scratch, 0);
  ck_assert_msg(scratch < sum, "no reuse: scratch %lld floats, buffers %lld floats", (long long)scratch,
                (long long)sum);
  /* the arena the model asks for covers both functions */
  ck_assert_int_ge(m->arena_floats, p->total_floats);
  ck_assert_int_ge(m->arena_floats, m->fns[FN_FORWARD].plan.total_floats);
  model_free(m);
}
END_TEST

START_TEST(memplan_output_never_overlaps_inputs) {
  /* a chain of elementwise ops: each input dies where its reader is defined, yet the reader
   * must not be placed on top of it */
  Graph *g = graph_new();
  Arena arena;
  arena_init(&arena);
  Node *x = g_input(g, "x", shp(true, 1, 20), NO_LOC);
  Node *a = g_unary(g, OP_EXP, x, NO_LOC);
  Node *b = g_unary(g, OP_TANH, a, NO_LOC);
  Node *c = g_unary(g, OP_NEG, b, NO_LOC);
  Node *d = g_binary(g, OP_ADD, c, c, NO_LOC);
  Node *out = g_output(g, d, NO_LOC);
  Schedule s = schedule_build(g, &out, 1, &arena);
  MemPlan p = memplan_build(g, &s, 3, lower_workspace, &arena);
  check_plan(g, &s, &p);
  ck_assert_int_eq(p.persist_floats, 0);
  /* 60 floats round up to 64; two buffers at a time suffice */
  ck_assert_int_eq(p.total_floats, 128);
  ck_assert_int_eq(p.offset[a->id], 0);
  ck_assert_int_eq(p.offset[b->id], 64);
  ck_assert_int_eq(p.offset[c->id], 0);
  arena_free(&arena);
  graph_free(g);
}
END_TEST

/* ---- reference interpreter ---- */

typedef struct Run {
  Arena arena;
  Interp it;
} Run;

/* Runs the part of g that the nodes `want` need, with n rows. */
static void run(Run *r, const Graph *g, Node **want, int n_want, int n, double **leaf, const double *const *feeds) {
  arena_init(&r->arena);
  Schedule s = schedule_build(g, want, n_want, &r->arena);
  r->it = (Interp){.g = g, .n = n, .leaf = leaf, .feeds = feeds};
  interp_run(&r->it, schedule_nodes(&s), NULL);
}

static void run_free(Run *r) {
  interp_clear(&r->it);
  arena_free(&r->arena);
}

static void expect_values(const Run *r, const Node *x, const double *want, int len) {
  ck_assert_int_eq(interp_size(x, r->it.n), len);
  const double *got = r->it.val[x->id];
  for (int i = 0; i < len; i++)
    ck_assert_msg(fabs(got[i] - want[i]) < 1e-7, "%s[%d] = %.9g, expected %.9g", op_name(x->op), i, got[i], want[i]);
}

START_TEST(interp_softmax) {
  Graph *g = graph_new();
  Node *x = g_input(g, "x", shp(true, 1, 3), NO_LOC);
  Node *sm = g_row(g, OP_SOFTMAX, x, NO_LOC), *lsm = g_row(g, OP_LOG_SOFTMAX, x, NO_LOC);
  /* the second row is the first + 1000: softmax must not overflow, and is shift-invariant */
  double xs[6] = {1, 2, 3, 1001, 1002, 1003};
  const double *feeds[1] = {xs};
  Node *want[2] = {sm, lsm};
  Run r;
  run(&r, g, want, 2, 2, NULL, feeds);
  /* e^k / (e + e^2 + e^3); log-sum-exp of [1,2,3] = 3.40760596444438 */
  double e = exp(1.0), sum = e + e * e + e * e * e;
  double s[6] = {e / sum, e * e / sum, e * e * e / sum, e / sum, e * e / sum, e * e * e / sum};
  ck_assert_double_eq_tol(s[0], 0.0900305731703805, 1e-12);
  expect_values(&r, sm, s, 6);
  double ls[6] = {-2.40760596444438, -1.40760596444438, -0.40760596444438,
                  -2.40760596444438, -1.40760596444438, -0.40760596444438};
  expect_values(&r, lsm, ls, 6);
  run_free(&r);
  graph_free(g);
}
END_TEST

START_TEST(interp_sum_to) {
  Graph *g = graph_new();
  Node *x = g_input(g, "x", shp(true, 1, 3), NO_LOC);
  Node *cols = g_sum_to(g, x, shp(false, 1, 3), NO_LOC);   /* over the batch */
  Node *rows = g_sum_to(g, x, shape_scalar(true), NO_LOC);  /* within each example */
  Node *all = g_sum_to(g, x, shape_scalar(false), NO_LOC);  /* everything */
  double xs[6] = {1, 0, -1, 2, 1, 0.5};
  const double *feeds[1] = {xs};
  Node *want[3] = {cols, rows, all};
  Run r;
  run(&r, g, want, 3, 2, NULL, feeds);
  expect_values(&r, cols, (double[]){3, 1, -0.5}, 3);
  expect_values(&r, rows, (double[]){0, 3.5}, 2);
  expect_values(&r, all, (double[]){3.5}, 1);
  run_free(&r);
  graph_free(g);
}
END_TEST

START_TEST(interp_gemm_transposes) {
  Graph *g = graph_new();
  Node *A = g_param(g, "A", shp(false, 2, 2, 3), NO_LOC);
  Node *B = g_param(g, "B", shp(false, 2, 2, 3), NO_LOC);
  Node *C = g_param(g, "C", shp(false, 2, 3, 2), NO_LOC);
  Node *x = g_input(g, "x", shp(true, 1, 3), NO_LOC);
  Node *abt = g_gemm(g, A, B, false, true, NO_LOC);  /* A B^T   [2, 2] */
  Node *atb = g_gemm(g, A, B, true, false, NO_LOC);  /* A^T B   [3, 3] */
  Node *atct = g_gemm(g, A, C, true, true, NO_LOC);  /* A^T C^T [3, 3] = (C A)^T */
  Node *xat = g_gemm(g, x, A, false, true, NO_LOC);  /* x A^T   batch [2] (W @ x) */
  Node *xth = g_gemm(g, x, xat, true, false, NO_LOC); /* x^T h, summed over rows: [3, 2] */
  double a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {7, 8, 9, 10, 11, 12}, c[6] = {1, 2, 3, 4, 5, 6};
  double *leaf[16] = {0};
  leaf[A->id] = a;
  leaf[B->id] = b;
  leaf[C->id] = c;
  double xs[6] = {1, 0, -1, 2, 1, 0};
  const double *feeds[1] = {xs};
  Node *want[5] = {abt, atb, atct, xat, xth};
  Run r;
  run(&r, g, want, 5, 2, leaf, feeds);
  expect_values(&r, abt, (double[]){50, 68, 122, 167}, 4);
  expect_values(&r, atb, (double[]){47, 52, 57, 64, 71, 78, 81, 90, 99}, 9);
  expect_values(&r, atct, (double[]){9, 19, 29, 12, 26, 40, 15, 33, 51}, 9);
  /* rows [1,0,-1] and [2,1,0] times A^T */
  expect_values(&r, xat, (double[]){-2, -2, 4, 13}, 4);
  expect_values(&r, xth, (double[]){6, 24, 4, 13, 2, 2}, 6);
  run_free(&r);
  graph_free(g);
}
END_TEST

START_TEST(interp_elementwise_broadcast_and_assign) {
  Graph *g = graph_new();
  Node *x = g_input(g, "x", shp(true, 1, 3), NO_LOC);
  Node *p = g_param(g, "p", shp(false, 1, 3), NO_LOC);
  Node *lr = g_hyper(g, "lr", NO_LOC);
  Node *y = g_binary(g, OP_ADD, x, p, NO_LOC);                 /* p added to each row */
  Node *z = g_powc(g, g_binary(g, OP_MUL, y, lr, NO_LOC), 2, NO_LOC);
  Node *nb = g_binary(g, OP_MUL, g_inv_batch(g, NO_LOC), g_sum_to(g, z, p->shape, NO_LOC), NO_LOC);
  Node *asg = g_assign(g, p, g_binary(g, OP_SUB, p, nb, NO_LOC), NO_LOC);
  Node *out = g_output(g, z, NO_LOC);
  double pv[3] = {1, 2, 3}, xs[6] = {0, 1, 2, 3, 4, 5}, half = 0.5;
  double *leaf[16] = {0};
  leaf[p->id] = pv;
  const double *feeds[2] = {xs, &half};
  double result[6];
  double *results[1] = {result};
  Arena arena;
  arena_init(&arena);
  Node *roots[2] = {out, asg};
  Schedule s = schedule_build(g, roots, 2, &arena);
  Interp it = {.g = g, .n = 2, .leaf = leaf, .feeds = feeds};
  interp_run(&it, schedule_nodes(&s), results);
  /* y = [[1,3,5],[4,6,8]]; z = (y/2)^2 = [[.25,2.25,6.25],[4,9,16]] */
  double want[6] = {0.25, 2.25, 6.25, 4, 9, 16};
  for (int i = 0; i < 6; i++) ck_assert_double_eq_tol(result[i], want[i], 1e-12);
  /* p -= mean over rows of z: [1 - 2.125, 2 - 5.625, 3 - 11.125]; z was computed from the old p */
  ck_assert_double_eq_tol(pv[0], -1.125, 1e-12);
  ck_assert_double_eq_tol(pv[1], -3.625, 1e-12);
  ck_assert_double_eq_tol(pv[2], -8.125, 1e-12);
  interp_clear(&it);
  arena_free(&arena);
  graph_free(g);
}
END_TEST

static Suite *graph_suite(void) {
  Suite *s = suite_create("graph");
  TCase *tc = tcase_create("shape");
  tcase_add_test(tc, broadcast_equal_shapes);
  tcase_add_test(tc, broadcast_scalar);
  tcase_add_test(tc, broadcast_right_aligned);
  tcase_add_test(tc, broadcast_incompatible);
  tcase_add_test(tc, broadcast_batched_flag);
  tcase_add_test(tc, broadcasts_to);
  tcase_add_test(tc, broadcast_index_middle_axis);
  tcase_add_test(tc, broadcast_index_other_cases);
  tcase_add_test(tc, shape_strings);
  tcase_add_test(tc, shape_basics);
  suite_add_tcase(s, tc);

  tc = tcase_create("constructors");
  tcase_add_test(tc, binary_checked_errors_name_both_shapes);
  tcase_add_test(tc, matmul_weight_times_batched_vector);
  tcase_add_test(tc, matmul_inner_dimension_mismatch);
  tcase_add_test(tc, matmul_per_example_matrices);
  tcase_add_test(tc, gemm_shape_rules);
  tcase_add_test(tc, node_ids_are_creation_order_and_topological);
  tcase_add_test(tc, leaf_constructors);
  tcase_add_test(tc, op_table_is_consistent);
  suite_add_tcase(s, tc);

  tc = tcase_create("schedule");
  tcase_add_test(tc, schedule_drops_dead_nodes_and_puts_assigns_last);
  tcase_add_test(tc, schedules_of_a_training_graph);
  tcase_add_test(tc, memplan_live_buffers_never_overlap);
  tcase_add_test(tc, memplan_persistent_region_is_shared);
  tcase_add_test(tc, memplan_reuses_memory);
  tcase_add_test(tc, memplan_output_never_overlaps_inputs);
  tcase_add_test(tc, update_in_place_only_when_the_old_value_is_dead);
  tcase_add_test(tc, epilogues_computed_where_kernels_store);
  suite_add_tcase(s, tc);

  tc = tcase_create("interp");
  tcase_add_test(tc, interp_softmax);
  tcase_add_test(tc, interp_sum_to);
  tcase_add_test(tc, interp_gemm_transposes);
  tcase_add_test(tc, interp_elementwise_broadcast_and_assign);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(graph_suite()); }
