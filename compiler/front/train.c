/* train.c — the train block: pixel range, optimiser, learning rate and its schedule, batch,
 * epochs, seed, validation, distortions; the data settings are train_data.c's. */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <string.h>
#include "sema_private.h"
#include "suggest.h"

#define COUNT(a) ((int)(sizeof(a) / sizeof *(a)))

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

/* A positive number that a float holds (every setting becomes a float in the step). */
static bool positive_number(const Expr *v, const char *what, double *out) {
  if (v->kind != E_NUM || !(v->num > 0) || !(v->num <= FLT_MAX)) {
    diag_error(v->loc, "%s must be a positive number%s", what, v->kind == E_NUM && v->num > FLT_MAX ? " a float holds (at most 3.4e38)" : "");
    return false;
  }
  *out = v->num;
  return true;
}

/* One argument of an optimiser: its name, allowed range and the OptimizerSpec field it sets
 * (lr goes to the train settings; nesterov is 0 or 1). */
typedef struct OptArg {
  const char *name;
  double lo, hi;        /* allowed: lo <= v < hi, or lo < v if lo_open */
  bool lo_open;
  const char *range;    /* for the message */
  size_t field;         /* offsetof in OptimizerSpec (a float), unless lr or nesterov */
} OptArg;

#define FIELD(f) offsetof(OptimizerSpec, f)
#define LR_ARG {"lr", 0, MAX_LR, true, "a positive number up to 1e6", 0}
#define UNIT_ARG(n, f) {n, 0, 1, false, "a number in [0, 1)", FIELD(f)}
#define POSITIVE_ARG(n, f) {n, 0, FLT_MAX, true, "a positive number a float holds", FIELD(f)}
#define WD_ARG {"weight_decay", 0, FLT_MAX, false, "a number >= 0 a float holds", FIELD(weight_decay)}

typedef struct OptimizerDef {
  const char *name;
  OptimizerKind kind;
  double lr;            /* default learning rate, 0: the train settings' */
  OptimizerSpec defaults;
  OptArg args[6];
} OptimizerDef;

/* Defaults as PyTorch's. */
static const OptimizerDef optimizers[] = {
    {"sgd", OPT_SGD, 0, {.kind = OPT_SGD},
     {LR_ARG, UNIT_ARG("momentum", momentum), {"nesterov", 0, 2, false, "0 or 1", 0}, WD_ARG}},
    {"adam", OPT_ADAM, 1e-3, {.kind = OPT_ADAM, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f},
     {LR_ARG, UNIT_ARG("beta1", beta1), UNIT_ARG("beta2", beta2), POSITIVE_ARG("eps", eps), WD_ARG}},
    {"adamw", OPT_ADAMW, 1e-3, {.kind = OPT_ADAMW, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f},
     {LR_ARG, UNIT_ARG("beta1", beta1), UNIT_ARG("beta2", beta2), POSITIVE_ARG("eps", eps), WD_ARG}},
    {"rmsprop", OPT_RMSPROP, 1e-2, {.kind = OPT_RMSPROP, .alpha = 0.99f, .eps = 1e-8f},
     {LR_ARG, UNIT_ARG("alpha", alpha), POSITIVE_ARG("eps", eps), WD_ARG}},
    {"adagrad", OPT_ADAGRAD, 1e-2, {.kind = OPT_ADAGRAD, .eps = 1e-10f}, {LR_ARG, POSITIVE_ARG("eps", eps), WD_ARG}},
};

