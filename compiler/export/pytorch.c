/* pytorch.c — the inference graph as a PyTorch module: a Python file with class Net, which
 * declares the network's parameters, computes its forward pass op by op with torch
 * functions, and loads and saves dlc checkpoints (pytorch_prelude.py, embedded at build
 * time, is the part every module shares).
 *
 * Parameters keep their checkpoint shapes, except convolution kernels used only by
 * convolutions: those are conv2d's [maps, inputs, k, k] (inputs per group for a grouped
 * convolution: conv_groups), with any other connection table's missing pairs zero and masked
 * in the forward pass (so training in PyTorch keeps the table).
 * Every parameter of the network is declared, and the statistics inference reads (batch
 * norm's), so that save_dlc writes a checkpoint `dlc eval` reads.
 *
 * One row of `rules` per dlc op prints its expression; an op without a row is a located
 * error that names it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export.h"
#include "outfile.h"

extern const char pytorch_prelude[]; /* pytorch_prelude.py */

typedef struct Py {
  Arena a;
  const Inference *inf;
  FILE *f;              /* the forward pass being printed */
  NameSet names;        /* attributes of the module */
  const char **attr;    /* by node id: a leaf's attribute ("c1_W") */
  const char **mask;    /* by node id: its connection table's mask ("c3_W_mask"), or NULL */
  const Window **conv;  /* by node id: a parameter used only as these kernels, else NULL */
  int lines;
} Py;

/* ---- expressions ---- */

/* c as a Python float, "(2.0)": a float literal, so that torch.full and torch.tensor make
 * float tensors. */
static const char *num(Py *p, float c) {
  if (isnan(c)) return "float(\"nan\")";
  if (isinf(c)) return c > 0 ? "float(\"inf\")" : "(-float(\"inf\"))";
  char digits[32];
  snprintf(digits, sizeof digits, "%.9g", (double)c);
  return arena_printf(&p->a, "(%s%s)", digits, strpbrk(digits, ".e") ? "" : ".0");
}

/* "(x.shape[0], 5, 5)": a reshape target or a tensor size; the batch is the input's. */
static const char *dims(Py *p, Shape s, bool batched) {
  char *t = arena_printf(&p->a, "(%s", batched ? "x.shape[0]" : "");
  for (int i = 0; i < s.rank; i++) t = arena_printf(&p->a, "%s%s%d", t, i || batched ? ", " : "", s.dim[i]);
  return arena_printf(&p->a, "%s%s)", t, s.rank + batched == 1 ? "," : "");
}

/* The value of node x (through the folds) as a Python expression. */
static const char *val(Py *p, const Node *x) {
  if (p->inf->folded[x->id]) {
    const char *c = num(p, p->inf->constant[x->id]);
    if (x->shape.rank == 0 && !x->shape.batched) return c;
    return arena_printf(&p->a, "torch.full(%s, %s)", dims(p, x->shape, x->shape.batched), c);
  }
  switch (x->op) {
  case OP_INPUT: return "x";
  case OP_PARAM:
  case OP_STATE: return arena_printf(&p->a, "self.%s", p->attr[x->id]);
  default: return arena_printf(&p->a, "t%d", x->id);
  }
}

static const char *input(Py *p, const Node *y, int k) { return val(p, inference_input(p->inf, y, k)); }

/* Whether input k of y is a number: a folded constant that is a scalar, or that the other
 * operand, which alone has y's shape, broadcasts. */
static bool is_number(Py *p, const Node *y, int k) {
  const Node *x = inference_input(p->inf, y, k), *other = inference_input(p->inf, y, 1 - k);
  return p->inf->folded[x->id] && ((!p->inf->folded[other->id] && shape_equal(other->shape, y->shape)) ||
                                   (x->shape.rank == 0 && !x->shape.batched));
}

/* x for an elementwise op of y's shape: a batched x of lower rank gets 1s after the batch
 * (dlc broadcasts the features right-aligned); a folded x is a number where is_number. */
