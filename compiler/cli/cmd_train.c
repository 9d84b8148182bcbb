/* cmd_train.c — `dlc train` and `dlc eval`: compile, load the data, then a training session
 * (train/session.c) whose reports become progress on stderr, a summary line per epoch on
 * stdout, and optionally one JSON object per epoch in --metrics. */
#define _GNU_SOURCE /* sched_getaffinity */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "comm.h"
#include "metrics_log.h"
#include "profile_report.h"
#include "session.h"
#include "snapshot.h"

/* What the session's reports are printed with. */
typedef struct Printer {
  const Options *o;
  const Model *m;
  MetricsLog metrics;
  double epoch_start;
  bool tty;
  int last_quarter;
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
  if (s->resumed) fprintf(stderr, "dlc: resuming from %s after epoch %d of %d\n", p->o->resume, s->epochs_done, s->epochs);
  /* (a resumed run's metrics end where its checkpoint does) */
  return !p->o->metrics || metrics_start(&p->metrics, p->o->metrics, s->resumed, s->epochs_done);
}

/* A bar with rate and ETA on a terminal; plain lines at each quarter otherwise. */
static void print_progress(void *ctx, int epoch, int epochs, int done, int total) {
  Printer *p = ctx;
  if (done == 0) { /* the epoch starts */
    p->epoch_start = dlrt_seconds();
    p->last_quarter = 0;
    return;
  }
  double el = dlrt_seconds() - p->epoch_start, rate = done / (el > 0 ? el : 1e-9);
  if (p->tty) {
    enum { WIDTH = 30 };
    int fill = (int)((double)WIDTH * done / total);
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++) bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = 0;
    fprintf(stderr, "\repoch %d/%d [%s] %d/%d  %.0f img/s  ETA %.1f s ", epoch, epochs, bar, done, total, rate,
            (total - done) / rate);
    if (done == total) fputs("\r\033[K", stderr);
  } else {
    int quarter = (int)(4.0 * done / total);
    if (quarter > p->last_quarter && done < total)
      fprintf(stderr, "epoch %d/%d: %d/%d images, %.0f img/s\n", epoch, epochs, done, total, rate);
    p->last_quarter = quarter;
  }
  fflush(stderr);
}

static bool print_epoch(void *ctx, const EpochResult *r) {
  Printer *p = ctx;
  char val_text[48] = "", aug_text[96] = "";
  bool val = !isnan(r->val_error);
  if (val) snprintf(val_text, sizeof val_text, "  val_error %.2f%%", 100 * r->val_error);
  if (r->distorting) /* distorting: how long it took, beside the steps, and how long they waited */
    snprintf(aug_text, sizeof aug_text, "  (distortions %.2f s, %.0f%% of it; steps waited %.2f s)", r->augment_seconds,
             100 * r->augment_seconds / r->seconds, r->augment_wait);
  printf("epoch %d/%d  train_loss %.4f%s  test_error %.2f%%  %.2f s  %.0f img/s%s\n", r->epoch, r->epochs, r->train_loss,
         val_text, 100 * r->test_error, r->seconds, r->images_per_s, aug_text);
  fflush(stdout);
  if (!p->o->metrics) return true;
  char val_field[48] = "", aug_field[96] = "", line[512];
  if (val) snprintf(val_field, sizeof val_field, ",\"val_error\":%.6g", r->val_error);
  if (r->distorting)
    snprintf(aug_field, sizeof aug_field, ",\"augment_seconds\":%.4g,\"augment_wait_seconds\":%.4g", r->augment_seconds,
             r->augment_wait);
  snprintf(line, sizeof line,
           "{\"epoch\":%d,\"train_loss\":%.6g,\"test_error\":%.6g,\"seconds\":%.4g,\"images_per_s\":%.0f,"
           "\"eval_seconds\":%.4g%s%s}",
           r->epoch, r->train_loss, r->test_error, r->seconds, r->images_per_s, r->eval_seconds, val_field, aug_field);
  return metrics_append(&p->metrics, line);
}

static void print_end(void *ctx, const SessionEnd *e) {
  Printer *p = ctx;
  if (e->stopped_early_after)
    printf("early stop after epoch %d: no better val_error in %d epochs\n", e->stopped_early_after, p->m->train.patience);
  if (e->best_epoch)
    printf("best val_error %.2f%% after epoch %d%s%s\n", 100 * e->best_val_error, e->best_epoch,
           p->o->save_best ? ", saved in " : "", p->o->save_best ? p->o->save_best : "");
}

/* The model configured for training or inference (inference_only) with o's threads. The
 * profile's counters belong to one thread. NULL after reporting. */
static Model *load(const Options *o, bool inference_only) {
  ModelConfig cfg = options_model_config(o);
  cfg.profile = o->profile;
  cfg.inference_only = inference_only;
  cfg.processes = dlrt_comm_size(); /* 1 but under mpirun */
  if (o->profile) cfg.threads = 1;
  return model_load(o->file, &cfg);
}

/* Builds m's functions: data-parallel steps where the model allows it (then OpenBLAS keeps
 * one thread: never both, or the two oversubscribe the cores); otherwise one thread runs the
 * step and OpenBLAS may use them for large products. False after reporting. */
