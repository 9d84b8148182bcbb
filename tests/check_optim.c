/* check_optim.c — every optimiser's update nodes against the same step computed by hand
 * (PyTorch's formulas), over two steps so that optimiser state carries over; weight decay,
 * Nesterov momentum and gradient clipping included; the parameters' moving average (average =
 * ema(d)) against its closed form; and the learning-rate schedules. */
#include <math.h>
#include <stdlib.h>
#include "helpers.h"
#include "interp.h"
#include "trainer.h"

enum { ROWS = 2, N = 3, STEPS = 2 };
static const double X[ROWS][N] = {{0.5, -1.0, 2.0}, {1.5, 0.25, -0.5}};
static const double P0[N] = {0.3, -0.2, 0.8}, Q0 = 0.7, LR = 0.1;

/* loss = sum(x * p) + q * sum(x): dL/dp = mean of x over the batch, dL/dq = mean of sum(x). */
static void gradients(double g[N], double *gq) {
  *gq = 0;
  for (int i = 0; i < N; i++) {
    g[i] = (X[0][i] + X[1][i]) / ROWS;
    *gq += g[i];
  }
}

/* The same two steps by hand; p and q hold the result. */
static void by_hand(const OptimizerSpec *o, double p[N], double *q) {
  double m[N + 1] = {0}, v[N + 1] = {0};
  for (int i = 0; i < N; i++) p[i] = P0[i];
  *q = Q0;
  for (int t = 1; t <= STEPS; t++) {
    double g[N + 1], *w[N + 1] = {&p[0], &p[1], &p[2], q};
    gradients(g, &g[N]);
    if (o->clip > 0) {
      double norm = 0;
      for (int i = 0; i <= N; i++) norm += g[i] * g[i];
      norm = sqrt(norm);
      for (int i = 0; i <= N && norm > o->clip; i++) g[i] *= o->clip / norm;
    }
    for (int i = 0; i <= N; i++) {
      double gi = g[i] + (o->kind == OPT_ADAMW ? 0 : o->weight_decay * *w[i]), step = 0;
      switch (o->kind) {
      case OPT_SGD:
        if (o->momentum == 0) {
          step = gi;
        } else {
          v[i] = o->momentum * v[i] + gi;
          step = o->nesterov ? gi + o->momentum * v[i] : v[i];
        }
        break;
      case OPT_ADAM:
      case OPT_ADAMW:
        m[i] = o->beta1 * m[i] + (1 - o->beta1) * gi;
        v[i] = o->beta2 * v[i] + (1 - o->beta2) * gi * gi;
        step = m[i] / (1 - pow(o->beta1, t)) / (sqrt(v[i]) / sqrt(1 - pow(o->beta2, t)) + o->eps);
        if (o->kind == OPT_ADAMW) *w[i] *= 1 - LR * o->weight_decay;
        break;
      case OPT_RMSPROP:
        v[i] = o->alpha * v[i] + (1 - o->alpha) * gi * gi;
        step = gi / (sqrt(v[i]) + o->eps);
        break;
      case OPT_ADAGRAD:
        v[i] += gi * gi;
        step = gi / (sqrt(v[i]) + o->eps);
        break;
      }
      *w[i] -= LR * step;
    }
  }
}

/* g's update (its ASSIGNs) scheduled for the reference evaluator, with every parameter and
 * state at zero and X's rows (or their magnitudes) fed; update_run_step runs step t. */
typedef struct UpdateRun {
  Graph *g;
  UpdateHypers h;
  Arena a;
  Schedule s;
  double **leaf; /* by node id: each PARAM's and STATE's values */
  double xs[ROWS * N], hv[HYPER_COUNT];
  const double *feeds[1 + HYPER_COUNT];
  Interp it;
} UpdateRun;

static void update_run_begin(UpdateRun *r, Graph *g, UpdateHypers h, bool magnitudes) {
  r->g = g, r->h = h;
  Node *roots[64];
  int n_roots = 0;
  for (int i = 0; i < g->len; i++)
    if (g->nodes[i]->op == OP_ASSIGN) roots[n_roots++] = g->nodes[i];
  arena_init(&r->a);
  r->s = schedule_build(g, roots, n_roots, &r->a);
  r->leaf = calloc((size_t)g->len, sizeof *r->leaf);
  for (int i = 0; i < g->len; i++)
    if (g->nodes[i]->op == OP_PARAM || g->nodes[i]->op == OP_STATE) r->leaf[i] = calloc(N, sizeof(double));
  for (int row = 0; row < ROWS; row++)
    for (int i = 0; i < N; i++) r->xs[row * N + i] = magnitudes ? fabs(X[row][i]) : X[row][i];
  r->feeds[0] = r->xs;
  for (int k = 0; k < HYPER_COUNT; k++)
    if (h.node[k]) r->feeds[h.node[k]->attr.slot] = &r->hv[k];
  r->it = (Interp){g, ROWS, NULL, 0, r->leaf, r->feeds};
}

