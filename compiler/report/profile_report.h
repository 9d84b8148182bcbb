/* profile_report.h — the table `dlc profile` and `dlc train --profile` print. */
#ifndef DLC_PROFILE_REPORT_H
#define DLC_PROFILE_REPORT_H
#include <stdint.h>
#include <stdio.h>
#include "driver.h"

/* The model's training step was compiled with profiling (m->profile) and has run `steps`
 * steps over `examples` examples: time, FLOPs, GFLOP/s and share of the measured peak per
 * layer and pass, then the heaviest nodes. */
void profile_print(const Model *m, int64_t steps, int64_t examples, FILE *out);
/* The same table, malloc'd (for the HTML report). */
char *profile_text(const Model *m, int64_t steps, int64_t examples);
#endif
