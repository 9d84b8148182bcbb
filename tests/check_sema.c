/* check_sema.c — semantic analysis (front/sema.c and what it calls): shape inference, layer
 * and user-function expansion, constant folding, the train block and its defaults, the data
 * set's shape against the input, and error reporting (every error, no cascades, notes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "front_helpers.h"

static const char *shape_of(const Node *n) {
  static char buf[SHAPE_STR_MAX];
  return shape_str(n->shape, buf, sizeof buf);
}

static int count_op(const Graph *g, DlcOp op) {
  int k = 0;
  for (int i = 0; i < g->len; i++) k += g->nodes[i]->op == op;
  return k;
}

/* ---- semantic analysis ---- */

START_TEST(sema_shapes_of_an_mlp) {
  Analysed a = analyse(HEADER "param W1 : [100, 784]\nparam b1 : [100]\nparam W2 : [10, 100]\nparam b2 : [10]\n"
                              "h = sigmoid(W1 @ x + b1)\nout = sigmoid(W2 @ h + b2)\nloss = sum((y - out)^2)\n");
  ck_assert_msg(a.ok, "%s", a.diags);
  ck_assert_str_eq(shape_of(a.res.input), "batch x [784]");
  ck_assert_str_eq(shape_of(a.res.target), "batch x [10]");
  ck_assert_str_eq(shape_of(graph_find(a.g, OP_PARAM, "W1")), "[100, 784]");
  /* h names the sigmoid; its input is W1 @ x + b1 */
  const Node *h = a.res.out->in[0]->in[0]->in[0]; /* out = sigmoid(gemm(h, W2) + b2) */
  ck_assert_str_eq(h->name, "h");
  ck_assert_int_eq(h->op, OP_SIGMOID);
  ck_assert_int_eq(h->in[0]->op, OP_ADD);
  ck_assert_str_eq(shape_of(h->in[0]), "batch x [100]");
  ck_assert_str_eq(shape_of(a.res.out), "batch x [10]");
  ck_assert_str_eq(shape_of(a.res.loss), "batch x []"); /* sum is per example */
  ck_assert_int_eq(a.res.loss->op, OP_SUM_TO);
  ck_assert(a.res.out->flags & NF_OUT);
  ck_assert(a.res.loss->flags & NF_LOSS);
  /* an unannotated [n, k] param is lecun-initialised, a vector one zero-initialised */
  ck_assert_int_eq(graph_find(a.g, OP_PARAM, "W1")->init.kind, INIT_LECUN);
  ck_assert_int_eq(graph_find(a.g, OP_PARAM, "b1")->init.kind, INIT_ZEROS);
  analysed_free(&a);
}
END_TEST

START_TEST(sema_via_load_model_text) {
  char *diags = NULL;
  Model *m = load_model_text(HEADER "out = dense(x, 10)\nloss = cross_entropy(out, y)\n", &diags);
  ck_assert_msg(m, "%s", diags);
  ck_assert_str_eq(diags, "");
  ck_assert_str_eq(shape_of(m->sema.out), "batch x [10]");
  ck_assert_str_eq(shape_of(m->sema.loss), "batch x []");
  ck_assert_int_eq(model_param_count(m), 7850);
  model_free(m);
  free(diags);
}
END_TEST

START_TEST(sema_user_function_expansion) {
  Analysed a = analyse(HEADER "def block(v, n) = sigmoid(dense(v, n))\nh = block(x, 20)\nout = block(h, 10)\n"
                              "loss = cross_entropy(out, y)\n");
  ck_assert_msg(a.ok, "%s", a.diags);
  /* layer parameters are named after the let-binding that (indirectly) creates them */
  const Node *W = graph_find(a.g, OP_PARAM, "h.W"), *b = graph_find(a.g, OP_PARAM, "h.b");
  ck_assert_ptr_nonnull(W);
  ck_assert_ptr_nonnull(b);
  ck_assert_str_eq(shape_of(W), "[20, 784]");
  ck_assert_str_eq(shape_of(b), "[20]");
  ck_assert_int_eq(W->init.kind, INIT_LECUN);
  ck_assert_int_eq(b->init.kind, INIT_ZEROS);
  ck_assert_str_eq(shape_of(graph_find(a.g, OP_PARAM, "out.W")), "[10, 20]");
  ck_assert_int_eq(count_op(a.g, OP_PARAM), 4);
  ck_assert_str_eq(shape_of(a.res.out), "batch x [10]");
  analysed_free(&a);
}
END_TEST