static const char *operand(Py *p, const Node *y, int k) {
  const Node *x = inference_input(p->inf, y, k);
  if (is_number(p, y, k)) return num(p, p->inf->constant[x->id]);
  const char *v = val(p, x);
  if (!x->shape.batched || x->shape.rank == y->shape.rank) return v;
  Shape aligned = y->shape;
  int pad = y->shape.rank - x->shape.rank;
  for (int i = 0; i < aligned.rank; i++) aligned.dim[i] = i < pad ? 1 : x->shape.dim[i - pad];
  return arena_printf(&p->a, "%s.reshape%s", v, dims(p, aligned, true));
}

/* ---- the rules, one per op: y's value as an expression ---- */

typedef const char *(*PyMap)(Py *p, const Node *y, const char *fn);
typedef struct PyRule {
  PyMap map;
  const char *fn;  /* the torch function or operator, for maps that serve several */
} PyRule;

static const char *py_call(Py *p, const Node *y, const char *fn) {
  return arena_printf(&p->a, "%s(%s)", fn, input(p, y, 0));
}

static const char *py_binary(Py *p, const Node *y, const char *op) {
  return arena_printf(&p->a, "%s %s %s", operand(p, y, 0), op, operand(p, y, 1));
}

/* max, min of two tensors: torch.maximum and torch.minimum, which take tensors only; of a
 * tensor and a number, torch.clamp (fn is "max" or "min"). */
static const char *py_extremum(Py *p, const Node *y, const char *fn) {
  bool max = strcmp(fn, "max") == 0;
  const char *v[2];
  for (int k = 0; k < 2; k++) {
    if (is_number(p, y, k) && !is_number(p, y, 1 - k))
      return arena_printf(&p->a, "torch.clamp(%s, %s=%s)", operand(p, y, 1 - k), max ? "min" : "max", operand(p, y, k));
    v[k] = is_number(p, y, k) ? arena_printf(&p->a, "torch.tensor(%s)", operand(p, y, k)) : operand(p, y, k);
  }
  return arena_printf(&p->a, "torch.%s(%s, %s)", max ? "maximum" : "minimum", v[0], v[1]);
}

static const char *py_leaky_relu(Py *p, const Node *y, const char *fn) {
  return arena_printf(&p->a, "%s(%s, %s)", fn, input(p, y, 0), num(p, y->attr.c));
}

static const char *py_step(Py *p, const Node *y, const char *fn) {
  (void)fn;
  const char *a = input(p, y, 0);
  return arena_printf(&p->a, "(%s > 0).to(%s.dtype)", a, a);
}

static const char *py_pow(Py *p, const Node *y, const char *fn) {
  (void)fn;
  return arena_printf(&p->a, "torch.pow(%s, %s)", input(p, y, 0), num(p, y->attr.c));
}

static const char *py_inv_batch(Py *p, const Node *y, const char *fn) {
  (void)p, (void)y, (void)fn;
  return "1.0 / x.shape[0]";
}

static const char *py_broadcast(Py *p, const Node *y, const char *fn) {
  (void)fn;
  const Node *x = inference_input(p->inf, y, 0);
  const char *v = val(p, x);
  if (x->shape.batched && x->shape.rank < y->shape.rank) {
    Shape aligned = y->shape;
    int pad = y->shape.rank - x->shape.rank;
    for (int i = 0; i < aligned.rank; i++) aligned.dim[i] = i < pad ? 1 : x->shape.dim[i - pad];
    v = arena_printf(&p->a, "%s.reshape%s", v, dims(p, aligned, true));
  }
  return arena_printf(&p->a, "%s.expand%s", v, dims(p, y->shape, y->shape.batched));
}

static const char *conv2d(Py *p, const char *x, const Node *kernels, const Window *w);

/* A reshape, or the end of a convolution computed through patches: conv2d. */
static const char *py_reshape(Py *p, const Node *y, const char *fn) {
  (void)fn;
  const PatchConv *c = p->inf->patch_conv[y->id];
  if (c) return conv2d(p, val(p, c->image), c->kernels, &c->win);
  return arena_printf(&p->a, "%s.reshape%s", input(p, y, 0), dims(p, y->shape, y->shape.batched));
}

/* gemm per example: torch.matmul, which broadcasts a shared matrix over the batch; otherwise
 * on the operands' 2-D views (graph.h's MatDims), as map_gemm in onnx.c. */
