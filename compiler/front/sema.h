/* sema.h — semantic analysis: resolves names, instantiates layers and user functions,
 * infers every shape, checks the train block, and builds the forward graph. Every error is
 * reported at its location; analysis continues past errors to find more. */
#ifndef DLC_SEMA_H
#define DLC_SEMA_H
#include "ast.h"
#include "distort.h"
#include "grad.h"
#include "graph.h"

/* What the train block says (or its defaults). Locations point at each setting for later
 * diagnostics (e.g. a data set whose shape does not match the input). */
typedef struct TrainSettings {
  const char *data;  /* "mnist" */
  SrcLoc data_loc;
  OptimizerSpec opt;
  /* the learning rate over training: constant; cosine (to 0 over all epochs, step by step);
   * step (times gamma every `every` epochs); exponential (times gamma each epoch); plus a
   * linear warm-up over the first `warmup` epochs */
  enum { SCHEDULE_CONSTANT, SCHEDULE_COSINE, SCHEDULE_STEP, SCHEDULE_EXPONENTIAL } schedule;
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

typedef struct SemaResult {
  Node *input, *target; /* the (single) input and target leaves */
  Node *out;            /* the network output, the value named `out` */
  Node *loss;           /* the per-example loss, the value named `loss` */
  Node *training;       /* HYPER: 1 in a training step, 0 in inference (dropout); or NULL */
  TrainSettings train;
} SemaResult;

/* Builds the forward graph of p into g. Returns false if any error was reported. */
bool sema_build(const Program *p, Graph *g, SemaResult *res);
/* Applies the train blocks of p (a program of nothing else: what `dlc train --set` parses)
 * over ts, as the command line overrides the file. False after reporting an error. */
bool sema_train_overrides(const Program *p, TrainSettings *ts);

/* The data sets dlc knows: the shape of one example and the number of classes. */
typedef struct DatasetInfo {
  const char *name;
  int rows, cols, classes;
} DatasetInfo;
const DatasetInfo *dataset_find(const char *name);
#endif