START_TEST(sema_second_dense_in_one_binding) {
  Analysed a = analyse(HEADER "out = dense(dense(x, 20), 10)\nloss = cross_entropy(out, y)\n");
  ck_assert_msg(a.ok, "%s", a.diags);
  /* the inner dense runs first and takes the plain names */
  ck_assert_str_eq(shape_of(graph_find(a.g, OP_PARAM, "out.W")), "[20, 784]");
  ck_assert_str_eq(shape_of(graph_find(a.g, OP_PARAM, "out_2.W")), "[10, 20]");
  ck_assert_str_eq(shape_of(graph_find(a.g, OP_PARAM, "out_2.b")), "[10]");
  ck_assert_int_eq(count_op(a.g, OP_PARAM), 4);
  analysed_free(&a);
}
END_TEST

START_TEST(sema_dense_is_a_gemm_with_transposed_weights) {
  Analysed a = analyse(HEADER "out = dense(x, 10, init: normal(std: 0.5))\nloss = cross_entropy(out, y)\n");
  ck_assert_msg(a.ok, "%s", a.diags);
  const Node *add = a.res.out, *gemm = add->in[0];
  ck_assert_int_eq(add->op, OP_ADD);
  ck_assert_int_eq(gemm->op, OP_GEMM);
  ck_assert_ptr_eq(gemm->in[0], a.res.input);
  ck_assert(!gemm->attr.gemm.ta && gemm->attr.gemm.tb);
  const Node *W = graph_find(a.g, OP_PARAM, "out.W");
  ck_assert_int_eq(W->init.kind, INIT_NORMAL);
  ck_assert_float_eq(W->init.a, 0);
  ck_assert_float_eq(W->init.b, 0.5f);
  analysed_free(&a);
}
END_TEST

/* dropout(x, p: 0.2), as the docs write it, is dropout(x, 0.2): the same nodes, the same
 * constants. */
START_TEST(sema_dropout_rate_named_or_positional) {
  Analysed pos = analyse(HEADER "h = dropout(relu(dense(x, 20)), 0.2)\nout = dense(h, 10)\nloss = cross_entropy(out, y)\n");
  Analysed named = analyse(HEADER "h = dropout(relu(dense(x, 20)), p: 0.2)\nout = dense(h, 10)\n"
                                  "loss = cross_entropy(out, y)\n");
  ck_assert_msg(pos.ok, "%s", pos.diags);
  ck_assert_msg(named.ok, "%s", named.diags);
  ck_assert_str_eq(named.diags, "");
  ck_assert_int_eq(named.g->len, pos.g->len);
  int consts = 0;
  for (int i = 0; i < pos.g->len; i++) {
    const Node *a = pos.g->nodes[i], *b = named.g->nodes[i];
    ck_assert_int_eq(a->op, b->op);
    if (a->op != OP_CONST) continue;
    ck_assert_float_eq(a->attr.c, b->attr.c);
    consts++;
  }
  ck_assert_int_eq(count_op(named.g, OP_NOISE), 1);
  ck_assert_int_ge(consts, 2); /* p and 1/(1-p) */
  analysed_free(&pos);
  analysed_free(&named);
}
END_TEST

/* bias: false leaves a layer's bias out (what the warning about batchnorm advises). */
START_TEST(sema_layers_without_bias) {
  Analysed a = analyse("input x : [1, 28, 28]\ntarget y : onehot(10)\n"
                       "c = relu(batchnorm(conv(x, 4, 5, bias: false)))\n"
                       "h = relu(batchnorm(dense(flatten(c), 20, bias: false)))\n"
                       "out = dense(h, 10, bias: 1)\nloss = cross_entropy(out, y)\n");
  ck_assert_msg(a.ok, "%s", a.diags);
  ck_assert_str_eq(a.diags, ""); /* no bias, nothing cancelled */
  ck_assert_ptr_nonnull(graph_find(a.g, OP_PARAM, "c.W"));
  ck_assert_ptr_null(graph_find(a.g, OP_PARAM, "c.b"));
  ck_assert_ptr_nonnull(graph_find(a.g, OP_PARAM, "h.W"));
  ck_assert_ptr_null(graph_find(a.g, OP_PARAM, "h.b"));
  ck_assert_ptr_nonnull(graph_find(a.g, OP_PARAM, "out.b"));
  analysed_free(&a);
}
END_TEST

