/* check_passes.c — each graph pass on a graph built for it, before and after: what it
 * rewrites, what it must leave alone, and that the verifier accepts the result (and
 * rejects a broken graph). Then the whole pipeline on the examples: nothing changes what a
 * training step computes (compared with the reference evaluator) while CSE removes nodes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "helpers.h"
#include "attr.h"
#include "interp.h"
#include "passes.h"

static char vmsg[256]; /* graph_verify's message */

static Shape vec(bool batched, int n) { return shape_make(batched, 1, (int[]){n}); }

START_TEST(fold_turns_constant_arithmetic_into_constants) {
  Graph *g = graph_new();
  Node *a = g_const(g, 2, NO_LOC), *b = g_const(g, 3, NO_LOC);
  Node *sum = g_binary(g, OP_ADD, a, b, NO_LOC);
  Node *e = g_unary(g, OP_EXP, g_const(g, 0, NO_LOC), NO_LOC);
  Node *bad = g_binary(g, OP_DIV, a, g_const(g, 0, NO_LOC), NO_LOC); /* inf: stays */
  Node *x = g_input(g, "x", vec(true, 3), NO_LOC);
  Node *use = g_binary(g, OP_MUL, x, sum, NO_LOC);
  ck_assert(pass_fold(g));
  ck_assert_int_eq(sum->op, OP_CONST);
  ck_assert_float_eq(sum->attr.c, 5);
  ck_assert_int_eq(e->op, OP_CONST);
  ck_assert_float_eq(e->attr.c, 1);
  ck_assert_int_eq(bad->op, OP_DIV);
  ck_assert_ptr_eq(use->in[1], sum); /* folded where it stands: users unchanged */
  ck_assert(!pass_fold(g));          /* nothing left to do */
  ck_assert_ptr_null(graph_verify(g, vmsg, sizeof vmsg));
  graph_free(g);
}
END_TEST

START_TEST(simplify_removes_identities_but_keeps_broadcasts) {
  Graph *g = graph_new();
  Node *x = g_input(g, "x", vec(true, 3), NO_LOC), *s = g_param(g, "s", shape_scalar(false), NO_LOC);
  Node *times_one = g_binary(g, OP_MUL, x, g_const(g, 1, NO_LOC), NO_LOC);
  Node *plus_zero = g_binary(g, OP_ADD, g_const(g, 0, NO_LOC), times_one, NO_LOC);
  Node *negneg = g_unary(g, OP_NEG, g_unary(g, OP_NEG, plus_zero, NO_LOC), NO_LOC);
  Node *pow1 = g_powc(g, negneg, 1, NO_LOC);
  Node *widened = g_binary(g, OP_MUL, s, g_const(g, 1, NO_LOC), NO_LOC); /* s*1 is s: same shape */
  Node *spread = g_binary(g, OP_ADD, g_broadcast(g, s, x->shape, NO_LOC), g_const(g, 0, NO_LOC), NO_LOC);
  Node *out = g_output(g, g_binary(g, OP_ADD, pow1, g_binary(g, OP_MUL, spread, widened, NO_LOC), NO_LOC), NO_LOC);
  ck_assert(pass_simplify(g));
  Node *top = out->in[0];
  ck_assert_ptr_eq(top->in[0], x);                    /* ((-(-(0 + x*1)))^1 is x */
  ck_assert_ptr_eq(top->in[1]->in[1], s);             /* s*1 is s */
  ck_assert_int_eq(top->in[1]->in[0]->op, OP_BROADCAST); /* broadcast + 0 is the broadcast, kept */
  ck_assert_ptr_null(graph_verify(g, vmsg, sizeof vmsg));
  graph_free(g);
}
END_TEST

