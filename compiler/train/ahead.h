/* ahead.h — undistorted training batches made ahead of the steps on the trainer's helper
 * thread (prefetch.h), so that a step seldom waits for its batch's assembly (docs/data.md,
 * "How fast the data path is"). The rows are the same floats whichever thread makes them. */
#ifndef DLC_AHEAD_H
#define DLC_AHEAD_H
#include "trainer.h"

typedef struct BatchAhead BatchAhead;

/* Whether batches are worth making ahead: a core is free for the helper thread (ahead.c). */
bool ahead_wanted(const Model *m);
/* The buffers for t (its batch size and example size), or NULL when not wanted. */
BatchAhead *ahead_new(Trainer *t);
void ahead_free(BatchAhead *a);

/* Batch b of the epoch (the examples t->perm[b * batch ...], this process's rows of them, of
 * total in the epoch), ready for its step: *x and *y point at its rows until the next call.
 * Adds what it cost the stepping thread to t->assemble_seconds. Before the epoch's first
 * batch, the helper must be idle (ahead_end). */
void ahead_batch(Trainer *t, const DlrtDataset *d, int b, int total, const float **x, const float **y);
/* Returns once the helper has stopped making batches (at an epoch's end, or when it stops
 * early), the wait added to t->assemble_seconds. */
void ahead_end(Trainer *t);
#endif
