/* inference.c — the inference graph: dlc_forward with the training flag at 0.
 *
 * dlc_forward reads the training flag as a value fed at run time (the trainer feeds 0), so
 * its schedule still holds what training alone needs: batch norm blends its two
 * normalisations as norm_eval + t * (norm_train - norm_eval), and dropout multiplies by
 * 1 + t * (mask - 1). With t = 0 those are norm_eval and x. This file folds what t = 0 makes
 * constant (t * v = 0, x + 0 = x, x * 1 = x, and elementwise ops whose inputs are all
 * constants), then keeps what the output still reads: the batch statistics and dropout's
 * noise drop out, and an exported model computes exactly the inference.
 *
 * A convolution with many taps is four nodes in dlc (conv_algo.c: im2col, gemm, transpose,
 * reshape); where the three inner ones serve nothing else, the chain is recorded as the
 * convolution it is (patch_conv), so that writers emit one Conv or conv2d. conv_groups says
 * whether a connection table is a grouped convolution's.
 *
 * (0 * v is folded to 0 whatever v is: the branch it multiplies is never meant to reach an
 * inference result, even where training's statistics would be infinite.) */
#include <math.h>
#include <string.h>
#include "export.h"
#include "interp.h"

static bool is_constant(const Inference *inf, const Node *x, float c) {
  return inf->folded[x->id] && inf->constant[x->id] == c;
}

static void fold_to(Inference *inf, const Node *y, float c) {
  inf->folded[y->id] = true;
  inf->constant[y->id] = c;
}

/* y passes x on unchanged (same shape: an alias needs no broadcast). */
static bool alias(Inference *inf, const Node *y, const Node *x) {
  if (!shape_equal(x->shape, y->shape)) return false;
  inf->same[y->id] = x;
  return true;
}

/* Folds y if t = 0 makes it constant or a copy of an input. */
static void fold(Inference *inf, const Node *y) {
  if (!op_is_elementwise(y->op)) return;
  int arity = op_info(y->op)->arity;
  const Node *a = inference_input(inf, y, 0), *b = arity > 1 ? inference_input(inf, y, 1) : NULL;
  bool ca = inf->folded[a->id], cb = b && inf->folded[b->id];
  if (ca && (arity == 1 || cb)) { /* all constant: the reference evaluator's formula, as fold.c */
    double v = interp_scalar(y, inf->constant[a->id], cb ? inf->constant[b->id] : 0);
    if (isfinite(v) && isfinite((float)v)) fold_to(inf, y, (float)v);
    return;
  }
  switch (y->op) {
  case OP_MUL:
    if (is_constant(inf, a, 0) || is_constant(inf, b, 0)) fold_to(inf, y, 0);
    else if (is_constant(inf, a, 1)) alias(inf, y, b);
    else if (is_constant(inf, b, 1)) alias(inf, y, a);
    break;
  case OP_ADD:
    if (is_constant(inf, a, 0)) alias(inf, y, b);
    else if (is_constant(inf, b, 0)) alias(inf, y, a);
    break;
  case OP_SUB:
    if (is_constant(inf, b, 0)) alias(inf, y, a);
    break;
  case OP_DIV:
    if (is_constant(inf, b, 1)) alias(inf, y, a);
    break;
  case OP_RESHAPE:
  case OP_BROADCAST: alias(inf, y, a); break;
  default: break;
  }
}

/* The chain reshape(permute [1, 0](gemm(im2col(x), W, b^T))) ending at y, each inner node read
 * once: a convolution opt/conv_algo.c runs through patches. */
static PatchConv *patch_conv(Inference *inf, const Node *y, const int *users) {
  if (y->op != OP_RESHAPE || !y->shape.batched || y->shape.rank != 3) return NULL;
  const Node *t = inference_input(inf, y, 0);
  if (t->op != OP_PERMUTE || t->attr.axes.rank != 2 || users[t->id] != 1 || inf->folded[t->id]) return NULL;
  const Node *g = inference_input(inf, t, 0);
  if (g->op != OP_GEMM || users[g->id] != 1 || g->attr.gemm.ta || !g->attr.gemm.tb || inf->folded[g->id]) return NULL;
  const Node *p = inference_input(inf, g, 0), *w = inference_input(inf, g, 1);
  if (p->op != OP_IM2COL || users[p->id] != 1 || w->shape.batched || w->shape.rank != 2) return NULL;
  const Window *win = p->attr.win;
  if (y->shape.dim[0] != w->shape.dim[0] || y->shape.dim[1] != win->ho || y->shape.dim[2] != win->wo) return NULL;
  PatchConv *c = ARENA_NEW(&inf->arena, PatchConv);
  *c = (PatchConv){inference_input(inf, p, 0), w, *win};
  c->win.maps = w->shape.dim[0];
  c->win.connect = NULL;
  return c;
}

