/* check_grad.c — a gradient check of every op in the op table.
 *
 * The test loops over ops.def: each differentiable op must have a case below that builds a
 * small graph around it (with broadcasting, transposes and the other variants it has); the
 * graph's symbolic gradients are checked against central finite differences (double
 * precision reference evaluator) and the JIT-compiled gradients against those, once as
 * built and once after the pass pipeline (fold, simplify, CSE) has rewritten the forward
 * and backward graph together. An op
 * without derivative must instead say where its lowering is exercised. Adding a row to
 * ops.def without extending this file fails the test. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "gradcheck.h"
#include "helpers.h"
#include "interp.h"
#include "passes.h"
#include "rng.h"

enum { ROWS = 3 };

typedef struct Case {
  Graph *g;
  Node *x;  /* batched [4] input */
  Node *p;  /* [4] parameter */
  Node *W;  /* [3, 4] parameter */
  Node *s;  /* [] scalar parameter */
  Node *img; /* batched [2, 5, 5] input: two 5x5 channels */
  Node *q;  /* [2, 1, 1] per-channel parameter */
} Case;

static Case case_new(void) {
  Case c = {graph_new(), NULL, NULL, NULL, NULL, NULL, NULL};
  int d4[1] = {4}, d34[2] = {3, 4}, d255[3] = {2, 5, 5}, d211[3] = {2, 1, 1};
  c.x = g_input(c.g, "x", shape_make(true, 1, d4), NO_LOC);
  c.p = g_param(c.g, "p", shape_make(false, 1, d4), NO_LOC);
  c.W = g_param(c.g, "W", shape_make(false, 2, d34), NO_LOC);
  c.s = g_param(c.g, "s", shape_scalar(false), NO_LOC);
  c.img = g_input(c.g, "img", shape_make(true, 3, d255), NO_LOC);
  c.q = g_param(c.g, "q", shape_make(false, 3, d211), NO_LOC);
  return c;
}

/* A per-example loss that weighs every element of y differently: sum(y * r), with r a
 * random input of y's shape (so no symmetry hides a wrong gradient). */
static Node *weighted_loss(Case *c, Node *y) {
  Shape rs = y->shape;
  rs.batched = true;
  Node *r = g_input(c->g, "r", rs, NO_LOC);
  return g_sum_to(c->g, g_binary(c->g, OP_MUL, y, r, NO_LOC), shape_scalar(true), NO_LOC);
}

static Node *bin(Case *c, DlcOp op, Node *a, Node *b) { return g_binary(c->g, op, a, b, NO_LOC); }
static Node *un(Case *c, DlcOp op, Node *a) { return g_unary(c->g, op, a, NO_LOC); }
/* a = x * p + s: mixed signs, every parameter involved. */
static Node *affine(Case *c) { return bin(c, OP_ADD, bin(c, OP_MUL, c->x, c->p), c->s); }
/* strictly positive: 0.5 + x * x * p * p */
static Node *positive(Case *c) {
  Node *xp = bin(c, OP_MUL, c->x, c->p);
  return bin(c, OP_ADD, bin(c, OP_MUL, xp, xp), g_const(c->g, 0.5f, NO_LOC));
}

/* img * q + s: images that depend on two parameters. */
static Node *image(Case *c) { return bin(c, OP_ADD, bin(c, OP_MUL, c->img, c->q), c->s); }

static Window window(int k, int stride, int pad) {
  Window w;
  ck_assert(window_make(2, 5, 5, k, stride, pad, &w, NULL, 0));
  return w;
}

static Shape shape2(bool batched, int a, int b) {
  int d[2] = {a, b};
  return shape_make(batched, 2, d);
}

