/* settings.h — what a model's train block says: the data set, the optimiser, the learning
 * rate and its schedule, batch, epochs, seed, validation and distortions.
 *
 * A neutral header, below every stage that reads it: front/ fills it from the file (and the
 * command line's --set), grad/ builds the optimiser update from OptimizerSpec, driver/ plans
 * for the batch, and train/ runs the epochs. */
#ifndef DLC_SETTINGS_H
#define DLC_SETTINGS_H
#include <stdbool.h>
#include "diag.h"
#include "distort.h"

typedef enum OptimizerKind { OPT_SGD, OPT_ADAM, OPT_ADAMW, OPT_RMSPROP, OPT_ADAGRAD } OptimizerKind;

typedef struct OptimizerSpec {
  OptimizerKind kind;
  float momentum;          /* sgd (0: plain SGD) */
  bool nesterov;           /* sgd */
  float beta1, beta2;      /* adam, adamw */
  float alpha;             /* rmsprop: decay of the mean square */
  float eps;               /* adam, adamw, rmsprop, adagrad */
  float weight_decay;      /* L2, added to the gradient as wd * p; adamw: decoupled */
  float clip;              /* > 0: gradients scaled so their global norm is at most this */
} OptimizerSpec;

/* The .net spelling of each optimiser ("sgd", "adam", ...). */
const char *optimizer_name(OptimizerKind k);

/* The learning rate over training: constant; cosine (to 0 over all epochs, step by step);
 * step (times gamma every `every` epochs); exponential (times gamma each epoch); plus a
 * linear warm-up over the first `warmup` epochs. */
typedef enum ScheduleKind { SCHEDULE_CONSTANT, SCHEDULE_COSINE, SCHEDULE_STEP, SCHEDULE_EXPONENTIAL } ScheduleKind;
const char *schedule_name(ScheduleKind k);

/* What the train block says (or its defaults). Locations point at each setting for later
 * diagnostics (e.g. a data set whose shape does not match the input). */
typedef struct TrainSettings {
  const char *data;  /* "mnist" */
  SrcLoc data_loc;
  OptimizerSpec opt;
  ScheduleKind schedule;
  double gamma, warmup;
  int every;
  float pixel_lo, pixel_hi; /* pixel values 0 and 1 become these (LeCun et al.: -0.1, 1.175) */
  double lr;
  SrcLoc lr_loc;     /* where the learning rate was set (it may be set once) */
  int batch, epochs;
  unsigned long long seed;
  /* the last `validation` training images are held out and scored after every epoch;
   * with `patience`, training stops once that many epochs pass without a new best */
  int validation, patience;
  SrcLoc validation_loc;
  DlrtDistort distort;  /* applied to training images on the fly (none: both off) */
} TrainSettings;

/* The learning rates dlc accepts, wherever one is given (lr = in the file or --set, an
 * optimiser's lr:, --lr): 0 < lr <= MAX_LR. Beyond it every network diverges at once. */
#define MAX_LR 1e6
bool settings_lr_ok(double lr);

/* The learning rate after `epochs_done` epochs (fractional within an epoch), following the
 * schedule and the warm-up. */
double settings_lr(const TrainSettings *ts, double epochs_done);
#endif