/* Finds the convolutions computed through patches among the live nodes; their inner nodes
 * are no longer live. */
static void find_patch_convs(Inference *inf, NodeList forward, bool *live) {
  int *users = ARENA_ARRAY(&inf->arena, int, inf->g->len);
  for (int i = 0; i < forward.len; i++) {
    const Node *y = forward.nodes[i];
    if (!live[y->id] || inf->folded[y->id]) continue;
    for (int k = 0; k < op_info(y->op)->arity; k++) users[inference_input(inf, y, k)->id]++;
  }
  users[inf->out->id]++;
  for (int i = forward.len - 1; i >= 0; i--) {
    const Node *y = forward.nodes[i];
    PatchConv *c = live[y->id] ? patch_conv(inf, y, users) : NULL;
    if (!c) continue;
    inf->patch_conv[y->id] = c;
    const Node *t = inference_input(inf, y, 0), *g = inference_input(inf, t, 0), *p = inference_input(inf, g, 0);
    live[t->id] = live[g->id] = live[p->id] = false;
  }
}

bool inference_build(Inference *inf, const Graph *g, NodeList forward, const Node *training) {
  memset(inf, 0, sizeof *inf);
  arena_init(&inf->arena);
  inf->g = g;
  inf->same = ARENA_ARRAY(&inf->arena, const Node *, g->len);
  inf->folded = ARENA_ARRAY(&inf->arena, bool, g->len);
  inf->constant = ARENA_ARRAY(&inf->arena, float, g->len);
  inf->patch_conv = ARENA_ARRAY(&inf->arena, PatchConv *, g->len);
  const Node *output = NULL;
  for (int i = 0; i < forward.len; i++) {
    const Node *y = forward.nodes[i];
    inf->same[y->id] = y;
    if (y->op == OP_OUTPUT) output = y;
    else if (y == training) fold_to(inf, y, 0);
    else if (y->op == OP_CONST) fold_to(inf, y, y->attr.c);
    else fold(inf, y);
  }
  if (!output) return false;
  inf->out = inference_input(inf, output, 0);

  /* What the output reads, through the folds: a folded constant reads nothing. */
  bool *live = ARENA_ARRAY(&inf->arena, bool, g->len);
  live[inf->out->id] = true;
  int n_live = 0;
  for (int i = forward.len - 1; i >= 0; i--) {
    const Node *y = forward.nodes[i];
    if (!live[y->id]) continue;
    n_live++;
    if (inf->folded[y->id]) continue;
    for (int k = 0; k < op_info(y->op)->arity; k++) live[inference_input(inf, y, k)->id] = true;
  }
  find_patch_convs(inf, forward, live);
  Node **order = ARENA_ARRAY(&inf->arena, Node *, n_live);
  int n = 0;
  for (int i = 0; i < forward.len; i++) {
    Node *y = forward.nodes[i];
    if (!live[y->id]) continue;
    order[n++] = y;
    if (y->op == OP_INPUT) inf->input = y;
  }
  inf->order = (NodeList){order, n};
  return true;
}

int conv_groups(const Window *w) {
  if (!w->connect) return 1;
  int64_t pairs = (int64_t)w->maps * w->c, kernels = conv_kernels(w);
  if (kernels == 0 || pairs % kernels) return 0;
  int g = (int)(pairs / kernels); /* g groups connect pairs / g map pairs */
  if (w->maps % g || w->c % g) return 0;
  int inputs = w->c / g, outputs = w->maps / g;
  for (int i = 0; i < w->c; i++)
    for (int m = 0; m < w->maps; m++)
      if (w->connect[i * w->maps + m] != (i / inputs == m / outputs)) return 0;
  return g;
}

bool inference_of_model(Inference *inf, const Model *m) {
  return inference_build(inf, m->g, schedule_nodes(&m->fns[FN_FORWARD].sched), m->sema.training);
}

void inference_free(Inference *inf) { arena_free(&inf->arena); }