/* The graph (its loss) for op, or NULL when there is no case: then the test fails. */
static Node *build_case(DlcOp op, Case *c, int variant, int *n_variants) {
  Graph *g = c->g;
  *n_variants = 1;
  switch (op) {
  case OP_NEG: case OP_EXP: case OP_SIGMOID: case OP_TANH: case OP_RELU: case OP_ABS: case OP_ERF: case OP_SOFTPLUS:
    *n_variants = 2; /* values near 0, and up to about 7 */
    return weighted_loss(c, un(c, op, variant ? bin(c, OP_MUL, affine(c), g_const(g, 3, NO_LOC)) : affine(c)));
  case OP_LEAKY_RELU: { /* a slope below 1, a negative one, one above 1 */
    static const float slopes[] = {0.1f, -0.3f, 2.5f};
    *n_variants = 3;
    return weighted_loss(c, g_op(g, op, affine(c), NULL, &(NodeAttr){.c = slopes[variant]}, c->x->shape, NO_LOC));
  }
  case OP_LOG: return weighted_loss(c, un(c, op, positive(c)));
  case OP_POWC: {
    static const float exps[] = {2, 3, 0.5f, -1, 1.7f};
    *n_variants = 5;
    return weighted_loss(c, g_powc(g, positive(c), exps[variant], NO_LOC));
  }
  case OP_BROADCAST: {
    Shape to = c->x->shape;
    return weighted_loss(c, bin(c, OP_MUL, c->x, g_broadcast(g, variant ? c->p : c->s, to, NO_LOC)));
  }
  case OP_ADD: case OP_SUB: case OP_MUL: case OP_MAX: case OP_MIN: {
    *n_variants = 3; /* batched with vector, vector with batched, batched with scalar */
    Node *a = affine(c);
    Node *lhs = variant == 1 ? c->p : a, *rhs = variant == 1 ? a : variant == 0 ? c->p : c->s;
    return weighted_loss(c, bin(c, op, lhs, rhs));
  }
  case OP_DIV: {
    *n_variants = 2;
    Node *pos = positive(c);
    return weighted_loss(c, variant ? bin(c, op, c->p, pos) : bin(c, op, affine(c), pos));
  }
  case OP_GEMM: {
    /* x W^T (a dense layer), x V, W V (two parameters), and V^T-style batch contraction
     * used by weight gradients: (x^T y) summed over the batch. */
    *n_variants = 7;
    int d43[2] = {4, 3};
    Node *V = g_param(g, "V", shape_make(false, 2, d43), NO_LOC);
    Node *a = affine(c);
    switch (variant) {
    case 0: return weighted_loss(c, g_gemm(g, a, c->W, false, true, NO_LOC));
    case 1: return weighted_loss(c, g_gemm(g, a, V, false, false, NO_LOC));
    case 2: return weighted_loss(c, g_gemm(g, c->W, V, false, false, NO_LOC));
    case 3: {
      Node *h = un(c, OP_TANH, g_gemm(g, a, c->W, false, true, NO_LOC));
      return weighted_loss(c, g_gemm(g, a, h, true, false, NO_LOC));
    }
    default: { /* per example: shared on the left, on the right (transposed), both per example */
      Node *X = g_reshape(g, image(c), shape2(true, 10, 5), NO_LOC);
      Node *P = g_param(g, "P", shape2(false, 3, 10), NO_LOC), *Q = g_param(g, "Q", shape2(false, 2, 5), NO_LOC);
      if (variant == 4) return weighted_loss(c, g_gemm_per_example(g, P, X, false, false, NO_LOC));
      if (variant == 5) return weighted_loss(c, g_gemm_per_example(g, X, Q, false, true, NO_LOC));
      Node *Y = un(c, OP_TANH, g_gemm_per_example(g, X, Q, false, true, NO_LOC)); /* [10, 2] */
      return weighted_loss(c, g_gemm_per_example(g, X, Y, true, false, NO_LOC)); /* [5, 2] */
    }
    }
  }
  case OP_SUM_TO: {
    *n_variants = 3; /* per example, over the batch, over the batch to a scalar */
    Node *a = un(c, OP_TANH, affine(c));
    Shape to = variant == 0 ? shape_scalar(true) : variant == 1 ? c->p->shape : shape_scalar(false);
    return weighted_loss(c, g_sum_to(g, a, to, NO_LOC));
  }
  case OP_SOFTMAX: case OP_LOG_SOFTMAX:
    return weighted_loss(c, g_row(g, op, affine(c), NO_LOC));
  case OP_RESHAPE: return weighted_loss(c, g_reshape(g, affine(c), shape2(true, 2, 2), NO_LOC));
  case OP_PERMUTE: { /* a matrix transposed; images [2, 5, 5] three ways, one keeping the last axis */
    static const int perms[3][3] = {{1, 2, 0}, {2, 0, 1}, {1, 0, 2}};
    *n_variants = 4;
    if (variant == 3) return weighted_loss(c, g_transpose(g, g_reshape(g, image(c), shape2(true, 10, 5), NO_LOC), NO_LOC));
    return weighted_loss(c, g_permute(g, un(c, OP_TANH, image(c)), perms[variant], NO_LOC));
  }
  case OP_CONCAT: { /* images along each axis; two parameters (shared) */
    *n_variants = 4;
    if (variant == 3) return weighted_loss(c, g_concat(g, c->W, bin(c, OP_MUL, c->W, c->W), 0, NO_LOC));
    return weighted_loss(c, g_concat(g, image(c), un(c, OP_TANH, image(c)), variant, NO_LOC));
  }
  case OP_SLICE: { /* a part of each axis of the images (axis, start, size) */
    static const int r[3][3] = {{0, 1, 1}, {1, 1, 3}, {2, 2, 3}};
    *n_variants = 3;
    return weighted_loss(c, g_slice(g, image(c), r[variant][0], r[variant][1], r[variant][2], NO_LOC));
  }
  case OP_PAD: {
    static const int r[3][3] = {{0, 1, 3}, {1, 2, 8}, {2, 0, 7}};
    *n_variants = 3;
    return weighted_loss(c, g_pad(g, image(c), r[variant][0], r[variant][1], r[variant][2], NO_LOC));
  }
  case OP_REDUCE_MAX: { /* along each axis of the images: inner 25, 5 and 1 */
    *n_variants = 3;
    return weighted_loss(c, g_reduce_max(g, image(c), variant, NO_LOC));
  }
  case OP_IM2COL: { /* valid 3x3; strided and padded 3x3; 1x1 */
    static const int geo[3][3] = {{3, 1, 0}, {3, 2, 1}, {1, 1, 0}};
    *n_variants = 3;
    Window w = window(geo[variant][0], geo[variant][1], geo[variant][2]);
    return weighted_loss(c, g_im2col(g, image(c), &w, NO_LOC));
  }
  case OP_COL2IM: { /* overlapping patches, weighted by a parameter, summed back */
    *n_variants = 2;
    Window w = variant ? window(3, 2, 1) : window(2, 1, 0);
    Node *cols = g_im2col(g, image(c), &w, NO_LOC);
    Node *V = g_param(g, "V", shape2(false, cols->shape.dim[0], cols->shape.dim[1]), NO_LOC);
    return weighted_loss(c, g_col2im(g, bin(c, OP_MUL, cols, V), &w, NO_LOC));
  }
  case OP_POOL_SUM: case OP_MAXPOOL: {
    /* 2x2 stride 2 (drops the last row and column); 3x3 stride 2 (overlaps); 3x3 stride 3 */
    *n_variants = 3;
    Window w = variant == 2 ? window(3, 3, 0) : variant ? window(3, 2, 0) : window(2, 2, 0);
    return weighted_loss(c, g_pool(g, op, image(c), &w, NO_LOC));
  }
  case OP_CONV: {
    /* 3x3 valid; 3x3 stride 2 padded (the scalar kernels); 5x5 padded 2 (as LeNet's C1);
     * a connection table (as C3: map 0 reads input 0, map 1 both, map 2 input 1), valid
     * and padded. */
    static const int geo[5][3] = {{3, 1, 0}, {3, 2, 1}, {5, 1, 2}, {3, 1, 0}, {3, 1, 1}};
    static const unsigned char table[2 * 3] = {1, 1, 0, 0, 1, 1};
    *n_variants = 5;
    Window w = window(geo[variant][0], geo[variant][1], geo[variant][2]);
    w.maps = 3;
    w.connect = variant >= 3 ? table : NULL;
    Node *K = g_param(g, "K", shape2(false, conv_kernels(&w), w.k * w.k), NO_LOC);
    return weighted_loss(c, g_conv(g, image(c), K, &w, NO_LOC));
  }
  case OP_UNPOOL_SUM: {
    *n_variants = 2;
    Window w = variant ? window(3, 2, 0) : window(2, 2, 0);
    Node *pooled = g_pool(g, OP_POOL_SUM, image(c), &w, NO_LOC);
    return weighted_loss(c, g_unpool_sum(g, un(c, OP_TANH, pooled), &w, NO_LOC));
  }
  default: return NULL;
  }
}

