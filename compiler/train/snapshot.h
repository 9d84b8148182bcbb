/* snapshot.h — saving and restoring a Trainer's state (see snapshot.c). */
#ifndef DLC_SNAPSHOT_H
#define DLC_SNAPSHOT_H
#include <stddef.h>
#include "trainer.h"

/* Writes parameters, optimiser state and training position after `epochs_done` epochs,
 * atomically. 0, or -1 with "PATH: MESSAGE" in err. */
int snapshot_save(const Trainer *t, const char *path, int epochs_done, char *err, size_t errlen);

/* Reads parameters and the state it holds (running statistics, optimiser moments) into t;
 * with `with_state` (to resume), every state is required, and the step, RNG and epochs done
 * are read too. Checks every name and shape first, so a mismatch leaves t unchanged. 0, or
 * -1 with "PATH: MESSAGE" in err. */
int snapshot_load(Trainer *t, const char *path, bool with_state, int *epochs_done, char *err, size_t errlen);
#endif
