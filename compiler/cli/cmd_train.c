/* cmd_train.c — `dlc train`: compile, load the data, then epochs of training with a test
 * error after each; progress on stderr, a summary line per epoch on stdout, and optionally
 * one JSON object per epoch in --metrics. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "profile_report.h"
#include "snapshot.h"
#include "trainer.h"

typedef struct Progress {
  int epoch, epochs;
  double start;
  bool tty;
  int last_quarter;
} Progress;

static void show_progress(void *ctx, int done, int total) {
  Progress *p = ctx;
  double el = dlrt_seconds() - p->start, rate = done / (el > 0 ? el : 1e-9);
  if (p->tty) {
    enum { WIDTH = 30 };
    int fill = (int)((double)WIDTH * done / total);
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++) bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = 0;
    fprintf(stderr, "\repoch %d/%d [%s] %d/%d  %.0f img/s  ETA %.1f s ", p->epoch, p->epochs, bar, done, total,
            rate, (total - done) / rate);
    if (done == total) fputs("\r\033[K", stderr);
  } else {
    int quarter = (int)(4.0 * done / total);
    if (quarter > p->last_quarter && done < total)
      fprintf(stderr, "epoch %d/%d: %d/%d images, %.0f img/s\n", p->epoch, p->epochs, done, total, rate);
    p->last_quarter = quarter;
  }
  fflush(stderr);
}

const char *report_path_error(char *err) {
  char *sep = strstr(err, ": ");
  if (sep) *sep = 0;
  const char *msg = sep ? sep + 2 : "failed";
  diag_error_plain(err, "%s", msg);
  return msg;
}

bool load_data(const char *dir, DlrtDataset *train, DlrtDataset *test) {
  char err[1024];
  if ((train && dlrt_mnist_load(dir, "train", train, err, sizeof err) != 0) ||
      (test && dlrt_mnist_load(dir, "t10k", test, err, sizeof err) != 0)) {
    if (strstr(report_path_error(err), "not found"))
      fprintf(diag_stream(), "  (fetch MNIST with scripts/fetch-mnist.sh %s, or point --data or DLC_DATA at it)\n", dir);
    if (train) dlrt_dataset_free(train);
    return false;
  }
  return true;
}

/* Holds out the last ts->validation images of train (the CLI's or the file's count) as val;
 * fit keeps the rest. Both are views of train's memory. False after reporting a count the
 * training set cannot spare, or validation options without a validation split. */