/* Ops without a derivative, and where the tests exercise their lowering instead. */
static const char *no_grad_coverage(DlcOp op) {
  switch (op) {
  case OP_INPUT: case OP_TARGET: case OP_PARAM: return "every case (leaves)";
  case OP_CONST: return "positive() above; check_lower";
  case OP_NOISE: return "check_lower: a model with dropout";
  case OP_GRAD_IN: return "check_lower: the data-parallel step equals the whole step";
  case OP_INV_BATCH: return "every case: the seed of the backward pass";
  case OP_HYPER: case OP_STATE: case OP_ASSIGN: return "check_lower: the SGD update";
  case OP_STEP: return "the RELU case: relu's derivative";
  case OP_OUTPUT: return "every case: gradients are read through OUTPUTs";
  case OP_MAXPOOL_BACK: return "the MAXPOOL case: maxpool's derivative";
  case OP_REDUCE_MAX_BACK: return "the REDUCE_MAX case: reduce_max's derivative";
  case OP_CONV_DX: case OP_CONV_DW: return "the CONV case: conv's derivatives";
  default: return NULL;
  }
}

static void fill_random(double *v, int64_t n, double lo, double hi, DlrtRng *rng) {
  for (int64_t i = 0; i < n; i++) v[i] = lo + (hi - lo) * dlrt_rng_uniform(rng);
}

