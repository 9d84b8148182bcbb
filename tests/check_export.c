/* check_export.c — `dlc export`: for every example and tests/export/layers.net (every layer and
 * built-in function inference computes: batch norm, layer norm, dropout, tables, grouped and
 * depthwise convolutions, all poolings, im2col, the functions along axes, products per
 * example), untrained and, for three of them, trained for an epoch:
 *   - the ONNX model passes onnx.checker (full check) and strict shape inference, carries
 *     the checkpoint's tensors, and, run by tests/onnx_eval.py (NumPy, no dlc code), gives
 *     dlc's outputs and classes on test images at any batch size; trained, it misclassifies
 *     as many of the 10,000 test images as `dlc eval` does (tests/onnx_check.py);
 *   - the PyTorch module loads the checkpoint, gives dlc's outputs and classes, trained
 *     misclassifies as many test images as `dlc eval` does, and saves a checkpoint that
 *     `dlc eval` scores the same (tests/torch_check.py, with Debian's python3-torch);
 * and: a graph made by hand with what no .net file makes in inference (pad, products per
 * example with transposes, ...) exported both ways computes what dlc's reference evaluator
 * does; every op with a mapping is computed by one of these models (in each form that maps
 * differently), and only ops of training have none; the inference graph has no batch
 * statistics or dropout noise left; an op without an ONNX or PyTorch mapping is a located
 * error naming it; bad command lines, checkpoints and output paths are errors that leave no
 * file. Reads MNIST from DLC_TEST_DATA/mnist. */
#define _GNU_SOURCE
#define DLC_TIMEOUT TIMEOUT /* (enum below) */
#include "helpers.h"
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "checkpoint.h"
#include "export.h"
#include "interp.h"
#include "snapshot.h"
#include "trainer.h"
#include "workers.h"

#define PYTHON "/usr/bin/python3"
#define TESTS DLC_SOURCE_DIR "/tests"
#define MLP DLC_SOURCE_DIR "/examples/mlp.net"
#define LENET DLC_SOURCE_DIR "/examples/lenet.net"
#define LAYERS TESTS "/export/layers.net"

enum { IMAGES = 256, TIMEOUT = 600, MAX_CASES = 32 };

/* The suite's work directory, made once (unchecked fixture) and shared by its tests. */
static char *work;

static void work_make(void) { work = make_temp_dir(); }
static void work_remove(void) {
  remove_tree(work);
  free(work);
}

static char *in_work(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *name = NULL;
  ck_assert_int_ge(vasprintf(&name, fmt, ap), 0);
  va_end(ap);
  char *path = path_join(work, name);
  free(name);
  return path;
}

/* ---- dlc's side of each case ---------------------------------------------------------- */

typedef struct Case {
  char name[64];
  char *net, *ckpt, *onnx, *module, *x, *out, *resaved;
  bool trained; /* for an epoch: then the test set is classified by dlc eval, and by the exports */
  int errors;   /* ... and dlc eval's misclassified test images */
} Case;

static Case cases[MAX_CASES];
static int n_cases;

/* The number in dlc eval's "(N of 10000 test images)". */
static int eval_errors(const char *net, const char *ckpt) {
  RunResult r = dlc("eval", net, "--load", ckpt, "--data", DLC_TEST_DATA);
  assert_ok(r);
  const char *at = strstr(r.out, "% (");
  int errors = -1;
  ck_assert_msg(at && sscanf(at, "%% (%d of", &errors) == 1, "dlc eval said: %s", r.out);
  run_result_free(&r);
  return errors;
}

