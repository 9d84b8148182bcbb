/* builtins.c — the built-in functions of the language: activations, reductions, losses
 * and layers. Layers create their own parameters, named after the binding being defined
 * ("c5 = dense(...)" makes c5.W and c5.b), and break down into primitive ops. */
#include <string.h>
#include "sema_private.h"

Node *builtin_unary(Sema *s, const CallArgs *a, DlcOp op) {
  if (!arity(a, 1)) return NULL;
  Node *x = tensor_arg(s, a, 0);
  if (!x) return NULL;
  if (op_info(op)->cls == ROW) {
    if (x->shape.rank == 0) {
      diag_error(a->pos_loc[0], "'%s' needs at least one axis, got a scalar", a->call->name);
      return NULL;
    }
    return g_row(s->g, op, x, a->call->loc);
  }
  return g_unary_checked(s->g, op, x, a->call->loc);
}

/* sum(x): all elements of each example (or of x, if it is not batched). */
static Node *sum_all(Sema *s, Node *x, SrcLoc loc) {
  return g_reduce_like(s->g, x, shape_scalar(x->shape.batched), loc);
}

static Node *reduce_call(Sema *s, const CallArgs *a, bool mean) {
  if (!arity(a, 1)) return NULL;
  Node *x = tensor_arg(s, a, 0);
  if (!x) return NULL;
  Node *r = sum_all(s, x, a->call->loc);
  if (mean) r = g_binary(s->g, OP_MUL, r, g_const(s->g, 1.0f / (float)shape_numel(x->shape), a->call->loc), a->call->loc);
  return r;
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

/* A unique parameter name: "<let-name>.<what>", with a counter if taken. */
static const char *param_name(Sema *s, const char *what) {
  const char *base = s->naming ? s->naming : "layer";
  const char *name = arena_printf(s->arena, "%s.%s", base, what);
  for (int k = 2; graph_find(s->g, OP_PARAM, name); k++)
    name = arena_printf(s->arena, "%s_%d.%s", base, k, what);
  return name;
}

/* dense(x, n) = W x + b with W: [n, k] (init: lecun unless given) and b: [n] zeros. */
static Node *dense_call(Sema *s, const CallArgs *a) {
  if (!arity(a, 2)) return NULL;
  Node *x = tensor_arg(s, a, 0);
  int units = int_arg(a, 1, 1, 10000000, "the number of units of 'dense'");
  if (!x || units < 0) return NULL;
  SrcLoc loc = a->call->loc;
  if (!x->shape.batched || x->shape.rank != 1) {
    char sx[SHAPE_STR_MAX];
    diag_error(a->pos_loc[0], "dense expects one vector per example, got %s%s", describe(x, sx, sizeof sx),
               x->shape.batched && x->shape.rank > 1 ? " (flatten it first)" : "");
    return NULL;
  }
  DlrtInit init = {INIT_LECUN, 0, 0};
  const Arg *ia = named_arg_of(a->call, "init");
  if (ia && !parse_init(ia->value, &init)) return NULL;
  int wd[2] = {units, x->shape.dim[0]}, bd[1] = {units};
  Node *W = g_param(s->g, param_name(s, "W"), shape_make(false, 2, wd), loc);
  Node *b = g_param(s->g, param_name(s, "b"), shape_make(false, 1, bd), loc);
  W->init = init;
  b->init.kind = INIT_ZEROS;
  Node *h = g_gemm(s->g, x, W, false, true, loc);
  return g_binary(s->g, OP_ADD, h, b, loc);
}

static Node *sum_call(Sema *s, const CallArgs *a) { return reduce_call(s, a, false); }
static Node *mean_call(Sema *s, const CallArgs *a) { return reduce_call(s, a, true); }

/* The built-in functions: an op applied elementwise or per row, or a builder. */

static const char *const no_named[] = {NULL}, *const dense_named[] = {"init", NULL};
static const Builtin builtins[] = {
    {"sigmoid", OP_SIGMOID, NULL, no_named},
    {"tanh", OP_TANH, NULL, no_named},
    {"relu", OP_RELU, NULL, no_named},
    {"exp", OP_EXP, NULL, no_named},
    {"log", OP_LOG, NULL, no_named},
    {"softmax", OP_SOFTMAX, NULL, no_named},
    {"log_softmax", OP_LOG_SOFTMAX, NULL, no_named},
    {"sum", OP_COUNT, sum_call, no_named},
    {"mean", OP_COUNT, mean_call, no_named},
    {"cross_entropy", OP_COUNT, cross_entropy_call, no_named},
    {"dense", OP_COUNT, dense_call, dense_named},
};

const Builtin *builtin_find(const char *name) {
  for (size_t k = 0; k < sizeof builtins / sizeof *builtins; k++)
    if (strcmp(builtins[k].name, name) == 0) return &builtins[k];
  return NULL;
}