static const char *py_gemm(Py *p, const Node *y, const char *fn) {
  (void)fn;
  const Node *a = inference_input(p->inf, y, 0), *b = inference_input(p->inf, y, 1);
  bool ta = y->attr.gemm.ta, tb = y->attr.gemm.tb;
  const char *va = val(p, a), *vb = val(p, b);
  if (y->attr.gemm.per_example)
    return arena_printf(&p->a, "torch.matmul(%s%s, %s%s)", va, ta ? ".transpose(-2, -1)" : "", vb,
                        tb ? ".transpose(-2, -1)" : "");
  if (a->shape.batched && !ta && a->shape.rank == 1 && tb) return arena_printf(&p->a, "F.linear(%s, %s)", va, vb);
  if (a->shape.batched && ta) { /* the batch is contracted: both as (rows x cols) matrices */
    MatDims da, db;
    DLC_ASSERT(gemm_dims(a->shape, &da) && gemm_dims(b->shape, &db));
    va = arena_printf(&p->a, "%s.reshape(-1, %lld)", va, (long long)da.cols);
    if (b->shape.batched) vb = arena_printf(&p->a, "%s.reshape(-1, %lld)", vb, (long long)db.cols);
  }
  return arena_printf(&p->a, "torch.matmul(%s%s, %s%s)", va, ta ? ".t()" : "", vb, tb ? ".t()" : "");
}

static const char *py_sum_to(Py *p, const Node *y, const char *fn) {
  (void)fn;
  const Node *x = inference_input(p->inf, y, 0);
  int xb = x->shape.batched, pad = x->shape.rank - y->shape.rank, n = 0;
  char *axes = arena_printf(&p->a, "(");
  if (xb && !y->shape.batched) axes = arena_printf(&p->a, "%s0, ", axes), n++;
  for (int i = 0; i < x->shape.rank; i++)
    if (i < pad || (y->shape.dim[i - pad] == 1 && x->shape.dim[i] != 1)) axes = arena_printf(&p->a, "%s%d, ", axes, i + xb), n++;
  const char *v = val(p, x);
  if (n) v = arena_printf(&p->a, "%s.sum(dim=%s), keepdim=True)", v, axes);
  return arena_printf(&p->a, "%s.reshape%s", v, dims(p, y->shape, y->shape.batched));
}

static const char *py_row(Py *p, const Node *y, const char *fn) {
  return arena_printf(&p->a, "%s(%s, -1)", fn, input(p, y, 0));
}

/* permute: the batch axis (if any) kept first. */
static const char *py_permute(Py *p, const Node *y, const char *fn) {
  (void)fn;
  char axes[64] = "";
  int b = y->shape.batched;
  if (b) strcat(axes, "0");
  for (int i = 0; i < y->attr.axes.rank; i++)
    snprintf(axes + strlen(axes), sizeof axes - strlen(axes), "%s%d", i + b ? ", " : "", b + y->attr.axes.perm[i]);
  return arena_printf(&p->a, "%s.permute(%s)", input(p, y, 0), axes);
}

/* An axis of y's per-example shape as a torch dim (after the batch, if batched). */
static int torch_dim(const Node *y, int axis) { return y->shape.batched + axis; }

static const char *py_concat(Py *p, const Node *y, const char *fn) {
  return arena_printf(&p->a, "%s((%s, %s), %d)", fn, input(p, y, 0), input(p, y, 1), torch_dim(y, y->attr.axis));
}

static const char *py_slice(Py *p, const Node *y, const char *fn) {
  (void)fn;
  return arena_printf(&p->a, "%s.narrow(%d, %d, %d)", input(p, y, 0), torch_dim(y, y->attr.range.axis),
                      y->attr.range.start, y->attr.range.size);
}

/* pad: F.pad's pairs (before, after) run from the last dim back to the axis. */
static const char *py_pad(Py *p, const Node *y, const char *fn) {
  const Node *x = inference_input(p->inf, y, 0);
  int axis = y->attr.range.axis, start = y->attr.range.start;
  char *pads = arena_printf(&p->a, "(");
  for (int d = y->shape.rank - 1; d > axis; d--) pads = arena_printf(&p->a, "%s0, 0, ", pads);
  pads = arena_printf(&p->a, "%s%d, %d)", pads, start, y->attr.range.size - start - x->shape.dim[axis]);
  return arena_printf(&p->a, "%s(%s, %s)", fn, input(p, y, 0), pads);
}

