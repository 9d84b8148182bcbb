/* sema.c — from the AST to the forward graph.
 *
 * Statements are analysed in order, so a name must be defined before it is used. A name
 * is bound to a Value: a graph node (a tensor), a plain number, or a user function. User
 * functions are expanded at each call (their body is analysed with the parameters bound to
 * the arguments), and layer functions such as dense() create their own named parameters.
 * Errors are reported at their location and yield an error Value that silences follow-on
 * errors, so that one run reports every independent mistake. */
#include "sema.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef enum ValueKind { V_ERROR, V_NODE, V_NUM, V_FUNC } ValueKind;

typedef struct Value {
  ValueKind kind;
  Node *node;
  double num;
  const Stmt *def; /* V_FUNC */
} Value;

typedef struct Binding {
  const char *name;
  Value value;
  SrcLoc loc;
  struct Binding *next;
} Binding;

typedef struct Sema {
  Graph *g;
  Arena *arena;        /* the graph's arena: bindings live as long as the graph */
  Binding *globals;
  int depth;           /* user-function expansion depth (guards against recursion) */
  int eval_depth;      /* nesting of eval() calls, across user functions (bounds the stack) */
  bool expansion_stopped; /* a limit was hit: further calls are not expanded (no error storms) */
  const char *naming;  /* the let-name being defined: prefix of layer parameters */
  SemaResult *res;
} Sema;

/* Limits that keep analysis finite and its stack bounded: user-function calls nest at most
 * MAX_CALL_DEPTH deep, eval() at most MAX_EVAL_DEPTH (expressions are at most MAX_EXPR_DEPTH
 * deep, but user functions stack them), and a program expands to at most MAX_NODES nodes. */
enum { MAX_CALL_DEPTH = 64, MAX_EVAL_DEPTH = 2048, MAX_NODES = 200000 };

static const Value ERR = {V_ERROR, NULL, 0, NULL};

static const DatasetInfo datasets[] = {
    {"mnist", 28, 28, 10},
    {NULL, 0, 0, 0},
};

const DatasetInfo *dataset_find(const char *name) {
  for (const DatasetInfo *d = datasets; d->name; d++)
    if (strcmp(d->name, name) == 0) return d;
  return NULL;
}

static Binding *lookup(Binding *list, const char *name) {
  for (Binding *b = list; b; b = b->next)
    if (strcmp(b->name, name) == 0) return b;
  return NULL;
}

static void bind(Sema *s, Binding **list, const char *name, Value v, SrcLoc loc) {
  Binding *b = ARENA_NEW(s->arena, Binding);
  b->name = name;
  b->value = v;
  b->loc = loc;
  b->next = *list;
  *list = b;
}

static const char *describe(const Node *n, char *buf, int len) { return shape_user_str(n->shape, buf, len); }

/* The argument `label: value` of a call, or NULL. */
static const Arg *named_arg_of(const Expr *call, const char *label) {
  for (const Arg *a = call->args; a; a = a->next)
    if (a->label && strcmp(a->label, label) == 0) return a;
  return NULL;
}

/* ---- expressions ---- */

static Value eval(Sema *s, const Expr *e, Binding *scope);

static Value node_value(Node *n) { return (Value){V_NODE, n, 0, NULL}; }
static Value num_value(double v) { return (Value){V_NUM, NULL, v, NULL}; }

/* A value as a tensor: numbers become scalar constants. */
static Node *as_node(Sema *s, Value v, SrcLoc loc) {
  if (v.kind == V_NUM) return g_const(s->g, (float)v.num, loc);
  if (v.kind == V_NODE) return v.node;
  return NULL;
}