static void write_floats(const char *path, const float *v, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(v, sizeof *v, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
}

/* dlc's compiled dlc_forward on the first IMAGES test images, with the parameters of ckpt
 * (NULL: a fresh trainer's, which are then saved as c->ckpt): the inputs as dlc feeds them
 * and the outputs, as raw float32 files for the Python checks. */
static void dlc_outputs(Case *c, const char *ckpt, const DlrtDataset *test) {
  ModelConfig cfg = model_config();
  cfg.inference_only = true;
  Model *m = model_load(c->net, &cfg);
  ck_assert_ptr_nonnull(m);
  ck_assert(model_build_training(m));
  Trainer *t = trainer_new(m);
  ck_assert_ptr_nonnull(t);
  ck_assert_ptr_nonnull(trainer_forward(t));
  char err[1024];
  if (ckpt) ck_assert_msg(snapshot_load_for_inference(t, ckpt, err, sizeof err) == 0, "%s", err);
  else ck_assert_msg(snapshot_save(t, c->ckpt, 0, err, sizeof err) == 0, "%s", err);
  int batch = m->train.batch, in = t->in_features, classes = t->classes;
  float *x = calloc((size_t)IMAGES * (size_t)in, sizeof *x), *out = calloc((size_t)IMAGES * (size_t)classes, sizeof *out);
  int idx[IMAGES];
  for (int done = 0; done < IMAGES; done += batch) {
    int n = IMAGES - done < batch ? IMAGES - done : batch;
    for (int i = 0; i < n; i++) idx[i] = done + i;
    workers_fill(t, test, idx, n, t->x, NULL);
    workers_split(t, t->workers, t->x, NULL, t->out, n, &t->training_off);
    workers_forward(t);
    memcpy(x + (size_t)done * (size_t)in, t->x, sizeof *x * (size_t)n * (size_t)in);
    memcpy(out + (size_t)done * (size_t)classes, t->out, sizeof *out * (size_t)n * (size_t)classes);
  }
  write_floats(c->x, x, (size_t)IMAGES * (size_t)in);
  write_floats(c->out, out, (size_t)IMAGES * (size_t)classes);
  free(x);
  free(out);
  trainer_free(t);
  model_free(m);
}

/* One case: the model's checkpoint (trained for an epoch on `train_images` images, or the
 * initial parameters), dlc's outputs and test error, and both exports. */
static void add_case(const char *net, const char *name, int train_images, const DlrtDataset *test) {
  ck_assert_int_lt(n_cases, MAX_CASES);
  Case *c = &cases[n_cases++];
  snprintf(c->name, sizeof c->name, "%s", name);
  c->net = strdup(net);
  c->ckpt = in_work("%s.ck", name);
  c->onnx = in_work("%s.onnx", name);
  c->module = in_work("%s.py", name);
  c->x = in_work("%s.x", name);
  c->out = in_work("%s.out", name);
  c->resaved = in_work("%s.resaved.ck", name);
  RunResult r;
  c->trained = train_images > 0;
  if (train_images) {
    char held_out[64];
    snprintf(held_out, sizeof held_out, "validation = %d", 60000 - train_images);
    r = dlc("train", net, "--epochs", "1", "--data", DLC_TEST_DATA, "--save", c->ckpt, "--set", held_out);
    assert_ok(r);
    run_result_free(&r);
    dlc_outputs(c, c->ckpt, test);
    r = dlc("export", net, "--load", c->ckpt, "-o", c->onnx);
    assert_ok(r);
    run_result_free(&r);
    r = dlc("export", net, "--load", c->ckpt, "--pytorch", "-o", c->module);
  } else { /* exported without --load: the seed's parameters, which dlc_outputs saved */
    dlc_outputs(c, NULL, test);
    r = dlc("export", net, "-o", c->onnx);
    assert_ok(r);
    run_result_free(&r);
    r = dlc("export", net, "--pytorch", "-o", c->module);
  }
  assert_ok(r);
  run_result_free(&r);
  if (c->trained) c->errors = eval_errors(net, c->ckpt);
}

static void cases_free(void) {
  for (int i = 0; i < n_cases; i++) {
    Case *c = &cases[i];
    char **paths[] = {&c->net, &c->ckpt, &c->onnx, &c->module, &c->x, &c->out, &c->resaved};
    for (size_t k = 0; k < sizeof paths / sizeof *paths; k++) free(*paths[k]);
  }
  n_cases = 0;
}

/* A JSON string of a path (no quotes or control characters in the paths the suite makes). */
static void json_path(FILE *f, const char *key, const char *path) { fprintf(f, "\"%s\": \"%s\"", key, path); }

/* What the Python checks read: the data directory, then every case. */
static char *write_cases(void) {
  char *path = in_work("cases.json");
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f, "{\"mnist\": \"%s/mnist\", \"images\": %d, \"cases\": [\n", DLC_TEST_DATA, IMAGES);
  for (int i = 0; i < n_cases; i++) {
    const Case *c = &cases[i];
    fprintf(f, "  {\"name\": \"%s\", ", c->name);
    json_path(f, "checkpoint", c->ckpt), fputs(", ", f);
    json_path(f, "onnx", c->onnx), fputs(", ", f);
    json_path(f, "module", c->module), fputs(", ", f);
    json_path(f, "x", c->x), fputs(", ", f);
    json_path(f, "out", c->out), fputs(", ", f);
    json_path(f, "resaved", c->resaved);
    /* the test set is classified for trained models (the others: IMAGES images) */
    if (c->trained) fprintf(f, ", \"errors\": %d}", c->errors);
    else fputs(", \"errors\": null}", f);
    fputs(i + 1 < n_cases ? ",\n" : "\n", f);
  }
  fputs("]}\n", f);
  ck_assert_int_eq(fclose(f), 0);
  return path;
}

/* Calls fn with the path and the name (without .net) of every examples/ *.net file; their count. */
static int for_each_example(void (*fn)(const char *net, const char *name, void *ctx), void *ctx) {
  DIR *d = opendir(DLC_SOURCE_DIR "/examples");
  ck_assert_ptr_nonnull(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    size_t len = strlen(e->d_name);
    if (len < 5 || strcmp(e->d_name + len - 4, ".net") != 0) continue;
    char net[600], name[64];
    snprintf(net, sizeof net, "%s/examples/%s", DLC_SOURCE_DIR, e->d_name);
    snprintf(name, sizeof name, "%.*s", (int)(len - 4), e->d_name);
    fn(net, name, ctx);
    n++;
  }
  closedir(d);
  return n;
}