static const char *py_reduce_max(Py *p, const Node *y, const char *fn) {
  (void)fn;
  return arena_printf(&p->a, "%s.amax(%d)", input(p, y, 0), torch_dim(y, y->attr.axis));
}

/* im2col: unfold's [N, c k k, patches] has dlc's tap order (c, ky, kx). */
static const char *py_im2col(Py *p, const Node *y, const char *fn) {
  (void)fn;
  const Window *w = y->attr.win;
  return arena_printf(&p->a, "F.unfold(%s, %d, padding=%d, stride=%d).transpose(1, 2)", input(p, y, 0), w->k, w->pad,
                      w->stride);
}

static const char *py_pool_sum(Py *p, const Node *y, const char *fn) {
  (void)fn;
  const Window *w = y->attr.win;
  return arena_printf(&p->a, "F.avg_pool2d(%s, %d, %d, divisor_override=1)", input(p, y, 0), w->k, w->stride);
}

static const char *py_maxpool(Py *p, const Node *y, const char *fn) {
  (void)fn;
  const Window *w = y->attr.win;
  return arena_printf(&p->a, "F.max_pool2d(%s, %d, %d)", input(p, y, 0), w->k, w->stride);
}

/* The input maps of each output map's kernel in conv2d's layout: those of its group (all c
 * without groups, and with a table that is not block diagonal). */
static int kernel_inputs(const Window *w) {
  int groups = conv_groups(w);
  return groups ? w->c / groups : w->c;
}

/* "(maps, inputs, k, slots)": the kernel layout the prelude converts (None: all pairs; a
 * grouped convolution's inputs are those of a group). */
static const char *conv_layout(Py *p, const Window *w) {
  if (conv_groups(w)) return arena_printf(&p->a, "(%d, %d, %d, None)", w->maps, kernel_inputs(w), w->k);
  char *s = arena_printf(&p->a, "(%d, %d, %d, [", w->maps, w->c, w->k);
  int inputs[MAX_CONV_INPUTS];
  for (int m = 0; m < w->maps; m++) {
    int n = conv_inputs(w, m, inputs);
    for (int j = 0; j < n; j++) s = arena_printf(&p->a, "%s%s%d", s, m || j ? ", " : "", m * w->c + inputs[j]);
  }
  return arena_printf(&p->a, "%s])", s);
}

/* conv2d of x with the kernels node k (of window w) */
static const char *conv2d(Py *p, const char *x, const Node *k, const Window *w) {
  const char *kernels;
  if (p->conv[k->id]) /* already [maps, inputs, k, k] */
    kernels = !conv_groups(w) ? arena_printf(&p->a, "%s * self.%s", val(p, k), p->mask[k->id]) : val(p, k);
  else
    kernels = arena_printf(&p->a, "_to_module(%s, %s)", conv_layout(p, w), val(p, k));
  int groups = conv_groups(w);
  return arena_printf(&p->a, "F.conv2d(%s, %s, stride=%d, padding=%d%s)", x, kernels, w->stride, w->pad,
                      groups > 1 ? arena_printf(&p->a, ", groups=%d", groups) : "");
}

static const char *py_conv(Py *p, const Node *y, const char *fn) {
  (void)fn;
  return conv2d(p, input(p, y, 0), inference_input(p->inf, y, 1), y->attr.win);
}

/* Every op PyTorch can express, and how; the rest (the ops only gradients make, training's
 * leaves, the effects: as onnx.c's) are located errors. */