static Value binary_op(Sema *s, const Expr *e, Value l, Value r) {
  if (l.kind == V_ERROR || r.kind == V_ERROR) return ERR;
  if (l.kind == V_FUNC || r.kind == V_FUNC) {
    diag_error(e->loc, "a function cannot be used as a value in '%c'", e->op);
    return ERR;
  }
  if (l.kind == V_NUM && r.kind == V_NUM) { /* constant arithmetic is folded right here */
    switch (e->op) {
    case '+': return num_value(l.num + r.num);
    case '-': return num_value(l.num - r.num);
    case '*': return num_value(l.num * r.num);
    case '/': return num_value(l.num / r.num);
    case '^': return num_value(pow(l.num, r.num));
    default: break;
    }
  }
  char err[256];
  Node *a = as_node(s, l, e->lhs->loc), *b = NULL, *n = NULL;
  if (e->op == '^') {
    if (r.kind != V_NUM) {
      diag_error(e->rhs->loc, "the exponent of '^' must be a number");
      return ERR;
    }
    return node_value(g_powc(s->g, a, (float)r.num, e->loc));
  }
  b = as_node(s, r, e->rhs->loc);
  switch (e->op) {
  case '+': n = g_binary_checked(s->g, OP_ADD, a, b, e->loc, err, sizeof err); break;
  case '-': n = g_binary_checked(s->g, OP_SUB, a, b, e->loc, err, sizeof err); break;
  case '*': n = g_binary_checked(s->g, OP_MUL, a, b, e->loc, err, sizeof err); break;
  case '/': n = g_binary_checked(s->g, OP_DIV, a, b, e->loc, err, sizeof err); break;
  case '@': n = g_matmul_checked(s->g, a, b, e->loc, err, sizeof err); break;
  default: DLC_UNREACHABLE();
  }
  if (!n) {
    diag_error(e->loc, "%s", err);
    return ERR;
  }
  return node_value(n);
}

/* ---- calls ---- */

typedef struct CallArgs {
  const Expr *call;
  Value pos[8];
  SrcLoc pos_loc[8];
  int n_pos;
  const Arg *named; /* labelled arguments, looked up by name */
} CallArgs;

static bool arity(const CallArgs *a, int want) {
  if (a->n_pos == want) return true;
  diag_error(a->call->loc, "'%s' expects %d argument%s, got %d", a->call->name, want,
             want == 1 ? "" : "s", a->n_pos);
  return false;
}

/* The positional argument i as a tensor, or NULL after reporting why not. */
static Node *tensor_arg(Sema *s, const CallArgs *a, int i) {
  Value v = a->pos[i];
  if (v.kind == V_ERROR) return NULL;
  if (v.kind == V_FUNC) {
    diag_error(a->pos_loc[i], "argument %d of '%s' must be a tensor, not a function", i + 1, a->call->name);
    return NULL;
  }
  return as_node(s, v, a->pos_loc[i]);
}

/* A whole-number positional argument in [lo, hi], or -1 after reporting. */
static int int_arg(const CallArgs *a, int i, int lo, int hi, const char *what) {
  Value v = a->pos[i];
  if (v.kind == V_ERROR) return -1;
  if (v.kind != V_NUM || v.num != floor(v.num) || v.num < lo || v.num > hi) {
    diag_error(a->pos_loc[i], "%s must be a whole number from %d to %d", what, lo, hi);
    return -1;
  }
  return (int)v.num;
}

static Node *unary_call(Sema *s, const CallArgs *a, DlcOp op) {
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

static const Arg *named_arg(const CallArgs *a, const char *label) { return named_arg_of(a->call, label); }

static bool parse_init(Sema *s, const Expr *e, DlrtInit *init);

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
  const Arg *ia = named_arg(a, "init");
  if (ia && !parse_init(s, ia->value, &init)) return NULL;
  int wd[2] = {units, x->shape.dim[0]}, bd[1] = {units};
  Node *W = g_param(s->g, param_name(s, "W"), shape_make(false, 2, wd), loc);
  Node *b = g_param(s->g, param_name(s, "b"), shape_make(false, 1, bd), loc);
  W->init = init;
  b->init.kind = INIT_ZEROS;
  Node *h = g_gemm(s->g, x, W, false, true, loc);
  return g_binary(s->g, OP_ADD, h, b, loc);
}

