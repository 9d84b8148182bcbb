/* builtins.c — the built-in functions of the language: activations, reductions, losses
 * and layers. Layers create their own parameters, named after the binding being defined
 * ("c5 = dense(...)" makes c5.W and c5.b), and break down into primitive ops. */
#include <math.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include "sema_private.h"

/* An op of ops.def flagged CALL, called by its name: its inputs as the first positional
 * arguments, then, for a SCALAR attribute, a number (leaky_relu(x, 0.1)). Shapes are checked
 * by the op's own rule. */
Node *builtin_op(Sema *s, const CallArgs *a, DlcOp op) {
  const OpInfo *info = op_info(op);
  bool scalar = info->attr == ATTR_SCALAR;
  if (!arity(a, info->arity + scalar)) return NULL;
  Node *in[MAX_INPUTS] = {NULL};
  for (int k = 0; k < info->arity; k++)
    if (!(in[k] = tensor_arg(s, a, k))) return NULL;
  NodeAttr attr = {0};
  if (scalar) {
    Value c = a->pos[info->arity];
    if (c.kind != V_NUM) {
      diag_error(a->pos_loc[info->arity], "argument %d of '%s' must be a number", info->arity + 1, a->call->name);
      return NULL;
    }
    attr.c = (float)c.num;
  }
  char err[256];
  Node *n = g_op_checked(s->g, op, in[0], in[1], scalar ? &attr : NULL, in[0]->shape, a->call->loc, err, sizeof err);
  if (!n) diag_error(info->arity == 1 ? a->pos_loc[0] : a->call->loc, "%s", err);
  return n;
}

/* sum(x): all elements of each example (or of x, if it is not batched). */
static Node *sum_all(Sema *s, Node *x, SrcLoc loc) {
  return g_reduce_like(s->g, x, shape_scalar(x->shape.batched), loc);
}

/* cross_entropy(logits, y) = -sum(y * log_softmax(logits)), per example. */
static Node *cross_entropy_call(Sema *s, const CallArgs *a) {
  if (!arity(a, 2)) return NULL;
  Node *z = tensor_arg(s, a, 0), *y = tensor_arg(s, a, 1);
  if (!z || !y) return NULL;
  SrcLoc loc = a->call->loc;
  if (!shape_equal(z->shape, y->shape) || z->shape.rank != 1) {
    char sz[SHAPE_STR_MAX], sy[SHAPE_STR_MAX];
    diag_error(loc, "cross_entropy expects logits and targets of the same vector shape, got %s and %s",
               describe(z, sz, sizeof sz), describe(y, sy, sizeof sy));
    return NULL;
  }
  Node *ls = g_row(s->g, OP_LOG_SOFTMAX, z, loc);
  return g_unary(s->g, OP_NEG, sum_all(s, g_binary(s->g, OP_MUL, y, ls, loc), loc), loc);
}

/* A unique name for a layer's parameter or state: "<let-name>.<what>", with a counter if
 * taken (by a parameter or a state: a block of two batch norms has two running means). */
static const char *param_name(Sema *s, const char *what) {
  const char *base = s->naming ? s->naming : "layer";
  const char *name = arena_printf(s->arena, "%s.%s", base, what);
  for (int k = 2; sema_name_taken(s, name); k++)
    name = arena_printf(s->arena, "%s_%d.%s", base, k, what);
  sema_take_name(s, name);
  return name;
}

/* A weight parameter of a layer, initialised as `init:` says, else with `def`. */
static Node *weight(Sema *s, const CallArgs *a, const char *what, Shape shape, DlrtInitKind def) {
  if (shape_too_big(shape)) {
    diag_error(a->call->loc, "the weights of '%s' would be too large: at most %d values per tensor", a->call->name,
               MAX_NUMEL);
    return NULL;
  }
  Node *W = g_param(s->g, param_name(s, what), shape, a->call->loc);
  W->init.kind = def;
  const Arg *ia = named_arg_of(a->call, "init");
  return ia && !parse_init(ia->value, &W->init) ? NULL : W;
}

/* `label: true` or `label: false` (or 1, 0), def if absent; false after reporting. */
static bool flag_named(const CallArgs *a, const char *label, bool def, bool *out) {
  const Arg *x = named_arg_of(a->call, label);
  *out = def;
  if (!x) return true;
  const Expr *v = x->value;
  if (v->kind == E_NAME && (strcmp(v->name, "true") == 0 || strcmp(v->name, "false") == 0)) *out = v->name[0] == 't';
  else if (v->kind == E_NUM && (v->num == 0 || v->num == 1)) *out = v->num == 1;
  else {
    diag_error(v->loc, "'%s' of '%s' is true or false", label, a->call->name);
    return false;
  }
  return true;
}

