/* workers.h — a trainer's threads (workers.c): each worker's share of a batch, and what runs
 * on them. */
#ifndef DLC_WORKERS_H
#define DLC_WORKERS_H
#include "trainer.h"

/* n floats, 64-byte aligned and zeroed (dies if memory runs out: for the small buffers; the
 * large ones go through floats_try_alloc, and trainer_new reports what it needs). */
void *floats_alloc(int64_t n);
/* The same, or NULL if the system refuses. */
void *floats_try_alloc(int64_t n);
/* Floats of memory the workers' own blocks take (scratch and gradients beyond worker 0's). */
int64_t workers_floats(const Model *m);

/* Starts m->threads workers (the pool; worker 0 is the caller) and gives each its feeds,
 * results and scratch, and data-parallel its gradient block. */
void workers_init(Trainer *t);
void workers_free(Trainer *t);

/* Splits n rows over at most `parts` workers (t->active of them get rows) and points each
 * one's per-row feeds at its rows: inputs x, one-hot targets y (or NULL), outputs out (or
 * NULL), dropout's noise; `training` is the flag models with dropout or batch norm read. */
void workers_split(Trainer *t, int parts, const float *x, const float *y, float *out, int n, const float *training);
/* One training step on the n rows workers_split set up (hypers fed), this process's share of
 * a batch of n_all rows over the job's processes (n_all == n alone): the batch's summed loss. */
float workers_train_step(Trainer *t, int n, int n_all);
/* Floats [lo, hi) of the gradient block: the step's workers' (t->grad_src) weighted sum into
 * worker 0's, the range split over the workers. */
void workers_sum_grads(Trainer *t, int64_t lo, int64_t hi);
/* In [lo, hi) of the blocks of the workers with rows, zeroes what every worker computes whole,
 * except one worker's of the job (the last process's first): counted once. */
void workers_zero_once(Trainer *t, int64_t lo, int64_t hi);
/* dlc_forward on every worker's rows (set up by workers_split with outputs). */
void workers_forward(Trainer *t);
/* Converts examples idx[0..n) of d into x (and one-hot y, unless NULL), split over the
 * workers when the batch is large enough. */
void workers_fill(Trainer *t, const DlrtDataset *d, const int *idx, int n, float *x, float *y);
#endif