START_TEST(cse_merges_equal_computations_only) {
  Graph *g = graph_new();
  Node *x = g_input(g, "x", vec(true, 4), NO_LOC);
  Node *p = g_param(g, "p", vec(false, 4), NO_LOC), *q = g_param(g, "q", vec(false, 4), NO_LOC);
  Node *a = g_binary(g, OP_MUL, x, p, NO_LOC), *b = g_binary(g, OP_MUL, x, p, NO_LOC);
  Node *c = g_binary(g, OP_MUL, x, q, NO_LOC); /* another parameter: different */
  Node *t1 = g_unary(g, OP_TANH, a, NO_LOC), *t2 = g_unary(g, OP_TANH, b, NO_LOC);
  Node *k1 = g_powc(g, t1, 2, NO_LOC), *k2 = g_powc(g, t2, 3, NO_LOC); /* exponents differ */
  Node *o1 = g_output(g, g_binary(g, OP_ADD, k1, k2, NO_LOC), NO_LOC);
  Node *o2 = g_output(g, c, NO_LOC);
  ck_assert(pass_cse(g));
  ck_assert_ptr_eq(k2->in[0], t1); /* tanh(x*p) once */
  ck_assert_ptr_eq(t1->in[0], a);
  ck_assert_ptr_eq(o1->in[0]->in[1], k2); /* x^2 and x^3 stay apart */
  ck_assert_ptr_eq(o2->in[0], c);
  ck_assert_ptr_ne(p, q); /* leaves are never merged */
  ck_assert(!pass_cse(g));
  ck_assert_ptr_null(graph_verify(g, vmsg, sizeof vmsg));
  graph_free(g);
}
END_TEST

/* ---- CSE and attributes: one case per attribute kind of ops.def ---- */

/* Three nodes of one op on the same inputs and of one shape: `same` twice (to be merged) and
 * `other` once, differing from them only in the attribute (to stay apart). Each is read by an
 * OUTPUT; after CSE the second OUTPUT reads the first node, the third its own. */
static void expect_cse(Graph *g, Node *same1, Node *same2, Node *other) {
  ck_assert(shape_equal(same1->shape, other->shape) && same1->op == other->op);
  ck_assert(attr_equal(same1->op, &same1->attr, &same2->attr));
  ck_assert(attr_hash(same1->op, &same1->attr) == attr_hash(same2->op, &same2->attr));
  ck_assert(!attr_equal(same1->op, &same1->attr, &other->attr));
  Node *o1 = g_output(g, same1, NO_LOC), *o2 = g_output(g, same2, NO_LOC), *o3 = g_output(g, other, NO_LOC);
  pass_cse(g);
  ck_assert_ptr_eq(o1->in[0], same1);
  ck_assert_ptr_eq(o2->in[0], same1);
  ck_assert_ptr_eq(o3->in[0], other);
  ck_assert_ptr_null(graph_verify(g, vmsg, sizeof vmsg));
}

/* expect_cse on three nodes made in this order (arguments are evaluated in any order). */
#define MAKE3(a, b, c)                \
  do {                                \
    Node *n1_ = (a), *n2_ = (b);      \
    expect_cse(g, n1_, n2_, (c));     \
  } while (0)