static void add_untrained_case(const char *net, const char *name, void *test) { add_case(net, name, 0, test); }

/* Every example untrained, layers.net untrained, and three trained for an epoch on a part of
 * the training set (a sigmoid MLP, LeNet-5 with its table, and layers.net, whose batch-norm
 * statistics then differ from their start). */
static void prepare_cases(void) {
  DlrtDataset test;
  char err[1024];
  ck_assert_msg(dlrt_mnist_load(DLC_TEST_DATA, "t10k", &test, err, sizeof err) == 0,
                "%s (the export tests classify MNIST's test set: scripts/fetch-mnist.sh)", err);
  ck_assert_int_ge(for_each_example(add_untrained_case, &test), 10);
  add_case(LAYERS, "layers", 0, &test);
  add_case(MLP, "mlp-trained", 60000, &test);
  add_case(LENET, "lenet-trained", 5000, &test);
  add_case(LAYERS, "layers-trained", 5000, &test);
  dlrt_dataset_free(&test);
}

/* Runs tests/SCRIPT with /usr/bin/python3 on the cases; its report on failure. */
static void python_check(const char *script, const char *cases_json) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", TESTS, script);
  RunResult r = run_command(NULL, TIMEOUT, PYTHON, path, cases_json, (const char *)NULL);
  if (r.status != 0) ck_abort_msg("%s failed (status %d):\n%s\n%s", script, r.status, r.out, r.err);
  fputs(r.out, stderr);
  run_result_free(&r);
}

/* The ONNX models and the PyTorch modules of every case classify as dlc does; the modules'
 * save_dlc writes checkpoints dlc eval scores the same (trained models; for the others
 * torch_check.py compares the tensors written with the checkpoint's). */
START_TEST(exports_classify_as_dlc_does) {
  prepare_cases();
  char *json = write_cases();
  python_check("onnx_check.py", json);
  python_check("torch_check.py", json);
  for (int i = 0; i < n_cases; i++) {
    const Case *c = &cases[i];
    ck_assert_msg(file_exists(c->resaved), "%s: torch_check.py saved no checkpoint", c->name);
    if (!c->trained) continue;
    int errors = eval_errors(c->net, c->resaved);
    ck_assert_msg(errors == c->errors, "%s: dlc eval of the module's save_dlc: %d errors, of the checkpoint: %d",
                  c->name, errors, c->errors);
  }
  free(json);
  cases_free();
}
END_TEST

/* ---- the inference graph --------------------------------------------------------------- */

static Model *built(const char *net) {
  ModelConfig cfg = model_config();
  cfg.inference_only = true;
  Model *m = model_load(net, &cfg);
  ck_assert_ptr_nonnull(m);
  ck_assert(model_build_training(m));
  return m;
}

static int count_op(NodeList l, DlcOp op) {
  int n = 0;
  for (int i = 0; i < l.len; i++) n += l.nodes[i]->op == op;
  return n;
}

/* dlc_forward of layers.net reads the training flag, dropout's noise and the batch's
 * statistics (sums over the batch times 1/n); its inference graph none of them, and every
 * batch norm's running statistics. */
START_TEST(inference_drops_what_training_reads) {
  Model *m = built(LAYERS);
  NodeList forward = schedule_nodes(&m->fns[FN_FORWARD].sched);
  ck_assert_int_eq(count_op(forward, OP_HYPER), 1);
  ck_assert_int_eq(count_op(forward, OP_NOISE), 1);
  ck_assert_int_gt(count_op(forward, OP_INV_BATCH), 0);
  Inference inf;
  ck_assert(inference_of_model(&inf, m));
  static const DlcOp gone[] = {OP_HYPER, OP_NOISE, OP_INV_BATCH, OP_STEP, OP_OUTPUT};
  for (size_t k = 0; k < sizeof gone / sizeof *gone; k++)
    ck_assert_msg(count_op(inf.order, gone[k]) == 0, "the inference graph still has %s", op_name(gone[k]));
  for (int i = 0; i < inf.order.len; i++) {
    const Node *y = inf.order.nodes[i];
    ck_assert_msg(y->op != OP_SUM_TO || inference_input(&inf, y, 0)->shape.batched == y->shape.batched,
                  "a sum over the batch is left (node %d)", y->id);
  }
  ck_assert_int_eq(count_op(inf.order, OP_STATE), 6); /* running mean and variance of 3 batch norms */
  ck_assert_int_lt(inf.order.len, forward.len);
  ck_assert_ptr_eq(inf.out, m->out_result->in[0]);
  inference_free(&inf);
  model_free(m);
}
END_TEST

