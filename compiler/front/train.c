/* train.c — the train block: data set, optimiser, learning rate, batch, epochs, seed. */
#include <math.h>
#include <string.h>
#include "sema_private.h"

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

void train_block(const Stmt *st, TrainSettings *ts) {
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