/* dense(x, n) = W x + b with W: [n, k] (init: lecun unless given) and b: [n] zeros; with
 * bias: false, W x alone (a batchnorm after it would cancel b). */
static Node *dense_call(Sema *s, const CallArgs *a) {
  if (!arity(a, 2)) return NULL;
  Node *x = tensor_arg(s, a, 0);
  int units = int_arg(a, 1, 1, 10000000, "the number of units of 'dense'");
  bool bias;
  if (!x || units < 0 || !flag_named(a, "bias", true, &bias)) return NULL;
  SrcLoc loc = a->call->loc;
  if (!x->shape.batched || x->shape.rank != 1) {
    char sx[SHAPE_STR_MAX];
    diag_error(a->pos_loc[0], "dense expects one vector per example, got %s%s", describe(x, sx, sizeof sx),
               x->shape.batched && x->shape.rank > 1 ? " (flatten it first)" : "");
    return NULL;
  }
  int wd[2] = {units, x->shape.dim[0]}, bd[1] = {units};
  Node *W = weight(s, a, "W", shape_make(false, 2, wd), INIT_LECUN);
  if (!W) return NULL;
  Node *h = g_gemm(s->g, x, W, false, true, loc);
  if (!bias) return h;
  Node *b = g_param(s->g, param_name(s, "b"), shape_make(false, 1, bd), loc);
  b->init.kind = INIT_ZEROS;
  return g_binary(s->g, OP_ADD, h, b, loc);
}

/* Per-example images [channels, height, width], or NULL after reporting. */
static Node *image_arg(Sema *s, const CallArgs *a, int i) {
  Node *x = tensor_arg(s, a, i);
  if (x && (!x->shape.batched || x->shape.rank != 3)) {
    char sx[SHAPE_STR_MAX];
    diag_error(a->pos_loc[i], "'%s' expects images [channels, height, width] per example, got %s", a->call->name,
               describe(x, sx, sizeof sx));
    return NULL;
  }
  return x;
}

/* The window of a conv or pooling call on x, or false after reporting (naming the shape). */
static bool window_for(const CallArgs *a, const Node *x, int k, int stride, int pad, Window *w) {
  char err[256], sx[SHAPE_STR_MAX];
  if (window_make(x->shape.dim[0], x->shape.dim[1], x->shape.dim[2], k, stride, pad, w, err, sizeof err)) return true;
  diag_error(a->call->loc, "'%s' on %s: %s", a->call->name, describe(x, sx, sizeof sx), err);
  return false;
}

/* An image-shaped [c, 1, 1] parameter: one value per map, broadcast over its pixels. */
static Node *per_map(Sema *s, const char *what, int maps, SrcLoc loc) {
  int d[3] = {maps, 1, 1};
  return g_param(s->g, param_name(s, what), shape_make(false, 3, d), loc);
}

/* The connection table named by `connect:`, checked against the conv's maps; NULL if there
 * is none; *bad after reporting a problem. */
static const Table *connection_table(Sema *s, const CallArgs *a, int in_maps, int out_maps, bool *bad) {
  const Arg *ca = named_arg_of(a->call, "connect");
  *bad = false;
  if (!ca) return NULL;
  const Binding *b = ca->value->kind == E_NAME ? sema_lookup(s, ca->value->name) : NULL;
  if (!b || b->value.kind != V_TABLE) {
    diag_error(ca->value->loc, "connect: expects the name of a table (declared with 'table NAME = { ... }')");
    *bad = true;
    return NULL;
  }
  const Table *t = &b->value.def->table;
  if (in_maps > MAX_CONV_INPUTS) {
    diag_error(ca->value->loc, "a conv with a connection table reads at most %d input maps, this one %d",
               MAX_CONV_INPUTS, in_maps);
    *bad = true;
    return NULL;
  }
  if (t->rows != in_maps || t->cols != out_maps) {
    diag_error(ca->value->loc, "table '%s' is %d x %d, but this conv connects %d input maps (rows) to %d output maps (columns)",
               ca->value->name, t->rows, t->cols, in_maps, out_maps);
    diag_note(b->loc, "'%s' is defined here", ca->value->name);
    *bad = true;
    return NULL;
  }
  for (int o = 0; o < out_maps; o++) {
    int used = 0;
    for (int i = 0; i < in_maps; i++) used += t->cell[i * out_maps + o];
    if (!used) {
      diag_error(ca->value->loc, "column %d of table '%s' connects output map %d to no input map", o, ca->value->name, o);
      *bad = true;
      return NULL;
    }
  }
  return t;
}