START_TEST(sema_function_parameters_shadow_globals) {
  /* inside f, `x` is f's parameter (bound to h), not the input */
  Analysed a = analyse(HEADER "def f(x) = x * 2\nh = dense(x, 10)\nout = f(h)\nloss = cross_entropy(out, y)\n");
  ck_assert_msg(a.ok, "%s", a.diags);
  ck_assert_int_eq(a.res.out->op, OP_MUL);
  ck_assert_str_eq(a.res.out->in[0]->name, "h");
  analysed_free(&a);
}
END_TEST

START_TEST(sema_numbers_are_folded) {
  Analysed a = analyse(HEADER "k = 2 * 3\nout = dense(x, 10)\np = out ^ k\nq = out ^ (2 * 3)\n"
                              "r = out * (2 ^ 3 ^ 2)\nloss = sum(p + q + r)\n");
  ck_assert_msg(a.ok, "%s", a.diags);
  const Node *p = NULL, *q = NULL, *r = NULL;
  for (int i = 0; i < a.g->len; i++) {
    const Node *n = a.g->nodes[i];
    if (!n->name) continue;
    if (!strcmp(n->name, "p")) p = n;
    if (!strcmp(n->name, "q")) q = n;
    if (!strcmp(n->name, "r")) r = n;
  }
  ck_assert_int_eq(p->op, OP_POWC);
  ck_assert_float_eq(p->attr.c, 6);
  ck_assert_int_eq(q->op, OP_POWC);
  ck_assert_float_eq(q->attr.c, 6);
  /* 2 ^ 3 ^ 2 = 2 ^ 9 (right-associative), folded into one constant */
  ck_assert_int_eq(r->in[1]->op, OP_CONST);
  ck_assert_float_eq(r->in[1]->attr.c, 512);
  analysed_free(&a);
}
END_TEST

START_TEST(sema_train_settings) {
  Analysed a = analyse(HEADER "out = dense(x, 10)\nloss = cross_entropy(out, y)\n"
                              "train { data = mnist; optimizer = sgd(lr: 0.5, momentum: 0.9, nesterov: 1, "
                              "weight_decay: 0.0005)\n batch = 64; epochs = 3; seed = 7 }\n");
  ck_assert_msg(a.ok, "%s", a.diags);
  const TrainSettings *t = &a.res.train;
  ck_assert_int_eq(t->data.kind, DATA_MNIST);
  ck_assert_double_eq(t->lr, 0.5);
  ck_assert_int_eq(t->batch, 64);
  ck_assert_int_eq(t->epochs, 3);
  ck_assert_uint_eq(t->seed, 7);
  ck_assert_float_eq(t->opt.momentum, 0.9f);
  ck_assert(t->opt.nesterov);
  ck_assert_float_eq(t->opt.weight_decay, 0.0005f);
  analysed_free(&a);
  /* a plain `lr` setting */
  a = analyse(HEADER "out = dense(x, 10)\nloss = cross_entropy(out, y)\ntrain { lr = 0.25 }\n");
  ck_assert_msg(a.ok, "%s", a.diags);
  ck_assert_double_eq(a.res.train.lr, 0.25);
  analysed_free(&a);
}
END_TEST

START_TEST(sema_train_defaults) {
  Analysed a = analyse(HEADER "out = dense(x, 10)\nloss = cross_entropy(out, y)\n");
  ck_assert_msg(a.ok, "%s", a.diags);
  const TrainSettings *t = &a.res.train;
  ck_assert_int_eq(t->data.kind, DATA_MNIST);
  ck_assert_double_eq(t->lr, 0.1);
  ck_assert_int_eq(t->batch, 32);
  ck_assert_int_eq(t->epochs, 10);
  ck_assert_uint_eq(t->seed, 1);
  ck_assert_float_eq(t->opt.momentum, 0);
  ck_assert(!t->opt.nesterov);
  ck_assert_float_eq(t->opt.weight_decay, 0);
  analysed_free(&a);
}
END_TEST

