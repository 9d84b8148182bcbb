/* check_lower.c — the lowering and the JIT: the generated IR has the functions, runtime
 * calls and vector code it should, and whole compiled functions (forward, and a training
 * step with momentum, weight decay and every op class) give the same numbers as the
 * plain-C reference evaluator, on full and partial batches, without writing outside the
 * arena. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "helpers.h"
#include "interp.h"
#include "trainer.h"

/* A model that touches every op class: gemm both ways round, broadcasting, tanh, relu,
 * pow, softmax and log_softmax (through cross_entropy), sum and mean, and an SGD update
 * with Nesterov momentum and weight decay (STATE, HYPER, ASSIGN). */
static const char *const MODEL =
    "input x : [784]\n"
    "target y : onehot(10)\n"
    "param W1 : [7, 784] = normal(0, 0.05)\n"
    "param b1 : [7] = uniform(-0.1, 0.1)\n"
    "param V : [7, 10] = xavier\n"
    "h = tanh(W1 @ x + b1)\n"
    "z = h @ V + dense(relu(h), 10)\n"
    "out = softmax(z)\n"
    "loss = cross_entropy(z, y) + 0.01 * sum(h ^ 2) + mean(out) / 3\n"
    "train { optimizer = sgd(lr: 0.3, momentum: 0.9, nesterov: 1, weight_decay: 0.01); batch = 8; seed = 5 }\n";

/* The same network trained with Adam, and images: conv with a connection table and stride,
 * subsampling, max pooling, flatten (the ops of LeNet-5). */
