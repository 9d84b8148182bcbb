/* sema.c — from the AST to the forward graph.
 *
 * Statements are analysed in order, so a name must be defined before it is used. A name
 * is bound to a Value: a graph node (a tensor), a plain number, or a user function. User
 * functions are expanded at each call (their body is analysed with the parameters bound to
 * the arguments), and layer functions such as dense() create their own named parameters.
 * Errors are reported at their location and yield an error Value that silences follow-on
 * errors, so that one run reports every independent mistake. */
#include "sema_private.h"
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "suggest.h"
#include "vec.h"

static Binding *lookup(Sema *s, Binding *locals, const char *name);

Binding *sema_lookup(Sema *s, const char *name) {
  Binding *b = lookup(s, NULL, name);
  if (b) b->used = true;
  return b;
}

Binding *sema_global(Sema *s, const char *name) { return lookup(s, NULL, name); }


static unsigned name_hash(const char *name) {
  unsigned h = 2166136261u; /* FNV-1a */
  for (; *name; name++) h = (h ^ (unsigned char)*name) * 16777619u;
  return h;
}

/* The slot of `name` in the table: where it is, or the free slot where it would go. */
static Binding **global_slot(const Globals *t, const char *name) {
  unsigned mask = (unsigned)t->cap - 1;
  for (unsigned i = name_hash(name) & mask;; i = (i + 1) & mask)
    if (!t->slot[i] || strcmp(t->slot[i]->name, name) == 0) return &t->slot[i];
}

static void globals_grow(Globals *t) {
  Globals bigger = {calloc((size_t)(t->cap ? 2 * t->cap : 64), sizeof(Binding *)), t->cap ? 2 * t->cap : 64, t->len, t->first, t->last};
  if (!bigger.slot) dlc_fatal("out of memory");
  for (int i = 0; i < t->cap; i++)
    if (t->slot[i]) *global_slot(&bigger, t->slot[i]->name) = t->slot[i];
  free(t->slot);
  *t = bigger;
}

static const char **name_slot(const Names *t, const char *name) {
  unsigned mask = (unsigned)t->cap - 1;
  for (unsigned i = name_hash(name) & mask;; i = (i + 1) & mask)
    if (!t->slot[i] || strcmp(t->slot[i], name) == 0) return &t->slot[i];
}

bool sema_name_taken(const Sema *s, const char *name) { return s->leaf_names.cap && *name_slot(&s->leaf_names, name); }

void sema_take_name(Sema *s, const char *name) {
  Names *t = &s->leaf_names;
  if (2 * (t->len + 1) > t->cap) {
    Names bigger = {calloc((size_t)(t->cap ? 2 * t->cap : 64), sizeof(char *)), t->cap ? 2 * t->cap : 64, t->len};
    if (!bigger.slot) dlc_fatal("out of memory");
    for (int i = 0; i < t->cap; i++)
      if (t->slot[i]) *name_slot(&bigger, t->slot[i]) = t->slot[i];
    free(t->slot);
    *t = bigger;
  }
  *name_slot(t, name) = name;
  t->len++;
}

/* A local name (the innermost user function's parameters), else a global one, or NULL. */
static Binding *lookup(Sema *s, Binding *locals, const char *name) {
  for (Binding *b = locals; b; b = b->next)
    if (strcmp(b->name, name) == 0) return b;
  return s->globals.cap ? *global_slot(&s->globals, name) : NULL;
}

static Binding *new_binding(Sema *s, const char *name, Value v, SrcLoc loc) {
  Binding *b = ARENA_NEW(s->arena, Binding);
  b->name = name;
  b->value = v;
  b->loc = loc;
  return b;
}

/* A parameter of a user function, in front of the call's other locals. */
static void bind_local(Sema *s, Binding **locals, const char *name, Value v, SrcLoc loc) {
  Binding *b = new_binding(s, name, v, loc);
  b->next = *locals;
  *locals = b;
}

/* A global name (check_fresh has made sure it is new), also listed in definition order. */
static void bind_global(Sema *s, const char *name, Value v, SrcLoc loc) {
  Globals *t = &s->globals;
  if (2 * (t->len + 1) > t->cap) globals_grow(t);
  Binding *b = *global_slot(t, name) = new_binding(s, name, v, loc);
  if (t->last) t->last->next = b;
  else t->first = b;
  t->last = b;
  t->len++;
}