/* conv_groups: the group count of a block-diagonal table (1 for none or a full one), 0 for any
 * other table, even one with as many connections as a grouped convolution has. */
START_TEST(grouped_only_when_block_diagonal) {
  static const struct {
    int c, maps;
    unsigned char connect[24]; /* [input][map] */
    int groups;
  } tables[] = {
      {2, 3, {1, 1, 1, 1, 1, 1}, 1},                                      /* full */
      {4, 6, {1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1}, 2},
      {3, 3, {1, 0, 0, 0, 1, 0, 0, 0, 1}, 3},                             /* depthwise */
      {2, 4, {1, 1, 0, 0, 0, 0, 1, 1}, 2},                                /* one input, two maps per group */
      {2, 2, {0, 1, 1, 0}, 0},                                            /* as many pairs, crossed */
      {4, 2, {1, 0, 0, 1, 1, 0, 0, 1}, 0},                                /* inputs of the groups interleaved */
      {2, 2, {1, 1, 0, 1}, 0},                                            /* 3 of 4 pairs */
      {4, 4, {1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1}, 0},        /* a block missing a pair */
  };
  Window w = {.k = 3};
  ck_assert_int_eq(conv_groups(&w), 1); /* no table */
  for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
    w.c = tables[i].c, w.maps = tables[i].maps, w.connect = tables[i].connect;
    ck_assert_msg(conv_groups(&w) == tables[i].groups, "table %zu: %d groups, want %d", i, conv_groups(&w),
                  tables[i].groups);
  }
}
END_TEST

/* export_params_load without a checkpoint draws what the trainer draws. */
START_TEST(initial_parameters_are_the_trainers) {
  Model *m = built(LENET);
  Trainer *t = trainer_new(m);
  ck_assert_ptr_nonnull(t);
  ExportParams p;
  char err[256];
  ck_assert(export_params_load(m->g, m, m->train.seed, NULL, &p, err, sizeof err) == 0);
  const int64_t *off = model_state_offsets(m);
  int compared = 0;
  for (int i = 0; i < m->g->len; i++) {
    const Node *x = m->g->nodes[i];
    if (x->op != OP_PARAM && x->op != OP_STATE) continue;
    ck_assert_msg(memcmp(p.value[i], t->arena + off[i], sizeof(float) * (size_t)shape_numel(x->shape)) == 0,
                  "%s differs from the trainer's", x->name);
    compared++;
  }
  ck_assert_int_gt(compared, 10);
  export_params_free(&p);
  trainer_free(t);
  model_free(m);
}
END_TEST

/* ---- ops without a mapping ------------------------------------------------------------- */

/* Graphs dlc's front end never makes for inference (col2im and reduce_max_back are ops of
 * gradients), exported both ways: a located error naming the op, and no file. */
START_TEST(unmapped_op_is_a_located_error) {
  static const char *const line[] = {"out = col2im(im2col(x))", "out = reduce_max_back(x, max(x, axis: 1))"};
  static const char *const op[] = {"col2im", "reduce_max_back"};
  for (int kase = 0; kase < 2; kase++) {
    char *text = NULL;
    ck_assert_int_ge(asprintf(&text, "input x : [1, 4, 4]\n%s\n", line[kase]), 0);
    SrcFile *src = srcfile_from_string("hand.net", text);
    SrcLoc at = {src, 2, 7, NULL};
    Graph *g = graph_new();
    Node *x = g_input(g, "x", shape_make(true, 3, (int[]){1, 4, 4}), (SrcLoc){src, 1, 8, NULL});
    Window w;
    char err[256];
    ck_assert(window_make(1, 4, 4, 2, 2, 0, &w, err, sizeof err));
    g_output(g, kase == 0 ? g_col2im(g, g_im2col(g, x, &w, at), &w, at)
                          : g_reduce_max_back(g, x, g_reduce_max(g, x, 1, at), 1, at), at);
    Inference inf;
    ck_assert(inference_build(&inf, g, graph_nodes(g), NULL));
    ExportParams p;
    ck_assert(export_params_load(g, NULL, 1, NULL, &p, err, sizeof err) == 0);
    ExportInfo info = {"hand.net", 0, 1};
    char *path = in_work("hand.out");
    for (int format = 0; format < 2; format++) {
      char *said = NULL, *want = NULL;
      size_t len = 0;
      FILE *mem = open_memstream(&said, &len);
      diag_set_stream(mem);
      bool ok = format == 0 ? export_onnx(&inf, &p, &info, path, NULL) : export_pytorch(&inf, &p, &info, path, NULL);
      diag_set_stream(NULL);
      fclose(mem);
      ck_assert(!ok);
      const char *target = format == 0 ? "ONNX" : "PyTorch";
      ck_assert_int_ge(asprintf(&want, "hand.net:2:7: error: cannot export to %s: op '%s' has no %s equivalent", target,
                                op[kase], target), 0);
      ck_assert_msg(strstr(said, want), "said:\n%s", said);
      ck_assert_msg(strstr(said, line[kase]), "no source line in:\n%s", said);
      ck_assert(!file_exists(path));
      free(want);
      free(said);
    }
    free(path);
    export_params_free(&p);
    inference_free(&inf);
    graph_free(g);
    srcfile_free(src);
    free(text);
  }
}
END_TEST