static const char *const MODELS[] = {
    NULL, /* MODEL */
    "input x : [784]\n"
    "target y : onehot(10)\n"
    "h = relu(dense(x, 12))\n"
    "out = dense(layernorm(h), 10)\n"
    "loss = cross_entropy(out, y)\n"
    /* eps 1e-3: Adam divides by sqrt(v) ~ |g|, so for gradients near float round-off
     * (sums that cancel) a small eps turns rounding into whole steps of size lr; a larger
     * one keeps float and double comparable without hiding a wrong formula. */
    "train { optimizer = adam(lr: 0.01, eps: 0.001, weight_decay: 0.001); batch = 8 }\n",
    "input x : [1, 28, 28]\n"
    "target y : onehot(10)\n"
    "table t = { [X . X] [X X .] }\n"
    "c1 = lecun_tanh(conv(x, 2, 5, pad: 2, stride: 2))\n"
    "s2 = tanh(subsample(c1, 2))\n"
    "c3 = relu(conv(s2, 3, 3, connect: t))\n"
    "p = maxpool(c3, 2)\n"
    "out = dense(flatten(p), 10)\n"
    "loss = cross_entropy(out, y)\n"
    "train { optimizer = sgd(lr: 0.1, momentum: 0.5); batch = 8 }\n",
    /* dropout: noise fed each step, a training flag (the rate given both ways) */
    "input x : [784]\n"
    "target y : onehot(10)\n"
    "h = dropout(relu(dense(x, 16)), 0.3)\n"
    "out = dense(dropout(h, p: 0.5), 10)\n"
    "loss = cross_entropy(out, y)\n"
    "train { optimizer = sgd(lr: 0.1, momentum: 0.9); batch = 8 }\n",
    /* batch normalisation of maps (after a conv without bias) and of vectors: statistics
     * over the batch, running statistics written by the step */
    "input x : [1, 28, 28]\n"
    "target y : onehot(10)\n"
    "c = relu(batchnorm(conv(x, 2, 3, pad: 1, bias: false)))\n"
    "h = tanh(batchnorm(dense(flatten(maxpool(c, 2)), 12), momentum: 0.3))\n"
    "out = dense(layernorm(h), 10)\n"
    "loss = cross_entropy(out, y)\n"
    "train { optimizer = sgd(lr: 0.02, momentum: 0.9); batch = 8 }\n",
    /* a reshape of an input (a view of a fed buffer), a direct conv without padding */
    "input x : [1, 28, 28]\n"
    "target y : onehot(10)\n"
    "c = tanh(conv(x, 2, 3))\n"
    "out = dense(flatten(x), 10) + dense(flatten(maxpool(c, 2)), 10)\n"
    "loss = cross_entropy(out, y)\n"
    "train { batch = 8 }\n",
    /* the convolution kernels on rows that are not a multiple of the vector width (25, 27
     * wide: a full vector and a partial one), a table, padding beyond the kernel's reach
     * on one side, and a stride of 3 (im2col) */
    "input x : [1, 28, 28]\n"
    "target y : onehot(10)\n"
    "table t = { [X X .] [. X X] }\n"
    "a = tanh(conv(x, 2, 4))\n"
    "b = relu(conv(a, 3, 3, pad: 2, connect: t))\n"
    "c = tanh(conv(b, 2, 5, stride: 3, pad: 1))\n"
    "out = dense(flatten(maxpool(c, 2)), 10)\n"
    "loss = cross_entropy(out, y)\n"
    "train { optimizer = sgd(lr: 0.1, momentum: 0.5); batch = 8 }\n",
    /* several input maps, a table with a stride of 2, odd sizes (7 x 7) */
    "input x : [4, 14, 14]\n"
    "target y : onehot(10)\n"
    "table t = { [X .] [X X] [. X] [X X] }\n"
    "a = tanh(conv(x, 2, 3, stride: 2, pad: 1, connect: t))\n"
    "b = tanh(conv(a, 5, 3, pad: 1))\n"
    "out = dense(flatten(b), 10)\n"
    "loss = cross_entropy(out, y)\n"
    "train { optimizer = adam(lr: 0.01, eps: 0.001); batch = 8 }\n",
    /* the ops along axes on odd sizes: a product of stacked rows, concat (runs of 20: a
     * vector and a masked one), slice (runs of 34), a permutation keeping the last axis (runs
     * of 17), the maximum along an axis over 51 and 17 inner positions (vectors, one masked)
     * and along the last axis (scalar), sums and means over an axis, and the elementwise ops
     * (erf on both sides of 0.5, softplus, leaky_relu, max and min with broadcasting) */
    "input x : [784]\n"
    "target y : onehot(10)\n"
    "param P : [17, 20] = normal(0, 0.3)\n"
    "h = tanh(dense(x, 51))\n"
    "b = reshape(h, [3, 17]) @ P\n"
    "c = concat(b, leaky_relu(b, 0.2), axis: 1)\n"
    "d = slice(c, 3, 37, axis: 1)\n"
    "e = permute(reshape(d, [3, 2, 17]), [1, 0, 2])\n"
    "f = sum(max(e, axis: 0), axis: 0) + mean(min(e, axis: 1), axis: 0) + erf(3 * mean(sum(e, axis: 1), axis: 0))\n"
    "out = dense(concat(gelu(f), softplus(2 * f), max(f, 0.1) - min(f, -0.2), flatten(max(e, axis: -1))), 10)\n"
    "loss = cross_entropy(out, y)\n"
    "train { optimizer = sgd(lr: 0.1, momentum: 0.9); batch = 8 }\n",
    /* images: conv without a bias, depthwise and grouped (strided) convolutions, global
     * average pooling, a matrix per example on each side of @ (and on both), a permutation
     * that moves the last axis, layernorm, elu, silu, sqrt, abs, clamp */
    "input x : [1, 28, 28]\n"
    "target y : onehot(10)\n"
    "param A : [5, 28] = normal(0, 0.2)\n"
    "c = relu(conv(x, 4, 3, pad: 1, bias: false))\n"
    "d = elu(conv(c, 4, 3, groups: 4))\n"
    "e = silu(conv(d, 6, 1, stride: 2, groups: 2))\n"
    "m = A @ reshape(x, [28, 28])\n"
    "n0 = m @ transpose(m)\n"
    "n = n0 + sqrt(abs(n0) + 1)\n"
    "q = permute(e, [2, 0, 1])\n"
    "h = concat(global_avgpool(e), flatten(n), flatten(max(q, axis: 1)), clamp(flatten(slice(q, 0, 2)), -0.5, 0.5))\n"
    "out = dense(layernorm(h), 10)\n"
    "loss = cross_entropy(out, y)\n"
    "train { optimizer = sgd(lr: 0.02, momentum: 0.9); batch = 8 }\n",
    /* elementwise loops in vectors of 16 with a masked remainder: 17 and 33 features (one
     * and two vectors and a lane; per row, or 51 and 99 floats in a flat loop of 3 rows),
     * exactly 16, fewer than 16; sigmoid, exp, log, powers, division, Adam's square roots */
    "input x : [784]\n"
    "target y : onehot(10)\n"
    "h = sigmoid(dense(x, 17))\n"
    "g = exp(dense(h, 33) / 4)\n"
    "k = relu(dense(log(1 + g), 16)) ^ 2\n"
    "out = dense(k, 10) - dense(h, 10) / 2\n"
    "loss = cross_entropy(out, y) + 0.001 * sum(g)\n"
    "train { optimizer = adam(lr: 0.01, eps: 0.001); batch = 8 }\n",
    /* the small CNN's layers on odd shapes: max pooling's backward with the ReLU derivative
     * as its epilogue, from the choices the forward saved, and the bias gradient added up in
     * the same loop (3 and 5 maps, 14- and 7-wide maps, 3x3 windows on 6x6 maps), Adam's
     * moments stored by the parameter's loop */
    "input x : [1, 28, 28]\n"
    "target y : onehot(10)\n"
    "a = maxpool(relu(conv(x, 3, 3, pad: 1)), 2)\n"
    "b = maxpool(relu(conv(a, 5, 3, pad: 1)), 2)\n"
    "c = maxpool(relu(conv(b, 3, 2)), 3)\n"
    "out = dense(flatten(c), 10)\n"
    "loss = cross_entropy(out, y)\n"
    "train { optimizer = adam(lr: 0.01, eps: 0.001); batch = 8 }\n",
    /* the same with batch norm (3 and 5 maps): the gradient of beta added up by max
     * pooling's backward, the statistics not (split over threads, they are synced) */
    "input x : [1, 28, 28]\n"
    "target y : onehot(10)\n"
    "a = maxpool(relu(batchnorm(conv(x, 3, 3, pad: 1, bias: false))), 2)\n"
    "b = maxpool(relu(batchnorm(conv(a, 5, 3, pad: 1, bias: false))), 2)\n"
    "out = dense(flatten(b), 10)\n"
    "loss = cross_entropy(out, y)\n"
    "train { optimizer = adam(lr: 0.01, eps: 0.001); batch = 8 }\n",
};
enum { N_MODELS = sizeof MODELS / sizeof *MODELS };

