/* overlap.h — the gradient all-reduce of a job of several processes, started bucket by bucket
 * while the backward pass still runs (overlap.c). */
#ifndef DLC_OVERLAP_H
#define DLC_OVERLAP_H
#include "trainer.h"

/* Several processes, data-parallel: the buckets' state, and each worker's hook fed (NULL
 * with DLC_ALLREDUCE=whole: the hooks do nothing). Nothing alone (t->overlap stays NULL). */
void overlap_init(Trainer *t);
void overlap_free(Trainer *t);
/* Whether this step's gradients go bucket by bucket (else in one all-reduce after). */
bool overlap_on(const Trainer *t);
/* Before dlc_train_grad runs (t->grad_src and t->grad_weight set for the step). */
void overlap_begin(Trainer *t);
/* Worker 0 only, inside dlc_train_grad: starts the all-reduce of every bucket whose gradients
 * all this process's workers have finished, in order, and lets Open MPI move the started
 * ones on. */
void overlap_progress(Trainer *t);
/* After dlc_train_grad: sums and starts the buckets left (the last with the loss, which goes
 * in the float after the block), waits for all; the job's summed loss. */
float overlap_finish(Trainer *t, float loss);
/* Counts a step's time in dlc_train_grad and from its end to the summed gradients (either
 * way), for DLC_ALLREDUCE_STATS. */
void overlap_count(Trainer *t, double grad_seconds, double seconds);
#endif