/* ---- names that are not defined ---- */

/* A later top-level statement that defines name, or NULL. */
static const Stmt *defined_later(const Sema *s, const char *name) {
  for (const Stmt *st = s->stmt ? s->stmt->next : NULL; st; st = st->next)
    if (st->name && strcmp(st->name, name) == 0) return st;
  return NULL;
}

/* "; did you mean 'h1'?" for the name in scope nearest to name (functions only, or values
 * only), also among the built-ins if asked. */
static const char *name_hint(const Sema *s, Binding *scope, const char *name, bool functions, char *buf, size_t len) {
  VEC(const char *) names = {0};
  for (int i = 0; functions && builtin_name(i); i++) vec_push(&names, builtin_name(i));
  for (int global = 0; global < 2; global++)
    for (Binding *b = global ? s->globals.first : scope; b; b = b->next)
      if ((b->value.kind == V_FUNC) == functions) vec_push(&names, b->name);
  suggest_hint(name, names.data, names.len, "", buf, len);
  vec_free(&names);
  return buf;
}

/* An unknown name or function: defined further down, or misspelt. */
static void report_unknown(Sema *s, const Expr *e, Binding *scope, bool function) {
  const Stmt *later = defined_later(s, e->name);
  char hint[128];
  if (later)
    diag_error(e->loc, "'%s' is used before its definition on line %d; define it above its first use", e->name,
               later->name_loc.line);
  else if (function)
    diag_error(e->loc, "unknown function '%s'%s", e->name,
               *name_hint(s, scope, e->name, true, hint, sizeof hint) ? hint
                                                                    : " (docs/language.md lists the built-in functions)");
  else
    diag_error(e->loc, "unknown name '%s'%s", e->name, name_hint(s, scope, e->name, false, hint, sizeof hint));
}

/* ---- expressions ---- */

static Value eval(Sema *s, const Expr *e, Binding *scope);

/* l OP r on two numbers; a result no float holds (1/0, 1e30 * 1e30, (-1)^0.5) is an error at
 * the operator, since every value computed from it would be infinite or NaN. */
static Value folded_number(const Expr *e, double l, double r) {
  double v = e->op == '+' ? l + r : e->op == '-' ? l - r : e->op == '*' ? l * r : e->op == '/' ? l / r : pow(l, r);
  if (fabs(v) <= FLT_MAX) return num_value(v);
  diag_error(e->loc, "%g %c %g is %s%s", l, e->op, r, isnan(v) ? "NaN" : "beyond what a float holds",
             e->op == '/' && r == 0 ? " (division by zero)" : "");
  return ERR;
}

static Value binary_op(Sema *s, const Expr *e, Value l, Value r) {
  if (l.kind == V_ERROR || r.kind == V_ERROR) return ERR;
  if (l.kind == V_FUNC || r.kind == V_FUNC || l.kind == V_LIST || r.kind == V_LIST) {
    diag_error(e->loc, "a %s cannot be used as a value in '%c'", l.kind == V_FUNC || r.kind == V_FUNC ? "function" : "list",
               e->op);
    return ERR;
  }
  if (l.kind == V_NUM && r.kind == V_NUM && e->op != '@') /* constant arithmetic is folded right here */
    return folded_number(e, l.num, r.num);
  if (e->op == '/' && r.kind == V_NUM && r.num == 0) {
    diag_error(e->loc, "division by zero: every value of this is infinite or NaN");
    return ERR;
  }
  char err[256];
  Node *a = as_node(s, l, e->lhs->loc), *b = NULL, *n = NULL;
  if (!a) return ERR; /* a number no float holds, reported */
  if (e->op == '^') {
    if (r.kind != V_NUM) {
      diag_error(e->rhs->loc, "the exponent of '^' must be a number");
      return ERR;
    }
    return node_value(g_powc(s->g, a, (float)r.num, e->loc));
  }
  b = as_node(s, r, e->rhs->loc);
  if (!b) return ERR;
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
  if (++s->calls > MAX_CALLS) { /* (calls that make no nodes, say after an error, count too) */
    diag_error(e->loc, "the program expands more than %d calls of user functions at this call of '%s'", MAX_CALLS, e->name);
    s->expansion_stopped = true;
    return ERR;
  }
  Binding *scope = NULL; /* the body sees its parameters, then the globals */
  int i = 0;
  for (const Ident *p = def->params; p; p = p->next, i++) bind_local(s, &scope, p->name, a->pos[i], p->loc);
  /* what this expansion makes remembers the call (and so the calls around it) */
  CallSite *site = ARENA_NEW(s->arena, CallSite);
  *site = (CallSite){def->name, def->name_loc, e->loc};
  site->call.site = s->site;
  const CallSite *outer = s->site;
  int first = s->g->len;
  s->site = site;
  diag_set_expansion(site);
  s->depth++;
  Value v = eval(s, def->body, scope);
  s->depth--;
  s->site = outer;
  diag_set_expansion(outer);
  for (int k = first; k < s->g->len; k++) { /* nested calls have stamped their own */
    Node *n = s->g->nodes[k];
    if (n->loc.file && !n->loc.site) n->loc.site = site;
  }
  return v;
}