/* The connection table of `groups: g` (each of g groups of output maps reads only its own
 * group of input maps: block diagonal), in the graph's arena; NULL for one group (all pairs)
 * or after reporting (*bad). */
static const unsigned char *group_table(Sema *s, const CallArgs *a, int in_maps, int out_maps, bool *bad) {
  int groups;
  *bad = !int_named(a, "groups", 1, 1, 65536, &groups);
  if (*bad || groups == 1) return NULL;
  const Arg *ga = named_arg_of(a->call, "groups");
  if (in_maps % groups || out_maps % groups || in_maps > MAX_CONV_INPUTS) {
    diag_error(ga->value->loc, "groups: %d must divide the %d input maps and the %d output maps (at most %d input maps)",
               groups, in_maps, out_maps, MAX_CONV_INPUTS);
    *bad = true;
    return NULL;
  }
  if (named_arg_of(a->call, "connect")) {
    diag_error(ga->loc, "give a conv either groups: or connect:, not both");
    *bad = true;
    return NULL;
  }
  unsigned char *cell = ARENA_ARRAY(s->arena, unsigned char, in_maps * out_maps);
  for (int i = 0; i < in_maps; i++)
    for (int o = 0; o < out_maps; o++) cell[i * out_maps + o] = i / (in_maps / groups) == o / (out_maps / groups);
  return cell;
}

/* conv(x, maps, k, stride: 1, pad: 0, connect: table, groups: 1, bias: true, init: lecun):
 * maps k x k kernels over images [c, h, w] plus a bias per map (unless bias: false), as one
 * conv op (with its table, if any: a connection table, or the block-diagonal one of groups,
 * groups: c being a depthwise convolution). How it runs (directly, or as im2col patches times
 * a matrix) is the optimiser's choice (opt/conv_algo.c); a table always runs directly. */
static Node *conv_call(Sema *s, const CallArgs *a) {
  if (!arity(a, 3)) return NULL;
  Node *x = image_arg(s, a, 0);
  int maps = int_arg(a, 1, 1, 65536, "the number of maps of 'conv'");
  int k = int_arg(a, 2, 1, 1024, "the kernel size of 'conv'");
  int stride, pad;
  bool bias;
  if (!x || maps < 0 || k < 0 || !int_named(a, "stride", 1, 1, 1024, &stride) || !int_named(a, "pad", 0, 0, 1024, &pad) ||
      !flag_named(a, "bias", true, &bias))
    return NULL;
  Window w;
  bool bad_table;
  SrcLoc loc = a->call->loc;
  if (!window_for(a, x, k, stride, pad, &w)) return NULL;
  if ((double)w.c * k * k > MAX_NUMEL) {
    diag_error(loc, "'conv' with %d input maps and a %dx%d kernel has too many weights per map", w.c, k, k);
    return NULL;
  }
  const Table *t = connection_table(s, a, w.c, maps, &bad_table);
  const unsigned char *groups = bad_table ? NULL : group_table(s, a, w.c, maps, &bad_table);
  if (bad_table) return NULL;
  Node *b = NULL;
  if (bias) {
    b = per_map(s, "b", maps, loc);
    b->init.kind = INIT_ZEROS;
  }
  w.maps = maps;
  w.connect = t ? t->cell : groups;
  /* one k x k kernel per connection: [maps, c*k*k] without a table; [maps, (c/g)*k*k] with
   * g groups (the same memory as one row per kernel) */
  int kernels = conv_kernels(&w), wd[2] = {t ? kernels : maps, t ? k * k : kernels / maps * k * k};
  Node *W = weight(s, a, "W", shape_make(false, 2, wd), INIT_LECUN);
  if (!W) return NULL;
  W->init.fan_in = (int64_t)kernels * k * k / maps; /* inputs per output unit (on average) */
  W->init.fan_out = maps;
  Node *y = g_conv(s->g, x, W, &w, loc);
  return b ? g_binary(s->g, OP_ADD, y, b, loc) : y;
}

/* The k x k windows of a pooling call: stride k unless given. */
static Node *pool_input(Sema *s, const CallArgs *a, Window *w) {
  if (!arity(a, 2)) return NULL;
  Node *x = image_arg(s, a, 0);
  int k = int_arg(a, 1, 1, 1024, "the window size");
  int stride;
  if (!x || k < 0 || !int_named(a, "stride", k, 1, 1024, &stride) || !window_for(a, x, k, stride, 0, w)) return NULL;
  return x;
}

