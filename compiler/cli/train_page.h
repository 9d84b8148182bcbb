/* train_page.h — `dlc train --report FILE.html`: the report page (report/report.h) written
 * at the start, rewritten whole after every epoch with the epochs so far and the test set's
 * confusion matrix and worst mistakes (refreshing itself in an open browser), and once more
 * at the end without the refresh. */
#ifndef DLC_TRAIN_PAGE_H
#define DLC_TRAIN_PAGE_H
#include <stdbool.h>
#include "metrics_log.h"
#include "metrics_read.h"
#include "options.h"
#include "session.h"

typedef struct TrainPage {
  const char *path;      /* --report; NULL: no page */
  const Options *o;
  const Model *m;
  const Trainer *t;      /* the profile's counters, with --profile */
  const DlrtDataset *test;
  RunMetrics metrics;    /* the epochs so far */
  char *summary;         /* the model as dlc check describes it */
  int epochs;
  bool written;          /* the page exists: a failed run rewrites it to say so */
} TrainPage;

/* Starts the page (nothing if o->report is NULL): the model's summary, and a resumed run's
 * earlier epochs from the metrics it continues (log, when --metrics is given). False after
 * reporting. */
bool train_page_start(TrainPage *pg, const Options *o, const Model *m, const Trainer *t, const DlrtDataset *test,
                      const SessionStart *s, const MetricsLog *log);
/* After each epoch; false after reporting that the page could not be written. */
bool train_page_epoch(TrainPage *pg, const EpochResult *r);
/* The run is over: the last page, which no longer refreshes. False after reporting. */
bool train_page_end(TrainPage *pg, const SessionEnd *e);
/* The run failed (reported): the page says so and stops refreshing. */
void train_page_failed(TrainPage *pg);
void train_page_free(TrainPage *pg);
#endif