/* A positional argument that is the name of a table passes the table itself (constant(t)
 * reads one, and a user function may pass one on); a table's name anywhere else is an error
 * (eval_expr), as is a table given where a call wants a tensor or a number. */
static bool table_argument(Sema *s, const Expr *x, Binding *scope, Value *out) {
  if (x->kind != E_NAME) return false;
  Binding *b = lookup(s, scope, x->name);
  if (!b || b->value.kind != V_TABLE) return false;
  b->used = true;
  *out = b->value;
  return true;
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
    if (!table_argument(s, x->value, scope, &a.pos[a.n_pos])) a.pos[a.n_pos] = eval(s, x->value, scope);
    a.n_pos++;
  }
  if (bad) return ERR;
  for (int i = 0; i < a.n_pos; i++)
    if (a.pos[i].kind == V_ERROR) return ERR;

  Binding *user = lookup(s, scope, e->name);
  if (user) {
    user->used = true;
    if (user->value.kind != V_FUNC) {
      diag_error(e->loc, "'%s' is not a function", e->name);
      diag_note(user->loc, "'%s' is defined here", e->name);
      return ERR;
    }
    return call_user(s, e, user->value.def, &a);
  }
  const Builtin *b = builtin_find(e->name);
  if (!b) {
    report_unknown(s, e, scope, true);
    return ERR;
  }
  if (!check_labels(e, b->named)) return ERR;
  Node *n = b->op != OP_COUNT ? builtin_op(s, &a, b->op) : b->build(s, &a);
  if (n) lint_call(s, e, &a);
  return n ? node_value(n) : ERR;
}

static Value eval_expr(Sema *s, const Expr *e, Binding *scope);

/* [a, b, ...]: a list of numbers, for the arguments that take one (reshape's shape). */
static Value eval_list(Sema *s, const Expr *e, Binding *scope) {
  int n = 0;
  for (const Arg *a = e->args; a; a = a->next) n++;
  double *items = ARENA_ARRAY(s->arena, double, n);
  Value list = {.kind = V_LIST, .items = items, .n_items = n};
  int i = 0;
  for (const Arg *a = e->args; a; a = a->next, i++) {
    Value v = eval(s, a->value, scope);
    if (v.kind == V_ERROR) return ERR;
    if (v.kind != V_NUM) {
      diag_error(a->loc, "the items of a list are numbers");
      return ERR;
    }
    items[i] = v.num;
  }
  return list;
}

static Value eval(Sema *s, const Expr *e, Binding *scope) {
  if (diag_too_many()) { /* nothing more would be shown: stop */
    s->expansion_stopped = true;
    return ERR;
  }
  if (s->eval_depth >= MAX_EVAL_DEPTH) {
    if (!s->expansion_stopped) diag_error(e->loc, "expressions nest more than %d deep through user functions", MAX_EVAL_DEPTH);
    s->expansion_stopped = true;
    return ERR;
  }
  s->eval_depth++;
  Value v = eval_expr(s, e, scope);
  s->eval_depth--;
  if (v.kind == V_NODE && shape_too_big(v.node->shape)) {
    char buf[SHAPE_STR_MAX];
    diag_error(e->loc, "%s is too large: at most %d values per tensor", shape_user_str(v.node->shape, buf, sizeof buf),
               MAX_NUMEL);
    return ERR;
  }
  return v;
}