static void optimizer_setting(const Setting *t, TrainSettings *ts) {
  const Expr *v = t->value;
  const OptimizerDef *def = NULL;
  for (size_t i = 0; (v->kind == E_NAME || v->kind == E_CALL) && i < sizeof optimizers / sizeof *optimizers; i++)
    if (strcmp(v->name, optimizers[i].name) == 0) def = &optimizers[i];
  if (!def) {
    const char *names[COUNT(optimizers)], *word = v->kind == E_NAME || v->kind == E_CALL ? v->name : NULL;
    char hint[96] = "";
    for (int i = 0; i < COUNT(optimizers); i++) names[i] = optimizers[i].name;
    if (word) suggest_hint(word, names, COUNT(names), "", hint, sizeof hint);
    diag_error(v->loc, "unknown optimizer%s%s%s (expected sgd, adam, adamw, rmsprop or adagrad; see docs/language.md)%s",
               word ? " '" : "", word ? word : "", word ? "'" : "", hint);
    return;
  }
  const char *names[8];
  int n = 0;
  while (def->args[n].name) names[n] = def->args[n].name, n++;
  names[n] = NULL;
  if (!check_labels(v, names)) return;
  OptimizerSpec o = def->defaults;
  o.clip = ts->opt.clip, o.average = ts->opt.average; /* (settings of their own, not the optimiser's) */
  double lr = def->lr ? def->lr : ts->lr, nesterov = 0;
  for (const Arg *a = v->kind == E_CALL ? v->args : NULL; a; a = a->next) {
    if (!a->label) {
      diag_error(a->loc, "'%s' takes named arguments, e.g. %s(lr: 0.1)", v->name, v->name);
      return;
    }
    int k = 0;
    while (strcmp(def->args[k].name, a->label) != 0) k++;
    const OptArg *arg = &def->args[k];
    double x = a->value->kind == E_NUM ? a->value->num : NAN;
    bool ok = (arg->lo_open ? x > arg->lo : x >= arg->lo) && (arg->hi == MAX_LR ? x <= arg->hi : x < arg->hi);
    if (strcmp(arg->name, "nesterov") == 0) ok = x == 0 || x == 1;
    if (!ok) {
      diag_error(a->value->loc, "'%s' of %s must be %s", a->label, v->name, arg->range);
      return;
    }
    if (strcmp(arg->name, "lr") == 0) lr = x;
    else if (strcmp(arg->name, "nesterov") == 0) nesterov = x;
    else *(float *)(void *)((char *)&o + arg->field) = (float)x;
  }
  o.nesterov = nesterov == 1;
  if (o.nesterov && o.momentum == 0) {
    diag_error(v->loc, "nesterov needs momentum > 0");
    return;
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
  ts->opt = o;
  /* the optimiser's own default learning rate, unless one was given here or before */
  if (lr_arg || (def->lr && !ts->lr_loc.file)) ts->lr = lr;
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

/* schedule = constant | cosine | step(every: N, gamma: G) | exponential(gamma: G) */
static void schedule_setting(const Setting *t, TrainSettings *ts) {
  const Expr *v = t->value;
  const char *name = v->kind == E_NAME || v->kind == E_CALL ? v->name : "";
  static const char *const step_args[] = {"every", "gamma", NULL}, *const exp_args[] = {"gamma", NULL},
                           *const none[] = {NULL};
  double every = 1, gamma = 0.1;
  if (strcmp(name, "constant") == 0 || strcmp(name, "cosine") == 0) {
    if (v->kind == E_CALL && !check_labels(v, none)) return;
    if (v->kind == E_CALL && v->args) {
      diag_error(v->args->loc, "'%s' takes no arguments", name);
      return;
    }
    ts->schedule = strcmp(name, "constant") == 0 ? SCHEDULE_CONSTANT : SCHEDULE_COSINE;
  } else if (strcmp(name, "step") == 0 || strcmp(name, "exponential") == 0) {
    bool step = strcmp(name, "step") == 0;
    if (v->kind == E_CALL && !check_labels(v, step ? step_args : exp_args)) return;
    if (!number_arg(v, "every", -1, 1, &every) || !number_arg(v, "gamma", -1, step ? 0.1 : 0.95, &gamma)) return;
    if (!(gamma > 0 && gamma <= 1) || !(every >= 1 && every == floor(every) && every <= 100000)) {
      diag_error(v->loc, "%s needs 0 < gamma <= 1%s", name, step ? " and a whole number of epochs every >= 1" : "");
      return;
    }
    ts->schedule = step ? SCHEDULE_STEP : SCHEDULE_EXPONENTIAL;
    ts->every = (int)every;
    ts->gamma = gamma;
  } else {
    static const char *const names[] = {"constant", "cosine", "step", "exponential"};
    char hint[96];
    diag_error(v->loc, "unknown schedule%s%s%s (expected constant, cosine, step(every: N, gamma: G) or exponential(gamma: G))%s",
               *name ? " '" : "", name, *name ? "'" : "", suggest_hint(name, names, COUNT(names), "", hint, sizeof hint));
  }
}

/* average = ema(D) | ema(decay: D) | none: an exponential moving average of the parameters,
 * decay D in (0, 1), which inference uses (update.c). */
static void average_setting(const Setting *t, TrainSettings *ts) {
  const Expr *v = t->value;
  static const char *const args[] = {"decay", NULL};
  if (v->kind == E_NAME && strcmp(v->name, "none") == 0) {
    ts->opt.average = 0;
    return;
  }
  if (v->kind != E_CALL || strcmp(v->name, "ema") != 0) {
    diag_error(v->loc, "average expects ema(decay), e.g. average = ema(0.999), or none");
    return;
  }
  if (!check_labels(v, args)) return;
  if (!v->args || v->args->next) {
    diag_error(v->loc, "ema takes one number, its decay: ema(0.999)");
    return;
  }
  double d;
  if (!number_arg(v, "decay", 0, 0, &d)) return;
  /* (a float must tell d from 1: 1 - 1e-7 rounds to 1, an average that never moves) */
  if (!(d > 0 && d < 1) || (float)d >= 1.0f) {
    diag_error(v->args->value->loc, "the decay of ema must be between 0 and 1 (e.g. 0.999), got %.9g%s", d,
               d > 0 && d < 1 ? ", which a float rounds to 1" : "");
    return;
  }
  ts->opt.average = (float)d;
  ts->average_loc = v->loc;
}

/* One distortion: affine(rotate: DEG, scale: S, shear: S, shift: PX) or elastic(alpha: PX,
 * sigma: PX), arguments named; an omitted one is 0 (affine) or the default (elastic). */
static bool distortion(const Expr *v, DlrtDistort *d) {
  static const char *const affine_args[] = {"rotate", "scale", "shear", "shift", NULL},
                           *const elastic_args[] = {"alpha", "sigma", NULL};
  const char *name = v->kind == E_NAME || v->kind == E_CALL ? v->name : "";
  bool affine = strcmp(name, "affine") == 0;
  if (!affine && strcmp(name, "elastic") != 0) {
    static const char *const names[] = {"affine", "elastic", "none"};
    char hint[96];
    diag_error(v->loc, "%s%s%sexpected affine(rotate:, scale:, shear:, shift:) or elastic(alpha:, sigma:), "
                       "or both joined by '+'%s%s",
               *name ? "unknown distortion '" : "", name, *name ? "' (" : "", *name ? ")" : "",
               suggest_hint(name, names, COUNT(names), "", hint, sizeof hint));
    return false;
  }
  if (v->kind == E_CALL && !check_labels(v, affine ? affine_args : elastic_args)) return false;
  for (const Arg *a = v->kind == E_CALL ? v->args : NULL; a; a = a->next)
    if (!a->label) {
      diag_error(a->loc, "the arguments of '%s' are named, e.g. %s", name,
                 affine ? "affine(rotate: 10, shift: 2)" : "elastic(alpha: 2, sigma: 4)");
      return false;
    }
  double x[4];
  const char *const *args = affine ? affine_args : elastic_args;
  static const double affine_max[] = {180, 0.9, 2, 14}, elastic_max[] = {14, 14},
                      elastic_default[] = {1.5, 4};
  for (int k = 0; args[k]; k++) {
    double max = affine ? affine_max[k] : elastic_max[k];
    if (!number_arg(v, args[k], -1, affine ? 0 : elastic_default[k], &x[k])) return false;
    if (!(x[k] >= 0 && x[k] <= max) || (!affine && k == 1 && !(x[k] >= 0.5))) {
      const Arg *a = named_arg_of(v, args[k]);
      diag_error(a ? a->value->loc : v->loc, "'%s' of %s must be from %g to %g", args[k], name,
                 !affine && k == 1 ? 0.5 : 0, max);
      return false;
    }
  }
  if (affine) {
    d->affine = true;
    d->rotate = (float)x[0], d->scale = (float)x[1], d->shear = (float)x[2], d->shift = (float)x[3];
  } else {
    d->elastic = true;
    d->alpha = (float)x[0], d->sigma = (float)x[1];
  }
  return true;
}

/* distort = affine(...) | elastic(...) | affine(...) + elastic(...) | none */
static void distort_setting(const Setting *t, TrainSettings *ts) {
  const Expr *v = t->value;
  DlrtDistort d = {0};
  if (v->kind == E_NAME && strcmp(v->name, "none") == 0) {
    ts->distort = d;
    ts->distort_loc = v->loc;
    return;
  }
  if (v->kind == E_BINARY && v->op == '+') {
    if (!distortion(v->lhs, &d) || !distortion(v->rhs, &d)) return;
    if (!(d.affine && d.elastic)) {
      diag_error(v->loc, "each distortion once: affine(...) + elastic(...)");
      return;
    }
  } else if (!distortion(v, &d)) {
    return;
  }
  ts->distort = d;
  ts->distort_loc = v->loc;
}

/* Every setting a train block may have, in the order the docs list them. */
static const char *const setting_names[] = {"data",       "optimizer", "lr",      "schedule", "warmup",
                                            "clip",       "pixels",    "batch",   "epochs",   "seed",
                                            "validation", "patience",  "distort", "classes",  "normalize",
                                            "average"};

void train_block(const Stmt *st, Arena *a, TrainSettings *ts) {
  for (const Setting *t = st->settings; t; t = t->next) {
    long long v;
    for (const Setting *u = st->settings; u != t; u = u->next)
      if (strcmp(u->key, t->key) == 0) {
        diag_error(t->loc, "'%s' is set twice", t->key);
        diag_note(u->loc, "first set here");
      }
    if (t->call && strcmp(t->key, "normalize") != 0) {
      diag_error(t->loc, "'%s' is set with '=': %s = ...", t->key, t->key);
      continue;
    }
    if (strcmp(t->key, "data") == 0) {
      data_setting(t, a, ts);
    } else if (strcmp(t->key, "classes") == 0) {
      classes_setting(t, a, ts);
    } else if (strcmp(t->key, "normalize") == 0) {
      normalize_setting(t, a, ts);
    } else if (strcmp(t->key, "optimizer") == 0) {
      optimizer_setting(t, ts);
    } else if (strcmp(t->key, "lr") == 0) {
      if (ts->lr_loc.file) {
        diag_error(t->loc, "the learning rate is set twice");
        diag_note(ts->lr_loc, "first set here");
      }
      ts->lr_loc = t->loc;
      if (t->value->kind != E_NUM || !settings_lr_ok(t->value->num))
        diag_error(t->value->loc, "'lr' must be a positive number up to 1e6 (every network diverges beyond)");
      else ts->lr = t->value->num;
    } else if (strcmp(t->key, "pixels") == 0) {
      pixels_setting(t, ts);
    } else if (strcmp(t->key, "schedule") == 0) {
      schedule_setting(t, ts);
    } else if (strcmp(t->key, "warmup") == 0) {
      if (t->value->kind != E_NUM || !(t->value->num >= 0 && t->value->num <= 100000))
        diag_error(t->value->loc, "'warmup' must be a number of epochs from 0 to 100000");
      else ts->warmup = t->value->num;
    } else if (strcmp(t->key, "clip") == 0) {
      double c;
      if (positive_number(t->value, "'clip' (the largest norm of all gradients together)", &c)) ts->opt.clip = (float)c;
    } else if (strcmp(t->key, "batch") == 0) {
      if (int_setting(t, 1, 65536, &v)) ts->batch = (int)v;
    } else if (strcmp(t->key, "epochs") == 0) {
      if (int_setting(t, 1, 100000, &v)) ts->epochs = (int)v;
    } else if (strcmp(t->key, "seed") == 0) {
      if (int_setting(t, 0, 2147483647, &v)) ts->seed = (unsigned long long)v;
    } else if (strcmp(t->key, "validation") == 0) {
      ts->validation_loc = t->value->loc;
      if (int_setting(t, 0, 1000000, &v)) ts->validation = (int)v;
    } else if (strcmp(t->key, "distort") == 0) {
      distort_setting(t, ts);
    } else if (strcmp(t->key, "average") == 0) {
      average_setting(t, ts);
    } else if (strcmp(t->key, "patience") == 0) {
      if (int_setting(t, 1, 100000, &v)) ts->patience = (int)v;
    } else {
      char list[256], hint[96];
      diag_error(t->loc, "unknown train setting '%s' (expected %s)%s", t->key,
                 suggest_list(setting_names, COUNT(setting_names), "", "or", list, sizeof list),
                 suggest_hint(t->key, setting_names, COUNT(setting_names), "", hint, sizeof hint));
    }
  }
  /* patience without a validation split is reported by dlc train, after the command line's
   * --validation has had its say */
}

bool sema_train_overrides(const Program *p, Arena *a, TrainSettings *ts) {
  int errors = diag_error_count();
  /* Settings given again replace the file's: no "set twice" against it. */
  ts->lr_loc = (SrcLoc){0};
  for (const Stmt *st = p->stmts; st; st = st->next) {
    if (st->kind == S_TRAIN) train_block(st, a, ts);
    else diag_error(st->loc, "only train settings can be given on the command line");
  }
  return diag_error_count() == errors;
}
