/* check_builtins.c — the built-in functions made of the ops added for everyday models
 * (reshape, permute, concat, slice, reductions over an axis, the activations, layernorm,
 * global average pooling, conv without a bias or in groups, @ with a matrix per example):
 * the shapes they give, the graph they become, and their errors, each at its place. What
 * they compute is checked elsewhere: tests/check_grad.c (every primitive against finite
 * differences, before and after the passes) and tests/check_lower.c (compiled code against
 * the reference on odd shapes). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "helpers.h"

/* An MNIST model around `body`, which defines the value to look at, `v`. */
#define MODEL(body)                                                                                  \
  "input x : [1, 28, 28]\ntarget y : onehot(10)\nparam A : [5, 28]\nparam u : [28]\n" body \
  "out = dense(flatten(x), 10)\nloss = cross_entropy(out, y)\n"

/* The node bound to `name` (a let), or NULL. */
static const Node *bound(const Model *m, const char *name) {
  for (int i = 0; i < m->g->len; i++) {
    const Node *n = m->g->nodes[i];
    if (n->name && strcmp(n->name, name) == 0 && op_info(n->op)->cls != LEAF) return n;
  }
  return NULL;
}

static char *shape_text(Shape s) {
  static char buf[SHAPE_STR_MAX];
  return (char *)shape_str(s, buf, sizeof buf);
}

typedef struct ShapeCase {
  const char *text; /* defines v */
  const char *shape;
} ShapeCase;

static const ShapeCase shape_cases[] = {
    {"v = reshape(x, [28, 28])\n", "batch x [28, 28]"},
    {"v = reshape(x, [4, -1, 2])\n", "batch x [4, 98, 2]"},
    {"v = transpose(reshape(x, [14, 56]))\n", "batch x [56, 14]"},
    {"v = transpose(A)\n", "[28, 5]"},
    {"v = permute(reshape(x, [2, 7, 56]), [2, 0, 1])\n", "batch x [56, 2, 7]"},
    {"v = concat(x, x, x, axis: 1)\n", "batch x [1, 84, 28]"},
    {"v = concat(x, sqrt(x), axis: -1)\n", "batch x [1, 28, 56]"},
    {"v = slice(x, 3, 10, axis: 2)\n", "batch x [1, 28, 7]"},
    {"v = slice(x, -4, -1, axis: -2)\n", "batch x [1, 3, 28]"},
    {"v = sum(x, axis: 1)\n", "batch x [1, 28]"},
    {"v = mean(x, axis: -1)\n", "batch x [1, 28]"},
    {"v = max(x, axis: 0)\n", "batch x [28, 28]"},
    {"v = min(x, axis: 2)\n", "batch x [1, 28]"},
    {"v = max(x)\n", "batch x []"},
    {"v = max(x, 0.5)\n", "batch x [1, 28, 28]"},
    {"v = min(u, x)\n", "batch x [1, 28, 28]"},
    {"v = sum(A, axis: 0)\n", "[28]"},
    {"v = global_avgpool(conv(x, 6, 3))\n", "batch x [6]"},
    {"v = layernorm(x)\n", "batch x [1, 28, 28]"},
    {"v = gelu(x) + silu(x) + elu(x) + elu(x, alpha: 0.1) + softplus(x) + erf(x) + abs(x)\n", "batch x [1, 28, 28]"},
    {"v = leaky_relu(x, 0.01) + clamp(x, -1, 1) + sqrt(x)\n", "batch x [1, 28, 28]"},
    {"v = A @ reshape(x, [28, 28])\n", "batch x [5, 28]"},
    {"v = reshape(x, [28, 28]) @ transpose(A)\n", "batch x [28, 5]"},
    {"v = reshape(x, [28, 28]) @ reshape(x, [28, 28])\n", "batch x [28, 28]"},
    {"v = reshape(x, [28, 28]) @ u\n", "batch x [28]"},
    {"v = u @ reshape(x, [28, 28])\n", "batch x [28]"},
    {"v = A @ u\n", "[5]"},
    {"v = conv(x, 4, 3, bias: false)\n", "batch x [4, 26, 26]"},
    {"v = conv(conv(x, 4, 3), 8, 3, groups: 4, stride: 2)\n", "batch x [8, 12, 12]"},
};
enum { N_SHAPE_CASES = sizeof shape_cases / sizeof *shape_cases };