/* Random feeds and parameters for the graph; returns the gradcheck result. With `grads`
 * (built by the caller, over the first n_forward nodes) those gradients are checked. */
static GradcheckResult check_case_with(Graph *g, Node *loss, unsigned seed, Node **grads, int n_forward) {
  DlrtRng rng;
  dlrt_rng_seed(&rng, seed);
  int n_nodes = g->len;
  double **leaf = calloc((size_t)n_nodes, sizeof *leaf);
  double **feeds = calloc((size_t)g->n_feeds + 1, sizeof *feeds);
  for (int i = 0; i < n_nodes; i++) {
    Node *x = g->nodes[i];
    int64_t size = interp_size(x, ROWS);
    if (x->op == OP_PARAM) {
      leaf[i] = malloc(sizeof(double) * (size_t)size);
      fill_random(leaf[i], size, 0.3, 1.2, &rng);
      if (rng.s[0] & 1) leaf[i][0] = -leaf[i][0]; /* some negative values too */
    } else if (x->op == OP_INPUT) {
      feeds[x->attr.slot] = malloc(sizeof(double) * (size_t)size);
      fill_random(feeds[x->attr.slot], size, -1, 1, &rng);
    }
  }
  GradcheckResult r = grads ? gradcheck_grads(g, loss, grads, n_forward, ROWS, (const double *const *)feeds, leaf, NULL)
                            : gradcheck_graph(g, loss, ROWS, (const double *const *)feeds, leaf, stdout);
  for (int i = 0; i < n_nodes; i++) free(leaf[i]);
  for (int i = 0; i < g->n_feeds; i++) free(feeds[i]);
  free(leaf);
  free(feeds);
  return r;
}

static GradcheckResult check_case(Graph *g, Node *loss, unsigned seed) { return check_case_with(g, loss, seed, NULL, 0); }

/* The gradients built, then the whole pass pipeline run over forward and backward nodes
 * together (as dlc compiles a model), then checked: a pass that breaks the backward graph
 * fails here. */
static GradcheckResult check_after_passes(Graph *g, Node *loss, unsigned seed) {
  int n_forward = g->len;
  Node **grads = grad_build(g, loss);
  passes_run(g, NULL, true);
  return check_case_with(g, loss, seed, grads, n_forward);
}