/* ---- mappings no example reaches ------------------------------------------------------- */

enum { HAND_ROWS = 6, HAND_PARAMS = 4, HAND_IN = 72, HAND_OUT = 244 };

static Node *g_neg(Graph *g, Node *a, SrcLoc at) { return g_unary(g, OP_NEG, a, at); }

static Shape batched(int rank, const int *d) { return shape_make(true, rank, d); }
static Shape shared(int rank, const int *d) { return shape_make(false, rank, d); }

/* x / 16, to keep products of products near 1. */
static Node *scaled(Graph *g, Node *x, SrcLoc at) { return g_binary(g, OP_MUL, x, g_const(g, 1.0f / 16, at), at); }

/* Products per example with a matrix per example on either side and every transpose, from
 * the rows [3, 16] per example and a parameter R [16, 4]: R^T rows^T + ((rows R)^T rows) rows^T,
 * a per-example [4, 3]. */
static Node *products_per_example(Graph *g, Node *rows, Node *r, SrcLoc at) {
  Node *a = g_gemm_per_example(g, r, rows, true, true, at);                        /* [4, 3] */
  Node *b = scaled(g, g_gemm_per_example(g, rows, r, false, false, at), at);       /* [3, 4] */
  Node *c = scaled(g, g_gemm_per_example(g, b, rows, true, false, at), at);        /* [4, 16] */
  return g_binary(g, OP_ADD, a, scaled(g, g_gemm_per_example(g, c, rows, false, true, at), at), at);
}

/* A graph made by hand with what the front end makes only in gradients or never in
 * inference: an im2col that is not part of a convolution, a batched matrix of rows times a
 * transposed parameter, a transpose, step, sums to batched and shared shapes and over a middle
 * axis, a tabled and a grouped convolution of computed kernels, a product that sums over the
 * batch, 1/n, a broadcast to every example, products per example with transposes (a shared
 * matrix on either side), pad, concat, slice and reduce_max of shared values, pad of a
 * batched one, log_softmax. */
static Graph *hand_graph(SrcFile *src, Node **params) {
  SrcLoc at = {src, 1, 1, NULL};
  Graph *g = graph_new();
  Node *x = g_input(g, "x", batched(3, (int[]){2, 6, 6}), at);
  Window patches, tabled, grouped;
  char err[256];
  ck_assert(window_make(2, 6, 6, 3, 1, 1, &patches, err, sizeof err));
  ck_assert(window_make(2, 6, 6, 3, 1, 0, &tabled, err, sizeof err));
  grouped = tabled;
  static const unsigned char connect[2 * 3] = {1, 0, 1, 1, 1, 0};              /* [input][map]: 4 pairs */
  static const unsigned char two_groups[2 * 4] = {1, 1, 0, 0, 0, 0, 1, 1};     /* block diagonal */
  tabled.maps = 3;
  tabled.connect = connect;
  grouped.maps = 4;
  grouped.connect = two_groups;
  Node *w = params[0] = g_param(g, "W", shared(2, (int[]){3, 18}), at);
  Node *k = params[1] = g_param(g, "K", shared(2, (int[]){4, 9}), at);
  Node *r = params[2] = g_param(g, "R", shared(2, (int[]){16, 4}), at);
  Node *sp = params[3] = g_param(g, "S", shared(2, (int[]){4, 6}), at);
  for (int i = 0; i < HAND_PARAMS; i++) params[i]->init = (DlrtInit){.kind = INIT_UNIFORM, .a = -1, .b = 1, .fan_in = 18, .fan_out = 3};
  Node *q = g_transpose(g, g_gemm(g, g_im2col(g, x, &patches, at), w, false, true, at), at); /* [3, 36] */
  Node *s = g_sum_to(g, g_neg(g, q, at), batched(2, (int[]){3, 1}), at);
  s = g_binary(g, OP_MUL, s, g_unary(g, OP_STEP, s, at), at);
  Node *c = g_conv(g, x, g_binary(g, OP_MUL, k, g_const(g, 0.5f, at), at), &tabled, at); /* [3, 4, 4] */
  Node *f = g_reshape(g, c, batched(1, (int[]){48}), at);
  Node *m = g_binary(g, OP_MUL, g_gemm(g, f, f, true, false, at), g_inv_batch(g, at), at); /* [48, 48] */
  Node *v = g_broadcast(g, g_sum_to(g, m, shared(1, (int[]){48}), at), batched(2, (int[]){3, 48}), at);
  Node *z = g_reshape(g, g_binary(g, OP_ADD, v, s, at), batched(1, (int[]){144}), at);

  Node *p = products_per_example(g, g_reshape(g, c, batched(2, (int[]){3, 16}), at), r, at); /* [4, 3] */
  Node *wide = g_slice(g, g_concat(g, sp, sp, 1, at), 1, 5, 3, at);            /* S's columns 5, 0, 1: [4, 3] */
  Node *top = g_reduce_max(g, sp, 0, at);                                       /* [6] */
  Node *t = g_binary(g, OP_ADD, g_pad(g, g_binary(g, OP_ADD, p, wide, at), 1, 2, 6, at), top, at); /* [4, 6] */
  Node *middle = g_sum_to(g, c, batched(3, (int[]){3, 1, 4}), at);
  Node *u = g_binary(g, OP_ADD, g_reshape(g, middle, batched(1, (int[]){12}), at), g_pad(g, top, 0, 3, 12, at), at);
  Node *gc = g_conv(g, x, g_neg(g, k, at), &grouped, at);                     /* [4, 4, 4] */
  Node *y = g_concat(g, z, g_reshape(g, t, batched(1, (int[]){24}), at), 0, at);
  y = g_concat(g, y, u, 0, at);
  y = g_concat(g, y, g_reshape(g, gc, batched(1, (int[]){64}), at), 0, at); /* [244] */
  g_output(g, g_row(g, OP_LOG_SOFTMAX, y, at), at);
  return g;
}

