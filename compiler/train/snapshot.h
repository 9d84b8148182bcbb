/* snapshot.h — saving and restoring a Trainer's state (see snapshot.c). */
#ifndef DLC_SNAPSHOT_H
#define DLC_SNAPSHOT_H
#include <stddef.h>
#include "trainer.h"

/* Writes parameters, optimiser state and training position after `epochs_done` epochs,
 * atomically (runtime/checkpoint.h). 0, or -1 with "PATH: MESSAGE" in err. */
int snapshot_save(const Trainer *t, const char *path, int epochs_done, char *err, size_t errlen);

/* What a checkpoint says of the run that saved it (snapshot_resume). */
typedef struct SnapshotInfo {
  int epochs_done;
  int epochs;     /* the run's length, its learning-rate schedule's horizon (0: not recorded) */
  unsigned long long seed;
} SnapshotInfo;

/* Reads every parameter and state into t, and the training position: the step (Adam's t),
 * the random generator's state, the epochs done, early stopping's best. Every name, shape
 * and metadata field is checked first (driver/model_ckpt.h: CKPT_RESUME), so a mismatch
 * leaves t unchanged. 0, or -1 with "PATH: MESSAGE" in err. */
int snapshot_resume(Trainer *t, const char *path, SnapshotInfo *info, char *err, size_t errlen);
/* Reads the parameters and the state inference reads (dlc eval: CKPT_INFERENCE). */
int snapshot_load_for_inference(Trainer *t, const char *path, char *err, size_t errlen);
#endif