enum { GUARD = 64 };
static const float SENTINEL = -12345.0f;

/* How the lowering ends vector loops (vector_tails_both_ways forces either). */
static VectorTails tails = TAILS_BY_HOST;

static Model *compiled_model_threads(const char *text, int threads) {
  char *diags = NULL;
  ModelConfig cfg = model_config();
  cfg.threads = threads;
  cfg.min_split_flops = 0; /* these models are tiny: split them all the same */
  cfg.lower.tails = tails;
  Model *m = load_model_text_config(text, &cfg, &diags);
  ck_assert_msg(m, "model failed to load: %s", diags);
  free(diags);
  model_build_training(m);
  return m;
}

static Model *compiled_model_of(const char *text) { return compiled_model_threads(text, 1); }

static Model *compiled_model(void) { return compiled_model_of(MODEL); }

/* Whether any instruction of IR text that mentions `what` has a line-0 location. */
static bool line0_instruction(const char *ir, const char *what) {
  for (const char *p = strstr(ir, what); p; p = strstr(p + 1, what)) {
    const char *end = strchr(p, '\n'), *dbg = strstr(p, "!dbg !");
    if (!dbg || (end && dbg > end)) continue;
    char def[64];
    snprintf(def, sizeof def, "\n!%d = !DILocation(line: 0,", atoi(dbg + 6));
    if (strstr(ir, def)) return true;
  }
  return false;
}

/* Every instruction of a layer's kernel carries the layer's line: here a direct convolution
 * with a connection table, whose accumulators (allocas placed in the entry block) once left
 * the rest of the kernel at line 0, so perf annotate blamed no layer for C3's time. */
START_TEST(conv_kernels_carry_their_line) {
  Model *m = compiled_model_of(MODELS[2]);
  DlcModule *mod = model_lower(m, false);
  char *ir = lower_module_text(mod);
  ck_assert_ptr_nonnull(strstr(ir, "@llvm.masked.load"));
  ck_assert(!line0_instruction(ir, "@llvm.masked.load"));
  ck_assert(!line0_instruction(ir, "@llvm.fmuladd"));
  lower_free_text(ir);
  lower_module_free(mod);
  model_free(m);
}
END_TEST