START_TEST(cse_compares_every_attribute_kind) {
  AttrKind kind = (AttrKind)_i;
  Graph *g = graph_new();
  Node *x = g_input(g, "x", vec(true, 4), NO_LOC);
  switch (kind) {
  case ATTR_NONE: { /* no attribute: equal inputs are enough, other inputs are not */
    Node *y = g_input(g, "y", vec(true, 4), NO_LOC);
    Node *t1 = g_unary(g, OP_TANH, x, NO_LOC), *t2 = g_unary(g, OP_TANH, x, NO_LOC), *t3 = g_unary(g, OP_TANH, y, NO_LOC);
    ck_assert(attr_equal(OP_TANH, &t1->attr, &t3->attr));
    Node *o2 = g_output(g, t2, NO_LOC), *o3 = g_output(g, t3, NO_LOC);
    ck_assert(pass_cse(g));
    ck_assert(o2->in[0] == t1 && o3->in[0] == t3);
    break;
  }
  case ATTR_SCALAR: /* bit for bit: 0.0 and -0.0 are different constants, and exponents */
    MAKE3(g_const(g, 0.0f, NO_LOC), g_const(g, 0.0f, NO_LOC), g_const(g, -0.0f, NO_LOC));
    MAKE3(g_powc(g, x, 2, NO_LOC), g_powc(g, x, 2, NO_LOC), g_powc(g, x, 3, NO_LOC));
    break;
  case ATTR_GEMM: { /* x W and x W^T, W square */
    Node *W = g_param(g, "W", shape_make(false, 2, (int[]){4, 4}), NO_LOC);
    MAKE3(g_gemm(g, x, W, false, false, NO_LOC), g_gemm(g, x, W, false, false, NO_LOC), g_gemm(g, x, W, false, true, NO_LOC));
    break;
  }
  case ATTR_WINDOW: { /* two connection tables with as many connections, or another stride */
    static const unsigned char t1[4] = {1, 0, 0, 1}, t2[4] = {0, 1, 1, 0};
    Node *img = g_input(g, "img", shape_make(true, 3, (int[]){2, 5, 5}), NO_LOC);
    Node *K = g_param(g, "K", shape_make(false, 2, (int[]){2, 9}), NO_LOC);
    Window w, v;
    ck_assert(window_make(2, 5, 5, 3, 1, 0, &w, NULL, 0));
    w.maps = 2;
    v = w;
    w.connect = t1;
    v.connect = t2;
    Window w_copy = w; /* the graph keeps its own copy of a window and its table */
    MAKE3(g_conv(g, img, K, &w, NO_LOC), g_conv(g, img, K, &w_copy, NO_LOC), g_conv(g, img, K, &v, NO_LOC));
    Window p2, p1;
    ck_assert(window_make(2, 5, 5, 1, 2, 0, &p2, NULL, 0)); /* 1x1 windows, stride 2: 3x3 */
    ck_assert(window_make(2, 5, 5, 3, 1, 0, &p1, NULL, 0)); /* 3x3 windows, stride 1: 3x3 */
    MAKE3(g_pool(g, OP_MAXPOOL, img, &p2, NO_LOC), g_pool(g, OP_MAXPOOL, img, &p2, NO_LOC),
          g_pool(g, OP_MAXPOOL, img, &p1, NO_LOC));
    break;
  }
  case ATTR_FEED: { /* fed leaves are never merged, whatever their slot */
    Node *y = g_input(g, "y", vec(true, 4), NO_LOC);
    ck_assert(!attr_equal(OP_INPUT, &x->attr, &y->attr));
    Node *o = g_output(g, g_binary(g, OP_ADD, x, y, NO_LOC), NO_LOC);
    pass_cse(g);
    ck_assert(o->in[0]->in[0] == x && o->in[0]->in[1] == y);
    break;
  }
  case ATTR_RESULT: { /* effects are never merged: two results of one value stay two */
    Node *o1 = g_output(g, x, NO_LOC), *o2 = g_output(g, x, NO_LOC);
    ck_assert(!attr_equal(OP_OUTPUT, &o1->attr, &o2->attr));
    ck_assert(!pass_cse(g));
    ck_assert(o1->in[0] == x && o2->in[0] == x);
    break;
  }
  case ATTR_AXIS: { /* the maximum along the first or the second axis of a square */
    Node *m = g_input(g, "m", shape_make(true, 2, (int[]){3, 3}), NO_LOC);
    MAKE3(g_reduce_max(g, m, 0, NO_LOC), g_reduce_max(g, m, 0, NO_LOC), g_reduce_max(g, m, 1, NO_LOC));
    Node *c1 = g_concat(g, m, m, 0, NO_LOC);
    ck_assert(!attr_equal(OP_CONCAT, &c1->attr, &g_concat(g, m, m, 1, NO_LOC)->attr));
    break;
  }
  case ATTR_AXES: { /* two permutations of a cube */
    Node *t = g_input(g, "t", shape_make(true, 3, (int[]){2, 2, 2}), NO_LOC);
    MAKE3(g_permute(g, t, (int[]){1, 2, 0}, NO_LOC), g_permute(g, t, (int[]){1, 2, 0}, NO_LOC),
          g_permute(g, t, (int[]){2, 0, 1}, NO_LOC));
    break;
  }
  case ATTR_RANGE: /* slices of one size at two starts, and along another axis */
    MAKE3(g_slice(g, x, 0, 1, 2, NO_LOC), g_slice(g, x, 0, 1, 2, NO_LOC), g_slice(g, x, 0, 2, 2, NO_LOC));
    break;
  default: ck_abort_msg("no CSE case for attribute kind %d: add one", kind);
  }
  graph_free(g);
}
END_TEST

