/* cmd_report.c — `dlc report METRICS.jsonl -o OUT.html [--load CKPT] [--net FILE.net]`: the
 * report page (report/report.h) of a finished run, from its metrics; with a model its
 * summary, and with a checkpoint its evaluation on the test set. The model is --net, or the
 * .net source the checkpoint saved (dlc's checkpoints carry it), so that a run's metrics and
 * checkpoint are enough. */
#include <stdio.h>
#include <stdlib.h>
#include "checkpoint.h"
#include "cli.h"
#include "eval_report.h"
#include "evaluate.h"
#include "metrics_read.h"
#include "report.h"
#include "snapshot.h"
#include "summary.h"

/* The model of the report: --net, else the source --load's checkpoint saved (*saved set),
 * else none (NULL with *failed false). NULL with *failed after reporting. */
static Model *report_model(const Options *o, bool *failed, bool *saved) {
  ModelConfig cfg = options_model_config(o);
  cfg.threads = 1; /* the summary's figures as dlc check gives them */
  cfg.inference_only = true;
  *failed = *saved = false;
  Model *m = NULL;
  if (o->net) {
    m = model_load(o->net, &cfg);
  } else if (o->load) {
    Ckpt c;
    char err[1024];
    if (dlrt_ckpt_load(o->load, &c, err, sizeof err) != 0) {
      diag_path_error(err);
      *failed = true;
      return NULL;
    }
    const char *source = dlrt_ckpt_meta(&c, "source"), *name = dlrt_ckpt_meta(&c, "model");
    if (source) m = model_load_source(srcfile_from_string(name ? name : o->load, source), &cfg), *saved = true;
    else
      diag_error_plain(o->load, "holds no .net source (written by another tool, or of a model over 64 KiB); "
                                "give the model with --net FILE.net");
    dlrt_ckpt_free(&c);
  } else {
    return NULL;
  }
  if (m && model_build_training(m)) return m;
  model_free(m);
  *failed = true;
  return NULL;
}

/* The checkpoint's evaluation on the model's test set into e, the set into test; false after
 * reporting. saved: m is the source the checkpoint saved, whose relative data paths are
 * relative to where its .net file was when it trained, which may not be here. */
static bool evaluate_checkpoint(const Options *o, Model *m, bool saved, DlrtDataset *test, Trainer **t, Evaluation *e) {
  char err[1024];
  if (!data_load(m, data_dir(o->data_dir), NULL, test)) {
    if (saved)
      fprintf(stderr, "dlc: note: the model is the source %s saved, named %s: its data paths are taken from that "
                      "name's directory, as seen from here; run dlc report where training ran, or give the model "
                      "with --net FILE.net\n", o->load, m->file->name);
    return false;
  }
  if (!(*t = trainer_new(m)) || !trainer_check_data(*t, test, "test")) return false;
  if (snapshot_load_for_inference(*t, o->load, err, sizeof err) != 0) {
    diag_path_error(err);
    return false;
  }
  return evaluate(*t, test, 0, e);
}

int cmd_report(const Options *o) {
  if (!o->out) {
    diag_error_plain("dlc", "'report' needs -o FILE.html (the page to write)");
    return EXIT_USER;
  }
  const DlrtNamedPath outputs[] = {{o->out, "-o", NULL}};
  if (!outputs_ok(o, outputs, 1)) return EXIT_USER;
  RunMetrics metrics = {0};
  if (!metrics_read(o->file, &metrics)) {
    run_metrics_free(&metrics); /* (the lines before the bad one) */
    return EXIT_USER;
  }
  int rc = EXIT_USER;
  bool failed, saved;
  Model *m = report_model(o, &failed, &saved);
  DlrtDataset test = {0};
  Trainer *t = NULL;
  Evaluation e = {0};
  char *summary = NULL, status[256], what[512], err[1024];
  if (failed || (o->load && !evaluate_checkpoint(o, m, saved, &test, &t, &e))) goto done;
  summary = m ? model_summary_text(m, NULL) : NULL;
  const EpochMetrics *first = &metrics.epochs[0], *last = &metrics.epochs[metrics.n - 1];
  if (metrics.n > 1) snprintf(status, sizeof status, "From %s: epochs %d to %d.", o->file, first->epoch, last->epoch);
  else snprintf(status, sizeof status, "From %s: epoch %d.", o->file, first->epoch);
  snprintf(what, sizeof what, "The test set classified with %s", o->load ? o->load : "");
  ReportPage page = {.title = m ? m->file->name : o->file, .status = status, .metrics = &metrics, .summary = summary,
                     .eval = o->load ? &e : NULL, .eval_set = &test, .eval_what = what};
  if (report_write(&page, o->out, err, sizeof err) != 0) {
    diag_path_error(err);
    goto done;
  }
  rc = EXIT_OK;
done:
  free(summary);
  evaluation_free(&e);
  trainer_free(t);
  dlrt_dataset_free(&test);
  model_free(m);
  run_metrics_free(&metrics);
  return rc;
}