/* subsample(x, k): LeCun et al.'s S-layer: each k x k block summed, times a trainable
 * coefficient, plus a trainable bias, per map. The coefficient starts at 1/k^2 (an average). */
static Node *subsample_call(Sema *s, const CallArgs *a) {
  Window w;
  Node *x = pool_input(s, a, &w);
  if (!x) return NULL;
  SrcLoc loc = a->call->loc;
  Node *coef = per_map(s, "coef", w.c, loc), *b = per_map(s, "b", w.c, loc);
  coef->init = (DlrtInit){.kind = INIT_CONST, .a = 1.0f / (float)(w.k * w.k), .fan_in = w.k * w.k, .fan_out = 1};
  b->init.kind = INIT_ZEROS;
  const Arg *ia = named_arg_of(a->call, "init");
  if (ia && !parse_init(ia->value, &coef->init)) return NULL;
  Node *sum = g_pool(s->g, OP_POOL_SUM, x, &w, loc);
  return g_binary(s->g, OP_ADD, g_binary(s->g, OP_MUL, sum, coef, loc), b, loc);
}

/* avgpool(x, k, stride: k): the mean of each window. */
static Node *avgpool_call(Sema *s, const CallArgs *a) {
  Window w;
  Node *x = pool_input(s, a, &w);
  if (!x) return NULL;
  Node *sum = g_pool(s->g, OP_POOL_SUM, x, &w, a->call->loc);
  return g_binary(s->g, OP_MUL, sum, g_const(s->g, 1.0f / (float)(w.k * w.k), a->call->loc), a->call->loc);
}

/* maxpool(x, k, stride: k): the largest value of each window. */
static Node *maxpool_call(Sema *s, const CallArgs *a) {
  Window w;
  Node *x = pool_input(s, a, &w);
  return x ? g_pool(s->g, OP_MAXPOOL, x, &w, a->call->loc) : NULL;
}

/* The HYPER that is 1 in a training step and 0 in inference, made on first use. */
static Node *training_flag(Sema *s, SrcLoc loc) {
  if (!s->res->training) s->res->training = g_hyper(s->g, "training", loc);
  return s->res->training;
}

static Node *bin(Sema *s, DlcOp op, Node *a, Node *b, SrcLoc loc) { return g_binary(s->g, op, a, b, loc); }
static Node *num(Sema *s, double v, SrcLoc loc) { return g_const(s->g, (float)v, loc); }

/* A per-feature statistic's state: `what` of the layer, starting at `start`. */
static Node *running_stat(Sema *s, const char *what, Shape shape, float start, SrcLoc loc) {
  Node *r = g_state(s->g, param_name(s, what), shape, loc);
  r->init = (DlrtInit){.kind = start ? INIT_CONST : INIT_ZEROS, .a = start, .fan_in = 1, .fan_out = 1};
  return r;
}

/* batchnorm(x, momentum: 0.1, eps: 1e-5) (Ioffe and Szegedy 2015), as PyTorch's: per feature
 * (per map, for images [c, h, w]), over the batch (and the map's pixels),
 *   training:  y = gamma (x - mean) / sqrt(var + eps) + beta, with the batch's mean and
 *              (biased) variance; running_mean and running_var move towards them by
 *              momentum (the variance unbiased, times N/(N-1));
 *   inference: the same with the running statistics.
 * Both are graph nodes, blended by the training flag t; the statistics are sums over the
 * batch times 1/n, so autodiff differentiates through them. */