static Value eval_expr(Sema *s, const Expr *e, Binding *scope) {
  switch (e->kind) {
  case E_NUM: return num_value(e->num);
  case E_NAME: {
    Binding *b = lookup(s, scope, e->name);
    if (!b) {
      report_unknown(s, e, scope, false);
      return ERR;
    }
    b->used = true;
    if (b->value.kind == V_FUNC) {
      diag_error(e->loc, "'%s' is a function; call it with arguments", e->name);
      return ERR;
    }
    if (b->value.kind == V_TABLE) {
      diag_error(e->loc, "'%s' is a table; use it as conv(..., connect: %s) or constant(%s)", e->name, e->name, e->name);
      return ERR;
    }
    return b->value;
  }
  case E_NEG: {
    Value v = eval(s, e->lhs, scope);
    if (v.kind == V_NUM) return num_value(-v.num);
    if (v.kind == V_LIST) diag_error(e->loc, "a list cannot be negated");
    if (v.kind != V_NODE) return ERR;
    return node_value(g_unary(s->g, OP_NEG, v.node, e->loc));
  }
  case E_BINARY: {
    Value l = eval(s, e->lhs, scope);
    Value r = eval(s, e->rhs, scope);
    return binary_op(s, e, l, r);
  }
  case E_CALL: return eval_call(s, e, scope);
  case E_LIST: return eval_list(s, e, scope);
  case E_STR:
    diag_error(e->loc, "a string is a path or a name in the train block (data = npy(x: \"x.npy\", ...), classes = "
                       "[...]), not a value");
    return ERR;
  }
  DLC_UNREACHABLE();
}

/* ---- statements ---- */

static bool check_fresh(Sema *s, const char *name, SrcLoc loc) {
  Binding *prev = lookup(s, NULL, name);
  if (!prev) return true;
  diag_error(loc, "'%s' is already defined", name);
  diag_note(prev->loc, "previous definition is here");
  return false;
}

static Shape dims_shape(const Dims *d, bool batched) { return shape_make(batched, d->n, d->d); }

static void declare(Sema *s, const Stmt *st) {
  if (!check_fresh(s, st->name, st->name_loc)) return;
  Shape shape = dims_shape(&st->dims, st->kind != S_PARAM);
  if (shape_too_big(shape)) {
    diag_error(st->dims.loc, "this shape is too large: at most %d values per tensor", MAX_NUMEL);
    return;
  }
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
    if (st->init) parse_init(st->init, &n->init);
    else if (st->dims.n == 1) n->init.kind = INIT_ZEROS; /* a bias */
    break;
  default: DLC_UNREACHABLE();
  }
  bind_global(s, st->name, node_value(n), st->name_loc);
}

static void let(Sema *s, const Stmt *st) {
  s->naming = st->name;
  Value v = eval(s, st->body, NULL);
  s->naming = NULL;
  if (!check_fresh(s, st->name, st->name_loc)) return;
  if (v.kind == V_NODE && !v.node->name) v.node->name = st->name;
  bind_global(s, st->name, v, st->name_loc);
}

static SrcLoc end_of_file(const Program *p) {
  SrcLoc loc = {p->file, 1, 1, NULL};
  for (const char *c = p->file->text; *c; c++) {
    if (*c == '\n') { loc.line++; loc.col = 1; } else loc.col++;
  }
  if (loc.col == 1 && loc.line > 1) { loc.line--; loc.col = 1; } /* point at the last line */
  return loc;
}

static Node *required(Sema *s, const Program *p, const char *name, const char *why) {
  Binding *b = lookup(s, NULL, name);
  if (!b) {
    diag_error(end_of_file(p), "no '%s' is defined; %s", name, why);
    return NULL;
  }
  switch (b->value.kind) {
  case V_NODE: return b->value.node;
  case V_NUM: diag_error(b->loc, "'%s' must be a tensor, got the number %g", name, b->value.num); break;
  case V_FUNC: diag_error(b->loc, "'%s' must be a tensor, not a function", name); break;
  case V_TABLE: diag_error(b->loc, "'%s' must be a tensor, not a table", name); break;
  case V_LIST: diag_error(b->loc, "'%s' must be a tensor, not a list", name); break;
  case V_ERROR: break; /* already reported */
  }
  return NULL;
}

