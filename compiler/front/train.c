/* train.c — the train block: data set, pixel range, optimiser, learning rate and its
 * schedule, batch, epochs, seed. */
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

/* One argument of an optimiser: its name, allowed range and where it goes. */
typedef struct OptArg {
  const char *name;
  double lo, hi;        /* allowed: lo <= v < hi, or lo < v if lo_open */
  bool lo_open;
  const char *range;    /* for the message */
} OptArg;

static const OptArg sgd_args[] = {
    {"lr", 0, INFINITY, true, "a positive number"},
    {"momentum", 0, 1, false, "a number in [0, 1)"},
    {"nesterov", 0, 2, false, "0 or 1"},
    {"weight_decay", 0, INFINITY, false, "a number >= 0"},
    {NULL, 0, 0, false, NULL},
};
static const OptArg adam_args[] = {
    {"lr", 0, INFINITY, true, "a positive number"},
    {"beta1", 0, 1, false, "a number in [0, 1)"},
    {"beta2", 0, 1, false, "a number in [0, 1)"},
    {"eps", 0, INFINITY, true, "a positive number"},
    {"weight_decay", 0, INFINITY, false, "a number >= 0"},
    {NULL, 0, 0, false, NULL},
};

/* Reads the named arguments of an optimiser call into vals[] (in spec order; absent ones keep
 * their value). False after reporting. */
static bool optimizer_args(const Expr *v, const OptArg *spec, double *vals) {
  const char *names[8];
  int n = 0;
  while (spec[n].name) {
    names[n] = spec[n].name;
    n++;
  }
  names[n] = NULL;
  if (!check_labels(v, names)) return false;
  for (const Arg *a = v->args; a; a = a->next) {
    if (!a->label) {
      diag_error(a->loc, "'%s' takes named arguments, e.g. %s(lr: 0.1)", v->name, v->name);
      return false;
    }
    int k = 0;
    while (strcmp(spec[k].name, a->label) != 0) k++;
    double x = a->value->kind == E_NUM ? a->value->num : NAN;
    bool ok = (spec[k].lo_open ? x > spec[k].lo : x >= spec[k].lo) && x < spec[k].hi;
    if (strcmp(a->label, "nesterov") == 0) ok = x == 0 || x == 1;
    if (!ok) {
      diag_error(a->value->loc, "'%s' of %s must be %s", a->label, v->name, spec[k].range);
      return false;
    }
    vals[k] = x;
  }
  return true;
}

static void optimizer_setting(const Setting *t, TrainSettings *ts) {
  const Expr *v = t->value;
  bool sgd = (v->kind == E_NAME || v->kind == E_CALL) && strcmp(v->name, "sgd") == 0;
  bool adam = (v->kind == E_NAME || v->kind == E_CALL) && strcmp(v->name, "adam") == 0;
  if (!sgd && !adam) {
    diag_error(v->loc, "unknown optimizer; expected sgd(lr:, momentum:, nesterov:, weight_decay:) "
                       "or adam(lr:, beta1:, beta2:, eps:, weight_decay:)");
    return;
  }
  OptimizerSpec *o = &ts->opt;
  double lr = ts->lr;
  if (sgd) {
    double vals[4] = {lr, o->momentum, o->nesterov, o->weight_decay};
    if (!optimizer_args(v, sgd_args, vals)) return;
    if (vals[2] == 1 && vals[1] == 0) {
      diag_error(v->loc, "nesterov needs momentum > 0");
      return;
    }
    *o = (OptimizerSpec){OPT_SGD, (float)vals[1], vals[2] == 1, o->beta1, o->beta2, o->eps, (float)vals[3]};
    lr = vals[0];
  } else {
    double vals[5] = {1e-3, o->beta1, o->beta2, o->eps, o->weight_decay};
    if (!optimizer_args(v, adam_args, vals)) return;
    *o = (OptimizerSpec){OPT_ADAM, 0, false, (float)vals[1], (float)vals[2], (float)vals[3], (float)vals[4]};
    lr = vals[0];
  }
  const Arg *lr_arg = named_arg_of(v, "lr");
  if (lr_arg) {
    if (ts->lr_loc.file) {
      diag_error(lr_arg->loc, "the learning rate is set twice");
      diag_note(ts->lr_loc, "first set here");
      return;
    }
    ts->lr_loc = lr_arg->loc;
  }
  /* Adam's own default (0.001) unless a learning rate was given here or before */
  if (lr_arg || (adam && !ts->lr_loc.file)) ts->lr = lr;
}

/* pixels = range(lo, hi): pixel value 0 becomes lo, 1 becomes hi. */
static void pixels_setting(const Setting *t, TrainSettings *ts) {
  const Expr *v = t->value;
  double lo, hi;
  if (v->kind != E_CALL || strcmp(v->name, "range") != 0 || !v->args || !v->args->next || v->args->next->next ||
      v->args->label || v->args->next->label) {
    diag_error(v->loc, "pixels expects range(lo, hi), e.g. pixels = range(-0.1, 1.175)");
    return;
  }
  if (!number_arg(v, "lo", 0, 0, &lo) || !number_arg(v, "hi", 1, 1, &hi)) return;
  if (!(lo < hi)) {
    diag_error(v->loc, "pixels: the low end %g must be below the high end %g", lo, hi);
    return;
  }
  ts->pixel_lo = (float)lo;
  ts->pixel_hi = (float)hi;
}

/* schedule = constant | cosine */
static void schedule_setting(const Setting *t, TrainSettings *ts) {
  const Expr *v = t->value;
  if (v->kind == E_NAME && strcmp(v->name, "constant") == 0) ts->schedule = SCHEDULE_CONSTANT;
  else if (v->kind == E_NAME && strcmp(v->name, "cosine") == 0) ts->schedule = SCHEDULE_COSINE;
  else diag_error(v->loc, "unknown schedule; expected constant or cosine");
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
    } else if (strcmp(t->key, "pixels") == 0) {
      pixels_setting(t, ts);
    } else if (strcmp(t->key, "schedule") == 0) {
      schedule_setting(t, ts);
    } else if (strcmp(t->key, "batch") == 0) {
      if (int_setting(t, 1, 65536, &v)) ts->batch = (int)v;
    } else if (strcmp(t->key, "epochs") == 0) {
      if (int_setting(t, 1, 100000, &v)) ts->epochs = (int)v;
    } else if (strcmp(t->key, "seed") == 0) {
      if (int_setting(t, 0, 2147483647, &v)) ts->seed = (unsigned long long)v;
    } else {
      diag_error(t->loc, "unknown train setting '%s' (expected data, optimizer, lr, schedule, pixels, batch, epochs or seed)",
                 t->key);
    }
  }
}