START_TEST(verifier_rejects_broken_graphs) {
  Graph *g = graph_new();
  Node *x = g_input(g, "x", vec(true, 4), NO_LOC), *p = g_param(g, "p", vec(false, 4), NO_LOC);
  Node *y = g_binary(g, OP_ADD, x, p, NO_LOC);
  ck_assert_ptr_null(graph_verify(g, vmsg, sizeof vmsg));
  y->shape = vec(true, 5); /* a shape its inputs do not broadcast to */
  ck_assert_ptr_nonnull(graph_verify(g, vmsg, sizeof vmsg));
  y->shape = vec(true, 4);
  Node *z = g_unary(g, OP_TANH, y, NO_LOC);
  y->in[1] = z; /* reads a node created after it */
  ck_assert_ptr_nonnull(strstr(graph_verify(g, vmsg, sizeof vmsg), "created after it"));
  graph_free(g);
}
END_TEST

/* The verifier applies every op's shape rule, whatever its class: a wrong shape in a gemm,
 * a window op, a view, a leaf, an effect is caught, with the node and the reason. */
START_TEST(verifier_checks_every_class) {
  for (int which = 0; which < 6; which++) {
    Graph *g = graph_new();
    Node *x = g_input(g, "x", vec(true, 4), NO_LOC), *W = g_param(g, "W", shape_make(false, 2, (int[]){3, 4}), NO_LOC);
    Node *img = g_input(g, "img", shape_make(true, 3, (int[]){1, 4, 4}), NO_LOC);
    Window w;
    ck_assert(window_make(1, 4, 4, 2, 2, 0, &w, NULL, 0));
    Node *h = g_gemm(g, x, W, false, true, NO_LOC);          /* batch x [3] */
    Node *p = g_pool(g, OP_MAXPOOL, img, &w, NO_LOC);        /* batch x [1, 2, 2] */
    Node *r = g_reshape(g, p, vec(true, 4), NO_LOC);         /* batch x [4] */
    Node *a = g_assign(g, W, g_binary(g, OP_MUL, W, g_const(g, 2, NO_LOC), NO_LOC), NO_LOC);
    Node *s = g_sum_to(g, h, shape_scalar(true), NO_LOC);
    ck_assert_ptr_null(graph_verify(g, vmsg, sizeof vmsg));
    const char *expect = NULL;
    switch (which) {
    case 0: h->shape = vec(true, 4), expect = "gemm"; break;
    case 1: p->shape = shape_make(true, 3, (int[]){1, 3, 3}), expect = "maxpool"; break;
    case 2: r->shape = vec(true, 5), expect = "cannot reshape"; break;
    case 3: W->shape.batched = true, expect = "param"; break;
    case 4: a->in[0] = h, expect = "only a parameter or state"; break;
    default: s->shape = vec(true, 2), expect = "sum_to"; break;
    }
    const char *why = graph_verify(g, vmsg, sizeof vmsg);
    ck_assert_msg(why && strstr(why, expect), "case %d: %s", which, why ? why : "accepted");
    graph_free(g);
  }
}
END_TEST

/* ---- the whole pipeline against no passes at all ---- */

/* Models whose training step the pipeline must not change: the examples, and inline ones
 * with more state (Adam's moments, batch norm's running statistics, dropout's noise). */
static const char *const PIPELINE_FILES[] = {"mlp.net", "mlp_relu.net", "lenet.net", "lenet_relu.net", "resnet.net"};
static const char *const PIPELINE_TEXTS[] = {
    "input x : [1, 28, 28]\n"
    "target y : onehot(10)\n"
    "c = relu(batchnorm(conv(x, 3, 3, pad: 1)))\n"
    "h = dropout(tanh(batchnorm(dense(flatten(maxpool(c, 2)), 12), momentum: 0.3)), 0.25)\n"
    "out = dense(h, 10)\n"
    "loss = cross_entropy(out, y)\n"
    "train { optimizer = adam(lr: 0.01, weight_decay: 0.01); batch = 4 }\n",
    "input x : [784]\n"
    "target y : onehot(10)\n"
    "h = sigmoid(dense(x, 9))\n"
    "out = dense(h, 10)\n"
    "loss = sum((y - softmax(out))^2) + 0.001 * sum(h^2)\n"
    "train { optimizer = rmsprop(lr: 0.01); clip = 1; batch = 4 }\n",
    /* the ops along axes and their attributes (CSE must keep different axes, slopes, ranges
     * and permutations apart), products per example, grouped convolutions */
    "input x : [1, 28, 28]\n"
    "target y : onehot(10)\n"
    "param A : [5, 28]\n"
    "c = conv(x, 4, 3, pad: 1, bias: false)\n"
    "d = conv(c, 4, 3, groups: 4)\n"
    "m = A @ reshape(x, [28, 28])\n"
    "e = concat(max(d, axis: 1), max(d, axis: 2), axis: 1)\n"
    "f = concat(flatten(e), flatten(permute(m, [1, 0])), flatten(transpose(m)), flatten(slice(m, 1, 3, axis: 1)))\n"
    "g = leaky_relu(f, 0.1) + leaky_relu(f, 0.2) + leaky_relu(f, -0.0) + gelu(f) + softplus(f) + min(f, 0) + abs(f)\n"
    "out = dense(layernorm(concat(g, global_avgpool(d))), 10)\n"
    "loss = cross_entropy(out, y) + 0.01 * sum(slice(m, 0, 2, axis: 1))\n"
    "train { optimizer = sgd(lr: 0.1, momentum: 0.9); batch = 4 }\n",
};
enum { N_PIPELINE_FILES = sizeof PIPELINE_FILES / sizeof *PIPELINE_FILES };
enum { N_PIPELINE = N_PIPELINE_FILES + sizeof PIPELINE_TEXTS / sizeof *PIPELINE_TEXTS };