static Value call_user(Sema *s, const Expr *e, const Stmt *def, const CallArgs *a) {
  int want = 0;
  for (const Ident *p = def->params; p; p = p->next) want++;
  if (!arity(a, want)) return ERR;
  if (a->named) {
    diag_error(a->named->loc, "'%s' is a user function and takes no named arguments", e->name);
    return ERR;
  }
  if (s->expansion_stopped) return ERR;
  if (s->depth >= MAX_CALL_DEPTH) {
    diag_error(e->loc, "calls nest more than %d deep in '%s' (is it recursive?)", MAX_CALL_DEPTH, e->name);
    s->expansion_stopped = true;
    return ERR;
  }
  if (s->g->len > MAX_NODES) {
    diag_error(e->loc, "the program expands to more than %d graph nodes at this call of '%s'", MAX_NODES, e->name);
    s->expansion_stopped = true;
    return ERR;
  }
  Binding *scope = s->globals;
  int i = 0;
  for (const Ident *p = def->params; p; p = p->next, i++) bind(s, &scope, p->name, a->pos[i], p->loc);
  s->depth++;
  Value v = eval(s, def->body, scope);
  s->depth--;
  return v;
}

static bool check_labels(const Expr *call, const char *const *allowed);

static Node *sum_call(Sema *s, const CallArgs *a) { return reduce_call(s, a, false); }
static Node *mean_call(Sema *s, const CallArgs *a) { return reduce_call(s, a, true); }

/* The built-in functions: an op applied elementwise or per row, or a builder. */
typedef struct Builtin {
  const char *name;
  DlcOp op; /* OP_COUNT: use build */
  Node *(*build)(Sema *s, const CallArgs *a);
  const char *const *named; /* accepted named arguments, NULL-terminated */
} Builtin;

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

static const Builtin *builtin_find(const char *name) {
  for (size_t k = 0; k < sizeof builtins / sizeof *builtins; k++)
    if (strcmp(builtins[k].name, name) == 0) return &builtins[k];
  return NULL;
}

static Value eval_call(Sema *s, const Expr *e, Binding *scope) {
  CallArgs a = {.call = e};
  bool bad = false;
  for (const Arg *x = e->args; x; x = x->next) {
    if (x->label) {
      if (!a.named) a.named = x;
      continue;
    }
    if (a.named) {
      diag_error(x->loc, "a positional argument cannot follow a named one");
      bad = true;
      continue;
    }
    if (a.n_pos == 8) {
      diag_error(x->loc, "too many arguments to '%s' (at most 8)", e->name);
      return ERR;
    }
    a.pos_loc[a.n_pos] = x->loc;
    a.pos[a.n_pos++] = eval(s, x->value, scope);
  }
  if (bad) return ERR;
  for (int i = 0; i < a.n_pos; i++)
    if (a.pos[i].kind == V_ERROR) return ERR;

  Binding *user = lookup(scope, e->name);
  if (user) {
    if (user->value.kind != V_FUNC) {
      diag_error(e->loc, "'%s' is not a function", e->name);
      diag_note(user->loc, "'%s' is defined here", e->name);
      return ERR;
    }
    return call_user(s, e, user->value.def, &a);
  }
  const Builtin *b = builtin_find(e->name);
  if (!b) {
    diag_error(e->loc, "unknown function '%s'", e->name);
    return ERR;
  }
  if (!check_labels(e, b->named)) return ERR;
  Node *n = b->op != OP_COUNT ? unary_call(s, &a, b->op) : b->build(s, &a);
  return n ? node_value(n) : ERR;
}

static Value eval_expr(Sema *s, const Expr *e, Binding *scope);

static Value eval(Sema *s, const Expr *e, Binding *scope) {
  if (s->eval_depth >= MAX_EVAL_DEPTH) {
    if (!s->expansion_stopped) diag_error(e->loc, "expressions nest more than %d deep through user functions", MAX_EVAL_DEPTH);
    s->expansion_stopped = true;
    return ERR;
  }
  s->eval_depth++;
  Value v = eval_expr(s, e, scope);
  s->eval_depth--;
  return v;
}

