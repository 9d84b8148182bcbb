/* args.c — checking the arguments of calls: counts, kinds, whole numbers, named arguments,
 * and initialiser expressions. Each check reports at the argument's location. */
#include <float.h>
#include <math.h>
#include <string.h>
#include "sema_private.h"
#include "suggest.h"

Node *as_node(Sema *s, Value v, SrcLoc loc) {
  if (v.kind == V_NUM && !(fabs(v.num) <= FLT_MAX)) {
    diag_error(loc, "%g is beyond what a float holds (3.4e38)", v.num);
    return NULL;
  }
  if (v.kind == V_NUM) return g_const(s->g, (float)v.num, loc);
  if (v.kind == V_NODE) return v.node;
  return NULL;
}

const char *describe(const Node *n, char *buf, int len) { return shape_user_str(n->shape, buf, len); }

const Arg *named_arg_of(const Expr *call, const char *label) {
  for (const Arg *a = call->args; a; a = a->next)
    if (a->label && strcmp(a->label, label) == 0) return a;
  return NULL;
}

bool arity(const CallArgs *a, int want) {
  if (a->n_pos == want) return true;
  diag_error(a->call->loc, "'%s' expects %d argument%s, got %d", a->call->name, want,
             want == 1 ? "" : "s", a->n_pos);
  return false;
}

Node *tensor_arg(Sema *s, const CallArgs *a, int i) {
  Value v = a->pos[i];
  if (v.kind == V_ERROR) return NULL;
  if (v.kind == V_FUNC || v.kind == V_LIST || v.kind == V_TABLE) {
    diag_error(a->pos_loc[i], "argument %d of '%s' must be a tensor, not a %s%s", i + 1, a->call->name,
               v.kind == V_FUNC ? "function" : v.kind == V_LIST ? "list" : "table",
               v.kind == V_FUNC ? "" : " (constant(...) makes a tensor of one)");
    return NULL;
  }
  return as_node(s, v, a->pos_loc[i]);
}

int int_arg(const CallArgs *a, int i, int lo, int hi, const char *what) {
  Value v = a->pos[i];
  if (v.kind == V_ERROR) return -1;
  if (v.kind != V_NUM || v.num != floor(v.num) || v.num < lo || v.num > hi) {
    diag_error(a->pos_loc[i], "%s must be a whole number from %d to %d", what, lo, hi);
    return -1;
  }
  return (int)v.num;
}

bool number_arg(const Expr *call, const char *label, int pos, double def, double *out) {
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
    if (!(fabs(*out) <= FLT_MAX)) { /* every number of a model becomes a float */
      diag_error(v->loc, "'%s' of '%s' is %g, beyond what a float holds (3.4e38)", label, call->name, *out);
      return false;
    }
  }
  return true;
}

bool number_in(const Expr *call, const char *label, double def, double lo, bool lo_open, double hi, const char *range,
               double *out) {
  if (!number_arg(call, label, -1, def, out)) return false;
  if ((lo_open ? *out > lo : *out >= lo) && *out <= hi) return true;
  const Arg *a = named_arg_of(call, label);
  diag_error(a ? a->value->loc : call->loc, "'%s' of '%s' must be %s, got %g", label, call->name, range, *out);
  return false;
}

bool check_labels(const Expr *call, const char *const *allowed) {
  for (const Arg *a = call->args; a; a = a->next) {
    if (!a->label) continue;
    for (const Arg *b = call->args; b != a; b = b->next)
      if (b->label && strcmp(a->label, b->label) == 0) {
        diag_error(a->loc, "argument '%s' of '%s' is given twice", a->label, call->name);
        return false;
      }
    bool ok = false;
    int n = 0;
    for (; allowed[n]; n++) ok |= strcmp(a->label, allowed[n]) == 0;
    if (!ok) {
      char list[256], hint[96];
      if (n == 0)
        diag_error(a->loc, "'%s' has no argument named '%s' (it takes no named arguments)", call->name, a->label);
      else
        diag_error(a->loc, "'%s' has no argument named '%s' (it takes %s)%s", call->name, a->label,
                   suggest_list(allowed, n, ":", "and", list, sizeof list),
                   suggest_hint(a->label, allowed, n, ":", hint, sizeof hint));
      return false;
    }
  }
  return true;
}

bool parse_init(const Expr *e, DlrtInit *init) {
  const char *name = e->kind == E_NAME || e->kind == E_CALL ? e->name : NULL;
  const char *names[32];
  int kind = -1, n = 0;
  for (; n < 32 && dlrt_init_name((DlrtInitKind)n); n++) {
    names[n] = dlrt_init_name((DlrtInitKind)n);
    if (name && strcmp(name, names[n]) == 0) kind = n;
  }
  if (kind < 0) {
    char hint[96] = "";
    if (name) suggest_hint(name, names, n, "", hint, sizeof hint);
    diag_error(e->loc, "unknown initialiser%s%s%s (expected zeros, const(v), uniform(lo, hi), normal(mean, std), lecun, "
                       "lecun_normal, xavier, xavier_normal, he or he_uniform)%s",
               name ? " '" : "", name ? name : "", name ? "'" : "", hint);
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
  if (ok && init->kind == INIT_UNIFORM && !(a < b)) {
    diag_error(e->loc, "uniform(lo, hi) needs lo < hi, got uniform(%g, %g)", a, b);
    ok = false;
  }
  if (ok && init->kind == INIT_NORMAL && !(b >= 0)) {
    diag_error(e->loc, "normal(mean, std) needs std >= 0, got %g", b);
    ok = false;
  }
  init->a = (float)a;
  init->b = (float)b;
  return ok;
}


bool int_named(const CallArgs *a, const char *label, int def, int lo, int hi, int *out) {
  const Arg *x = named_arg_of(a->call, label);
  *out = def;
  if (!x) return true;
  const Expr *v = x->value;
  bool neg = v->kind == E_NEG && v->lhs->kind == E_NUM; /* axis: -1 */
  double n = neg ? -v->lhs->num : v->num;
  if ((v->kind != E_NUM && !neg) || n != floor(n) || n < lo || n > hi) {
    diag_error(v->loc, "'%s' of '%s' must be a whole number from %d to %d", label, a->call->name, lo, hi);
    return false;
  }
  *out = (int)n;
  return true;
}

int int_list_arg(const CallArgs *a, int i, int lo, int hi, int *out, const char *what) {
  Value v = a->pos[i];
  if (v.kind == V_ERROR) return -1;
  bool ok = v.kind == V_LIST && v.n_items <= MAX_RANK;
  for (int k = 0; ok && k < v.n_items; k++) ok = v.items[k] == floor(v.items[k]) && v.items[k] >= lo && v.items[k] <= hi;
  if (!ok) {
    diag_error(a->pos_loc[i], "%s must be a list [..] of at most %d whole numbers from %d to %d", what, MAX_RANK, lo, hi);
    return -1;
  }
  for (int k = 0; k < v.n_items; k++) out[k] = (int)v.items[k];
  return v.n_items;
}