static bool build(Model *m, const Options *o, bool training) {
  bool says = dlrt_comm_rank() == 0; /* of a job of several processes, process 0 speaks */
  if (o->profile && o->threads > 1 && says) fprintf(stderr, "dlc: note: --profile times the step on one thread\n");
  if (!model_build_training(m)) return false;
  int threads = m->cfg.threads, procs = m->cfg.processes;
  if (training && procs > 1 && m->par.unsplittable) {
    diag_error(m->par.unsplittable->loc, "this value depends on the whole batch in a way dlc cannot split over processes");
    return false;
  }
  if (training && procs > 1 && says)
    fprintf(stderr, "dlc: %d processes of %d thread%s: each batch of %d split over %d workers\n", procs, threads,
            threads > 1 ? "s" : "", m->train.batch, m->par.data_parallel ? procs * threads : procs);
  cpu_set_t cores;
  if (training && says && threads > 1 && sched_getaffinity(0, sizeof cores, &cores) == 0 && CPU_COUNT(&cores) < threads)
    fprintf(stderr, "dlc: note: this process may run on %d core%s only, and --threads asks for %d (under mpirun, "
                    "which binds each process to a core when there are two: --bind-to none)\n",
            CPU_COUNT(&cores), CPU_COUNT(&cores) > 1 ? "s" : "", threads);
  if (training && says && m->par.synced && !m->par.unsplittable)
    fprintf(stderr, "dlc: batch norm: the workers add up their sums over the batch at %d points of each step\n",
            m->par.shards.n_points);
  /* (dlc eval only classifies, and inference splits its batches whatever the model) */
  if (!says) {
  } else if (training && m->par.unsplittable)
    diag_note(m->par.unsplittable->loc, "this value depends on the whole batch in a way dlc cannot split, so one thread runs each step");
  else if (training && threads > 1 && !m->par.data_parallel)
    fprintf(stderr, "dlc: note: a step of %.1f MFLOP is too small to split over %d threads (dlc splits from %.0f MFLOP per thread); one thread runs it\n",
            m->par.step_flops / 1e6, threads, MIN_SPLIT_FLOPS / 1e6);
  dlrt_set_threads(m->par.data_parallel ? 1 : o->threads);
  return true;
}

/* --compile-only: parse to JIT'd functions (dlc_forward too), no data. */
static int compile_only(const Options *o) {
  Model *m = load(o, false);
  Trainer *t = m && build(m, o, true) ? trainer_new(m) : NULL;
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

/* A training run, alone or as one process of an mpirun job. */
static int train(const Options *o) {
  if (o->compile_only) return compile_only(o);
  if (o->profile && dlrt_comm_size() > 1) {
    diag_error_plain("dlc", "--profile times one process's step: run it without mpirun");
    return EXIT_USER;
  }
  Model *m = load(o, false);
  if (!m) return EXIT_USER;
  DlrtDataset train = {0}, test = {0};
  Trainer *t = NULL;
  int rc = EXIT_USER;
  Printer p = {.o = o, .m = m, .tty = isatty(2)};
  /* every output checked before any work: a mistake costs nothing */
  const DlrtNamedPath outputs[] = {{o->save, "--save", "checkpoint"}, {o->save_best, "--save-best", "checkpoint"},
                                   {o->metrics, "--metrics", NULL}};
  if (!outputs_ok(o, outputs, 3) || !data_load(&m->train, data_dir(o->data_dir), &train, &test)) goto done;
  if (!build(m, o, true) || !(t = trainer_new(m))) goto done;
  SessionOptions so = {o->save, o->save_best, o->resume};
  SessionReport report = {&p, print_start, print_progress, print_epoch, print_end};
  if (dlrt_comm_rank() != 0) report = (SessionReport){0}; /* process 0 prints and writes the metrics */
  if (!session_run(t, &train, &test, &so, &report)) goto done;
  if (o->profile) profile_print(m, t->run_steps, t->run_examples, stdout);
  rc = EXIT_OK;
done:
  metrics_free(&p.metrics);
  trainer_free(t);
  dlrt_dataset_free(&train);
  dlrt_dataset_free(&test);
  model_free(m);
  return rc;
}

/* Under mpirun, a process that fails ends the whole job (the others would wait for it in the
 * next collective), and one that succeeds leaves it. */
int cmd_train(const Options *o) {
  char err[1024];
  if (dlrt_comm_init(err, sizeof err) != 0) {
    diag_error_plain("dlc", "%s", err);
    return EXIT_USER;
  }
  int rc = train(o);
  if (rc != EXIT_OK && dlrt_comm_active()) {
    fprintf(stderr, "dlc: process %d of %d failed: ending the job\n", dlrt_comm_rank(), dlrt_comm_size());
    dlrt_comm_abort(rc);
  }
  dlrt_comm_finish();
  return rc;
}

int cmd_eval(const Options *o) {
  if (!o->load) {
    diag_error_plain("dlc", "'eval' needs --load CKPT (a checkpoint written by dlc train --save)");
    return EXIT_USER;
  }
  Model *m = load(o, true); /* only dlc_forward is compiled */
  if (!m) return EXIT_USER;
  DlrtDataset test = {0};
  Trainer *t = NULL;
  int rc = EXIT_USER;
  char err[1024];
  if (!data_load(&m->train, data_dir(o->data_dir), NULL, &test) || !build(m, o, false) || !(t = trainer_new(m)) ||
      !trainer_check_data(t, &test, "test"))
    goto done;
  if (snapshot_load_for_inference(t, o->load, err, sizeof err) != 0) {
    diag_path_error(err);
    goto done;
  }
  double e = 0, seconds = INFINITY, model_seconds = INFINITY;
  for (int pass = 0; pass < o->repeat; pass++) { /* the same answer each time; the fastest pass timed */
    double t0 = dlrt_seconds();
    if ((e = trainer_error(t, &test, 0)) < 0) goto done;
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
