/* session.c — the epoch loop of a training run; see session.h. */
#include "session.h"
#include <math.h>
#include "checkpoint.h"
#include "diverge.h"
#include "snapshot.h"

/* Holds out the last ts->validation images of train (the command line's or the file's count)
 * as val; fit keeps the rest. Both are views of train's memory. False after reporting a count
 * the training set cannot spare, or validation options without a validation split. */
static bool split_validation(const Model *m, const SessionOptions *o, DlrtDataset *fit, DlrtDataset *val) {
  const TrainSettings *ts = &m->train;
  int n = ts->validation;
  if (n == 0) {
    const char *needs = o->save_best ? "--save-best" : m->cfg.ov.patience > 0 ? "--patience" : ts->patience ? "patience" : NULL;
    if (needs) diag_error_plain("dlc", "%s needs a validation split (validation = N in the train block, or --validation N)", needs);
    return !needs;
  }
  if (n >= fit->count) {
    if (ts->validation_loc.file)
      diag_error(ts->validation_loc, "validation holds out %d images, but the training set has only %d", n, fit->count);
    else diag_error_plain("dlc", "--validation %d holds out every image of the %d-image training set", n, fit->count);
    return false;
  }
  *val = dlrt_dataset_slice(fit, fit->count - n, n);
  *fit = dlrt_dataset_slice(fit, 0, fit->count - n);
  return true;
}

/* Early stopping: with patience P, no epoch starts once P epochs have passed since the best
 * validation error (checked before each epoch, so a resumed run stops where it would have). */
static bool stops_early(const Trainer *t, int epochs_done) {
  int patience = t->m->train.patience;
  /* best_epoch 0: no validation yet (a fresh run, or one resumed from a run without it) */
  return patience && t->m->train.validation && t->best_epoch != 0 && epochs_done - t->best_epoch >= patience;
}

typedef struct ProgressRelay {
  const SessionReport *report;
  int epoch, epochs;
} ProgressRelay;

static void relay_progress(void *ctx, int done, int total, double loss_sum) {
  ProgressRelay *p = ctx;
  p->report->progress(p->report->ctx, p->epoch, p->epochs, done, total, loss_sum);
}

/* One epoch: training, then the validation and test errors. False after reporting. */
static bool run_epoch(Trainer *t, const DlrtDataset *fit, const DlrtDataset *val, const DlrtDataset *test, int e,
                      const SessionReport *report, Evaluation *keep, EpochResult *r) {
  const TrainSettings *ts = &t->m->train;
  ProgressRelay relay = {report, e, ts->epochs};
  if (report->progress) report->progress(report->ctx, e, ts->epochs, 0, fit->count, 0);
  double start = dlrt_seconds();
  double loss = trainer_epoch(t, fit, 0, e - 1, report->progress ? relay_progress : NULL, &relay);
  double seconds = dlrt_seconds() - start, t_eval = dlrt_seconds();
  if (t->divergence.diverged) { /* the epoch stopped at the step: say where, and what went wrong first */
    if (report->interrupted) report->interrupted(report->ctx); /* (a progress line ends first) */
    if (t->rank == 0)
      diag_error_plain(t->m->file->name, "training diverged: the loss of step %lld (epoch %d, batch %d) is %g; "
                                       "what went wrong first:", (long long)t->divergence.step, e, t->divergence.batch + 1,
                     t->divergence.loss);
    diverge_explain(t, fit);
    return false;
  }
  double val_err = val->count ? trainer_error(t, val, 0) : NAN;
  double err;
  if (keep && t->procs > 1) { /* of a job: the error split as always (collective); process 0, the one
                                 keeping outcomes for its report, scores every image again */
    evaluation_free(keep);
    err = trainer_error(t, test, 0);
    if (err >= 0 && !evaluate(t, test, 0, keep)) err = -1;
  } else if (keep) { /* the same pass, keeping every image's outcome */
    evaluation_free(keep);
    err = evaluate(t, test, 0, keep) ? keep->error : -1;
  } else {
    err = trainer_error(t, test, 0);
  }
  if (err < 0 || val_err < 0) return false; /* dlc_forward did not compile (reported) */
  *r = (EpochResult){.epoch = e, .epochs = ts->epochs, .train_loss = loss, .lr = settings_lr(ts, e - 1),
                     .val_error = val_err, .test_error = err,
                     .seconds = seconds, .images_per_s = fit->count / seconds,
                     .eval_seconds = dlrt_seconds() - t_eval, .cpu_seconds = t->epoch_cpu_seconds,
                     .assemble_seconds = t->assemble_seconds, .distorting = t->x_next != NULL,
                     .augment_seconds = t->augment_seconds, .augment_wait = t->augment_wait, .test = keep};
  return true;
}

/* The checkpoints after epoch e. The best is written before the epoch's: a run killed
 * between the two resumes from the previous epoch, repeats this one and writes the same best
 * again. Of a job of several processes, process 0 writes them (all hold the same state). */