static Value eval_expr(Sema *s, const Expr *e, Binding *scope) {
  switch (e->kind) {
  case E_NUM: return num_value(e->num);
  case E_NAME: {
    Binding *b = lookup(scope, e->name);
    if (!b) {
      diag_error(e->loc, "unknown name '%s'", e->name);
      return ERR;
    }
    if (b->value.kind == V_FUNC) {
      diag_error(e->loc, "'%s' is a function; call it with arguments", e->name);
      return ERR;
    }
    return b->value;
  }
  case E_NEG: {
    Value v = eval(s, e->lhs, scope);
    if (v.kind == V_NUM) return num_value(-v.num);
    if (v.kind != V_NODE) return ERR;
    return node_value(g_unary(s->g, OP_NEG, v.node, e->loc));
  }
  case E_BINARY: {
    Value l = eval(s, e->lhs, scope);
    Value r = eval(s, e->rhs, scope);
    return binary_op(s, e, l, r);
  }
  case E_CALL: return eval_call(s, e, scope);
  }
  DLC_UNREACHABLE();
}

/* ---- initialisers and the train block ---- */

/* A number given as `label: value` in a call like normal(std: 0.1); def if absent. */
static bool number_arg(const Expr *call, const char *label, int pos, double def, double *out) {
  int i = 0;
  *out = def;
  for (const Arg *a = call->args; a; a = a->next, i++) {
    if (a->label ? strcmp(a->label, label) != 0 : i != pos) continue;
    const Expr *v = a->value;
    bool neg = v->kind == E_NEG && v->lhs->kind == E_NUM;
    if (v->kind != E_NUM && !neg) {
      diag_error(v->loc, "'%s' of '%s' must be a number", label, call->name);
      return false;
    }
    *out = neg ? -v->lhs->num : v->num;
  }
  return true;
}

static bool check_labels(const Expr *call, const char *const *allowed) {
  for (const Arg *a = call->args; a; a = a->next) {
    if (!a->label) continue;
    for (const Arg *b = call->args; b != a; b = b->next)
      if (b->label && strcmp(a->label, b->label) == 0) {
        diag_error(a->loc, "argument '%s' of '%s' is given twice", a->label, call->name);
        return false;
      }
    bool ok = false;
    for (int k = 0; allowed[k]; k++) ok |= strcmp(a->label, allowed[k]) == 0;
    if (!ok) {
      diag_error(a->loc, "'%s' has no argument named '%s'", call->name, a->label);
      return false;
    }
  }
  return true;
}

static bool parse_init(Sema *s, const Expr *e, DlrtInit *init) {
  (void)s;
  const char *name = e->kind == E_NAME || e->kind == E_CALL ? e->name : NULL;
  int kind = -1;
  for (int k = 0; name && dlrt_init_name((DlrtInitKind)k); k++)
    if (strcmp(name, dlrt_init_name((DlrtInitKind)k)) == 0) kind = k;
  if (kind < 0) {
    diag_error(e->loc, "unknown initialiser; expected zeros, const(v), uniform(lo, hi), normal(mean, std), lecun, xavier or he");
    return false;
  }
  init->kind = (DlrtInitKind)kind;
  if (e->kind != E_CALL) {
    if (kind == INIT_CONST || kind == INIT_UNIFORM || kind == INIT_NORMAL) {
      diag_error(e->loc, "initialiser '%s' needs arguments, e.g. %s", name,
                 kind == INIT_CONST ? "const(0.1)" : kind == INIT_UNIFORM ? "uniform(-0.1, 0.1)" : "normal(0, 0.01)");
      return false;
    }
    return true;
  }
  static const char *const c_args[] = {"value", NULL}, *const u_args[] = {"lo", "hi", NULL},
                           *const n_args[] = {"mean", "std", NULL}, *const none[] = {NULL};
  double a = 0, b = 0;
  bool ok;
  switch (init->kind) {
  case INIT_CONST: ok = check_labels(e, c_args) && number_arg(e, "value", 0, 0, &a); break;
  case INIT_UNIFORM:
    ok = check_labels(e, u_args) && number_arg(e, "lo", 0, -0.05, &a) && number_arg(e, "hi", 1, 0.05, &b);
    break;
  case INIT_NORMAL:
    ok = check_labels(e, n_args) && number_arg(e, "mean", 0, 0, &a) && number_arg(e, "std", 1, 0.01, &b);
    break;
  default:
    ok = check_labels(e, none);
    if (ok && e->args) {
      diag_error(e->args->loc, "initialiser '%s' takes no arguments", name);
      ok = false;
    }
    break;
  }
  init->a = (float)a;
  init->b = (float)b;
  return ok;
}

