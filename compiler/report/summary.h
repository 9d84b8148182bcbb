/* summary.h — a planned model described in text: what `dlc check` prints after "FILE: ok",
 * and what the HTML report shows as the model. */
#ifndef DLC_SUMMARY_H
#define DLC_SUMMARY_H
#include <stdio.h>
#include "data.h"
#include "driver.h"

/* m has been through model_build_training: the input and target, every parameter (shape,
 * values, initialiser), the figures of each source line (parameters, FLOPs per example
 * forward and backward, buffers), FLOPs per example and per step, node counts, the arena,
 * and the train block's settings. data: what data_probe found of the data set, or NULL (the
 * set as the file names it, not read). */
void model_summary_print(const Model *m, const DataSummary *data, FILE *out);
/* The same text, malloc'd (for the HTML report). */
char *model_summary_text(const Model *m, const DataSummary *data);
#endif
