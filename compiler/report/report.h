/* report.h — the report of a training run as one self-contained HTML page: no script, no
 * stylesheet or image fetched from anywhere (charts are inline SVG, images are PNG in data:
 * URIs), so it opens from disk without a network. It shows the run's figures, charts per epoch
 * (training loss, test and validation error, learning rate, images/s), the confusion matrix
 * and the worst-misclassified images of an evaluation, the model as `dlc check` describes it,
 * and the profile table when the steps were timed. `dlc train --report` rewrites it after
 * every epoch (refreshing itself in the browser while training runs); `dlc report` makes it
 * from a metrics file afterwards. docs/cli.md shows it. */
#ifndef DLC_REPORT_H
#define DLC_REPORT_H
#include <stdbool.h>
#include <stddef.h>
#include "evaluate.h"
#include "metrics_read.h"

/* How often an open page reloads itself while training runs. */
enum { REPORT_REFRESH_SECONDS = 5 };

typedef struct ReportPage {
  const char *title;          /* the model's file name, or the metrics file's */
  const char *status;         /* one line: where the run is ("training: epoch 3 of 20 done") */
  bool live;                  /* training runs on: the page refreshes itself */
  int epochs_planned;         /* the run's length (0: not known) */
  const RunMetrics *metrics;  /* the epochs so far (may be empty) */
  const char *summary;        /* the model (model_summary_text), or NULL */
  const char *profile;        /* the profile table (profile_text), or NULL: not measured */
  const Evaluation *eval;     /* an evaluation to show, or NULL */
  const DlrtDataset *eval_set; /* ... of these images */
  const char *eval_what;      /* ... described: "the test set after epoch 20" */
} ReportPage;

/* The page as a NUL-terminated string (malloc'd). */
char *report_html(const ReportPage *p);
/* The page written whole to path (runtime/outfile.h). 0, or -1 with "PATH: MESSAGE". */
int report_write(const ReportPage *p, const char *path, char *err, size_t errlen);
#endif