/* An integer setting in [lo, hi]. */
static bool int_setting(const Setting *t, long long lo, long long hi, long long *out) {
  const Expr *v = t->value;
  if (v->kind != E_NUM || v->num != floor(v->num) || v->num < (double)lo || v->num > (double)hi) {
    diag_error(v->loc, "'%s' must be a whole number from %lld to %lld", t->key, lo, hi);
    return false;
  }
  *out = (long long)v->num;
  return true;
}

static bool positive_number(const Expr *v, const char *what, double *out) {
  if (v->kind != E_NUM || !(v->num > 0) || !isfinite(v->num)) {
    diag_error(v->loc, "%s must be a positive number", what);
    return false;
  }
  *out = v->num;
  return true;
}

static void optimizer_setting(const Setting *t, TrainSettings *ts) {
  const Expr *v = t->value;
  if ((v->kind != E_NAME && v->kind != E_CALL) || strcmp(v->name, "sgd") != 0) {
    diag_error(v->loc, "unknown optimizer; expected sgd(lr: X, momentum: M, nesterov: 0|1, weight_decay: W)");
    return;
  }
  if (v->kind == E_NAME) return;
  static const char *const allowed[] = {"lr", "momentum", "nesterov", "weight_decay", NULL};
  if (!check_labels(v, allowed)) return;
  for (const Arg *a = v->args; a; a = a->next)
    if (!a->label) {
      diag_error(a->loc, "sgd takes named arguments, e.g. sgd(lr: 0.1, momentum: 0.9)");
      return;
    }
  double lr, mu, nest, wd;
  if (!number_arg(v, "lr", -1, ts->lr, &lr) || !number_arg(v, "momentum", -1, 0, &mu) ||
      !number_arg(v, "nesterov", -1, 0, &nest) || !number_arg(v, "weight_decay", -1, 0, &wd))
    return;
  for (const Arg *a = v->args; a; a = a->next) {
    double x = a->value->kind == E_NUM ? a->value->num : -1;
    bool bad = strcmp(a->label, "lr") == 0 ? !(x > 0)
             : strcmp(a->label, "momentum") == 0 ? !(x >= 0 && x < 1)
             : strcmp(a->label, "nesterov") == 0 ? !(x == 0 || x == 1)
             : !(x >= 0);
    if (bad) {
      diag_error(a->value->loc, "'%s' of sgd must be %s", a->label,
                 strcmp(a->label, "lr") == 0 ? "a positive number"
                 : strcmp(a->label, "momentum") == 0 ? "a number in [0, 1)"
                 : strcmp(a->label, "nesterov") == 0 ? "0 or 1" : "a number >= 0");
      return;
    }
  }
  if (nest == 1 && mu == 0) {
    diag_error(v->loc, "nesterov needs momentum > 0");
    return;
  }
  if (named_arg_of(v, "lr")) {
    if (ts->lr_loc.file) {
      diag_error(named_arg_of(v, "lr")->loc, "the learning rate is set twice");
      diag_note(ts->lr_loc, "first set here");
      return;
    }
    ts->lr_loc = named_arg_of(v, "lr")->loc;
  }
  ts->lr = lr;
  ts->opt.momentum = (float)mu;
  ts->opt.nesterov = nest == 1;
  ts->opt.weight_decay = (float)wd;
}

