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
  float average;           /* train block's average = ema(d): the decay d of the parameters'
                              moving average, kept beside them (0: none; update.c) */
} OptimizerSpec;

/* The .net spelling of each optimiser ("sgd", "adam", ...). */
const char *optimizer_name(OptimizerKind k);

/* The learning rate over training: constant; cosine (to 0 over all epochs, step by step);
 * step (times gamma every `every` epochs); exponential (times gamma each epoch); plus a
 * linear warm-up over the first `warmup` epochs. */
typedef enum ScheduleKind { SCHEDULE_CONSTANT, SCHEDULE_COSINE, SCHEDULE_STEP, SCHEDULE_EXPONENTIAL } ScheduleKind;
const char *schedule_name(ScheduleKind k);

/* The data sets a train block can name (docs/data.md): three by name, found under the data
 * directory (--data DIR), and three kinds of files. */
typedef enum DataKind { DATA_MNIST, DATA_FASHION_MNIST, DATA_CIFAR10, DATA_IDX, DATA_NPY, DATA_IMAGES } DataKind;

/* The .net spelling of each kind ("mnist", "npy", ...). */
const char *data_kind_name(DataKind k);

/* What `data = ...` says. Paths are as the front end resolved them: a relative path in a
 * .net file is joined to the file's directory (one given with --set is left relative to the
 * working directory). */
typedef struct DataSpec {
  DataKind kind;
  const char *train;        /* idx: the images; npy: x; images: the folder; cifar10: the folder
                               of the .bin files, NULL: DIR/cifar-10-batches-bin */
  const char *train_labels; /* idx: the labels; npy: y */
  const char *test, *test_labels; /* the test set's (images: test holds the folder); NULL: none */
  double holdout;           /* without a test set (idx, npy, images): the fraction of the
                               examples, the last ones, held out as the test set */
  SrcLoc loc;               /* the value of `data =` (none: the default, mnist) */
} DataSpec;

/* What one example of a data set is (channels x rows x cols values) and how many classes
 * there are. */
typedef struct DataShape {
  int channels, rows, cols, classes;
} DataShape;

/* The shape of a named set (mnist, fashion_mnist, cifar10), known without reading it; false
 * for sets of files, whose shapes only their headers tell. */
bool data_named_shape(DataKind k, DataShape *out);

/* The built-in class names of a named set (NULL: none, or a set of files); n of them. */
const char *const *data_named_classes(DataKind k, int *n);

/* What the train block says (or its defaults). Locations point at each setting for later
 * diagnostics (e.g. a data set whose shape does not match the input). */
typedef struct TrainSettings {
  DataSpec data;
  /* classes = ["T-shirt", ...]: a name per class (n_classes of them), for everything that
   * prints a class; NULL: the data set's names, else the class numbers */
  const char *const *classes;
  int n_classes;
  SrcLoc classes_loc;
  /* normalize(mean: [...], std: [...]): per channel, after pixels = range(lo, hi); n_norm 0
   * without (mean 0, std 1) */
  const float *mean, *std;
  int n_norm;
  SrcLoc normalize_loc;
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
  SrcLoc distort_loc;   /* where it was set (for the check that the data set is images) */
  SrcLoc average_loc;   /* where average = ema(...) was set (for the check that there are
                           parameters to average) */
} TrainSettings;

/* The learning rates dlc accepts, wherever one is given (lr = in the file or --set, an
 * optimiser's lr:, --lr): 0 < lr <= MAX_LR. Beyond it every network diverges at once. */
#define MAX_LR 1e6
bool settings_lr_ok(double lr);

/* The learning rate after `epochs_done` epochs (fractional within an epoch), following the
 * schedule and the warm-up. */
double settings_lr(const TrainSettings *ts, double epochs_done);
#endif