static Node *batchnorm_call(Sema *s, const CallArgs *a) {
  if (!arity(a, 1)) return NULL;
  Node *x = tensor_arg(s, a, 0);
  double momentum, eps;
  if (!x || !number_in(a->call, "momentum", 0.1, 0, false, 1, "a number from 0 to 1", &momentum) ||
      !number_in(a->call, "eps", 1e-5, 0, true, FLT_MAX, "a positive number", &eps))
    return NULL;
  if (!x->shape.batched || (x->shape.rank != 1 && x->shape.rank != 3)) {
    char sx[SHAPE_STR_MAX];
    diag_error(a->call->loc, "batchnorm takes vectors [n] or images [c, h, w] per example, got %s", describe(x, sx, sizeof sx));
    return NULL;
  }
  SrcLoc loc = a->call->loc;
  Shape stat = x->shape;
  stat.batched = false;
  if (stat.rank == 3) stat.dim[1] = stat.dim[2] = 1;
  double per_example = (double)(shape_numel(x->shape) / shape_numel(stat)); /* values per statistic per example */
  Node *inv_count = bin(s, OP_MUL, g_inv_batch(s->g, loc), num(s, 1 / per_example, loc), loc); /* 1 / (n k) */
  Node *mean = bin(s, OP_MUL, g_sum_to(s->g, x, stat, loc), inv_count, loc);
  Node *centred = bin(s, OP_SUB, x, mean, loc);
  Node *var = bin(s, OP_MUL, g_sum_to(s->g, bin(s, OP_MUL, centred, centred, loc), stat, loc), inv_count, loc);
  Node *norm_train = bin(s, OP_MUL, centred, g_powc(s->g, bin(s, OP_ADD, var, num(s, eps, loc), loc), -0.5f, loc), loc);
  Node *rmean = running_stat(s, "running_mean", stat, 0, loc), *rvar = running_stat(s, "running_var", stat, 1, loc);
  Node *norm_eval = bin(s, OP_MUL, bin(s, OP_SUB, x, rmean, loc),
                        g_powc(s->g, bin(s, OP_ADD, rvar, num(s, eps, loc), loc), -0.5f, loc), loc);
  Node *t = training_flag(s, loc);
  Node *normed = bin(s, OP_ADD, norm_eval, bin(s, OP_MUL, t, bin(s, OP_SUB, norm_train, norm_eval, loc), loc), loc);
  Node *gamma = g_param(s->g, param_name(s, "gamma"), stat, loc), *beta = g_param(s->g, param_name(s, "beta"), stat, loc);
  gamma->init = (DlrtInit){.kind = INIT_CONST, .a = 1, .fan_in = 1, .fan_out = 1};
  beta->init.kind = INIT_ZEROS;
  /* running statistics, written by the training step only (inference never reaches these) */
  Node *keep = num(s, 1 - momentum, loc), *m = num(s, momentum, loc);
  /* N/(N-1) = 1/(1 - 1/N), the denominator kept >= 1e-6 so that N = 1 gives 0, not NaN:
   * max(a, c) = c + relu(a - c) */
  Node *floor_ = num(s, 1e-6, loc), *one_minus = bin(s, OP_SUB, num(s, 1, loc), inv_count, loc);
  Node *denom = bin(s, OP_ADD, floor_, g_unary(s->g, OP_RELU, bin(s, OP_SUB, one_minus, floor_, loc), loc), loc);
  Node *unbiased = bin(s, OP_DIV, num(s, 1, loc), denom, loc);
  g_assign(s->g, rmean, bin(s, OP_ADD, bin(s, OP_MUL, keep, rmean, loc), bin(s, OP_MUL, m, mean, loc), loc), loc);
  g_assign(s->g, rvar,
           bin(s, OP_ADD, bin(s, OP_MUL, keep, rvar, loc), bin(s, OP_MUL, m, bin(s, OP_MUL, var, unbiased, loc), loc), loc),
           loc);
  return bin(s, OP_ADD, bin(s, OP_MUL, normed, gamma, loc), beta, loc);
}

/* The rate of dropout(x, p) or dropout(x, p: 0.5), or -1 after reporting. */
static double dropout_rate(const CallArgs *a) {
  const Arg *named = named_arg_of(a->call, "p");
  if (named && a->n_pos == 2) {
    diag_error(named->loc, "the rate of 'dropout' is given twice: as its second argument and as p:");
    return -1;
  }
  if (!named && a->n_pos == 1) {
    diag_error(a->call->loc, "'dropout' needs a rate: dropout(x, p: 0.5) or dropout(x, 0.5)");
    return -1;
  }
  if (!arity(a, named ? 1 : 2)) return -1;
  double p = 0;
  if (named && !number_arg(a->call, "p", -1, 0, &p)) return -1;
  if (!named && a->pos[1].kind == V_NUM) p = a->pos[1].num;
  if ((!named && a->pos[1].kind != V_NUM) || !(p >= 0 && p < 1)) {
    diag_error(named ? named->value->loc : a->pos_loc[1], "the rate of 'dropout' must be a number in [0, 1)");
    return -1;
  }
  return p;
}

/* dropout(x, p): in training, each value is zeroed with probability p and the others scaled
 * by 1/(1-p); in inference, x. With u uniform noise fed each step and t the training flag:
 *   y = x * (1 + t * (step(u - p) / (1 - p) - 1)) */