static void train_block(const Stmt *st, TrainSettings *ts) {
  for (const Setting *t = st->settings; t; t = t->next) {
    long long v;
    for (const Setting *u = st->settings; u != t; u = u->next)
      if (strcmp(u->key, t->key) == 0) {
        diag_error(t->loc, "'%s' is set twice", t->key);
        diag_note(u->loc, "first set here");
      }
    if (strcmp(t->key, "data") == 0) {
      if (t->value->kind != E_NAME) {
        diag_error(t->value->loc, "data must name a data set, e.g. data = mnist");
        continue;
      }
      if (!dataset_find(t->value->name)) {
        diag_error(t->value->loc, "unknown data set '%s'; expected mnist", t->value->name);
        continue;
      }
      ts->data = t->value->name;
      ts->data_loc = t->value->loc;
    } else if (strcmp(t->key, "optimizer") == 0) {
      optimizer_setting(t, ts);
    } else if (strcmp(t->key, "lr") == 0) {
      if (ts->lr_loc.file) {
        diag_error(t->loc, "the learning rate is set twice");
        diag_note(ts->lr_loc, "first set here");
      }
      ts->lr_loc = t->loc;
      positive_number(t->value, "'lr'", &ts->lr);
    } else if (strcmp(t->key, "batch") == 0) {
      if (int_setting(t, 1, 65536, &v)) ts->batch = (int)v;
    } else if (strcmp(t->key, "epochs") == 0) {
      if (int_setting(t, 1, 100000, &v)) ts->epochs = (int)v;
    } else if (strcmp(t->key, "seed") == 0) {
      if (int_setting(t, 0, 2147483647, &v)) ts->seed = (unsigned long long)v;
    } else {
      diag_error(t->loc, "unknown train setting '%s' (expected data, optimizer, lr, batch, epochs or seed)", t->key);
    }
  }
}

/* ---- statements ---- */

static bool check_fresh(Sema *s, const char *name, SrcLoc loc) {
  Binding *prev = lookup(s->globals, name);
  if (!prev) return true;
  diag_error(loc, "'%s' is already defined", name);
  diag_note(prev->loc, "previous definition is here");
  return false;
}

static Shape dims_shape(const Dims *d, bool batched) { return shape_make(batched, d->n, d->d); }

static void declare(Sema *s, const Stmt *st) {
  if (!check_fresh(s, st->name, st->name_loc)) return;
  Shape shape = dims_shape(&st->dims, st->kind != S_PARAM);
  Node *n = NULL;
  switch (st->kind) {
  case S_INPUT:
    if (s->res->input) {
      diag_error(st->loc, "only one input is supported; '%s' is already the input", s->res->input->name);
      return;
    }
    n = s->res->input = g_input(s->g, st->name, shape, st->name_loc);
    break;
  case S_TARGET:
    if (s->res->target) {
      diag_error(st->loc, "only one target is supported; '%s' is already the target", s->res->target->name);
      return;
    }
    n = s->res->target = g_target(s->g, st->name, shape, st->name_loc);
    break;
  case S_PARAM:
    n = g_param(s->g, st->name, shape, st->name_loc);
    n->init.kind = INIT_LECUN;
    if (st->init) parse_init(s, st->init, &n->init);
    else if (st->dims.n == 1) n->init.kind = INIT_ZEROS; /* a bias */
    break;
  default: DLC_UNREACHABLE();
  }
  bind(s, &s->globals, st->name, node_value(n), st->name_loc);
}

static void let(Sema *s, const Stmt *st) {
  s->naming = st->name;
  Value v = eval(s, st->body, s->globals);
  s->naming = NULL;
  if (!check_fresh(s, st->name, st->name_loc)) return;
  if (v.kind == V_NODE && !v.node->name) v.node->name = st->name;
  bind(s, &s->globals, st->name, v, st->name_loc);
}

/* The shape that the data set gives each example must be what the file declares. */
static void check_data(const SemaResult *r, const DatasetInfo *d) {
  char buf[SHAPE_STR_MAX];
  if (r->input && shape_numel(r->input->shape) != (int64_t)d->rows * d->cols)
    diag_error(r->input->loc, "data set '%s' has %dx%d images (%d values), but '%s' is %s", d->name, d->rows,
               d->cols, d->rows * d->cols, r->input->name, shape_user_str(r->input->shape, buf, sizeof buf));
  if (r->target && (r->target->shape.rank != 1 || r->target->shape.dim[0] != d->classes))
    diag_error(r->target->loc, "data set '%s' has %d classes, so '%s' must be onehot(%d), not %s%s", d->name,
               d->classes, r->target->name, d->classes,
               r->target->shape.rank == 1 ? "onehot" : "", r->target->shape.rank == 1
                   ? (snprintf(buf, sizeof buf, "(%d)", r->target->shape.dim[0]), buf)
                   : shape_user_str(r->target->shape, buf, sizeof buf));
}

