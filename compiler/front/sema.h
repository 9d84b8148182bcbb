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
 * over ts, as the command line overrides the file; lists and paths go to the arena a. False
 * after reporting an error. */
bool sema_train_overrides(const Program *p, Arena *a, TrainSettings *ts);

/* The checks of a data set against the file (train_data.c), each reporting at `data =` (or,
 * without one, at the declaration) with a note at the declaration; false after reporting.
 *
 * `classes = [...]` names as many classes as the target has. */
bool sema_check_classes(const SemaResult *r, const TrainSettings *ts);
/* Examples of d's shape fit the input (as they are, as one vector, or one channel as rows x
 * cols), the target has d's classes (exactly, or at least as many), normalize gives a mean
 * and a std per channel. `what` names the set in the messages ("data set 'cifar10'"). */
bool sema_check_data(const SemaResult *r, const TrainSettings *ts, const DataShape *d, bool exact, const char *what);
/* sema_check_classes, and for a named set (whose shape is known without reading it)
 * sema_check_data. */
bool sema_check_named_data(const SemaResult *r, const TrainSettings *ts);
#endif