static Node *dropout_call(Sema *s, const CallArgs *a) {
  double p = dropout_rate(a);
  Node *x = p >= 0 ? tensor_arg(s, a, 0) : NULL;
  if (!x) return NULL;
  if (!x->shape.batched) {
    diag_error(a->pos_loc[0], "'dropout' applies to values per example");
    return NULL;
  }
  SrcLoc loc = a->call->loc;
  Graph *g = s->g;
  Node *keep = g_unary(g, OP_STEP, g_binary(g, OP_SUB, g_noise(g, x->shape, loc), g_const(g, (float)p, loc), loc), loc);
  Node *mask = g_binary(g, OP_MUL, keep, g_const(g, (float)(1 / (1 - p)), loc), loc);
  Node *on = g_binary(g, OP_MUL, training_flag(s, loc), g_binary(g, OP_SUB, mask, g_const(g, 1, loc), loc), loc);
  return g_binary(g, OP_MUL, x, g_binary(g, OP_ADD, on, g_const(g, 1, loc), loc), loc);
}

/* flatten(x): the same values per example as one vector. */
static Node *flatten_call(Sema *s, const CallArgs *a) {
  if (!arity(a, 1)) return NULL;
  Node *x = tensor_arg(s, a, 0);
  if (!x) return NULL;
  int d[1] = {(int)shape_numel(x->shape)}; /* no overflow: every value is at most MAX_NUMEL */
  return g_reshape(s->g, x, shape_make(x->shape.batched, 1, d), a->call->loc);
}

/* lecun_tanh(x) = 1.7159 tanh(2x/3): LeCun et al.'s squashing function, which maps +-1 to
 * about +-1 and has its largest second derivative there. */
static Node *lecun_tanh_call(Sema *s, const CallArgs *a) {
  if (!arity(a, 1)) return NULL;
  Node *x = tensor_arg(s, a, 0);
  if (!x) return NULL;
  SrcLoc loc = a->call->loc;
  Node *inner = g_binary(s->g, OP_MUL, x, g_const(s->g, 2.0f / 3.0f, loc), loc);
  return g_binary(s->g, OP_MUL, g_unary(s->g, OP_TANH, inner, loc), g_const(s->g, 1.7159f, loc), loc);
}

/* One tensor argument, or NULL after reporting. */
static Node *one_tensor(Sema *s, const CallArgs *a) { return arity(a, 1) ? tensor_arg(s, a, 0) : NULL; }

/* sqrt(x) = x^0.5 (whose derivative rule divides by the root: grad/rules.c) */
static Node *sqrt_call(Sema *s, const CallArgs *a) {
  Node *x = one_tensor(s, a);
  return x ? g_powc(s->g, x, 0.5f, a->call->loc) : NULL;
}

/* silu(x) = x sigmoid(x) (Elfwing et al. 2018; swish) */
static Node *silu_call(Sema *s, const CallArgs *a) {
  Node *x = one_tensor(s, a);
  return x ? bin(s, OP_MUL, x, g_unary(s->g, OP_SIGMOID, x, a->call->loc), a->call->loc) : NULL;
}

/* gelu(x) = x/2 (1 + erf(x / sqrt 2)), the exact form (Hendrycks and Gimpel 2016) */
static Node *gelu_call(Sema *s, const CallArgs *a) {
  Node *x = one_tensor(s, a);
  if (!x) return NULL;
  SrcLoc loc = a->call->loc;
  Node *phi = bin(s, OP_ADD, num(s, 1, loc), g_unary(s->g, OP_ERF, bin(s, OP_MUL, x, num(s, M_SQRT1_2, loc), loc), loc), loc);
  return bin(s, OP_MUL, bin(s, OP_MUL, x, num(s, 0.5, loc), loc), phi, loc);
}

/* elu(x, alpha: 1) = x where x > 0, alpha (e^x - 1) elsewhere (Clevert et al. 2016), as
 * relu(x) + alpha (e^min(x, 0) - 1), so that e^x is never taken of a large x */
static Node *elu_call(Sema *s, const CallArgs *a) {
  Node *x = one_tensor(s, a);
  double alpha;
  if (!x || !number_arg(a->call, "alpha", -1, 1, &alpha)) return NULL;
  SrcLoc loc = a->call->loc;
  Node *neg_part = bin(s, OP_SUB, g_unary(s->g, OP_EXP, bin(s, OP_MIN, x, num(s, 0, loc), loc), loc), num(s, 1, loc), loc);
  return bin(s, OP_ADD, g_unary(s->g, OP_RELU, x, loc), bin(s, OP_MUL, num(s, alpha, loc), neg_part, loc), loc);
}