static void update_run_step(UpdateRun *r, const OptimizerSpec *o, int t) {
  for (int k = 0; k < HYPER_COUNT; k++) r->hv[k] = update_hyper_value((HyperKind)k, o, LR, t);
  interp_run(&r->it, schedule_nodes(&r->s), NULL);
}

static void update_run_end(UpdateRun *r) {
  interp_clear(&r->it);
  for (int i = 0; i < r->g->len; i++) free(r->leaf[i]);
  free(r->leaf);
  arena_free(&r->a);
  graph_free(r->g);
}

/* The same two steps by dlc's update nodes, run by the reference evaluator. */
static void by_graph(const OptimizerSpec *o, double p[N], double *q) {
  Graph *g = graph_new();
  Node *x = g_input(g, "x", shape_make(true, 1, (int[]){N}), NO_LOC);
  Node *pn = g_param(g, "p", shape_make(false, 1, (int[]){N}), NO_LOC);
  Node *qn = g_param(g, "q", shape_scalar(false), NO_LOC);
  Node *sx = g_sum_to(g, x, shape_scalar(true), NO_LOC);
  Node *loss = g_binary(g, OP_ADD, g_sum_to(g, g_binary(g, OP_MUL, x, pn, NO_LOC), shape_scalar(true), NO_LOC),
                        g_binary(g, OP_MUL, qn, sx, NO_LOC), NO_LOC);
  int n_forward = g->len;
  Node **grads = grad_build(g, loss);
  UpdateRun r;
  update_run_begin(&r, g, grad_add_update(g, grads, n_forward, o, NO_LOC), false);
  for (int i = 0; i < N; i++) r.leaf[pn->id][i] = P0[i];
  r.leaf[qn->id][0] = Q0;
  for (int t = 1; t <= STEPS; t++) update_run_step(&r, o, t);
  for (int i = 0; i < N; i++) p[i] = r.leaf[pn->id][i];
  *q = r.leaf[qn->id][0];
  update_run_end(&r);
}

/* average = ema(d): STEPS_AVG steps of momentum SGD by the reference evaluator, the
 * parameters recorded after each; the average the update keeps must be the closed form
 * sum_i (1 - d) d^(t-i) p_i / (1 - d^t), and p itself as if there were no average. */
enum { STEPS_AVG = 6 };
static void average_by_graph(const OptimizerSpec *o, double p_after[STEPS_AVG][N], double avg[N]) {
  Graph *g = graph_new();
  Node *x = g_input(g, "x", shape_make(true, 1, (int[]){N}), NO_LOC);
  Node *pn = g_param(g, "p", shape_make(false, 1, (int[]){N}), NO_LOC);
  Node *loss = g_sum_to(g, g_binary(g, OP_MUL, g_binary(g, OP_MUL, x, pn, NO_LOC), pn, NO_LOC), shape_scalar(true), NO_LOC);
  int n_forward = g->len;
  Node **grads = grad_build(g, loss);
  UpdateHypers h = grad_add_update(g, grads, n_forward, o, NO_LOC);
  ck_assert_int_eq(h.n_average, 1);
  Node *an = h.average[pn->id];
  ck_assert_ptr_nonnull(an);
  ck_assert_str_eq(an->name, "p.average");
  UpdateRun r;
  update_run_begin(&r, g, h, true);
  for (int i = 0; i < N; i++) r.leaf[pn->id][i] = P0[i], r.leaf[an->id][i] = 1e3; /* (overwritten at t = 1) */
  for (int t = 1; t <= STEPS_AVG; t++) {
    update_run_step(&r, o, t);
    for (int i = 0; i < N; i++) p_after[t - 1][i] = r.leaf[pn->id][i];
  }
  for (int i = 0; i < N; i++) avg[i] = r.leaf[an->id][i];
  update_run_end(&r);
}

START_TEST(average_is_the_bias_corrected_ema) {
  static const float decays[] = {0.5f, 0.9f, 0.999f};
  OptimizerSpec o = {.kind = OPT_SGD, .momentum = 0.9f, .average = decays[_i]};
  double p[STEPS_AVG][N], avg[N];
  average_by_graph(&o, p, avg);
  double d = o.average;
  for (int i = 0; i < N; i++) {
    double sum = 0;
    for (int t = 1; t <= STEPS_AVG; t++) sum += (1 - d) * pow(d, STEPS_AVG - t) * p[t - 1][i];
    double closed = sum / (1 - pow(d, STEPS_AVG));
    ck_assert_msg(fabs(avg[i] - closed) < 1e-9, "decay %g: average[%d] = %.12f, closed form %.12f", d, i, avg[i], closed);
    ck_assert_msg(fabs(avg[i] - p[STEPS_AVG - 1][i]) > 1e-6, "decay %g: the average is the last value", d);
  }
}
END_TEST

