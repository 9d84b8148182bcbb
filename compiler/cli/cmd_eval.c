/* cmd_eval.c — `dlc eval FILE.net --load CKPT`: the test error of a checkpoint and the speed
 * of inference; with --confusion, --metrics, --predictions or --errors, one pass that keeps
 * every image's outcome (train/evaluate.h), printed or written by report/eval_report.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "cli.h"
#include "eval_report.h"
#include "evaluate.h"
#include "snapshot.h"

/* What the evaluation's outputs are; false after reporting the first that failed. */
static bool write_outputs(const Options *o, const Model *m, const Evaluation *e, const DlrtDataset *test) {
  char err[1024];
  if (o->confusion) eval_print_confusion(e, test, "test", stdout);
  if ((o->metrics && eval_write_metrics(e, test, m->file->name, o->load, o->metrics, err, sizeof err) != 0) ||
      (o->predictions && eval_write_predictions(e, o->predictions, err, sizeof err) != 0) ||
      (o->errors && eval_write_errors_png(e, test, o->errors, err, sizeof err) != 0)) {
    diag_path_error(err);
    return false;
  }
  return true;
}

int cmd_eval(const Options *o) {
  if (!o->load) {
    diag_error_plain("dlc", "'eval' needs --load CKPT (a checkpoint written by dlc train --save)");
    return EXIT_USER;
  }
  /* every output checked before any work */
  const DlrtNamedPath outputs[] = {{o->metrics, "--metrics", NULL}, {o->predictions, "--predictions", NULL},
                                   {o->errors, "--errors", NULL}};
  if (!outputs_ok(o, outputs, 3)) return EXIT_USER;
  Model *m = cli_load_model(o, true); /* only dlc_forward is compiled */
  if (!m) return EXIT_USER;
  DlrtDataset test = {0};
  Trainer *t = NULL;
  Evaluation e = {0};
  int rc = EXIT_USER;
  char err[1024];
  if (!data_load(m, data_dir(o->data_dir), NULL, &test) || !cli_build_model(m, o, false) ||
      !(t = trainer_new(m)) || !trainer_check_data(t, &test, "test"))
    goto done;
  if (snapshot_load_for_inference(t, o->load, err, sizeof err) != 0) {
    diag_path_error(err);
    goto done;
  }
  bool detailed = o->confusion || o->metrics || o->predictions || o->errors;
  double error = 0, seconds = INFINITY, model_seconds = INFINITY;
  for (int pass = 0; pass < o->repeat; pass++) { /* the same answer each time; the fastest pass timed */
    double t0 = dlrt_seconds();
    if (detailed && pass == 0) { /* (keeping every outcome costs little: the same pass) */
      if (!evaluate(t, &test, 0, &e)) goto done;
      error = e.error;
    } else if ((error = trainer_error(t, &test, 0)) < 0) {
      goto done;
    }
    seconds = fmin(seconds, dlrt_seconds() - t0);
    model_seconds = fmin(model_seconds, t->forward_seconds);
  }
  printf("%s with %s: test_error %.2f%% (%d of %d test images)\n", m->file->name, o->load, 100 * error,
         (int)(error * test.count + 0.5), test.count);
  if (detailed && !write_outputs(o, m, &e, &test)) goto done;
  /* on stderr, so that stdout stays the same from run to run */
  fprintf(stderr, "dlc: inference at batch %d on %d thread%s: %.0f images/s in the model (%.0f with batch assembly: %.3f s for the test set)\n",
          m->train.batch, t->workers, t->workers > 1 ? "s" : "", test.count / model_seconds, test.count / seconds, seconds);
  rc = EXIT_OK;
done:
  evaluation_free(&e);
  trainer_free(t);
  dlrt_dataset_free(&test);
  model_free(m);
  return rc;
}