static Model *pipeline_model(int i, bool with_passes) {
  ModelConfig cfg = model_config();
  cfg.stop_after = with_passes ? NULL : "none";
  if (i >= N_PIPELINE_FILES) return load_model_text_config(PIPELINE_TEXTS[i - N_PIPELINE_FILES], &cfg, NULL);
  char path[512];
  snprintf(path, sizeof path, DLC_SOURCE_DIR "/examples/%s", PIPELINE_FILES[i]);
  return model_load(path, &cfg);
}

/* One training step of m's graph by the reference evaluator, from the same deterministic
 * parameters, state and batch whatever the model: the loss sum, and every PARAM and STATE
 * after the step in leaf[] (by node id). */
static double reference_step(Model *m, double **leaf) {
  const Graph *g = m->g;
  int n = 2;
  double sum = 0;
  double **feeds = calloc((size_t)g->n_feeds, sizeof *feeds);
  for (int i = 0; i < g->len; i++) {
    Node *x = g->nodes[i];
    int64_t size = interp_size(x, n);
    if (x->op == OP_PARAM || x->op == OP_STATE) {
      leaf[i] = malloc(sizeof(double) * (size_t)size);
      for (int64_t k = 0; k < size; k++)
        leaf[i][k] = x->op == OP_PARAM ? 0.05 * sin(0.7 * (double)(k + i)) : 0.01 * (1.5 + cos(0.3 * (double)k)); /* state > 0: variances */
    } else if (op_is_fed_buffer(x->op) || x->op == OP_HYPER) {
      feeds[x->attr.slot] = calloc((size_t)size, sizeof(double));
      for (int64_t k = 0; k < size; k++)
        feeds[x->attr.slot][k] = x->op == OP_TARGET  ? (k % 10 == 3)
                                 : x->op == OP_HYPER ? (x->name && strcmp(x->name, "training") == 0 ? 1 : 0.01)
                                                     : fabs(sin((double)k));
    }
  }
  Interp it = {g, n, NULL, 0, leaf, (const double *const *)feeds};
  double **results = calloc((size_t)g->n_results, sizeof *results);
  results[m->loss_sum->attr.slot] = &sum;
  interp_run(&it, schedule_nodes(&m->fns[FN_TRAIN].sched), results);
  interp_clear(&it);
  for (int i = 0; i < g->n_feeds; i++) free(feeds[i]);
  free(feeds);
  free(results);
  return sum;
}

/* The largest difference, relative to the leaf's scale, between the parameters and state of
 * two models of one file after reference_step (the passes create no node, so a leaf has the
 * same id in both); *where names it. */
static double leaf_difference(const Model *a, double **la, const Model *b, double **lb, const char **where) {
  double worst = 0;
  *where = "nothing";
  ck_assert_int_eq(a->n_before_passes, b->n_before_passes);
  for (int i = 0; i < a->n_before_passes; i++) {
    const Node *x = a->g->nodes[i], *y = b->g->nodes[i];
    if (x->op != OP_PARAM && x->op != OP_STATE) continue;
    ck_assert(y->op == x->op && strcmp(x->name, y->name) == 0);
    double scale = 1e-6;
    int64_t numel = shape_numel(x->shape);
    for (int64_t k = 0; k < numel; k++) scale = fmax(scale, fabs(la[i][k]));
    for (int64_t k = 0; k < numel; k++) {
      double d = fabs(la[i][k] - lb[i][k]) / scale;
      if (d > worst) worst = d, *where = x->name;
    }
  }
  return worst;
}