START_TEST(builtins_give_their_shapes) {
  const ShapeCase *c = &shape_cases[_i];
  char text[1024], *diags = NULL;
  snprintf(text, sizeof text, MODEL("%s"), c->text);
  Model *m = load_model_text(text, &diags);
  ck_assert_msg(m, "%s: %s", c->text, diags);
  const Node *v = bound(m, "v");
  ck_assert_ptr_nonnull(v);
  ck_assert_msg(strcmp(shape_text(v->shape), c->shape) == 0, "%s: %s, not %s", c->text, shape_text(v->shape), c->shape);
  free(diags);
  model_free(m);
}
END_TEST

typedef struct ErrorCase {
  const char *text;
  const char *error; /* a line of the diagnostics: "t.net:LINE:COL: error: ..." without the file */
} ErrorCase;

/* The model's body starts on line 5. */
static const ErrorCase error_cases[] = {
    {"v = reshape(x, [27, 28])\n", ":5:5: error: cannot reshape [1, 28, 28] per example (784 values) to [27, 28] per example (756 values)"},
    {"v = reshape(x, [5, -1])\n", ":5:5: error: cannot reshape [1, 28, 28] per example (784 values) with a -1: the other sizes multiply to 5"},
    {"v = reshape(x, [-1, -1])\n", ":5:16: error: the shape of 'reshape' has sizes from 1 up, and at most one -1 (inferred)"},
    {"v = reshape(x, 784)\n", ":5:16: error: the shape of 'reshape' must be a list [..] of at most 4 whole numbers from -1 to 268435456"},
    {"v = permute(x, [0, 0, 1])\n", ":5:16: error: a permutation of [1, 28, 28] per example lists each of its 3 axes once"},
    {"v = transpose(x)\n", ":5:15: error: 'transpose' swaps the two axes of a matrix, got [1, 28, 28] per example (permute reorders more)"},
    {"v = concat(x, A)\n", ":5:5: error: cannot concatenate [1, 28, 28] per example and [5, 28] along axis 0: the other axes must be equal, and both per example or neither"},
    {"v = concat(x)\n", ":5:5: error: 'concat' expects at least 2 tensors, got 1"},
    {"v = concat(x, x, axis: 3)\n", ":5:24: error: 'axis' of 'concat' must be a whole number from -3 to 2"},
    {"v = slice(x, 5, 5, axis: 1)\n", ":5:5: error: slice from 5 to 5 of axis 1 of [1, 28, 28] per example is empty"},
    {"v = slice(x, 0, 29, axis: 1)\n", ":5:17: error: the end of 'slice' must be a whole number from -28 to 28 (axis 1 has 28 positions)"},
    {"v = sum(x, axis: 1.5)\n", ":5:18: error: 'axis' of 'sum' must be a whole number from -3 to 2"},
    {"v = max(x, A)\n", ":5:5: error: shapes [1, 28, 28] per example and [5, 28] do not match (nor broadcast) for 'max'"},
    {"v = max(x, x, axis: 1)\n", ":5:15: error: 'max' of two tensors is elementwise and takes no axis"},
    {"v = max(x, x, x)\n", ":5:5: error: 'max' expects one tensor (and axis:) or two tensors, got 3 arguments"},
    {"v = leaky_relu(x)\n", ":5:5: error: 'leaky_relu' expects 2 arguments, got 1"},
    {"v = leaky_relu(x, x)\n", ":5:19: error: argument 2 of 'leaky_relu' must be a number"},
    {"v = clamp(x, 1, -1)\n", ":5:5: error: the bounds of 'clamp' are two numbers, the lower first"},
    {"v = global_avgpool(A)\n", ":5:20: error: 'global_avgpool' expects images [channels, height, width] per example, got [5, 28]"},
    {"v = conv(conv(x, 4, 3), 6, 3, groups: 4)\n", ":5:39: error: groups: 4 must divide the 4 input maps and the 6 output maps (at most 4096 input maps)"},
    {"v = conv(x, 4, 3, bias: maybe)\n", ":5:25: error: 'bias' of 'conv' is true or false"},
    {"table t = { [X] }\nv = conv(x, 1, 3, connect: t, groups: 1)\n", ""}, /* groups: 1 is no grouping: fine */
    {"v = reshape(x, [28, 28]) @ A\n", ":5:26: error: matrix product of [28, 28] per example and [5, 28]: inner dimensions differ (28 vs 5)"},
    {"v = A @ x\n", ":5:7: error: matrix product needs vectors or matrices (per example or shared); got [5, 28] and [1, 28, 28] per example"},
    {"w = [1, 2]\nv = x + w\n", ":6:7: error: a list cannot be used as a value in '+'"},
    {"v = -[1, 2]\n", ":5:5: error: a list cannot be negated"},
    {"v = reshape(x, [28, x])\n", ":5:21: error: the items of a list are numbers"},
    {"v = sigmoid([1])\n", ":5:13: error: argument 1 of 'sigmoid' must be a tensor, not a list"},
    {"table t = { [X] }\nv = relu(t)\n", ":6:10: error: argument 1 of 'relu' must be a tensor, not a table (constant(...) makes a tensor of one)"},
    {"table t = { [X] }\nv = x + t\n", ":6:9: error: 't' is a table; use it as conv(..., connect: t) or constant(t)"},
    {"v = constant(x)\n", ":5:14: error: 'constant' takes a table (declared with 'table NAME = { ... }') or a list of numbers [a, b, ...]"},
    {"v = constant(2)\n", ":5:14: error: 'constant' takes a table"},
    {"v = constant([1, 2], on: 3)\n", ":5:22: error: on: and off: are the values of a table's cells; a list gives its own"},
    {"table t = { [X] }\nv = constant(t, off: x)\n", ":6:22: error: 'off' of 'constant' must be a number"},
    {"table t = { [X] }\nv = constant(t, of: 1)\n", ":6:17: error: 'constant' has no argument named 'of' (it takes on: and off:); did you mean 'off:'?"},
    {"v = constant([1, 2], [3])\n", ":5:5: error: 'constant' expects 1 argument, got 2"},
    {"v = constant([1, 1e39])\n", ":5:14: error: item 2 of the list is 1e+39, beyond what a float holds (3.4e38)"},
};
enum { N_ERROR_CASES = sizeof error_cases / sizeof *error_cases };