START_TEST(sema_reports_every_error) {
  Analysed a = analyse(HEADER "param W : [10, 783]\na = W @ x\nb = nosuch(x)\nout = dense(x, 10)\n"
                              "loss = cross_entropy(out, y)\n");
  ck_assert(!a.ok);
  ck_assert_int_eq(a.errors, 2);
  ck_assert_str_eq(a.diags,
                   "t.net:4:7: error: matrix product of [10, 783] and [784] per example: inner dimensions differ "
                   "(783 vs 784)\n"
                   "  a = W @ x\n"
                   "        ^\n"
                   "t.net:5:5: error: unknown function 'nosuch' (docs/language.md lists the built-in functions)\n"
                   "  b = nosuch(x)\n"
                   "      ^\n");
  analysed_free(&a);
}
END_TEST

START_TEST(sema_errors_do_not_cascade) {
  /* h is an error value: using it (and then out, loss) reports nothing more */
  Analysed a = analyse(HEADER "h = nosuch + 1\nout = dense(h, 10)\nloss = cross_entropy(out, y)\n");
  ck_assert_int_eq(a.errors, 1);
  ck_assert_ptr_nonnull(strstr(a.diags, "t.net:3:5: error: unknown name 'nosuch'"));
  analysed_free(&a);
}
END_TEST

START_TEST(sema_binary_shape_error) {
  Analysed a = analyse(HEADER "param v : [3]\nout = dense(x, 10)\nbad = out + v\nloss = cross_entropy(out, y)\n");
  ck_assert_int_eq(a.errors, 1);
  ck_assert_ptr_nonnull(strstr(a.diags, "t.net:5:11: error: shapes [10] per example and [3] do not match (nor broadcast) "
                                        "for '+'\n"));
  analysed_free(&a);
}
END_TEST

START_TEST(sema_redefinition_has_a_note) {
  Analysed a = analyse(HEADER "out = dense(x, 10)\nout = x\nloss = cross_entropy(out, y)\n");
  ck_assert_int_eq(a.errors, 1);
  ck_assert_ptr_nonnull(strstr(a.diags, "t.net:4:1: error: 'out' is already defined\n"));
  ck_assert_ptr_nonnull(strstr(a.diags, "t.net:3:1: note: previous definition is here\n"));
  analysed_free(&a);
}
END_TEST

START_TEST(sema_exponent_must_be_a_number) {
  Analysed a = analyse(HEADER "out = dense(x, 10)\np = out ^ out\nloss = cross_entropy(out, y)\n");
  ck_assert_int_eq(a.errors, 1);
  ck_assert_ptr_nonnull(strstr(a.diags, "t.net:4:11: error: the exponent of '^' must be a number\n"));
  analysed_free(&a);
}
END_TEST

START_TEST(sema_recursion_is_one_error) {
  Analysed a = analyse(HEADER "def f(a) = f(a)\nout = f(x)\nloss = cross_entropy(out, y)\n");
  ck_assert_int_eq(a.errors, 1);
  ck_assert_ptr_nonnull(strstr(a.diags, "calls nest more than 64 deep in 'f' (is it recursive?)"));
  analysed_free(&a);
}
END_TEST

START_TEST(sema_missing_definitions) {
  /* no out and no loss: both reported, at the end of the file */
  Analysed a = analyse(HEADER "h = dense(x, 10)\n");
  ck_assert_int_eq(a.errors, 2);
  ck_assert_ptr_nonnull(strstr(a.diags, "t.net:3:1: error: no 'out' is defined"));
  ck_assert_ptr_nonnull(strstr(a.diags, "t.net:3:1: error: no 'loss' is defined"));
  analysed_free(&a);
}
END_TEST

START_TEST(sema_call_argument_errors) {
  Analysed a = analyse(HEADER "a = sigmoid(x, x)\nb = sigmoid(x, init: zeros)\nc = dense(x, 0)\n"
                              "d = softmax(2)\nout = dense(x, 10)\nloss = cross_entropy(out, y)\n");
  ck_assert_int_eq(a.errors, 4);
  ck_assert_ptr_nonnull(strstr(a.diags, "t.net:3:5: error: 'sigmoid' expects 1 argument, got 2\n"));
  ck_assert_ptr_nonnull(strstr(a.diags, "t.net:4:16: error: 'sigmoid' has no argument named 'init' (it takes no named arguments)\n"));
  ck_assert_ptr_nonnull(strstr(a.diags, "t.net:5:14: error: the number of units of 'dense' must be a whole number "
                                        "from 1 to 10000000\n"));
  ck_assert_ptr_nonnull(strstr(a.diags, "t.net:6:13: error: 'softmax' needs at least one axis, got a scalar\n"));
  analysed_free(&a);
}
END_TEST