static const PyRule rules[OP_COUNT] = {
    [OP_INV_BATCH] = {py_inv_batch, NULL},
    [OP_NEG] = {py_call, "torch.neg"},
    [OP_EXP] = {py_call, "torch.exp"},
    [OP_LOG] = {py_call, "torch.log"},
    [OP_SIGMOID] = {py_call, "torch.sigmoid"},
    [OP_TANH] = {py_call, "torch.tanh"},
    [OP_RELU] = {py_call, "torch.relu"},
    [OP_STEP] = {py_step, NULL},
    [OP_POWC] = {py_pow, NULL},
    [OP_ABS] = {py_call, "torch.abs"},
    [OP_ERF] = {py_call, "torch.erf"},
    [OP_SOFTPLUS] = {py_call, "F.softplus"},
    [OP_LEAKY_RELU] = {py_leaky_relu, "F.leaky_relu"},
    [OP_BROADCAST] = {py_broadcast, NULL},
    [OP_ADD] = {py_binary, "+"},
    [OP_SUB] = {py_binary, "-"},
    [OP_MUL] = {py_binary, "*"},
    [OP_DIV] = {py_binary, "/"},
    [OP_MAX] = {py_extremum, "max"},
    [OP_MIN] = {py_extremum, "min"},
    [OP_GEMM] = {py_gemm, NULL},
    [OP_SUM_TO] = {py_sum_to, NULL},
    [OP_SOFTMAX] = {py_row, "torch.softmax"},
    [OP_LOG_SOFTMAX] = {py_row, "torch.log_softmax"},
    [OP_RESHAPE] = {py_reshape, NULL},
    [OP_PERMUTE] = {py_permute, NULL},
    [OP_CONCAT] = {py_concat, "torch.cat"},
    [OP_SLICE] = {py_slice, NULL},
    [OP_PAD] = {py_pad, "F.pad"},
    [OP_REDUCE_MAX] = {py_reduce_max, NULL},
    [OP_IM2COL] = {py_im2col, NULL},
    [OP_POOL_SUM] = {py_pool_sum, NULL},
    [OP_MAXPOOL] = {py_maxpool, NULL},
    [OP_CONV] = {py_conv, NULL},
};

/* ---- the module ---- */

static bool is_leaf_value(DlcOp op) { return op == OP_INPUT || op == OP_PARAM || op == OP_STATE; }

bool export_pytorch_maps(DlcOp op) { return is_leaf_value(op) || rules[op].map != NULL; }

/* The forward pass, one line per node; false after reporting an op without a rule. */
static bool forward(Py *p) {
  const Inference *inf = p->inf;
  for (int i = 0; i < inf->order.len; i++) {
    const Node *y = inf->order.nodes[i];
    if (inf->folded[y->id] || is_leaf_value(y->op)) continue;
    const PyRule *r = &rules[y->op];
    if (!r->map) {
      diag_error(y->loc, "cannot export to PyTorch: op '%s'%s%s%s has no PyTorch equivalent (see docs/interop.md)",
                 op_name(y->op), y->name ? " ('" : "", y->name ? y->name : "", y->name ? "')" : "");
      return false;
    }
    fprintf(p->f, "        t%d = %s", y->id, r->map(p, y, r->fn));
    if (y->loc.file) fprintf(p->f, "  # %s:%d%s%s", y->loc.file->name, y->loc.line, y->name ? " " : "", y->name ? y->name : "");
    fputc('\n', p->f);
    p->lines++;
  }
  fprintf(p->f, "        return %s\n", val(p, inf->out));
  return true;
}

/* A use of x: as the kernels of a convolution of window w (NULL: any other use). */
static void use(Py *p, bool *other_use, const Node *x, const Window *w) {
  if (x->op != OP_PARAM) return;
  if (!w || (p->conv[x->id] && memcmp(p->conv[x->id], w, sizeof *w) != 0)) other_use[x->id] = true;
  else p->conv[x->id] = w;
}

/* Parameters used only as convolution kernels, all with the same window, take conv2d's
 * layout; the rest keep the checkpoint's. */
static void choose_layouts(Py *p) {
  const Inference *inf = p->inf;
  bool *other_use = ARENA_ARRAY(&p->a, bool, inf->g->len);
  for (int i = 0; i < inf->order.len; i++) {
    const Node *y = inf->order.nodes[i];
    const PatchConv *c = inf->patch_conv[y->id];
    if (inf->folded[y->id]) continue;
    if (c) {
      use(p, other_use, c->image, NULL);
      use(p, other_use, c->kernels, &c->win);
      continue;
    }
    for (int k = 0; k < op_info(y->op)->arity; k++)
      use(p, other_use, inference_input(inf, y, k), y->op == OP_CONV && k == 1 ? y->attr.win : NULL);
  }
  for (int i = 0; i < inf->g->len; i++)
    if (other_use[i]) p->conv[i] = NULL;
  if (inf->out->op == OP_PARAM) p->conv[inf->out->id] = NULL;
}