START_TEST(ir_has_functions_calls_and_vectors) {
  Model *m = compiled_model();
  DlcModule *mod = model_lower(m, false);
  char *ir = lower_module_text(mod);
  ck_assert_ptr_nonnull(strstr(ir, "define void @dlc_forward(ptr noalias nocapture"));
  ck_assert_ptr_nonnull(strstr(ir, "define void @dlc_train_step(ptr noalias nocapture"));
  ck_assert_ptr_nonnull(strstr(ir, "call void @dlrt_gemm("));
  /* tanh: our polynomial, on 16 floats at a time (the elementwise loop in vectors) */
  ck_assert_ptr_nonnull(strstr(ir, "@llvm.rint.v16f32"));
  ck_assert_ptr_null(strstr(ir, "@tanhf"));
  ck_assert_ptr_null(strstr(ir, "@malloc")); /* the step allocates nothing */
  /* debug locations lead back to the .net file: line 6 is h = tanh(W1 @ x + b1) */
  ck_assert_ptr_nonnull(strstr(ir, "!DILocation(line: 6, column: 5,"));
  ck_assert_ptr_nonnull(strstr(ir, "!DIFile(filename: \"model.net\""));
  lower_free_text(ir);
  lower_optimize(mod);
  ir = lower_module_text(mod);
  ck_assert_ptr_null(strstr(ir, "@malloc"));
  lower_free_text(ir);
  char *s = lower_module_asm(mod);
  ck_assert_ptr_nonnull(strstr(s, "dlc_train_step:"));
  ck_assert_ptr_nonnull(strstr(s, ".loc\t1 6 "));
  /* the vectors are the host's: AVX-512 registers where it has them, else AVX2 ones */
  char *cpuinfo = read_file("/proc/cpuinfo");
  if (cpuinfo && strstr(cpuinfo, "avx512f")) ck_assert_msg(strstr(s, "%zmm"), "no AVX-512 registers in the code");
  else if (cpuinfo && strstr(cpuinfo, "avx2")) ck_assert_msg(strstr(s, "%ymm"), "no AVX2 registers in the code");
  free(cpuinfo);
  lower_free_text(s);
  lower_module_free(mod);
  model_free(m);
}
END_TEST

typedef struct Pair {
  Model *m;
  Trainer *t;
  float *arena; /* the trainer's arena with guard bands */
  double **leaf;
  Interp it;
} Pair;

/* The compiled model and a reference evaluator holding the same parameter values. */
static Pair pair_new(const char *text) {
  Pair p = {compiled_model_of(text), NULL, NULL, NULL, {0}};
  p.t = trainer_new(p.m);
  ck_assert_ptr_nonnull(p.t);
  /* Move the arena into a bigger block with sentinels on both sides. */
  int64_t floats = p.m->arena_floats;
  p.arena = aligned_alloc(64, sizeof(float) * (size_t)(floats + 2 * GUARD));
  for (int64_t i = 0; i < floats + 2 * GUARD; i++) p.arena[i] = SENTINEL;
  memcpy(p.arena + GUARD, p.t->arena, sizeof(float) * (size_t)floats);
  const Graph *g = p.m->g;
  p.leaf = calloc((size_t)g->len, sizeof *p.leaf);
  const int64_t *off = p.m->fns[FN_TRAIN].plan.offset;
  for (int i = 0; i < g->len; i++) {
    const Node *x = g->nodes[i];
    if (x->op != OP_PARAM && x->op != OP_STATE) continue;
    int64_t numel = shape_numel(x->shape);
    p.leaf[i] = malloc(sizeof(double) * (size_t)numel);
    for (int64_t k = 0; k < numel; k++) p.leaf[i][k] = p.arena[GUARD + off[i] + k];
  }
  p.it = (Interp){g, 0, NULL, 0, p.leaf, NULL};
  return p;
}

static void pair_free(Pair *p) {
  for (int i = 0; i < GUARD; i++) {
    ck_assert_float_eq(p->arena[i], SENTINEL);
    ck_assert_float_eq(p->arena[GUARD + p->m->arena_floats + i], SENTINEL);
  }
  interp_clear(&p->it);
  for (int i = 0; i < p->m->g->len; i++) free(p->leaf[i]);
  free(p->leaf);
  free(p->arena);
  trainer_free(p->t);
  model_free(p->m);
}

/* Max |a - b| over all persistent leaves, relative to each leaf's scale, or to 1% of the
 * largest value of any leaf: a value whose true gradient is exactly zero (a bias before a
 * batch norm) holds float rounding, which is judged against the model's scale. */
static double leaf_error(Pair *p) {
  const Graph *g = p->m->g;
  const int64_t *off = p->m->fns[FN_TRAIN].plan.offset;
  double worst = 0, global = 0;
  for (int i = 0; i < g->len; i++)
    for (int64_t k = 0; p->leaf[i] && k < shape_numel(g->nodes[i]->shape); k++) global = fmax(global, fabs(p->leaf[i][k]));
  for (int i = 0; i < g->len; i++) {
    if (!p->leaf[i]) continue;
    int64_t numel = shape_numel(g->nodes[i]->shape);
    double scale = fmax(1e-3, 1e-2 * global);
    for (int64_t k = 0; k < numel; k++) scale = fmax(scale, fabs(p->leaf[i][k]));
    for (int64_t k = 0; k < numel; k++) worst = fmax(worst, fabs(p->arena[GUARD + off[i] + k] - p->leaf[i][k]) / scale);
  }
  return worst;
}

