/* scales.h — how large activations and gradients are at initialisation, layer by layer
 * (`dlc check --scales`): the measurement behind the lecture's point that a badly scaled
 * initialisation makes signals vanish or explode through a deep net. */
#ifndef DLC_SCALES_H
#define DLC_SCALES_H
#include <stdio.h>
#include "driver.h"
#include "dataset.h"

/* Initialises m's parameters from its seed, as training does, runs the forward graph and
 * the symbolic gradients on the first `rows` examples of d in the reference evaluator, and
 * prints per named value its mean and standard deviation and per parameter the standard
 * deviation of its values and of its gradient. m must be freshly loaded (no autodiff yet). */
void scales_report(Model *m, const DlrtDataset *d, int rows, FILE *out);
#endif
