/* settings.c — names of the train block's choices, the shapes of the named data sets, and
 * the learning-rate schedule. */
#include "settings.h"
#include <math.h>

const char *data_kind_name(DataKind k) {
  static const char *const names[] = {[DATA_MNIST] = "mnist", [DATA_FASHION_MNIST] = "fashion_mnist",
                                      [DATA_CIFAR10] = "cifar10", [DATA_IDX] = "idx", [DATA_NPY] = "npy",
                                      [DATA_IMAGES] = "images"};
  return names[k];
}

bool data_named_shape(DataKind k, DataShape *out) {
  switch (k) {
  case DATA_MNIST:
  case DATA_FASHION_MNIST: *out = (DataShape){1, 28, 28, 10}; return true;
  case DATA_CIFAR10: *out = (DataShape){3, 32, 32, 10}; return true;
  default: return false;
  }
}

/* (the runtime's loaders give the same names to the sets they read) */
static const char *const DIGITS[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
static const char *const FASHION[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
static const char *const CIFAR10[] = {"airplane", "automobile", "bird", "cat", "deer",
                                      "dog",      "frog",       "horse", "ship", "truck"};

const char *const *data_named_classes(DataKind k, int *n) {
  *n = 10;
  switch (k) {
  case DATA_MNIST: return DIGITS;
  case DATA_FASHION_MNIST: return FASHION;
  case DATA_CIFAR10: return CIFAR10;
  default: *n = 0; return NULL;
  }
}

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