/* Whether leaf x is declared: every parameter, and the state inference reads. */
static bool declared(const bool *live, const Node *x) {
  return x->op == OP_PARAM || (x->op == OP_STATE && live[x->id]);
}

/* An initialiser as _draw reads it (pytorch_prelude.py); a constant's values in full. */
static const char *init_tuple(Py *p, const DlrtInit *in, Shape s) {
  if (in->kind == INIT_DATA) { /* (in linear time: a constant may be large) */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) dlc_fatal("out of memory");
    fputs("(\"data\", (", f);
    for (int64_t k = 0; k < shape_numel(s); k++) fprintf(f, "%.9g,%s", (double)in->data[k], k % 16 == 15 ? "\n                  " : " ");
    fputs("))", f);
    fclose(f);
    const char *t = arena_strdup(&p->a, text);
    free(text);
    return t;
  }
  return arena_printf(&p->a, "(\"%s\", %.9g, %.9g, %lld, %lld)", dlrt_init_name(in->kind), (double)in->a, (double)in->b,
                      (long long)(in->fan_in > 0 ? in->fan_in : 1), (long long)(in->fan_out > 0 ? in->fan_out : 1));
}

static const char *shape_list(Py *p, Shape s) {
  char *t = arena_printf(&p->a, "[");
  for (int i = 0; i < s.rank; i++) t = arena_printf(&p->a, "%s%s%d", t, i ? ", " : "", s.dim[i]);
  return arena_printf(&p->a, "%s]", t);
}

/* A Python string literal of s (a path or a name: ASCII, quotes and backslashes escaped). */
static const char *py_str(Py *p, const char *s) {
  char *t = arena_printf(&p->a, "\"");
  for (; *s; s++)
    t = *s == '"' || *s == '\\' ? arena_printf(&p->a, "%s\\%c", t, *s)
        : (unsigned char)*s < 32 || (unsigned char)*s > 126 ? arena_printf(&p->a, "%s\\x%02x", t, (unsigned char)*s)
                                                            : arena_printf(&p->a, "%s%c", t, *s);
  return arena_printf(&p->a, "%s\"", t);
}

/* s for a docstring: printable ASCII, no quotes or backslashes (those become '?'). */
static const char *plain(Py *p, const char *s) {
  char *t = arena_strdup(&p->a, s);
  for (char *c = t; *c; c++)
    if (*c == '"' || *c == '\\' || (unsigned char)*c < 32 || (unsigned char)*c > 126) *c = '?';
  return t;
}