bool sema_build(const Program *p, Graph *g, SemaResult *res) {
  int errors_before = diag_error_count(), warnings_before = diag_warning_count();
  memset(res, 0, sizeof *res);
  res->train = (TrainSettings){.data = {.kind = DATA_MNIST}, .lr = 0.1, .batch = 32, .epochs = 10, .seed = 1, .pixel_hi = 1,
                               .opt = {.kind = OPT_SGD, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f}};
  Sema s = {.g = g, .arena = &g->arena, .res = res};
  const Stmt *train = NULL;
  for (const Stmt *st = p->stmts; st && !diag_too_many(); st = st->next) {
    s.stmt = st;
    switch (st->kind) {
    case S_INPUT:
    case S_TARGET:
    case S_PARAM: declare(&s, st); break;
    case S_DEF:
      if (check_fresh(&s, st->name, st->name_loc))
        bind_global(&s, st->name, (Value){.kind = V_FUNC, .def = st}, st->name_loc);
      break;
    case S_LET: let(&s, st); break;
    case S_TABLE:
      if (check_fresh(&s, st->name, st->name_loc))
        bind_global(&s, st->name, (Value){.kind = V_TABLE, .def = st}, st->name_loc);
      break;
    case S_TRAIN:
      if (train) {
        diag_error(st->loc, "a second train block");
        diag_note(train->loc, "the first one is here");
      }
      train = st;
      train_block(st, s.arena, &res->train);
      break;
    }
  }
  if (!res->input) diag_error(end_of_file(p), "no input is declared (e.g. 'input x : [784]')");
  if (!res->target) diag_error(end_of_file(p), "no target is declared (e.g. 'target y : onehot(10)')");
  res->out = required(&s, p, "out", "dlc classifies each example by the largest value of 'out'");
  res->loss = required(&s, p, "loss", "training minimises the mean of 'loss' over each batch");
  char buf[SHAPE_STR_MAX];
  if (res->out && (!res->out->shape.batched || res->out->shape.rank != 1)) {
    diag_error(lookup(&s, NULL, "out")->loc, "'out' must be one vector per example, got %s",
               shape_user_str(res->out->shape, buf, sizeof buf));
    res->out = NULL;
  }
  if (res->loss && (!res->loss->shape.batched || res->loss->shape.rank != 0)) {
    diag_error(lookup(&s, NULL, "loss")->loc, "'loss' must be one number per example, got %s%s",
               shape_user_str(res->loss->shape, buf, sizeof buf),
               res->loss->shape.batched ? " (sum it, e.g. loss = sum(...))" : " (it does not depend on the input)");
    res->loss = NULL;
  }
  if (res->out && res->target && !shape_equal(res->out->shape, res->target->shape))
    diag_error(lookup(&s, NULL, "out")->loc, "'out' is %s but the target '%s' is %s; they must match",
               shape_user_str(res->out->shape, buf, sizeof buf), res->target->name,
               shape_user_str(res->target->shape, (char[SHAPE_STR_MAX]){0}, SHAPE_STR_MAX));
  if (res->out && res->target && graph_depends_on(g, res->out, res->target)) {
    diag_error(lookup(&s, NULL, "out")->loc, "'out' depends on the target '%s'; the output must be computed from the input alone",
               res->target->name);
    res->out = NULL;
  }
  if (res->out) res->out->flags |= NF_OUT;
  if (res->loss) res->loss->flags |= NF_LOSS;
  /* only a whole program says what is unused (a warning --Werror made an error is no hole) */
  int promoted = diag_warning_mode() == WARNINGS_AS_ERRORS ? diag_warning_count() - warnings_before : 0;
  if (diag_error_count() - errors_before == promoted) lint_unused(&s);
  free(s.globals.slot);
  free(s.leaf_names.slot);
  return diag_error_count() == errors_before;
}
