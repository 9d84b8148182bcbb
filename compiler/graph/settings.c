/* settings.c — names of the train block's choices, and the learning-rate schedule. */
#include "settings.h"
#include <math.h>

const char *optimizer_name(OptimizerKind k) {
  static const char *const names[] = {[OPT_SGD] = "sgd", [OPT_ADAM] = "adam", [OPT_ADAMW] = "adamw",
                                      [OPT_RMSPROP] = "rmsprop", [OPT_ADAGRAD] = "adagrad"};
  return names[k];
}

const char *schedule_name(ScheduleKind k) {
  static const char *const names[] = {[SCHEDULE_CONSTANT] = "constant", [SCHEDULE_COSINE] = "cosine",
                                      [SCHEDULE_STEP] = "step", [SCHEDULE_EXPONENTIAL] = "exponential"};
  return names[k];
}

bool settings_lr_ok(double lr) { return lr > 0 && lr <= MAX_LR; }

double settings_lr(const TrainSettings *ts, double epochs_done) {
  double lr = ts->lr, progress = epochs_done / ts->epochs, whole = floor(epochs_done);
  switch (ts->schedule) {
  case SCHEDULE_CONSTANT: break;
  case SCHEDULE_COSINE: lr *= 0.5 * (1 + cos(M_PI * (progress < 1 ? progress : 1))); break;
  case SCHEDULE_STEP: lr *= pow(ts->gamma, floor(whole / ts->every)); break;
  case SCHEDULE_EXPONENTIAL: lr *= pow(ts->gamma, whole); break;
  }
  if (ts->warmup > 0 && epochs_done < ts->warmup) lr *= epochs_done / ts->warmup; /* linear, step by step */
  return lr;
}