static bool save_checkpoints(Trainer *t, const SessionOptions *o, int e, bool best) {
  char why[1024];
  if (t->rank != 0) return true;
  if ((best && o->save_best && snapshot_save(t, o->save_best, e, why, sizeof why) != 0) ||
      (o->save && snapshot_save(t, o->save, e, why, sizeof why) != 0)) {
    diag_path_error(why);
    return false;
  }
  return true;
}

/* What a resumed run does differently from the run that saved it, said plainly: the seed it
 * continues, a learning-rate curve stretched over another length, nothing left to train. */
static void resume_notes(Trainer *t, const char *path, const SnapshotInfo *info) {
  TrainSettings *ts = &t->m->train;
  bool say = t->rank == 0; /* (of a job, process 0 says it) */
  if (say && info->seed != ts->seed)
    diag_note_plain(path, "a resumed run continues the random streams (shuffles, dropout, distortions) of the run that "
                          "saved it, seed %llu; this run's seed %llu has no effect", info->seed, ts->seed);
  ts->seed = info->seed; /* distortions are keyed by it */
  if (say && info->epochs && info->epochs != ts->epochs && ts->schedule == SCHEDULE_COSINE && info->epochs_done < ts->epochs) {
    TrainSettings saved = *ts;
    saved.epochs = info->epochs;
    diag_note_plain(path, "was saved by a run of %d epochs, and this one has %d: the cosine schedule now decays over %d "
                          "epochs, so epoch %d starts at lr %g (the saved run's would have been %g)",
                    info->epochs, ts->epochs, ts->epochs, info->epochs_done + 1, settings_lr(ts, info->epochs_done),
                    settings_lr(&saved, info->epochs_done));
  }
  if (say && info->epochs_done >= ts->epochs)
    diag_note_plain(path, "has done %d epochs, and this run has %d: nothing to train (give --epochs a larger number to "
                          "go on)", info->epochs_done, ts->epochs);
}

/* Claims the checkpoints this run writes (one run at a time per file; process 0 writes them);
 * false after reporting. */
static bool lock_checkpoints(const Trainer *t, const SessionOptions *o, CkptLock locks[2]) {
  char why[1024];
  const char *paths[2] = {o->save, o->save_best};
  locks[0] = locks[1] = (CkptLock){-1, NULL};
  if (t->rank != 0) return true;
  for (int k = 0; k < 2; k++)
    if (paths[k] && dlrt_ckpt_lock(paths[k], &locks[k], why, sizeof why) != 0) {
      diag_path_error(why);
      dlrt_ckpt_unlock(&locks[0]);
      return false;
    }
  return true;
}

static bool train_epochs(Trainer *t, const DlrtDataset *fit, const DlrtDataset *val, const DlrtDataset *test,
                         const SessionOptions *o, const SessionReport *report, int done_epochs) {
  const TrainSettings *ts = &t->m->train;
  SessionStart start = {ts->epochs, fit->count, val->count, o->resume != NULL, done_epochs};
  if (report->start && !report->start(report->ctx, &start)) return false;
  SessionEnd end = {0};
  Evaluation keep = {0};
  bool ok = true;
  for (int e = done_epochs + 1; ok && e <= ts->epochs; e++) {
    if (stops_early(t, e - 1)) {
      end.stopped_early_after = e - 1;
      break;
    }
    EpochResult r;
    ok = run_epoch(t, fit, val, test, e, report, o->keep_test ? &keep : NULL, &r);
    if (!ok) break;
    r.best = val->count && (t->best_epoch == 0 || r.val_error < t->best_val_error);
    if (r.best) t->best_val_error = r.val_error, t->best_epoch = e;
    ok = (!report->epoch || report->epoch(report->ctx, &r)) && trainer_check_replicas(t) && save_checkpoints(t, o, e, r.best);
  }
  if (ok) {
    end.best_epoch = val->count ? t->best_epoch : 0;
    end.best_val_error = t->best_val_error;
    end.test = keep.count ? &keep : NULL;
    if (report->end) report->end(report->ctx, &end);
  }
  evaluation_free(&keep);
  return ok;
}

bool session_run(Trainer *t, const DlrtDataset *train, const DlrtDataset *test, const SessionOptions *o,
                 const SessionReport *report) {
  if (!trainer_check_data(t, train, "training") || !trainer_check_data(t, test, "test")) return false;
  DlrtDataset fit = *train, val = {0};
  CkptLock locks[2];
  if (!split_validation(t->m, o, &fit, &val) || !lock_checkpoints(t, o, locks)) return false;
  int done_epochs = 0;
  bool ok = true;
  if (o->resume) {
    char why[1024];
    SnapshotInfo info;
    if (snapshot_resume(t, o->resume, &info, why, sizeof why) != 0) {
      diag_path_error(why);
      ok = false;
    } else {
      done_epochs = info.epochs_done;
      resume_notes(t, o->resume, &info);
    }
  }
  ok = ok && train_epochs(t, &fit, &val, test, o, report, done_epochs);
  dlrt_ckpt_unlock(&locks[0]);
  dlrt_ckpt_unlock(&locks[1]);
  return ok;
}