static void random_batch(int n, float *x, float *y, double *xd, double *yd, unsigned seed) {
  DlrtRng rng;
  dlrt_rng_seed(&rng, seed);
  for (int i = 0; i < n * 784; i++) xd[i] = x[i] = (float)dlrt_rng_uniform(&rng);
  for (int i = 0; i < n * 10; i++) yd[i] = y[i] = 0;
  for (int r = 0; r < n; r++) {
    int c = (int)dlrt_rng_below(&rng, 10);
    y[r * 10 + c] = 1;
    yd[r * 10 + c] = 1;
  }
}

/* Training steps on a full batch (8 rows) and a partial one (3 rows): parameters, momenta
 * and the reported loss agree with the reference after each. */
static void check_train_steps(const char *text) {
  Pair p = pair_new(text);
  const Graph *g = p.m->g;
  const Schedule *step = &p.m->fns[FN_TRAIN].sched;
  int rows[3] = {8, 3, 8};
  for (int s = 0; s < 3; s++) {
    int n = rows[s];
    float x[8 * 784], y[8 * 10], hyper[HYPER_COUNT] = {0.3f, 1.4f, 1.7f}, loss = 0;
    double xd[8 * 784], yd[8 * 10], dhyper[HYPER_COUNT] = {0.3, 1.4, 1.7}, lossd = 0;
    random_batch(n, x, y, xd, yd, 100u + (unsigned)s);
    const float *feeds[8];
    const double *dfeeds[8];
    int n_hypers = 0;
    /* dropout's feeds: the training flag on, fixed noise */
    static float noise[2][8 * 16], one = 1;
    static double dnoise[2][8 * 16], done = 1;
    for (int i = 0, k = 0; i < g->len; i++) {
      const Node *x = g->nodes[i];
      if (x->op == OP_NOISE) {
        for (int j = 0; j < 8 * 16; j++) dnoise[k][j] = noise[k][j] = (float)((j * 37 + k * 11) % 100) / 100;
        feeds[x->attr.slot] = noise[k];
        dfeeds[x->attr.slot] = dnoise[k++];
        n_hypers++;
      }
    }
    if (p.m->sema.training) {
      feeds[p.m->sema.training->attr.slot] = &one;
      dfeeds[p.m->sema.training->attr.slot] = &done;
      n_hypers++;
    }
    feeds[p.m->sema.input->attr.slot] = x;
    feeds[p.m->sema.target->attr.slot] = y;
    dfeeds[p.m->sema.input->attr.slot] = xd;
    dfeeds[p.m->sema.target->attr.slot] = yd;
    for (int k = 0; k < HYPER_COUNT; k++)
      if (p.m->hyper.node[k]) {
        feeds[p.m->hyper.node[k]->attr.slot] = &hyper[k];
        dfeeds[p.m->hyper.node[k]->attr.slot] = &dhyper[k];
        n_hypers++;
      }
    float *results[2] = {0};
    double *dresults[2] = {0};
    results[p.m->loss_sum->attr.slot] = &loss;
    dresults[p.m->loss_sum->attr.slot] = &lossd;
    ck_assert_int_eq(g->n_feeds, 2 + n_hypers);
    p.t->train_step(p.arena + GUARD, p.arena + GUARD + p.m->fns[FN_TRAIN].plan.persist_floats, feeds, results, n);
    p.it.n = n;
    p.it.feeds = dfeeds;
    interp_run(&p.it, schedule_nodes(step), dresults);
    ck_assert_msg(fabs(loss - lossd) <= 1e-4 * fabs(lossd), "step %d: loss %g vs reference %g", s, loss, lossd);
    double err = leaf_error(&p);
    /* float against double after a step: up to about 1e-4 (the batch-norm model, whose
     * pre-norm biases have gradients that are exactly zero, so float rounding); a wrong
     * formula (or lr 0.3 against 0.301) shows as 3e-3 and more */
    ck_assert_msg(err < 3e-4, "step %d (n = %d): parameters differ from the reference by %g", s, n, err);
  }
  pair_free(&p);
}

START_TEST(train_step_matches_reference) { check_train_steps(MODELS[_i] ? MODELS[_i] : MODEL); }
END_TEST

/* Both ways of ending a vector loop whose trip count is not a multiple of 16, whichever the
 * host would choose: every vector masked (_i = 1), or whole vectors and a masked last one
 * (_i = 0, with a block of its own). The elementwise model and the convolutions of MODELS[2]. */
