/* metrics_read.h — the metrics of a training run (what `dlc train --metrics` writes: one JSON
 * object per epoch, docs/cli.md) read back, for the report. Each line is parsed by jansson and
 * checked: an object, with a whole "epoch" one more than the line before's and the numbers
 * every epoch has; a field dlc does not know is skipped (a later dlc may add some). */
#ifndef DLC_METRICS_READ_H
#define DLC_METRICS_READ_H
#include <stdbool.h>
#include <stddef.h>

typedef struct EpochMetrics {
  int epoch;
  double train_loss, test_error, seconds, images_per_s; /* every line has these */
  double val_error, eval_seconds, lr;                   /* NAN where the line has none */
} EpochMetrics;

typedef struct RunMetrics {
  EpochMetrics *epochs;
  int n, cap;
} RunMetrics;

/* Parses text (len bytes) as the metrics file `name`: appended to *out. False after reporting
 * the first line that is not an epoch's metrics, as NAME:LINE:COL with the line shown (an
 * empty text is an error too: it holds no epoch). */
bool metrics_parse(const char *name, const char *text, size_t len, RunMetrics *out);
/* Reads the regular file path and parses it; false after reporting. */
bool metrics_read(const char *path, RunMetrics *out);
/* Appends one epoch. */
void run_metrics_add(RunMetrics *r, const EpochMetrics *e);
void run_metrics_free(RunMetrics *r);
#endif
