/* metrics_log.h — `dlc train --metrics FILE`: one JSON object per epoch. The whole file is
 * rewritten (whole, runtime/outfile.h) after every epoch, so at any moment it holds the lines
 * of the epochs done, a full disk is an error, and a resumed run first cuts it back to the
 * epochs its checkpoint has done (a run killed between its metrics line and its checkpoint
 * repeats that epoch, which would otherwise be in the file twice). */
#ifndef DLC_METRICS_LOG_H
#define DLC_METRICS_LOG_H
#include <stdbool.h>
#include <stddef.h>

typedef struct MetricsLog {
  const char *path;
  char *text; /* the file's lines */
  size_t len, cap;
} MetricsLog;

/* A new log at path; resumed after epochs_done epochs, it keeps the file's lines of epochs
 * 1 .. epochs_done (a file that is not such a log is an error: it is not ours to cut).
 * False after reporting. */
bool metrics_start(MetricsLog *l, const char *path, bool resumed, int epochs_done);
/* Adds one line (without its newline) and rewrites the file; false after reporting. */
bool metrics_append(MetricsLog *l, const char *line);
void metrics_free(MetricsLog *l);
#endif