/* The class: what it is, its layout table, __init__ and forward (printed to f). */
static bool module_class(Py *p, const ExportInfo *info, FILE *f, int64_t *parameters) {
  const Inference *inf = p->inf;
  const Graph *g = inf->g;
  bool *live = ARENA_ARRAY(&p->a, bool, g->len);
  for (int i = 0; i < inf->order.len; i++) live[inf->order.nodes[i]->id] = true;
  for (int i = 0; i < g->len; i++)
    if (declared(live, g->nodes[i])) p->attr[i] = names_unique(&p->names, g->nodes[i]->name, true);
  choose_layouts(p);
  for (int i = 0; i < g->len; i++)
    if (p->conv[i] && !conv_groups(p->conv[i])) /* a masked convolution */
      p->mask[i] = names_unique(&p->names, arena_printf(&p->a, "%s_mask", p->attr[i]), true);

  /* forward first, into memory: an op without a rule stops before anything is written */
  char *body = NULL;
  size_t body_len = 0;
  p->f = open_memstream(&body, &body_len);
  if (!p->f) dlc_fatal("out of memory");
  bool ok = forward(p);
  fclose(p->f);
  if (!ok) {
    free(body);
    return false;
  }

  const Node *in = inf->input;
  fprintf(f, "\n\nclass Net(DlcModule):\n");
  fprintf(f, "    \"\"\"The network of %s as dlc classifies with it: forward(x) takes x of shape\n"
             "    [N, *INPUT_SHAPE] (pixel values scaled as pixels_to_input does) and returns the output,\n"
             "    whose largest value is the class.\"\"\"\n\n", plain(p, info->source));
  fprintf(f, "    SOURCE = %s\n", py_str(p, info->source));
  fprintf(f, "    INPUT_SHAPE = %s\n", in ? dims(p, in->shape, false) : "()");
  fprintf(f, "    PIXELS = (%.9g, %.9g)\n", (double)info->pixel_lo, (double)info->pixel_hi);
  fprintf(f, "    LAYOUT = (\n");
  for (int i = 0; i < g->len; i++) {
    const Node *x = g->nodes[i];
    if (!p->attr[i]) continue;
    fprintf(f, "        {\"name\": %s, \"attr\": \"%s\", \"kind\": \"%s\", \"shape\": %s,\n"
               "         \"init\": %s, \"conv\": %s},\n",
            py_str(p, x->name), p->attr[i], x->op == OP_PARAM ? "param" : "state", shape_list(p, x->shape),
            init_tuple(p, &x->init, x->shape), p->conv[i] ? conv_layout(p, p->conv[i]) : "None");
  }
  fprintf(f, "    )\n\n    def __init__(self):\n        super().__init__()\n");
  for (int i = 0; i < g->len; i++) {
    const Node *x = g->nodes[i];
    if (!p->attr[i]) continue;
    const Window *w = p->conv[i];
    const char *size = w ? arena_printf(&p->a, "(%d, %d, %d, %d)", w->maps, kernel_inputs(w), w->k, w->k)
                         : dims(p, x->shape, false);
    if (x->op == OP_PARAM) {
      fprintf(f, "        self.%s = torch.nn.Parameter(torch.empty%s)\n", p->attr[i], size);
      *parameters += shape_numel(x->shape);
    } else {
      fprintf(f, "        self.register_buffer(\"%s\", torch.empty%s)\n", p->attr[i], size);
    }
    if (p->mask[i]) fprintf(f, "        self.register_buffer(\"%s\", _mask(%s))\n", p->mask[i], conv_layout(p, w));
  }
  fprintf(f, "        self.reset_parameters()\n\n    def forward(self, x):\n");
  fwrite(body, 1, body_len, f);
  free(body);
  return true;
}

bool export_pytorch(const Inference *inf, const ExportParams *params, const ExportInfo *info, const char *path,
                    ExportSummary *sum) {
  (void)params; /* the module loads a checkpoint at run time (load_dlc), not from this file */
  Py p = {.inf = inf};
  arena_init(&p.a);
  p.names.arena = &p.a;
  p.attr = ARENA_ARRAY(&p.a, const char *, inf->g->len);
  p.conv = ARENA_ARRAY(&p.a, const Window *, inf->g->len);
  p.mask = ARENA_ARRAY(&p.a, const char *, inf->g->len);
  /* names a mask or a method would take */
  static const char *const taken[] = {"forward", "load_dlc", "save_dlc", "reset_parameters", "pixels_to_input",
                                      "training", "SOURCE", "INPUT_SHAPE", "PIXELS", "LAYOUT"};
  for (size_t i = 0; i < sizeof taken / sizeof *taken; i++) names_unique(&p.names, taken[i], true);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) dlc_fatal("out of memory");
  fprintf(f, "\"\"\"%s — generated by dlc %s from %s: its network as a PyTorch module.\n\n", plain(&p, path),
          DLC_VERSION, plain(&p, info->source));
  fprintf(f, "    from model import Net             # this file, as model.py\n"
             "    net = Net().load_dlc(\"model.ck\")  # a checkpoint of `dlc train --save`\n"
             "    classes = net(Net.pixels_to_input(images)).argmax(1)\n\n"
             "Net() draws its parameters as dlc's initialisers do; save_dlc writes them back as a dlc\n"
             "checkpoint. See docs/interop.md.\n\"\"\"\n");
  fputs(pytorch_prelude, f);
  int64_t parameters = 0;
  bool ok = module_class(&p, info, f, &parameters);
  fclose(f);
  if (ok) {
    char err[1024];
    if (dlrt_outfile_write(path, "a PyTorch module", text, len, err, sizeof err) != 0) {
      diag_path_error(err);
      ok = false;
    }
    if (sum) *sum = (ExportSummary){p.lines, parameters};
  }
  free(text);
  names_free(&p.names);
  arena_free(&p.a);
  return ok;
}
