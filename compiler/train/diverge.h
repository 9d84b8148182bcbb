/* diverge.h — when a training step's loss is not finite: the first value of that step that
 * went wrong, named at its place in the .net file (diverge.c says how). */
#ifndef DLC_DIVERGE_H
#define DLC_DIVERGE_H
#include "trainer.h"

/* After trainer_epoch over d stopped at t->divergence: replays the epoch up to that step and
 * reports (diag) the first parameter or value of the step that is not finite. Leaves t's
 * state as it was before that step. */
void diverge_explain(Trainer *t, const DlrtDataset *d);
#endif
