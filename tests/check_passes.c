/* check_passes.c — each graph pass on a graph built for it, before and after: what it
 * rewrites, what it must leave alone, and that the verifier accepts the result (and
 * rejects a broken graph). Then the whole pipeline on the examples: nothing changes what a
 * training step computes (compared with the reference evaluator) while CSE removes nodes. */
#include <math.h>
#include <stdlib.h>
#include "helpers.h"
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

/* The pipeline on each example: the training graph verifies, loses nodes to CSE, and a
 * training step computes the same loss as without the passes (reference evaluator). */
START_TEST(pipeline_preserves_the_training_step) {
  static const char *const files[] = {"mlp.net", "mlp_relu.net", "lenet.net", "lenet_relu.net"};
  char path[512];
  snprintf(path, sizeof path, DLC_SOURCE_DIR "/examples/%s", files[_i]);
  double loss[2];
  int nodes[2];
  for (int with = 0; with < 2; with++) {
    ModelConfig cfg = model_config();
    cfg.stop_after = with ? NULL : "none";
    Model *m = model_load(path, &cfg);
    ck_assert_ptr_nonnull(m);
    model_build_training(m);
    ck_assert_ptr_null(graph_verify(m->g, vmsg, sizeof vmsg));
    nodes[with] = m->fns[FN_TRAIN].sched.len;
    const Graph *g = m->g;
    int n = 2;
    double **leaf = calloc((size_t)g->len, sizeof *leaf), sum = 0;
    double **feeds = calloc((size_t)g->n_feeds, sizeof *feeds);
    for (int i = 0; i < g->len; i++) {
      Node *x = g->nodes[i];
      int64_t size = interp_size(x, n);
      if (x->op == OP_PARAM || x->op == OP_STATE) {
        leaf[i] = malloc(sizeof(double) * (size_t)size);
        for (int64_t k = 0; k < size; k++) leaf[i][k] = x->op == OP_PARAM ? 0.05 * sin(0.7 * (double)(k + i)) : 0;
      } else if (x->op == OP_INPUT || x->op == OP_TARGET || x->op == OP_HYPER || x->op == OP_NOISE) {
        feeds[x->attr.slot] = calloc((size_t)size, sizeof(double));
        for (int64_t k = 0; k < size; k++)
          feeds[x->attr.slot][k] = x->op == OP_TARGET ? (k % 10 == 3) : x->op == OP_HYPER ? 0.01 : fabs(sin((double)k));
      }
    }
    Interp it = {g, n, NULL, 0, leaf, (const double *const *)feeds};
    double **results = calloc((size_t)g->n_results, sizeof *results);
    results[m->loss_sum->attr.slot] = &sum;
    interp_run(&it, schedule_nodes(&m->fns[FN_TRAIN].sched), results);
    loss[with] = sum;
    interp_clear(&it);
    for (int i = 0; i < g->len; i++) free(leaf[i]);
    for (int i = 0; i < g->n_feeds; i++) free(feeds[i]);
    free(feeds);
    free(results);
    free(leaf);
    model_free(m);
  }
  ck_assert_msg(fabs(loss[0] - loss[1]) <= 1e-9 * fabs(loss[0]), "%s: loss %.12g without the passes, %.12g with",
                files[_i], loss[0], loss[1]);
  ck_assert_msg(nodes[1] < nodes[0], "%s: the passes removed nothing (%d nodes)", files[_i], nodes[0]);
}
END_TEST

static Suite *passes_suite(void) {
  Suite *s = suite_create("passes");
  TCase *tc = tcase_create("passes");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, fold_turns_constant_arithmetic_into_constants);
  tcase_add_test(tc, simplify_removes_identities_but_keeps_broadcasts);
  tcase_add_test(tc, cse_merges_equal_computations_only);
  tcase_add_test(tc, verifier_rejects_broken_graphs);
  tcase_add_loop_test(tc, pipeline_preserves_the_training_step, 0, 4);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(passes_suite()); }