/* Its checkpoint, x and reference outputs (graph/interp.c, double precision) on HAND_ROWS
 * random examples, both exports, and the Python checks of what they compute. */
START_TEST(hand_made_graph_exports_agree) {
  SrcFile *src = srcfile_from_string("hand.net", "# made by hand\n");
  Node *params[HAND_PARAMS];
  Graph *g = hand_graph(src, params);
  char err[1024];
  ck_assert_msg(!graph_verify(g, err, sizeof err), "%s", err);
  Inference inf;
  ck_assert(inference_build(&inf, g, graph_nodes(g), NULL));
  ck_assert_int_eq(count_op(inf.order, OP_IM2COL), 1); /* not a convolution's: exported as one */
  ck_assert_int_eq(count_op(inf.order, OP_PAD), 2);
  ExportParams p;
  ck_assert(export_params_load(g, NULL, 3, NULL, &p, err, sizeof err) == 0);
  Case c = {.name = "hand"};
  c.ckpt = in_work("hand.ck"), c.onnx = in_work("hand.onnx"), c.module = in_work("hand.py");
  c.x = in_work("hand.x"), c.out = in_work("hand.out"), c.resaved = in_work("hand.resaved.ck");
  CkptTensor ts[HAND_PARAMS];
  for (int i = 0; i < HAND_PARAMS; i++) {
    const Node *n = params[i];
    ts[i] = (CkptTensor){n->name, 2, {n->shape.dim[0], n->shape.dim[1]}, p.value[n->id]};
  }
  CkptMeta meta[] = {{"format", "dlc"}};
  ck_assert_msg(dlrt_ckpt_save(c.ckpt, ts, HAND_PARAMS, meta, 1, err, sizeof err) == 0, "%s", err);

  enum { IN = HAND_IN, OUT = HAND_OUT };
  static float xf[HAND_ROWS * IN], outf[HAND_ROWS * OUT];
  static double xd[HAND_ROWS * IN], outd[HAND_ROWS * OUT];
  DlrtRng rng;
  dlrt_rng_seed(&rng, 5);
  for (int i = 0; i < HAND_ROWS * IN; i++) xd[i] = xf[i] = (float)dlrt_rng_uniform(&rng);
  double **leaf = calloc((size_t)g->len, sizeof *leaf);
  for (int i = 0; i < HAND_PARAMS; i++) {
    const Node *n = params[i];
    leaf[n->id] = malloc(sizeof(double) * (size_t)shape_numel(n->shape));
    for (int64_t j = 0; j < shape_numel(n->shape); j++) leaf[n->id][j] = p.value[n->id][j];
  }
  const double *feeds[1] = {xd};
  ck_assert_int_eq(g->n_feeds, 1);
  double *results[1] = {outd};
  Interp it = {.g = g, .n = HAND_ROWS, .leaf = leaf, .feeds = feeds};
  interp_run(&it, graph_nodes(g), results);
  for (int i = 0; i < HAND_ROWS * OUT; i++) outf[i] = (float)outd[i];
  write_floats(c.x, xf, HAND_ROWS * IN);
  write_floats(c.out, outf, HAND_ROWS * OUT);

  ExportInfo info = {"hand.net", 0, 1};
  ck_assert(export_onnx(&inf, &p, &info, c.onnx, NULL));
  ck_assert(export_pytorch(&inf, &p, &info, c.module, NULL));
  char *json = in_work("hand.json");
  FILE *f = fopen(json, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f, "{\"mnist\": \"%s/mnist\", \"images\": %d, \"cases\": [{\"name\": \"hand\", ", DLC_TEST_DATA, HAND_ROWS);
  json_path(f, "checkpoint", c.ckpt), fputs(", ", f);
  json_path(f, "onnx", c.onnx), fputs(", ", f);
  json_path(f, "module", c.module), fputs(", ", f);
  json_path(f, "x", c.x), fputs(", ", f);
  json_path(f, "out", c.out), fputs(", ", f);
  json_path(f, "resaved", c.resaved);
  fputs(", \"errors\": null, \"whole_batch\": true}]}\n", f);
  ck_assert_int_eq(fclose(f), 0);
  python_check("onnx_check.py", json);
  python_check("torch_check.py", json);

  interp_clear(&it);
  for (int i = 0; i < g->len; i++) free(leaf[i]);
  free(leaf);
  char **paths[] = {&c.ckpt, &c.onnx, &c.module, &c.x, &c.out, &c.resaved, &json};
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) free(*paths[i]);
  export_params_free(&p);
  inference_free(&inf);
  graph_free(g);
  srcfile_free(src);
}
END_TEST
/* ---- no op escapes the checks ---------------------------------------------------------- */