/* clamp(x, lo, hi) = min(max(x, lo), hi), lo <= hi numbers */
static Node *clamp_call(Sema *s, const CallArgs *a) {
  if (!arity(a, 3)) return NULL;
  Node *x = tensor_arg(s, a, 0);
  if (!x) return NULL;
  if (a->pos[1].kind != V_NUM || a->pos[2].kind != V_NUM || !(a->pos[1].num <= a->pos[2].num)) {
    diag_error(a->call->loc, "the bounds of 'clamp' are two numbers, the lower first");
    return NULL;
  }
  SrcLoc loc = a->call->loc;
  return bin(s, OP_MIN, bin(s, OP_MAX, x, num(s, a->pos[1].num, loc), loc), num(s, a->pos[2].num, loc), loc);
}

/* layernorm(x, eps: 1e-5) (Ba et al. 2016), as PyTorch's LayerNorm(d): each example's values
 * along the last axis (of size d) normalised by their own mean and (biased) variance, then a
 * trainable scale gamma [d] (from 1) and shift beta [d] (from 0). The statistics are sums
 * over the axis, so autodiff differentiates through them. */
static Node *layernorm_call(Sema *s, const CallArgs *a) {
  Node *x = one_tensor(s, a);
  double eps;
  if (!x || !number_in(a->call, "eps", 1e-5, 0, true, FLT_MAX, "a positive number", &eps)) return NULL;
  if (x->shape.rank == 0) {
    char sx[SHAPE_STR_MAX];
    diag_error(a->call->loc, "layernorm normalises along the last axis of a value that has one, got %s",
               describe(x, sx, sizeof sx));
    return NULL;
  }
  SrcLoc loc = a->call->loc;
  int d = x->shape.dim[x->shape.rank - 1];
  Shape row = x->shape;
  row.dim[row.rank - 1] = 1;
  Node *inv_d = num(s, 1.0 / d, loc);
  Node *centred = bin(s, OP_SUB, x, bin(s, OP_MUL, g_reduce_like(s->g, x, row, loc), inv_d, loc), loc);
  Node *var = bin(s, OP_MUL, g_reduce_like(s->g, bin(s, OP_MUL, centred, centred, loc), row, loc), inv_d, loc);
  Node *normed = bin(s, OP_MUL, centred, g_powc(s->g, bin(s, OP_ADD, var, num(s, eps, loc), loc), -0.5f, loc), loc);
  Shape vec = shape_make(false, 1, &d);
  Node *gamma = g_param(s->g, param_name(s, "gamma"), vec, loc), *beta = g_param(s->g, param_name(s, "beta"), vec, loc);
  gamma->init = (DlrtInit){.kind = INIT_CONST, .a = 1, .fan_in = 1, .fan_out = 1};
  beta->init.kind = INIT_ZEROS;
  return bin(s, OP_ADD, bin(s, OP_MUL, normed, gamma, loc), beta, loc);
}

/* constant(T, on: 1, off: 0): table T's cells as a [rows, cols] matrix, `on` where marked
 * and `off` elsewhere; constant([a, b, ...]): the numbers as a vector. A constant is a leaf
 * the gradient never reaches and nothing assigns: a STATE whose initialiser carries its
 * values (g_constant), named after the binding ("p.value"), so that checkpoints and exports
 * hold it as they hold batch norm's statistics, and `dlc check` lists it as a constant. */
static Node *constant_call(Sema *s, const CallArgs *a) {
  if (!arity(a, 1)) return NULL;
  Value v = a->pos[0];
  if (v.kind == V_ERROR) return NULL;
  if (v.kind != V_TABLE && v.kind != V_LIST) {
    diag_error(a->pos_loc[0], "'constant' takes a table (declared with 'table NAME = { ... }') or a list of numbers [a, b, ...]");
    return NULL;
  }
  const Arg *on_arg = named_arg_of(a->call, "on"), *off_arg = named_arg_of(a->call, "off");
  if (v.kind == V_LIST && (on_arg || off_arg)) {
    diag_error((on_arg ? on_arg : off_arg)->loc, "on: and off: are the values of a table's cells; a list gives its own");
    return NULL;
  }
  double on, off;
  if (!number_arg(a->call, "on", -1, 1, &on) || !number_arg(a->call, "off", -1, 0, &off)) return NULL;
  const Table *t = v.kind == V_TABLE ? &v.def->table : NULL;
  int d[2] = {t ? t->rows : v.n_items, t ? t->cols : 0};
  Shape shape = shape_make(false, t ? 2 : 1, d);
  if (shape_too_big(shape)) {
    diag_error(a->call->loc, "a constant holds at most %d values", MAX_NUMEL);
    return NULL;
  }
  int64_t n = shape_numel(shape);
  float *values = malloc(sizeof(float) * (size_t)(n ? n : 1));
  if (!values) dlc_fatal("out of memory");
  for (int64_t k = 0; k < n; k++) {
    double x = t ? (t->cell[k] ? on : off) : v.items[k];
    if (!(fabs(x) <= FLT_MAX)) { /* only a list's items can be: on: and off: were checked */
      diag_error(a->pos_loc[0], "item %lld of the list is %g, beyond what a float holds (3.4e38)", (long long)k + 1, x);
      free(values);
      return NULL;
    }
    values[k] = (float)x;
  }
  Node *c = g_constant(s->g, param_name(s, "value"), shape, values, a->call->loc);
  free(values);
  return c;
}