START_TEST(vector_tails_both_ways) {
  tails = _i ? TAILS_MASK_EVERY : TAILS_MASKED_LAST;
  const char *vectors = MODELS[N_MODELS - 1];
  Model *m = compiled_model_of(vectors);
  DlcModule *mod = model_lower(m, false);
  char *ir = lower_module_text(mod);
  ck_assert_msg((strstr(ir, "\ntail") != NULL) == (_i == 0), "a separate last vector iff not every vector masked");
  lower_free_text(ir);
  lower_module_free(mod);
  model_free(m);
  check_train_steps(vectors);
  check_train_steps(MODELS[2]);
  tails = TAILS_BY_HOST;
}
END_TEST

START_TEST(forward_matches_reference) {
  Pair p = pair_new(MODEL);
  int n = 5;
  float x[5 * 784], y[5 * 10], out[8 * 10];
  double xd[5 * 784], yd[5 * 10], outd[5 * 10];
  random_batch(n, x, y, xd, yd, 7);
  const float *feeds[3] = {0};
  const double *dfeeds[3] = {0};
  feeds[p.m->sema.input->attr.slot] = x;
  dfeeds[p.m->sema.input->attr.slot] = xd;
  float *results[2] = {0};
  double *dresults[2] = {0};
  results[p.m->out_result->attr.slot] = out;
  dresults[p.m->out_result->attr.slot] = outd;
  trainer_forward(p.t)(p.arena + GUARD, p.arena + GUARD + p.m->fns[FN_TRAIN].plan.persist_floats, feeds, results, n);
  p.it.n = n;
  p.it.feeds = dfeeds;
  interp_run(&p.it, schedule_nodes(&p.m->fns[FN_FORWARD].sched), dresults);
  for (int i = 0; i < n * 10; i++) ck_assert_double_eq_tol(out[i], outd[i], 1e-5);
  for (int r = 0; r < n; r++) {
    double s = 0;
    for (int c = 0; c < 10; c++) s += out[r * 10 + c];
    ck_assert_double_eq_tol(s, 1.0, 1e-5); /* softmax rows sum to one */
  }
  pair_free(&p);
}
END_TEST

/* Random 28x28 images and labels. */
static DlrtDataset random_images(int count, unsigned seed) {
  DlrtDataset d;
  ck_assert_int_eq(dlrt_dataset_alloc(&d, DLRT_PIXELS_U8, count, 1, 28, 28, 10), 0);
  for (int i = 0; i < count * 784; i++) d.pixels[i] = (unsigned char)((seed = seed * 1103515245u + 12345u) >> 23);
  for (int i = 0; i < count; i++) d.labels[i] = (unsigned char)((seed = seed * 1103515245u + 12345u) >> 20) % 10;
  return d;
}

/* Data-parallel training: each thread's forward and backward pass on its rows, the gradients
 * summed by rows, one update (GRAD_IN); with batch norm, the batch's sums added up across the
 * threads at the sync points and the running statistics assigned by the update — the same
 * parameters, running statistics and optimiser state as the
 * whole step, up to float rounding, on 2 and 3 threads, including batches that do not divide
 * evenly (29 images in batches of 8: the last has 5 rows, 3 threads give 1, 2, 2; or 25:
 * the last has one row). */
START_TEST(data_parallel_step_equals_whole_step) {
  const char *text = _i ? MODELS[_i] : MODEL;
  /* 25 images: the last batch has one row, which only worker 0 gets */
  DlrtDataset d = random_images(_i % 2 ? 25 : 29, 7u + (unsigned)_i);
  for (int threads = 2; threads <= 3; threads++) {
    Model *ms = compiled_model_threads(text, 1), *mp = compiled_model_threads(text, threads);
    bool batch_norm = strstr(text, "batchnorm") != NULL;
    ck_assert(mp->par.data_parallel); /* batch norm too: its sums over the batch are synced */
    ck_assert_int_eq(mp->par.coupled_at != NULL, batch_norm);
    ck_assert_int_eq(mp->par.synced, batch_norm);
    ck_assert_ptr_null(mp->par.unsplittable);
    Trainer *ts = trainer_new(ms), *tp = trainer_new(mp);
    ck_assert_int_eq(tp->workers, threads); /* inference splits batch norm models too */
    double loss_s = 0, loss_p = 0;
    for (int e = 0; e < 2; e++) {
      loss_s = trainer_epoch(ts, &d, 0, e, NULL, NULL);
      loss_p = trainer_epoch(tp, &d, 0, e, NULL, NULL);
    }
    ck_assert_msg(fabs(loss_s - loss_p) <= 1e-5 * (1 + fabs(loss_s)), "loss %g vs %g", loss_s, loss_p);
    const int64_t *off_s = model_state_offsets(ms), *off_p = model_state_offsets(mp);
    for (int i = 0; i < ms->g->len; i++) {
      const Node *x = ms->g->nodes[i];
      if (x->op != OP_PARAM && x->op != OP_STATE) continue;
      const Node *y = graph_find(mp->g, x->op, x->name); /* state comes after other nodes: by name */
      ck_assert_ptr_nonnull(y);
      for (int64_t k = 0; k < shape_numel(x->shape); k++) {
        float a = ts->arena[off_s[i] + k], b = tp->arena[off_p[y->id] + k];
        ck_assert_msg(fabsf(a - b) <= 1e-4f * (1 + fabsf(a)), "model %d, %d threads: %s[%lld] = %g, whole step %g", _i,
                      threads, x->name, (long long)k, b, a);
      }
    }
    /* inference split over the threads classifies as on one */
    ck_assert_double_eq(trainer_error(ts, &d, 0), trainer_error(tp, &d, 0));
    trainer_free(ts);
    trainer_free(tp);
    model_free(ms);
    model_free(mp);
  }
  dlrt_dataset_free(&d);
}
END_TEST