/* What the inference graphs of the checked models compute: each op, and the forms of gemm
 * and conv that map differently. */
typedef struct Reached {
  bool op[OP_COUNT];
  bool gemm_per_example, conv_grouped, conv_masked, conv_patches;
} Reached;

static void reach(Reached *r, const Inference *inf) {
  for (int i = 0; i < inf->order.len; i++) {
    const Node *y = inf->order.nodes[i];
    if (inf->folded[y->id]) continue;
    r->op[y->op] = true;
    r->gemm_per_example |= y->op == OP_GEMM && y->attr.gemm.per_example;
    r->conv_grouped |= y->op == OP_CONV && conv_groups(y->attr.win) > 1;
    r->conv_masked |= y->op == OP_CONV && conv_groups(y->attr.win) == 0;
    r->conv_patches |= inf->patch_conv[y->id] != NULL;
  }
}

static void reach_model(const char *net, const char *name, void *r) {
  (void)name;
  Model *m = built(net);
  Inference inf;
  ck_assert(inference_of_model(&inf, m));
  reach(r, &inf);
  inference_free(&inf);
  model_free(m);
}

/* Every op ONNX and PyTorch map is computed in inference by a model whose exports the tests
 * run (the examples, layers.net, the graph made by hand), in each form that maps differently;
 * both map the same ops; and the ops without a mapping are those only training computes. */
START_TEST(every_mapping_is_checked) {
  Reached r = {0};
  for_each_example(reach_model, &r);
  reach_model(LAYERS, "layers", &r);
  SrcFile *src = srcfile_from_string("hand.net", "# made by hand\n");
  Node *params[HAND_PARAMS];
  Graph *g = hand_graph(src, params);
  Inference inf;
  ck_assert(inference_build(&inf, g, graph_nodes(g), NULL));
  reach(&r, &inf);
  inference_free(&inf);
  graph_free(g);
  srcfile_free(src);

  /* training's leaves, const (folded where it is read), the ops of gradients, the effects */
  static const DlcOp unmapped[] = {OP_TARGET,  OP_HYPER,        OP_CONST,  OP_NOISE,   OP_GRAD_IN,
                                   OP_REDUCE_MAX_BACK, OP_COL2IM, OP_UNPOOL_SUM, OP_MAXPOOL_BACK, OP_CONV_DX,
                                   OP_CONV_DW, OP_ASSIGN,       OP_OUTPUT};
  bool training_only[OP_COUNT] = {false};
  for (size_t i = 0; i < sizeof unmapped / sizeof *unmapped; i++) training_only[unmapped[i]] = true;
  for (int i = 0; i < OP_COUNT; i++) {
    DlcOp op = (DlcOp)i;
    bool maps = export_onnx_maps(op);
    ck_assert_msg(maps == export_pytorch_maps(op), "'%s' maps to ONNX or to PyTorch, not both", op_name(op));
    ck_assert_msg(maps != training_only[op], "'%s' %s", op_name(op),
                  maps ? "has a mapping, though only training computes it"
                       : "has no mapping, and inference may compute it");
    ck_assert_msg(!maps || r.op[op], "no model the export tests run computes '%s' in inference", op_name(op));
  }
  ck_assert_msg(r.gemm_per_example, "no gemm per example is exported in the tests");
  ck_assert_msg(r.conv_grouped, "no grouped convolution is exported in the tests");
  ck_assert_msg(r.conv_masked, "no masked convolution (a connection table) is exported in the tests");
  ck_assert_msg(r.conv_patches, "no convolution through patches is exported in the tests");
}
END_TEST

/* ---- the command line ------------------------------------------------------------------ */

