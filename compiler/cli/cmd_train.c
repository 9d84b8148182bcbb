/* cmd_train.c — `dlc train`: compile, load the data, then a training session
 * (train/session.c) whose reports become progress on stderr, a summary line per epoch on
 * stdout, optionally one JSON object per epoch in --metrics and the report page in --report
 * (train_page.c). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "comm.h"
#include "metrics_log.h"
#include "profile_report.h"
#include "progress.h"
#include "session.h"
#include "snapshot.h"
#include "train_page.h"

/* What the session's reports are printed with. */
typedef struct Printer {
  const Options *o;
  const Model *m;
  MetricsLog metrics;
  Progress progress;
  TrainPage page;        /* --report */
  const Trainer *t;
  const DlrtDataset *test;
  bool page_failed;      /* the last page could not be written (reported) */
} Printer;

static bool print_start(void *ctx, const SessionStart *s) {
  Printer *p = ctx;
  const Model *m = p->m;
  fprintf(stderr, "dlc: %s: %lld parameters, compiled in %.0f ms; %d epochs of %d images, batch %d, lr %g\n",
          m->file->name, (long long)model_param_count(m), 1e3 * model_compile_seconds(m), s->epochs, s->fit,
          m->train.batch, m->train.lr);
  if (p->o->time) model_print_times(m, stderr);
  if (s->validation)
    fprintf(stderr, "dlc: validation: the last %d training images, held out%s\n", s->validation,
            m->train.patience ? ", with early stopping" : "");
  if (m->train.opt.average > 0)
    fprintf(stderr, "dlc: average = ema(%g): val_error and test_error are those of the parameters' moving average, "
                    "which checkpoints keep beside the parameters (and eval, predict, export and report use)\n",
            (double)m->train.opt.average);
  if (s->resumed) fprintf(stderr, "dlc: resuming from %s after epoch %d of %d\n", p->o->resume, s->epochs_done, s->epochs);
  /* (a resumed run's metrics end where its checkpoint does) */
  return (!p->o->metrics || metrics_start(&p->metrics, p->o->metrics, s->resumed, s->epochs_done)) &&
         train_page_start(&p->page, p->o, m, p->t, p->test, s, p->o->metrics ? &p->metrics : NULL);
}

static void print_progress(void *ctx, int epoch, int epochs, int done, int total, double loss_sum) {
  Printer *p = ctx;
  progress_show(&p->progress, epoch, epochs, done, total, loss_sum);
}

static bool print_epoch(void *ctx, const EpochResult *r) {
  Printer *p = ctx;
  char val_text[48] = "", aug_text[96] = "";
  bool val = !isnan(r->val_error);
  if (val) snprintf(val_text, sizeof val_text, "  val_error %.2f%%", 100 * r->val_error);
  if (r->distorting) /* distorting: how long it took, beside the steps, and how long they waited */
    snprintf(aug_text, sizeof aug_text, "  (distortions %.2f s, %.0f%% of it; steps waited %.2f s)", r->augment_seconds,
             100 * r->augment_seconds / r->seconds, r->augment_wait);
  p->progress.eval_seconds = r->eval_seconds;
  printf("epoch %d/%d  train_loss %.4f%s  test_error %.2f%%  %.2f s  %.0f img/s%s\n", r->epoch, r->epochs, r->train_loss,
         val_text, 100 * r->test_error, r->seconds, r->images_per_s, aug_text);
  fflush(stdout);
  if (!train_page_epoch(&p->page, r)) return false;
  if (!p->o->metrics) return true;
  char val_field[48] = "", aug_field[96] = "", avg_field[48] = "", line[560];
  if (val) snprintf(val_field, sizeof val_field, ",\"val_error\":%.6g", r->val_error);
  if (p->m->train.opt.average > 0) /* (the errors are the moving average's) */
    snprintf(avg_field, sizeof avg_field, ",\"average\":%.6g", (double)p->m->train.opt.average);
  if (r->distorting)
    snprintf(aug_field, sizeof aug_field, ",\"augment_seconds\":%.4g,\"augment_wait_seconds\":%.4g", r->augment_seconds,
             r->augment_wait);
  snprintf(line, sizeof line,
           "{\"epoch\":%d,\"train_loss\":%.6g,\"test_error\":%.6g,\"seconds\":%.4g,\"images_per_s\":%.0f,"
           "\"eval_seconds\":%.4g,\"cpu_seconds\":%.4g,\"assemble_seconds\":%.4g,\"lr\":%.6g%s%s%s}",
           r->epoch, r->train_loss, r->test_error, r->seconds, r->images_per_s, r->eval_seconds, r->cpu_seconds,
           r->assemble_seconds, r->lr, val_field, aug_field, avg_field);
  return metrics_append(&p->metrics, line);
}

static void print_interrupted(void *ctx) {
  Printer *p = ctx;
  progress_clear(&p->progress);
}