START_TEST(every_op_has_a_passing_gradient_check) {
  DlcOp op = (DlcOp)_i;
  if (!op_has_grad(op)) {
    ck_assert_msg(no_grad_coverage(op), "op '%s' has no derivative and no stated test coverage", op_name(op));
    return;
  }
  int n_variants = 1;
  for (int v = 0; v < n_variants; v++)
    for (int passes = 0; passes < 2; passes++) { /* as built, and after the pass pipeline */
      Case c = case_new();
      Node *loss = build_case(op, &c, v, &n_variants);
      ck_assert_msg(loss, "op '%s' has no gradient check case in tests/check_grad.c", op_name(op));
      printf("gradcheck %s (variant %d%s)\n", op_name(op), v, passes ? ", after the passes" : "");
      GradcheckResult r = passes ? check_after_passes(c.g, loss, 17u + (unsigned)v) : check_case(c.g, loss, 17u + (unsigned)v);
      ck_assert_msg(r.params > 0, "%s: no parameter received a gradient", op_name(op));
      ck_assert_msg(r.ok, "%s variant %d%s: gradient mismatch (fd %g, jit %g x tolerance)", op_name(op), v,
                    passes ? " after the passes" : "", r.worst_fd, r.worst_jit);
      graph_free(c.g);
    }
}
END_TEST

/* The check itself must be able to fail: corrupt a derivative (the factor 2 that the rule
 * of x^2 puts into the backward pass becomes 2.5) after the passes, as a broken pass would,
 * and the check must report a mismatch. */
START_TEST(gradcheck_detects_a_wrong_derivative) {
  Case c = case_new();
  Node *loss = weighted_loss(&c, g_powc(c.g, affine(&c), 2, NO_LOC));
  int n_forward = c.g->len;
  Node **grads = grad_build(c.g, loss);
  passes_run(c.g, NULL, true);
  int corrupted = 0;
  for (int i = n_forward; i < c.g->len; i++)
    if (c.g->nodes[i]->op == OP_CONST && c.g->nodes[i]->attr.c == 2) {
      c.g->nodes[i]->attr.c = 2.5f;
      corrupted++;
    }
  ck_assert_int_eq(corrupted, 1);
  GradcheckResult res = check_case_with(c.g, loss, 3, grads, n_forward);
  ck_assert_msg(!res.ok, "a derivative off by 25%% passed the gradient check");
  ck_assert(res.worst_fd > 1000);
  graph_free(c.g);
}
END_TEST

/* A parameter whose step crosses a kink: relu(b + w) with w = 1 and one row's b + w 3e-6 from
 * zero, inside the first step (1e-5): the difference there is off by half the slope, and the
 * check must try shorter steps and pass, counting the element at a kink. */
START_TEST(a_kink_within_the_step_is_told_apart) {
  Graph *g = graph_new();
  Node *b = g_input(g, "b", shape_make(true, 1, (int[]){1}), NO_LOC);
  Node *w = g_param(g, "w", shape_scalar(false), NO_LOC);
  Node *loss = g_sum_to(g, g_unary(g, OP_RELU, g_binary(g, OP_ADD, b, w, NO_LOC), NO_LOC), shape_scalar(true), NO_LOC);
  double **leaf = calloc((size_t)g->len, sizeof *leaf), **feeds = calloc((size_t)g->n_feeds + 1, sizeof *feeds);
  double wv = 1, rows[ROWS] = {-1 + 3e-6, 0.5, 0.25};
  leaf[w->id] = &wv;
  feeds[b->attr.slot] = rows;
  GradcheckResult r = gradcheck_graph(g, loss, ROWS, (const double *const *)feeds, leaf, stdout);
  ck_assert_msg(r.ok && r.kinks == 1, "ok %d, kinks %d, fd %g", r.ok, r.kinks, r.worst_fd);
  free(leaf);
  free(feeds);
  graph_free(g);
}
END_TEST

static Suite *grad_suite(void) {
  Suite *s = suite_create("grad");
  TCase *tc = tcase_create("ops");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, every_op_has_a_passing_gradient_check, 0, OP_COUNT);
  tcase_add_test(tc, gradcheck_detects_a_wrong_derivative);
  tcase_add_test(tc, a_kink_within_the_step_is_told_apart);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(grad_suite()); }
