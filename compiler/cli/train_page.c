/* train_page.c — the report page of a training run as it goes; see train_page.h. */
#include "train_page.h"
#include <stdio.h>
#include <stdlib.h>
#include "profile_report.h"
#include "report.h"
#include "summary.h"

/* The model as `dlc check` describes it: planned on its own, as check plans it (one thread,
 * no profiling), so the figures are the same whatever --threads this run has. */
static char *summary_of(const Options *o) {
  ModelConfig cfg = options_model_config(o);
  cfg.threads = 1;
  WarningMode mode = diag_warning_mode();
  diag_set_warning_mode(WARNINGS_HIDE); /* the run's own load has shown them */
  Model *m = model_load(o->file, &cfg);
  diag_set_warning_mode(mode);
  DataSummary data; /* (the run has read the set: its headers are there to probe) */
  bool probed = m && data_probe(m, data_dir(o->data_dir), &data);
  char *text = m && model_build_training(m) ? model_summary_text(m, probed ? &data : NULL) : NULL;
  model_free(m);
  return text;
}

static bool write(TrainPage *pg, const char *status, bool live, const Evaluation *test) {
  char *profile = pg->o->profile ? profile_text(pg->m, pg->t->run_steps, pg->t->run_examples) : NULL;
  char what[96];
  int epoch = pg->metrics.n ? pg->metrics.epochs[pg->metrics.n - 1].epoch : 0;
  snprintf(what, sizeof what, "The test set after epoch %d", epoch);
  ReportPage page = {.title = pg->m->file->name, .status = status, .live = live, .epochs_planned = pg->epochs,
                     .metrics = &pg->metrics, .summary = pg->summary, .profile = profile, .eval = test,
                     .eval_set = pg->test, .eval_what = what};
  char err[1024];
  int rc = report_write(&page, pg->path, err, sizeof err);
  free(profile);
  if (rc != 0) {
    diag_path_error(err);
    return false;
  }
  pg->written = true;
  return true;
}

bool train_page_start(TrainPage *pg, const Options *o, const Model *m, const Trainer *t, const DlrtDataset *test,
                      const SessionStart *s, const MetricsLog *log) {
  *pg = (TrainPage){.path = o->report, .o = o, .m = m, .t = t, .test = test, .epochs = s->epochs};
  if (!pg->path) return true;
  if (!(pg->summary = summary_of(o))) return false;
  if (s->resumed && log && log->len && !metrics_parse(log->path, log->text, log->len, &pg->metrics)) return false;
  char status[96];
  if (s->epochs_done >= s->epochs) /* resumed with nothing left to train: the end follows */
    snprintf(status, sizeof status, "The checkpoint has done %d epochs of %d.", s->epochs_done, s->epochs);
  else
    snprintf(status, sizeof status, "Training: epoch %d of %d is running.", s->epochs_done + 1, s->epochs);
  return write(pg, status, s->epochs_done < s->epochs, NULL);
}

bool train_page_epoch(TrainPage *pg, const EpochResult *r) {
  if (!pg->path) return true;
  EpochMetrics e = {r->epoch, r->train_loss, r->test_error, r->seconds, r->images_per_s, r->val_error,
                    r->eval_seconds, r->lr};
  run_metrics_add(&pg->metrics, &e);
  char status[96];
  if (r->epoch < r->epochs)
    snprintf(status, sizeof status, "Training: epoch %d of %d done, epoch %d is running.", r->epoch, r->epochs,
             r->epoch + 1);
  else
    snprintf(status, sizeof status, "Training: epoch %d of %d done.", r->epoch, r->epochs);
  return write(pg, status, r->epoch < r->epochs, r->test);
}

bool train_page_end(TrainPage *pg, const SessionEnd *e) {
  if (!pg->path) return true;
  char status[128];
  int done = pg->metrics.n ? pg->metrics.epochs[pg->metrics.n - 1].epoch : 0;
  if (e->stopped_early_after)
    snprintf(status, sizeof status, "Finished: early stopping ended the run after epoch %d of %d.", e->stopped_early_after,
             pg->epochs);
  else
    snprintf(status, sizeof status, "Finished: %d of %d epochs.", done, pg->epochs);
  return write(pg, status, false, e->test);
}

void train_page_failed(TrainPage *pg) {
  if (!pg->path || !pg->written) return;
  int done = pg->metrics.n ? pg->metrics.epochs[pg->metrics.n - 1].epoch : 0;
  char status[128];
  snprintf(status, sizeof status, "Stopped by an error after epoch %d of %d (dlc train printed it).", done, pg->epochs);
  write(pg, status, false, NULL);
}

void train_page_free(TrainPage *pg) {
  run_metrics_free(&pg->metrics);
  free(pg->summary);
  *pg = (TrainPage){0};
}