/* The built-in functions built of ops (or ops of their own, with their checks). The ops of
 * ops.def flagged CALL (sigmoid, tanh, relu, exp, log, abs, erf, softplus, leaky_relu,
 * softmax, log_softmax) are built-in functions too, by their names, with no row here. */

static const char *const no_named[] = {NULL}, *const dense_named[] = {"init", "bias", NULL},
                         *const conv_named[] = {"stride", "pad", "connect", "groups", "bias", "init", NULL},
                         *const dropout_named[] = {"p", NULL},
                         *const pool_named[] = {"stride", NULL}, *const subsample_named[] = {"stride", "init", NULL},
                         *const batchnorm_named[] = {"momentum", "eps", NULL}, *const axis_named[] = {"axis", NULL},
                         *const eps_named[] = {"eps", NULL}, *const alpha_named[] = {"alpha", NULL},
                         *const constant_named[] = {"on", "off", NULL};
static const Builtin builtins[] = {
    {"sum", OP_COUNT, builtin_sum, axis_named},
    {"mean", OP_COUNT, builtin_mean, axis_named},
    {"max", OP_COUNT, builtin_max, axis_named},
    {"min", OP_COUNT, builtin_min, axis_named},
    {"sqrt", OP_COUNT, sqrt_call, no_named},
    {"clamp", OP_COUNT, clamp_call, no_named},
    {"elu", OP_COUNT, elu_call, alpha_named},
    {"gelu", OP_COUNT, gelu_call, no_named},
    {"silu", OP_COUNT, silu_call, no_named},
    {"cross_entropy", OP_COUNT, cross_entropy_call, no_named},
    {"dense", OP_COUNT, dense_call, dense_named},
    {"conv", OP_COUNT, conv_call, conv_named},
    {"subsample", OP_COUNT, subsample_call, subsample_named},
    {"avgpool", OP_COUNT, avgpool_call, pool_named},
    {"maxpool", OP_COUNT, maxpool_call, pool_named},
    {"global_avgpool", OP_COUNT, builtin_global_avgpool, no_named},
    {"flatten", OP_COUNT, flatten_call, no_named},
    {"reshape", OP_COUNT, builtin_reshape, no_named},
    {"transpose", OP_COUNT, builtin_transpose, no_named},
    {"permute", OP_COUNT, builtin_permute, no_named},
    {"concat", OP_COUNT, builtin_concat, axis_named},
    {"slice", OP_COUNT, builtin_slice, axis_named},
    {"dropout", OP_COUNT, dropout_call, dropout_named},
    {"batchnorm", OP_COUNT, batchnorm_call, batchnorm_named},
    {"layernorm", OP_COUNT, layernorm_call, eps_named},
    {"lecun_tanh", OP_COUNT, lecun_tanh_call, no_named},
    {"constant", OP_COUNT, constant_call, constant_named},
};
enum { N_BUILTINS = sizeof builtins / sizeof *builtins };

/* A row for each op, for those flagged CALL (an op applied to its arguments). */
static const Builtin op_builtins[OP_COUNT] = {
#define OP(id, name, arity, cls, grad, flags, attr, shape) [OP_##id] = {name, OP_##id, NULL, no_named},
#include "ops.def"
#undef OP
};

const Builtin *builtin_find(const char *name) {
  for (int k = 0; k < N_BUILTINS; k++)
    if (strcmp(builtins[k].name, name) == 0) return &builtins[k];
  DlcOp op = op_callable(name);
  return op != OP_COUNT ? &op_builtins[op] : NULL;
}

const char *builtin_name(int i) {
  if (i < N_BUILTINS) return builtins[i].name;
  for (int op = 0; op < OP_COUNT; op++)
    if ((op_info((DlcOp)op)->flags & CALL) && i-- == N_BUILTINS) return op_name((DlcOp)op);
  return NULL;
}