START_TEST(builtin_errors_are_reported_in_place) {
  const ErrorCase *c = &error_cases[_i];
  char text[1024], *diags = NULL;
  snprintf(text, sizeof text, MODEL("%s"), c->text);
  Model *m = load_model_text(text, &diags);
  if (!c->error[0]) {
    ck_assert_msg(m, "%s: %s", c->text, diags);
  } else {
    ck_assert_msg(!m, "%s: accepted", c->text);
    ck_assert_msg(strstr(diags, c->error), "%s: expected\n  model.net%s\ngot\n%s", c->text, c->error, diags);
  }
  free(diags);
  model_free(m);
}
END_TEST

/* The graph some of them become (docs/ops.md lists the decompositions). */
START_TEST(builtins_decompose_into_ops) {
  char *diags = NULL;
  Model *m = load_model_text(MODEL("a = conv(x, 4, 3, bias: false)\n"
                                   "b = conv(a, 4, 3, groups: 4)\n"
                                   "c = sum(x, axis: 1)\n"
                                   "d = A @ reshape(x, [28, 28])\n"
                                   "e = reshape(x, [28, 28]) @ transpose(A)\n"
                                   "f = leaky_relu(x, -0.0)\n"),
                             &diags);
  ck_assert_msg(m, "%s", diags);
  const Node *a = bound(m, "a"), *b = bound(m, "b"), *c = bound(m, "c"), *d = bound(m, "d"), *e = bound(m, "e");
  ck_assert_int_eq(a->op, OP_CONV); /* no bias: the conv itself */
  ck_assert_int_eq(b->op, OP_ADD);  /* a bias per map */
  const Window *w = b->in[0]->attr.win;
  ck_assert_ptr_nonnull(w->connect); /* groups: a block-diagonal table, one kernel per map */
  ck_assert_int_eq(conv_kernels(w), 4);
  ck_assert_str_eq(shape_text(graph_find(m->g, OP_PARAM, "b.W")->shape), "[4, 9]");
  ck_assert_int_eq(c->op, OP_RESHAPE); /* a sum to [1, 1, 28], the axis dropped */
  ck_assert_int_eq(c->in[0]->op, OP_SUM_TO);
  ck_assert(d->op == OP_GEMM && d->attr.gemm.per_example);
  ck_assert(e->op == OP_GEMM && !e->attr.gemm.per_example); /* stacked rows times a shared matrix */
  ck_assert(signbit(bound(m, "f")->attr.c)); /* the slope as written: -0 */
  free(diags);
  model_free(m);
}
END_TEST