START_TEST(sema_positional_after_named) {
  Analysed a = analyse(HEADER "out = dense(x, init: zeros, 10)\nloss = cross_entropy(out, y)\n");
  ck_assert_int_eq(a.errors, 1);
  ck_assert_ptr_nonnull(strstr(a.diags, "t.net:3:29: error: a positional argument cannot follow a named one\n"));
  analysed_free(&a);
}
END_TEST

START_TEST(sema_train_errors) {
  Analysed a = analyse(HEADER "out = dense(x, 10)\nloss = cross_entropy(out, y)\n"
                              "train { batch = 0; optimizer = lbfgs; epochs = 2; epochs = 3; colour = 1 }\n"
                              "train { optimizer = sgd(nesterov: 1) }\n");
  /* batch, optimizer, epochs twice, colour, a second block, nesterov without momentum */
  ck_assert_int_eq(a.errors, 6);
  ck_assert_ptr_nonnull(strstr(a.diags, "t.net:5:17: error: 'batch' must be a whole number from 1 to 65536\n"));
  ck_assert_ptr_nonnull(strstr(a.diags, "t.net:5:51: error: 'epochs' is set twice\n"));
  ck_assert_ptr_nonnull(strstr(a.diags, "t.net:5:39: note: first set here\n"));
  ck_assert_ptr_nonnull(strstr(a.diags, "unknown train setting 'colour'"));
  ck_assert_ptr_nonnull(strstr(a.diags, "t.net:6:1: error: a second train block\n"));
  ck_assert_ptr_nonnull(strstr(a.diags, "nesterov needs momentum > 0"));
  analysed_free(&a);
}
END_TEST

START_TEST(sema_data_shape_is_checked) {
  /* the default data set is mnist: 784 inputs and 10 classes, checked by model_load (after
   * the command line's --set, which may name another set) */
  char *diags = NULL;
  Model *m = load_model_text("input x : [100]\ntarget y : onehot(10)\nout = dense(x, 10)\nloss = cross_entropy(out, y)\n",
                             &diags);
  ck_assert_ptr_null(m);
  ck_assert_msg(strstr(diags, "model.net:1:7: error: data set 'mnist' gives examples of [1, 28, 28] (784 values), but the "
                              "input 'x' is [100]\n"), "%s", diags);
  free(diags);
}
END_TEST

static Suite *sema_suite(void) {
  Suite *s = suite_create("sema");
  TCase *tc = tcase_create("sema");
  tcase_add_test(tc, sema_shapes_of_an_mlp);
  tcase_add_test(tc, sema_via_load_model_text);
  tcase_add_test(tc, sema_user_function_expansion);
  tcase_add_test(tc, sema_second_dense_in_one_binding);
  tcase_add_test(tc, sema_dense_is_a_gemm_with_transposed_weights);
  tcase_add_test(tc, sema_function_parameters_shadow_globals);
  tcase_add_test(tc, sema_dropout_rate_named_or_positional);
  tcase_add_test(tc, sema_layers_without_bias);
  tcase_add_test(tc, sema_numbers_are_folded);
  tcase_add_test(tc, sema_train_settings);
  tcase_add_test(tc, sema_train_defaults);
  tcase_add_test(tc, sema_reports_every_error);
  tcase_add_test(tc, sema_errors_do_not_cascade);
  tcase_add_test(tc, sema_binary_shape_error);
  tcase_add_test(tc, sema_redefinition_has_a_note);
  tcase_add_test(tc, sema_exponent_must_be_a_number);
  tcase_add_test(tc, sema_recursion_is_one_error);
  tcase_add_test(tc, sema_missing_definitions);
  tcase_add_test(tc, sema_call_argument_errors);
  tcase_add_test(tc, sema_positional_after_named);
  tcase_add_test(tc, sema_train_errors);
  tcase_add_test(tc, sema_data_shape_is_checked);
  suite_add_tcase(s, tc);

  return s;
}

int main(void) { return run_suite(sema_suite()); }