/* A dlc checkpoint of examples/mlp.net's initial parameters. */
static char *mlp_checkpoint(void) {
  char *ck = in_work("mlp-init.ck");
  Model *m = built(MLP);
  Trainer *t = trainer_new(m);
  ck_assert_ptr_nonnull(t);
  char err[256];
  ck_assert_msg(snapshot_save(t, ck, 0, err, sizeof err) == 0, "%s", err);
  trainer_free(t);
  model_free(m);
  return ck;
}

START_TEST(command_line_errors) {
  char *ck = mlp_checkpoint(), *onnx = in_work("cli.onnx"), *py = in_work("cli.py"), *net = in_work("copy.net");
  char *mlp = read_file(MLP);
  write_text(net, mlp);
  RunResult r = dlc("export", MLP);
  assert_fails(r, "'export' needs -o FILE");
  run_result_free(&r);
  /* outputs never overwrite inputs: the .net file, the checkpoint */
  r = dlc("export", net, "-o", net);
  assert_fails(r, "an input of this command");
  run_result_free(&r);
  char *after = read_file(net);
  ck_assert_str_eq(after, mlp);
  free(after);
  r = dlc("export", MLP, "--load", ck, "--pytorch", "-o", ck);
  assert_fails(r, "an input of this command");
  run_result_free(&r);
  /* checkpoints: missing, of another model, not a checkpoint */
  r = dlc("export", MLP, "--load", "/nonexistent.ck", "-o", onnx);
  assert_fails(r, "/nonexistent.ck: error: cannot open");
  run_result_free(&r);
  r = dlc("export", LENET, "--load", ck, "-o", onnx);
  assert_fails(r, "has no 'c1.b' of this model");
  run_result_free(&r);
  r = dlc("export", LENET, "--load", ck, "--pytorch", "-o", py);
  assert_fails(r, "has no 'c1.b' of this model");
  run_result_free(&r);
  r = dlc("export", MLP, "--load", MLP, "-o", onnx);
  assert_fails(r, "not a checkpoint");
  run_result_free(&r);
  ck_assert(!file_exists(onnx) && !file_exists(py));
  r = dlc("export", MLP, "-o", "/nonexistent-dir/model.onnx");
  assert_fails(r, "/nonexistent-dir/model.onnx: error: (-o): no directory /nonexistent-dir");
  run_result_free(&r);
  r = dlc("export", MLP, "-o", work);
  assert_fails(r, "is a directory, not a regular file: refusing to write -o over it");
  run_result_free(&r);
  /* and what a success says */
  r = dlc("export", MLP, "--load", ck, "-o", onnx);
  assert_ok(r);
  ck_assert_msg(strstr(r.out, ": ONNX opset 13, 6 nodes, 79510 parameters ("), "%s", r.out);
  run_result_free(&r);
  r = dlc("export", MLP, "--seed", "5", "--pytorch", "--out", py);
  assert_ok(r);
  ck_assert_msg(strstr(r.out, ": PyTorch module Net, 6 operations, 79510 parameters"), "%s", r.out);
  run_result_free(&r);
  free(mlp);
  free(ck);
  free(onnx);
  free(py);
  free(net);
}
END_TEST

/* --seed changes the exported initial parameters; the same seed gives the same file. */
START_TEST(seed_sets_initial_parameters) {
  char *a = in_work("seed-a.onnx"), *b = in_work("seed-b.onnx"), *c = in_work("seed-c.onnx");
  RunResult r = dlc("export", MLP, "--seed", "3", "-o", a);
  assert_ok(r);
  run_result_free(&r);
  r = dlc("export", MLP, "--seed", "3", "-o", b);
  assert_ok(r);
  run_result_free(&r);
  r = dlc("export", MLP, "--seed", "4", "-o", c);
  assert_ok(r);
  run_result_free(&r);
  RunResult cmp = run_command(NULL, TIMEOUT, "/usr/bin/cmp", "-s", a, b, (const char *)NULL);
  ck_assert_int_eq(cmp.status, 0);
  run_result_free(&cmp);
  cmp = run_command(NULL, TIMEOUT, "/usr/bin/cmp", "-s", a, c, (const char *)NULL);
  ck_assert_int_eq(cmp.status, 1);
  run_result_free(&cmp);
  free(a);
  free(b);
  free(c);
}
END_TEST

int main(void) {
  Suite *s = suite_create("export");
  TCase *tc = tcase_create("export");
  tcase_add_unchecked_fixture(tc, work_make, work_remove);
  tcase_set_timeout(tc, TIMEOUT);
  tcase_add_test(tc, inference_drops_what_training_reads);
  tcase_add_test(tc, initial_parameters_are_the_trainers);
  tcase_add_test(tc, grouped_only_when_block_diagonal);
  tcase_add_test(tc, unmapped_op_is_a_located_error);
  tcase_add_test(tc, hand_made_graph_exports_agree);
  tcase_add_test(tc, every_mapping_is_checked);
  tcase_add_test(tc, command_line_errors);
  tcase_add_test(tc, seed_sets_initial_parameters);
  tcase_add_test(tc, exports_classify_as_dlc_does);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