/* The average changes nothing else: the parameters follow the same steps with it and
 * without it (update_matches_hand_computed_steps checks them without). */
START_TEST(average_leaves_the_steps_alone) {
  OptimizerSpec o = {.kind = OPT_SGD, .momentum = 0.9f, .weight_decay = 0.01f, .average = 0.9f}, plain = o;
  plain.average = 0;
  double p[N], q, hp[N], hq;
  by_graph(&o, p, &q);
  by_hand(&plain, hp, &hq);
  for (int i = 0; i < N; i++) ck_assert_msg(fabs(p[i] - hp[i]) < 1e-9, "p[%d] = %.12f, by hand %.12f", i, p[i], hp[i]);
  ck_assert_msg(fabs(q - hq) < 1e-9, "q = %.12f, by hand %.12f", q, hq);
}
END_TEST

static const OptimizerSpec cases[] = {
    {.kind = OPT_SGD},
    {.kind = OPT_SGD, .weight_decay = 0.1f},
    {.kind = OPT_SGD, .momentum = 0.9f},
    {.kind = OPT_SGD, .momentum = 0.9f, .nesterov = true, .weight_decay = 0.01f},
    {.kind = OPT_SGD, .momentum = 0.5f, .clip = 0.5f},
    {.kind = OPT_ADAM, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f},
    {.kind = OPT_ADAM, .beta1 = 0.8f, .beta2 = 0.99f, .eps = 1e-3f, .weight_decay = 0.05f},
    {.kind = OPT_ADAMW, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.1f},
    {.kind = OPT_RMSPROP, .alpha = 0.99f, .eps = 1e-8f},
    {.kind = OPT_RMSPROP, .alpha = 0.9f, .eps = 1e-8f, .weight_decay = 0.01f, .clip = 1.0f},
    {.kind = OPT_ADAGRAD, .eps = 1e-10f},
};

START_TEST(update_matches_hand_computed_steps) {
  const OptimizerSpec *o = &cases[_i];
  double p[N], q, hp[N], hq;
  by_graph(o, p, &q);
  by_hand(o, hp, &hq);
  for (int i = 0; i < N; i++)
    ck_assert_msg(fabs(p[i] - hp[i]) < 1e-6, "case %d: p[%d] = %.9f, by hand %.9f", _i, i, p[i], hp[i]);
  ck_assert_msg(fabs(q - hq) < 1e-6, "case %d: q = %.9f, by hand %.9f", _i, q, hq);
  ck_assert_msg(fabs(hp[0] - P0[0]) > 1e-4, "case %d: the step did not move p", _i);
}
END_TEST

START_TEST(schedules) {
  TrainSettings t = {.lr = 1, .epochs = 10};
  ck_assert_double_eq_tol(settings_lr(&t, 3.5), 1, 1e-12);
  t.schedule = SCHEDULE_COSINE;
  ck_assert_double_eq_tol(settings_lr(&t, 0), 1, 1e-12);
  ck_assert_double_eq_tol(settings_lr(&t, 5), 0.5, 1e-12);
  ck_assert_double_eq_tol(settings_lr(&t, 10), 0, 1e-12);
  t.schedule = SCHEDULE_STEP;
  t.every = 3;
  t.gamma = 0.5;
  ck_assert_double_eq_tol(settings_lr(&t, 2.9), 1, 1e-12);
  ck_assert_double_eq_tol(settings_lr(&t, 3.0), 0.5, 1e-12);
  ck_assert_double_eq_tol(settings_lr(&t, 6.2), 0.25, 1e-12);
  t.schedule = SCHEDULE_EXPONENTIAL;
  t.gamma = 0.9;
  ck_assert_double_eq_tol(settings_lr(&t, 2.5), 0.81, 1e-12);
  t.warmup = 2; /* linear from 0 over 2 epochs, on top of the schedule */
  ck_assert_double_eq_tol(settings_lr(&t, 0.5), 0.25, 1e-12);
  ck_assert_double_eq_tol(settings_lr(&t, 1.5), 0.75 * 0.9, 1e-12);
  ck_assert_double_eq_tol(settings_lr(&t, 2.5), 0.81, 1e-12);
}
END_TEST

static Suite *optim_suite(void) {
  Suite *s = suite_create("optim");
  TCase *tc = tcase_create("optim");
  tcase_add_loop_test(tc, update_matches_hand_computed_steps, 0, (int)(sizeof cases / sizeof *cases));
  tcase_add_test(tc, schedules);
  tcase_add_loop_test(tc, average_is_the_bias_corrected_ema, 0, 3);
  tcase_add_test(tc, average_leaves_the_steps_alone);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(optim_suite()); }