static SrcLoc end_of_file(const Program *p) {
  SrcLoc loc = {p->file, 1, 1};
  for (const char *c = p->file->text; *c; c++) {
    if (*c == '\n') { loc.line++; loc.col = 1; } else loc.col++;
  }
  if (loc.col == 1 && loc.line > 1) { loc.line--; loc.col = 1; } /* point at the last line */
  return loc;
}

static Node *required(Sema *s, const Program *p, const char *name, const char *why) {
  Binding *b = lookup(s->globals, name);
  if (!b) {
    diag_error(end_of_file(p), "no '%s' is defined; %s", name, why);
    return NULL;
  }
  if (b->value.kind != V_NODE) {
    if (b->value.kind == V_NUM) diag_error(b->loc, "'%s' must be a tensor, got the number %g", name, b->value.num);
    return NULL;
  }
  return b->value.node;
}

bool sema_build(const Program *p, Graph *g, SemaResult *res) {
  int errors_before = diag_error_count();
  memset(res, 0, sizeof *res);
  res->train = (TrainSettings){.data = "mnist", .lr = 0.1, .batch = 32, .epochs = 10, .seed = 1};
  Sema s = {.g = g, .arena = &g->arena, .res = res};
  const Stmt *train = NULL;
  for (const Stmt *st = p->stmts; st; st = st->next) {
    switch (st->kind) {
    case S_INPUT:
    case S_TARGET:
    case S_PARAM: declare(&s, st); break;
    case S_DEF:
      if (check_fresh(&s, st->name, st->name_loc))
        bind(&s, &s.globals, st->name, (Value){V_FUNC, NULL, 0, st}, st->name_loc);
      break;
    case S_LET: let(&s, st); break;
    case S_TRAIN:
      if (train) {
        diag_error(st->loc, "a second train block");
        diag_note(train->loc, "the first one is here");
      }
      train = st;
      train_block(st, &res->train);
      break;
    }
  }
  if (!res->input) diag_error(end_of_file(p), "no input is declared (e.g. 'input x : [784]')");
  if (!res->target) diag_error(end_of_file(p), "no target is declared (e.g. 'target y : onehot(10)')");
  res->out = required(&s, p, "out", "dlc classifies each example by the largest value of 'out'");
  res->loss = required(&s, p, "loss", "training minimises the mean of 'loss' over each batch");
  char buf[SHAPE_STR_MAX];
  if (res->out && (!res->out->shape.batched || res->out->shape.rank != 1)) {
    diag_error(lookup(s.globals, "out")->loc, "'out' must be one vector per example, got %s",
               shape_user_str(res->out->shape, buf, sizeof buf));
    res->out = NULL;
  }
  if (res->loss && (!res->loss->shape.batched || res->loss->shape.rank != 0)) {
    diag_error(lookup(s.globals, "loss")->loc, "'loss' must be one number per example, got %s%s",
               shape_user_str(res->loss->shape, buf, sizeof buf),
               res->loss->shape.batched ? " (sum it, e.g. loss = sum(...))" : " (it does not depend on the input)");
    res->loss = NULL;
  }
  if (res->out && res->target && !shape_equal(res->out->shape, res->target->shape))
    diag_error(lookup(s.globals, "out")->loc, "'out' is %s but the target '%s' is %s; they must match",
               shape_user_str(res->out->shape, buf, sizeof buf), res->target->name,
               shape_user_str(res->target->shape, (char[SHAPE_STR_MAX]){0}, SHAPE_STR_MAX));
  if (res->out && res->target && graph_depends_on(g, res->out, res->target)) {
    diag_error(lookup(s.globals, "out")->loc, "'out' depends on the target '%s'; the output must be computed from the input alone",
               res->target->name);
    res->out = NULL;
  }
  check_data(res, dataset_find(res->train.data));
  if (res->out) res->out->flags |= NF_OUT;
  if (res->loss) res->loss->flags |= NF_LOSS;
  return diag_error_count() == errors_before;
}