/* Inference runs a batch through dlc_forward in slices (trainer_forward_rows) and gives
 * each row what the whole batch gives it: rows are independent in inference (batch norm's
 * running statistics, dropout off), and each slice reads and writes its own rows. */
START_TEST(inference_in_slices_equals_whole_batch) {
  Model *m = compiled_model_of(_i ? MODELS[_i] : MODEL);
  DlrtDataset d = random_images(29, 11u + (unsigned)_i);
  Trainer *t = trainer_new(m);
  trainer_epoch(t, &d, 0, 0, NULL, NULL); /* (batch norm's running statistics away from 0 and 1) */
  int n = m->train.batch, classes = t->classes;
  ck_assert(trainer_outputs(t, &d, 3, n));
  ck_assert_int_eq(t->forward_rows, 0); /* a tiny model runs whole */
  float *whole = malloc(sizeof(float) * (size_t)(n * classes));
  memcpy(whole, t->out, sizeof(float) * (size_t)(n * classes));
  t->forward_rows = 3; /* slices of 3, 3 and 2 rows */
  ck_assert(trainer_outputs(t, &d, 3, n));
  for (int k = 0; k < n * classes; k++)
    ck_assert_msg(fabsf(t->out[k] - whole[k]) <= 1e-5f * (1 + fabsf(whole[k])), "model %d: output %d is %g in slices, %g whole",
                  _i, k, t->out[k], whole[k]);
  free(whole);
  trainer_free(t);
  model_free(m);
  dlrt_dataset_free(&d);
}
END_TEST

/* Which models are sliced at batch 1000: a convolutional one (batch norm of 28 x 28 maps:
 * tens of MB of activations) in slices of at least 16 rows, the MLP (tens of kB) not. */
START_TEST(big_batches_are_sliced_where_activations_are_big) {
  static const struct { int model; bool sliced; } cases[] = {{4, true}, {1, false}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *text = strdup(MODELS[cases[i].model]), *batch = strstr(text, "batch = 8 }");
    ck_assert_ptr_nonnull(batch);
    memcpy(batch, "batch=1000}", 11); /* (as long as what it replaces) */
    Model *m = compiled_model_of(text);
    int rows = trainer_forward_rows(m);
    if (cases[i].sliced) {
      ck_assert_int_ge(rows, 16);
      ck_assert_int_lt(rows, 1000);
    } else {
      ck_assert_int_eq(rows, 0);
    }
    model_free(m);
    free(text);
  }
}
END_TEST

/* On several cores the JIT compiles the training step in pieces, each a module of its own
 * (driver.c), and dlc_train_step runs them in order; train_step_matches_reference checks
 * what they compute. */
START_TEST(jit_compiles_the_step_in_pieces) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) return; /* one core: one module */
  Model *m = compiled_model_of(MODELS[2]);
  Trainer *t = trainer_new(m);
  ck_assert_ptr_nonnull(t);
  ck_assert_int_ge(m->times.threads, 2);
  char err[256];
  ck_assert_ptr_nonnull(jit_lookup(m->jit, "dlc_train_step.part1", err, sizeof err));
  ck_assert_ptr_nonnull(jit_lookup(m->jit, "dlc_train_step.part2", err, sizeof err));
  ck_assert_ptr_nonnull(t->train_step);
  /* dlc_forward compiles in the background: the trainer has no pointer to it until it is
   * needed, and then it is there */
  ck_assert_ptr_null(t->forward);
  ck_assert(m->times.forward_later && !m->times.forward_done);
  ck_assert_ptr_nonnull(trainer_forward(t));
  ck_assert(m->times.forward_done && m->times.forward > 0);
  trainer_free(t);
  model_free(m);
}
END_TEST

