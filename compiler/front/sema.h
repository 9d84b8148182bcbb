/* sema.h — semantic analysis: resolves names, instantiates layers and user functions,
 * infers every shape, checks the train block, and builds the forward graph. Every error is
 * reported at its location; analysis continues past errors to find more. */
#ifndef DLC_SEMA_H
#define DLC_SEMA_H
#include "ast.h"
#include "graph.h"
#include "settings.h"

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