static bool split_validation(const TrainSettings *ts, const Options *o, DlrtDataset *fit, DlrtDataset *val) {
  int n = ts->validation;
  if (n == 0) {
    const char *needs = o->save_best ? "--save-best" : o->ov.patience > 0 ? "--patience" : ts->patience ? "patience" : NULL;
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
  fit->count -= n;
  return true;
}

/* Early stopping: with patience P, no epoch starts once P epochs have passed since the best
 * validation error (checked before each epoch, so a resumed run stops where it would have). */
static bool stops_early(const Trainer *t, int epochs_done) {
  int patience = t->m->train.patience;
  /* best_epoch 0: no validation yet (a fresh run, or one resumed from a run without it) */
  if (!patience || !t->m->train.validation || t->best_epoch == 0 || epochs_done - t->best_epoch < patience)
    return false;
  printf("early stop after epoch %d: no better val_error in %d epochs\n", epochs_done, patience);
  return true;
}

/* --threads: data-parallel steps over that many threads where the model allows it (then
 * OpenBLAS keeps one thread: never both, or the two oversubscribe the cores); otherwise one
 * thread runs the step and OpenBLAS may use them for large products. */
static bool build_with_threads(Model *m, const Options *o, bool training) {
  m->threads = o->profile ? 1 : o->threads; /* the profile's counters belong to one thread */
  if (o->profile && o->threads > 1) fprintf(stderr, "dlc: note: --profile times the step on one thread\n");
  if (!model_build_training(m)) return false;
  /* (dlc eval only classifies, and inference splits its batches whatever the model) */
  if (training && m->coupled_at)
    diag_note(m->coupled_at->loc, "this value depends on the whole batch (batch norm), so one thread runs each step");
  else if (training && m->threads > 1 && !m->data_parallel)
    fprintf(stderr, "dlc: note: a step of %.1f MFLOP is too small to split over %d threads (dlc splits from %.0f MFLOP per thread); one thread runs it\n",
            m->step_flops / 1e6, m->threads, MIN_SPLIT_FLOPS / 1e6);
  dlrt_set_threads(m->data_parallel ? 1 : o->threads);
  return true;
}

int cmd_train(const Options *o) {
  Model *m = model_load(o->file, &o->ov);
  if (!m) return EXIT_USER;
  DlrtDataset train = {0}, test = {0};
  FILE *metrics = NULL;
  Trainer *t = NULL;
  int rc = EXIT_USER;
  if (o->compile_only) { /* parse to JIT'd functions, no data */
    if (build_with_threads(m, o, true) && (t = trainer_new(m)) && model_finish_compile(m, t->jit)) {
      fprintf(stderr, "dlc: %s: %lld parameters, compiled in %.0f ms\n", m->file->name,
              (long long)model_param_count(m), 1e3 * model_compile_seconds(m));
      if (o->time) model_print_times(m, stdout);
      rc = EXIT_OK;
    }
    goto done;
  }
  if (!load_data(data_dir(o), &train, &test)) goto done;
  /* A resumed run continues its metrics file. */
  if (o->metrics && !(metrics = fopen(o->metrics, o->resume ? "a" : "w"))) {
    diag_error_plain(o->metrics, "cannot write metrics: %s", strerror(errno));
    goto done;
  }
  m->profile = o->profile;
  if (!build_with_threads(m, o, true)) goto done;
  if (!(t = trainer_new(m))) goto done;
  if (!trainer_check_data(t, &train, "training") || !trainer_check_data(t, &test, "test")) goto done;
  const TrainSettings *ts = &m->train;
  DlrtDataset fit = train, val = {0};
  if (!split_validation(ts, o, &fit, &val)) goto done;
  fprintf(stderr, "dlc: %s: %lld parameters, compiled in %.0f ms; %d epochs of %d images, batch %d, lr %g\n",
          m->file->name, (long long)model_param_count(m), 1e3 * model_compile_seconds(m), ts->epochs,
          fit.count, ts->batch, ts->lr);
  if (o->time) model_print_times(m, stderr);
  if (val.count)
    fprintf(stderr, "dlc: validation: the last %d training images, held out%s\n", val.count,
            ts->patience ? ", with early stopping" : "");
  int done_epochs = 0;
  char why[1024];
  if (o->resume) {
    if (snapshot_load(t, o->resume, true, &done_epochs, why, sizeof why) != 0) {
      report_path_error(why);
      goto done;
    }
    fprintf(stderr, "dlc: resuming from %s after epoch %d of %d\n", o->resume, done_epochs, ts->epochs);
  }
  Progress p = {.epochs = ts->epochs, .tty = isatty(2)};
  for (int e = done_epochs + 1; e <= ts->epochs; e++) {
    if (stops_early(t, e - 1)) break;
    p.epoch = e;
    p.start = dlrt_seconds();
    p.last_quarter = 0;
    double loss = trainer_epoch(t, &fit, 0, e - 1, show_progress, &p);
    double seconds = dlrt_seconds() - p.start;
    double t_eval = dlrt_seconds();
    double val_err = val.count ? trainer_error(t, &val, 0) : NAN;
    double err = trainer_error(t, &test, 0);
    t_eval = dlrt_seconds() - t_eval;
    if (!isfinite(loss)) {
      diag_error_plain(m->file->name, "training diverged: the loss is %g in epoch %d (try a smaller --lr)", loss, e);
      goto done;
    }
    char val_text[48] = "", aug_text[96] = "";
    if (val.count) snprintf(val_text, sizeof val_text, "  val_error %.2f%%", 100 * val_err);
    if (t->x_next) /* distorting: how long it took, beside the steps, and how long they waited */
      snprintf(aug_text, sizeof aug_text, "  (distortions %.2f s, %.0f%% of it; steps waited %.2f s)", t->augment_seconds,
               100 * t->augment_seconds / seconds, t->augment_wait);
    printf("epoch %d/%d  train_loss %.4f%s  test_error %.2f%%  %.2f s  %.0f img/s%s\n", e, ts->epochs, loss, val_text,
           100 * err, seconds, fit.count / seconds, aug_text);
    fflush(stdout);
    if (metrics) {
      char val_field[48] = "";
      if (val.count) snprintf(val_field, sizeof val_field, ",\"val_error\":%.6g", val_err);
      char aug_field[96] = "";
      if (t->x_next)
        snprintf(aug_field, sizeof aug_field, ",\"augment_seconds\":%.4g,\"augment_wait_seconds\":%.4g",
                 t->augment_seconds, t->augment_wait);
      fprintf(metrics,
              "{\"epoch\":%d,\"train_loss\":%.6g,\"test_error\":%.6g,\"seconds\":%.4g,\"images_per_s\":%.0f,"
              "\"eval_seconds\":%.4g%s%s}\n",
              e, loss, err, seconds, fit.count / seconds, t_eval, val_field, aug_field);
      fflush(metrics);
    }
    /* The best checkpoint is written before the epoch's: a run killed between the two
     * resumes from the previous epoch, repeats this one and writes the same best again. */
    bool best = val.count && (t->best_epoch == 0 || val_err < t->best_val_error);
    if (best) t->best_val_error = val_err, t->best_epoch = e;
    if ((best && o->save_best && snapshot_save(t, o->save_best, e, why, sizeof why) != 0) ||
        (o->save && snapshot_save(t, o->save, e, why, sizeof why) != 0)) {
      report_path_error(why);
      goto done;
    }
  }
  if (val.count)
    printf("best val_error %.2f%% after epoch %d%s%s\n", 100 * t->best_val_error, t->best_epoch,
           o->save_best ? ", saved in " : "", o->save_best ? o->save_best : "");
  if (o->profile) profile_print(m, t->run_steps, t->run_examples, stdout);
  rc = EXIT_OK;
done:
  if (metrics && fclose(metrics) != 0 && rc == EXIT_OK) {
    diag_error_plain(o->metrics, "cannot write metrics");
    rc = EXIT_USER;
  }
  trainer_free(t);
  dlrt_dataset_free(&train);
  dlrt_dataset_free(&test);
  model_free(m);
  return rc;
}

int cmd_eval(const Options *o) {
  if (!o->load) {
    diag_error_plain("dlc", "'eval' needs --load CKPT (a checkpoint written by dlc train --save)");
    return EXIT_USER;
  }
  Model *m = model_load(o->file, &o->ov);
  if (!m) return EXIT_USER;
  DlrtDataset test = {0};
  Trainer *t = NULL;
  int rc = EXIT_USER, unused;
  char err[1024];
  m->inference_only = true; /* only dlc_forward is compiled */
  if (!load_data(data_dir(o), NULL, &test) || !build_with_threads(m, o, false) || !(t = trainer_new(m)) ||
      !trainer_check_data(t, &test, "test"))
    goto done;
  if (snapshot_load(t, o->load, false, &unused, err, sizeof err) != 0) {
    report_path_error(err);
    goto done;
  }
  double e = 0, seconds = INFINITY, model_seconds = INFINITY;
  for (int pass = 0; pass < o->repeat; pass++) { /* the same answer each time; the fastest pass timed */
    double t0 = dlrt_seconds();
    e = trainer_error(t, &test, 0);
    seconds = fmin(seconds, dlrt_seconds() - t0);
    model_seconds = fmin(model_seconds, t->forward_seconds);
  }
  printf("%s with %s: test_error %.2f%% (%d of %d test images)\n", m->file->name, o->load, 100 * e,
         (int)(e * test.count + 0.5), test.count);
  /* on stderr, so that stdout stays the same from run to run */
  fprintf(stderr, "dlc: inference at batch %d on %d thread%s: %.0f images/s in the model (%.0f with batch assembly: %.3f s for the test set)\n",
          m->train.batch, t->workers, t->workers > 1 ? "s" : "", test.count / model_seconds, test.count / seconds, seconds);
  rc = EXIT_OK;
done:
  trainer_free(t);
  dlrt_dataset_free(&test);
  model_free(m);
  return rc;
}
