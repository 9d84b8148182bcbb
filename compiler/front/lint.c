/* lint.c — warnings: programs that are valid but almost certainly not what their author
 * meant. A softmax fed to cross_entropy (which applies its own), a bias that the batchnorm
 * after it cancels, and names or parameters that nothing uses. Each warning says what to
 * write instead; `--Werror` makes them errors (support/diag.c). A name starting with '_' is
 * never reported unused. */
#include <stdlib.h>
#include <string.h>
#include "sema_private.h"

static bool exempt(const char *name) { return name[0] == '_'; }

/* ---- a softmax fed to cross_entropy ---- */

static void double_softmax(const CallArgs *a) {
  const Node *z = a->pos[0].kind == V_NODE ? a->pos[0].node : NULL;
  if (!z || (z->op != OP_SOFTMAX && z->op != OP_LOG_SOFTMAX)) return;
  if (z->op == OP_SOFTMAX)
    diag_warning(a->pos_loc[0], "cross_entropy applies softmax to its first argument itself: with this softmax before "
                                "it the logits are squashed twice, which slows or stalls training; pass the logits "
                                "(what the softmax is applied to)");
  else
    diag_warning(a->pos_loc[0], "cross_entropy applies log_softmax to its first argument itself: this log_softmax "
                                "before it changes nothing and costs time; pass the logits");
  SrcLoc at = a->pos_loc[0];
  if (z->loc.line != at.line || z->loc.col != at.col)
    diag_note(z->loc, "the %s is here", z->op == OP_SOFTMAX ? "softmax" : "log_softmax");
}

/* ---- a bias that batchnorm cancels ---- */

/* The global name bound to n, or NULL (a layer's own parameter). */
static const char *bound_name(Sema *s, const Node *n) {
  const Binding *b = n->name ? sema_global(s, n->name) : NULL;
  return b && b->value.kind == V_NODE && b->value.node == n ? b->name : NULL;
}

/* batchnorm(x) with x = h + b, b a parameter with one value per feature (per map): the
 * batch's mean includes b, so b cancels; its gradient is 0 and it never moves. Reported
 * where the fix is, if there is one: conv(..., bias: false), dense(..., bias: false) or no `+ b`. */
static void cancelled_bias(Sema *s, const CallArgs *a) {
  const Node *x = a->pos[0].kind == V_NODE ? a->pos[0].node : NULL;
  if (!x || x->op != OP_ADD) return;
  int k = x->in[1]->op == OP_PARAM ? 1 : x->in[0]->op == OP_PARAM ? 0 : -1;
  if (k < 0) return;
  const Node *bias = x->in[k], *h = x->in[1 - k];
  Shape stat = x->shape;
  stat.batched = false;
  if (stat.rank == 3) stat.dim[1] = stat.dim[2] = 1;
  if (!shape_broadcasts_to(bias->shape, stat)) return; /* not constant over each feature */
  const char *user = bound_name(s, bias), *per = x->shape.rank == 3 ? "map" : "feature";
  if (user)
    diag_warning(x->loc, "batchnorm cancels the bias '%s' (it subtracts each %s's mean, bias included), so '%s' "
                            "never trains; leave out '+ %s'", user, per, user, user);
  else if (h->op == OP_CONV || h->op == OP_GEMM)
    diag_warning(x->loc, "batchnorm cancels the bias '%s' of this %s (it subtracts each %s's mean, bias included), "
                            "so it never trains; leave it out with %s(..., bias: false)", bias->name,
                 h->op == OP_CONV ? "conv" : "dense layer", per, h->op == OP_CONV ? "conv" : "dense");
  else
    return; /* a layer without a way to drop its bias */
  diag_note(a->call->loc, "the batchnorm is here");
}

void lint_call(Sema *s, const Expr *call, const CallArgs *a) {
  if (strcmp(call->name, "cross_entropy") == 0) double_softmax(a);
  else if (strcmp(call->name, "batchnorm") == 0) cancelled_bias(s, a);
}

/* ---- a def parameter its body never reads ---- */

static bool reads(const Expr *e, const char *name) {
  switch (e->kind) {
  case E_NUM:
  case E_STR: return false;
  case E_NAME: return strcmp(e->name, name) == 0;
  case E_NEG: return reads(e->lhs, name);
  case E_BINARY: return reads(e->lhs, name) || reads(e->rhs, name);
  case E_CALL:
  case E_LIST:
    for (const Arg *x = e->args; x; x = x->next)
      if (reads(x->value, name)) return true;
    return false;
  }
  DLC_UNREACHABLE();
}

static void lint_def(const Stmt *def) {
  for (const Ident *p = def->params; p; p = p->next)
    if (!exempt(p->name) && !reads(def->body, p->name))
      diag_warning(p->loc, "parameter '%s' of '%s' is never used in its body", p->name, def->name);
}

/* ---- names nothing uses ---- */

/* reach[id]: n is computed for `loss` or `out` (nodes are in topological order). */
static bool *reachable(const Graph *g, const Node *loss, const Node *out) {
  bool *reach = calloc((size_t)g->len + 1, sizeof *reach);
  if (!reach) dlc_fatal("out of memory");
  reach[loss->id] = reach[out->id] = true;
  for (int i = g->len - 1; i >= 0; i--) {
    const Node *n = g->nodes[i];
    if (!reach[i]) continue;
    for (int k = 0; k < MAX_INPUTS && n->in[k]; k++) reach[n->in[k]->id] = true;
  }
  return reach;
}

static void report_unused(const Binding *b, const bool *reach) {
  static const char *const why = "neither 'loss' nor 'out' depends on it";
  const Node *n = b->value.node;
  switch (b->value.kind) {
  case V_NODE:
    if (reach[n->id]) return;
    if (n->op == OP_PARAM && strcmp(b->name, n->name) == 0)
      diag_warning(b->loc, "parameter '%s' is never used: %s, so it is not trained", b->name, why);
    else if ((n->op == OP_INPUT || n->op == OP_TARGET) && strcmp(b->name, n->name) == 0)
      diag_warning(b->loc, "%s '%s' is never used: %s", n->op == OP_INPUT ? "input" : "target", b->name, why);
    else
      diag_warning(b->loc, "'%s' is never used: %s", b->name, why);
    return;
  case V_NUM:
  case V_LIST:
    if (!b->used) diag_warning(b->loc, "'%s' is never used", b->name);
    return;
  case V_FUNC:
    lint_def(b->value.def);
    if (!b->used) diag_warning(b->loc, "function '%s' is never called", b->name);
    return;
  case V_TABLE:
    if (!b->used) diag_warning(b->loc, "table '%s' is never used (a conv reads it as conv(..., connect: %s))", b->name, b->name);
    return;
  case V_ERROR: return;
  }
}

void lint_unused(Sema *s) {
  const SemaResult *r = s->res;
  if (!r->loss || !r->out) return;
  bool *reach = reachable(s->g, r->loss, r->out);
  for (const Binding *b = s->globals.first; b; b = b->next) /* in definition order */
    if (!exempt(b->name) && strcmp(b->name, "loss") != 0 && strcmp(b->name, "out") != 0) report_unused(b, reach);
  free(reach);
}