static void free_leaves(const Model *m, double **leaf) {
  for (int i = 0; i < m->g->len; i++) free(leaf[i]);
  free(leaf);
}

/* Both models (without and with the passes), stepped; returns the leaf difference and the
 * losses. `corrupt`, if set, is applied to the graph with the passes before it runs. */
static double pipeline_difference(int i, double loss[2], int nodes[2], const char **where, void (*corrupt)(Model *)) {
  Model *m[2];
  double **leaf[2];
  for (int with = 0; with < 2; with++) {
    m[with] = pipeline_model(i, with);
    ck_assert_ptr_nonnull(m[with]);
    ck_assert(model_build_training(m[with]));
    ck_assert_ptr_null(graph_verify(m[with]->g, vmsg, sizeof vmsg));
    if (with && corrupt) corrupt(m[with]);
    nodes[with] = m[with]->fns[FN_TRAIN].sched.len;
    leaf[with] = calloc((size_t)m[with]->g->len, sizeof *leaf[with]);
    loss[with] = reference_step(m[with], leaf[with]);
  }
  double d = leaf_difference(m[0], leaf[0], m[1], leaf[1], where);
  for (int with = 0; with < 2; with++) {
    free_leaves(m[with], leaf[with]);
    model_free(m[with]);
  }
  return d;
}

/* The pipeline on each model: the training graph verifies and loses nodes to CSE, and a
 * training step computes the same loss, parameters and optimiser state (momenta, Adam's
 * moments, running statistics) as without the passes, by the reference evaluator. */
START_TEST(pipeline_preserves_the_training_step) {
  double loss[2];
  int nodes[2];
  const char *where;
  double d = pipeline_difference(_i, loss, nodes, &where, NULL);
  ck_assert_msg(fabs(loss[0] - loss[1]) <= 1e-9 * fabs(loss[0]), "model %d: loss %.12g without the passes, %.12g with",
                _i, loss[0], loss[1]);
  ck_assert_msg(d <= 1e-9, "model %d: %s differs by %g (relative) after a step with the passes", _i, where, d);
  ck_assert_msg(nodes[1] < nodes[0], "model %d: the passes removed nothing (%d nodes)", _i, nodes[0]);
}
END_TEST

/* A pass that broke the update (here: a momentum of 0.9 becomes 0.95 in the graph the passes
 * made) leaves the loss alone; the comparison of the state must see it. */
static void wrong_momentum(Model *m) {
  for (int i = m->n_before_update; i < m->g->len; i++)
    if (m->g->nodes[i]->op == OP_CONST && m->g->nodes[i]->attr.c == 0.9f) m->g->nodes[i]->attr.c = 0.95f;
}

START_TEST(pipeline_check_sees_a_broken_update) {
  double loss[2];
  int nodes[2];
  const char *where;
  double d = pipeline_difference(1, loss, nodes, &where, wrong_momentum); /* mlp_relu: momentum 0.9 */
  ck_assert_msg(fabs(loss[0] - loss[1]) <= 1e-9 * fabs(loss[0]), "the loss itself changed");
  ck_assert_msg(d > 1e-6, "a wrong momentum went unnoticed (difference %g, at %s)", d, where);
}
END_TEST

static Suite *passes_suite(void) {
  Suite *s = suite_create("passes");
  TCase *tc = tcase_create("passes");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, fold_turns_constant_arithmetic_into_constants);
  tcase_add_test(tc, simplify_removes_identities_but_keeps_broadcasts);
  tcase_add_test(tc, cse_merges_equal_computations_only);
  tcase_add_loop_test(tc, cse_compares_every_attribute_kind, 0, ATTR_KINDS);
  tcase_add_test(tc, verifier_rejects_broken_graphs);
  tcase_add_test(tc, verifier_checks_every_class);
  tcase_add_loop_test(tc, pipeline_preserves_the_training_step, 0, N_PIPELINE);
  tcase_add_test(tc, pipeline_check_sees_a_broken_update);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(passes_suite()); }