/* Which examples split a step at --threads 2: LeNet-5 (116 MFLOP a step) does, the MLP at
 * batch 32 (10 MFLOP) does not. */
START_TEST(examples_split_where_it_pays) {
  static const struct { const char *file; bool split; } cases[] = {{"lenet.net", true}, {"mlp.net", false}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/examples/%s", DLC_SOURCE_DIR, cases[i].file);
    ModelConfig cfg = model_config();
    cfg.threads = 2;
    Model *m = model_load(path, &cfg);
    ck_assert_ptr_nonnull(m);
    ck_assert(model_build_training(m));
    ck_assert_int_eq(m->par.data_parallel, cases[i].split);
    ck_assert_ptr_null(m->par.coupled_at);
    ck_assert_int_eq(m->par.shard_rows, (m->train.batch + 1) / 2);
    model_free(m);
  }
}
END_TEST

/* What the two CNNs above are lowered with: every max pooling backward adds up its bias (or
 * beta) gradient and reads the choices its forward saved, and each Adam moment is stored by
 * its parameter's loop; in one thread's step and in the data-parallel one's functions
 * (train_step_matches_reference and data_parallel_step_equals_whole_step check what they
 * compute). */
START_TEST(cnn_passes_are_fused) {
  for (int i = N_MODELS - 2; i < N_MODELS; i++)
    for (int threads = 1; threads <= 2; threads++) {
      Model *m = compiled_model_threads(MODELS[i], threads);
      const Schedule *fns[2] = {&m->fns[FN_TRAIN].sched, NULL};
      if (threads > 1) {
        ck_assert(m->par.data_parallel);
        fns[0] = &m->par_fns[PAR_GRAD].sched, fns[1] = &m->par_fns[PAR_UPDATE].sched;
      }
      int pools = 0, sums = 0, choices = 0, moments = 0, stored = 0;
      for (int f = 0; f < 2 && fns[f]; f++)
        for (int k = 0; k < fns[f]->len; k++) {
          const Schedule *step = fns[f];
          const Node *y = step->order[k];
          if (y->op == OP_MAXPOOL_BACK && step->epilogue[y->id]) {
            const Node *sum = step->epilogue_sum[y->id];
            pools++;
            sums += sum && sum->op == OP_SUM_TO && sum->in[0] == step->epilogue[y->id] && schedule_site(step, sum) == y;
            const Node *f = step->pool_argmax[y->id]; /* the forward that saves the choices */
            choices += f && f->op == OP_MAXPOOL && f->in[0] == y->in[0] && step->pool_argmax[f->id] == y;
          }
          if (y->op == OP_ASSIGN && y->in[0]->op == OP_STATE && strstr(y->in[0]->name, "running") == NULL) {
            moments++;
            stored += step->fused_into[y->in[1]->id] && step->in_place[y->in[1]->id] == y->in[0];
          }
        }
      int expected_pools = i == N_MODELS - 2 ? 3 : 2;
      ck_assert_int_eq(pools, expected_pools);
      ck_assert_int_eq(sums, pools);
      ck_assert_int_eq(choices, pools);
      ck_assert_int_gt(moments, 0);
      ck_assert_int_eq(stored, moments);
      model_free(m);
    }
}
END_TEST

static Suite *lower_suite(void) {
  Suite *s = suite_create("lower");
  TCase *tc = tcase_create("jit");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, ir_has_functions_calls_and_vectors);
  tcase_add_test(tc, conv_kernels_carry_their_line);
  tcase_add_loop_test(tc, train_step_matches_reference, 0, N_MODELS);
  tcase_add_loop_test(tc, vector_tails_both_ways, 0, 2);
  tcase_add_test(tc, forward_matches_reference);
  tcase_add_loop_test(tc, data_parallel_step_equals_whole_step, 0, N_MODELS);
  tcase_add_test(tc, examples_split_where_it_pays);
  tcase_add_loop_test(tc, inference_in_slices_equals_whole_batch, 0, N_MODELS);
  tcase_add_test(tc, big_batches_are_sliced_where_activations_are_big);
  tcase_add_test(tc, jit_compiles_the_step_in_pieces);
  tcase_add_test(tc, cnn_passes_are_fused);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(lower_suite()); }