/* constant(...): a table's cells (on: where marked, off: elsewhere) or a list's numbers, as
 * a STATE leaf carrying its values: outside the parameter count, never differentiated nor
 * assigned by the training step, and passable through a user function. */
START_TEST(constants_hold_their_values_and_are_not_trained) {
  char *diags = NULL;
  Model *m = load_model_text("input x : [1, 28, 28]\ntarget y : onehot(10)\n"
                             "table t = {\n  [X . X]\n  [. X .]\n}\n"
                             "def scaled(h, tab) = h * sum(constant(tab, on: 2, off: -0.5), axis: 0)\n"
                             "h = scaled(dense(flatten(x), 3), t) + constant([1, 2.5, -3])\n"
                             "out = dense(h, 10)\nloss = cross_entropy(out, y)\n",
                             &diags);
  ck_assert_msg(m, "%s", diags);
  ck_assert(model_build_training(m));
  const Node *k = graph_find(m->g, OP_STATE, "h.value"), *v = graph_find(m->g, OP_STATE, "h_2.value");
  ck_assert_ptr_nonnull(k);
  ck_assert_ptr_nonnull(v);
  ck_assert(node_is_constant(k) && node_is_constant(v));
  ck_assert_str_eq(shape_text(k->shape), "[2, 3]");
  ck_assert_str_eq(shape_text(v->shape), "[3]");
  static const float want_k[] = {2, -0.5f, 2, -0.5f, 2, -0.5f}, want_v[] = {1, 2.5f, -3};
  ck_assert_int_eq(memcmp(k->init.data, want_k, sizeof want_k), 0);
  ck_assert_int_eq(memcmp(v->init.data, want_v, sizeof want_v), 0);
  ck_assert_int_eq(model_param_count(m), 784 * 3 + 3 + 3 * 10 + 10);
  ck_assert_ptr_null(m->grads[k->id]);
  ck_assert_ptr_null(m->grads[v->id]);
  const Schedule *step = &m->fns[FN_TRAIN].sched;
  int assigns = 0;
  for (int i = 0; i < step->len; i++) {
    const Node *n = step->order[i];
    if (n->op != OP_ASSIGN) continue;
    assigns++;
    ck_assert_msg(n->in[0] != k && n->in[0] != v, "the training step assigns a constant");
  }
  ck_assert_int_eq(assigns, 4); /* the four parameters, by plain SGD */
  free(diags);
  model_free(m);
}
END_TEST

static Suite *builtins_suite(void) {
  Suite *s = suite_create("builtins");
  TCase *tc = tcase_create("builtins");
  tcase_add_loop_test(tc, builtins_give_their_shapes, 0, N_SHAPE_CASES);
  tcase_add_loop_test(tc, builtin_errors_are_reported_in_place, 0, N_ERROR_CASES);
  tcase_add_test(tc, builtins_decompose_into_ops);
  tcase_add_test(tc, constants_hold_their_values_and_are_not_trained);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(builtins_suite()); }