static void print_end(void *ctx, const SessionEnd *e) {
  Printer *p = ctx;
  if (e->stopped_early_after)
    printf("early stop after epoch %d: no better val_error in %d epochs\n", e->stopped_early_after, p->m->train.patience);
  if (e->best_epoch)
    printf("best val_error %.2f%% after epoch %d%s%s\n", 100 * e->best_val_error, e->best_epoch,
           p->o->save_best ? ", saved in " : "", p->o->save_best ? p->o->save_best : "");
  p->page_failed = !train_page_end(&p->page, e);
}

/* --compile-only: parse to JIT'd functions (dlc_forward too), no data. */
static int compile_only(const Options *o) {
  Model *m = cli_load_model(o, false);
  Trainer *t = m && cli_build_model(m, o, true) ? trainer_new(m) : NULL;
  int rc = EXIT_USER;
  if (t && trainer_forward(t) && dlrt_comm_rank() != 0) {
    rc = EXIT_OK; /* (of a job, process 0 says it) */
  } else if (t && trainer_forward(t)) {
    fprintf(stderr, "dlc: %s: %lld parameters, compiled in %.0f ms\n", m->file->name, (long long)model_param_count(m),
            1e3 * model_compile_seconds(m));
    if (o->time) model_print_times(m, stdout);
    rc = EXIT_OK;
  }
  trainer_free(t);
  model_free(m);
  return rc;
}

/* A training run, alone or as one process of an mpirun job. *job_wide: it failed on every
 * process at once, and process 0 has told why (a diverged step). */
static int train(const Options *o, bool *job_wide) {
  if (o->compile_only) return compile_only(o);
  if (o->profile && dlrt_comm_size() > 1) {
    diag_error_plain("dlc", "--profile times one process's step: run it without mpirun");
    return EXIT_USER;
  }
  Model *m = cli_load_model(o, false);
  if (!m) return EXIT_USER;
  DlrtDataset train = {0}, test = {0};
  Trainer *t = NULL;
  int rc = EXIT_USER;
  Printer p = {.o = o, .m = m, .progress = progress_new(stderr)};
  /* every output checked before any work: a mistake costs nothing (of a job, process 0 alone
   * writes them, on its machine) */
  const DlrtNamedPath outputs[] = {{o->save, "--save", "checkpoint"}, {o->save_best, "--save-best", "checkpoint"},
                                   {o->metrics, "--metrics", NULL}, {o->report, "--report", NULL}};
  if (!outputs_ok(o, outputs, dlrt_comm_rank() == 0 ? 4 : 0) || !data_load(m, data_dir(o->data_dir), &train, &test)) goto done;
  if (m->train.data.holdout > 0) {
    char what[1024];
    fprintf(stderr, "dlc: %s has no test set: its last %d examples (holdout %g) are the test set, the other %d the training set\n",
            data_what(&m->train.data, what, sizeof what), test.count, m->train.data.holdout, train.count);
  }
  if (!cli_build_model(m, o, true) || !(t = trainer_new(m))) goto done;
  p.t = t;
  p.test = &test;
  /* the report's confusion matrix needs every test image's outcome: the same pass keeps them */
  SessionOptions so = {o->save, o->save_best, o->resume, .keep_test = o->report && dlrt_comm_rank() == 0};
  SessionReport report = {&p, print_start, print_progress, print_epoch, print_end, print_interrupted};
  if (dlrt_comm_rank() != 0) report = (SessionReport){0}; /* process 0 prints and writes the metrics */
  if (!session_run(t, &train, &test, &so, &report)) {
    train_page_failed(&p.page);
    *job_wide = t->divergence.diverged;
    goto done;
  }
  if (p.page_failed) goto done;
  if (o->profile) profile_print(m, t->run_steps, t->run_examples, stdout);
  rc = EXIT_OK;
done:
  train_page_free(&p.page);
  metrics_free(&p.metrics);
  trainer_free(t);
  dlrt_dataset_free(&train);
  dlrt_dataset_free(&test);
  model_free(m);
  return rc;
}

/* Under mpirun, a process that fails alone ends the whole job (the others would wait for it
 * in the next collective); a failure every process met at the same step (a diverged loss) is
 * told by process 0 and every process leaves the job as after success, with the failure's
 * status: MPI_Abort's own message, printed by mpirun at once, could land inside process 0's
 * account, which mpirun forwards as it comes; its message on a non-zero status waits for the
 * processes' output to end. One that succeeds leaves the job. */
int cmd_train(const Options *o) {
  char err[1024];
  if (dlrt_comm_init(err, sizeof err) != 0) {
    diag_error_plain("dlc", "%s", err);
    return EXIT_USER;
  }
  bool job_wide = false;
  int rc = train(o, &job_wide);
  if (rc != EXIT_OK && dlrt_comm_active() && !job_wide) {
    fprintf(stderr, "dlc: process %d of %d failed: ending the job\n", dlrt_comm_rank(), dlrt_comm_size());
    dlrt_comm_abort(rc);
  }
  if (rc != EXIT_OK) dlrt_comm_barrier(); /* (a job-wide failure: process 0 has told it before any leaves) */
  dlrt_comm_finish();
  return rc;
}
