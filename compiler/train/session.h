/* session.h — a training run: the epochs of a Trainer over a training set, with a held-out
 * validation split, early stopping, a test error after each epoch and checkpoints, from the
 * start or resumed from a checkpoint.
 *
 * The session decides and computes; it prints nothing of its own. What happens is reported
 * through the callbacks of a SessionReport (the command line prints it and writes the
 * metrics); errors are reported through diag and end the run. */
#ifndef DLC_SESSION_H
#define DLC_SESSION_H
#include "evaluate.h"
#include "trainer.h"

typedef struct SessionOptions {
  const char *save;      /* the checkpoint written after every epoch, or NULL */
  const char *save_best; /* the checkpoint of the best validation error so far, or NULL */
  const char *resume;    /* the checkpoint to continue from, or NULL */
  bool keep_test;        /* score the test set with evaluate() (every image's outcome, for the
                            confusion matrix of a report) instead of trainer_error: the same
                            single pass */
} SessionOptions;

/* How the run begins. */
typedef struct SessionStart {
  int epochs;           /* of the whole run */
  int fit, validation;  /* training images trained on and held out */
  bool resumed;         /* from a checkpoint, which had done ... */
  int epochs_done;      /* ... this many epochs */
} SessionStart;

/* One epoch's figures. */
typedef struct EpochResult {
  int epoch, epochs;      /* 1-based */
  double train_loss;      /* mean per-example loss */
  double lr;              /* the learning rate of the epoch's first step (the schedule's value
                             at its start; warm-up and schedules move it step by step) */
  double val_error;       /* fraction of the validation split misclassified (NAN: none) */
  double test_error;      /* fraction of the test set misclassified */
  double seconds;         /* training time of the epoch */
  double images_per_s;
  double eval_seconds;    /* time to score the validation and test sets */
  double cpu_seconds;     /* the stepping thread's CPU time for the epoch's training ... */
  double assemble_seconds; /* ... the time its steps lost to assembling undistorted batches (trainer.h) */
  bool distorting;        /* the training images were distorted ... */
  double augment_seconds; /* ... taking this long on the helper thread */
  double augment_wait;    /* ... of which the steps waited this long */
  bool best;              /* a new best validation error */
  const Evaluation *test; /* with keep_test: the test set's evaluation (valid during the
                             epoch callback), else NULL */
} EpochResult;

/* How the run ended. */
typedef struct SessionEnd {
  int stopped_early_after; /* > 0: early stopping ended the run after this epoch */
  int best_epoch;          /* the best validation error's epoch (0: no validation) */
  double best_val_error;
  const Evaluation *test;  /* with keep_test: the last epoch's test evaluation, or NULL */
} SessionEnd;

typedef struct SessionReport {
  void *ctx;
  /* false (after reporting) ends the run: e.g. the metrics file cannot be written */
  bool (*start)(void *ctx, const SessionStart *s);
  /* as an epoch starts (done 0), then every few batches: images done of its total, and the
   * sum of their losses */
  void (*progress)(void *ctx, int epoch, int epochs, int done, int total, double loss_sum);
  bool (*epoch)(void *ctx, const EpochResult *r);
  void (*end)(void *ctx, const SessionEnd *e);
  /* an epoch ended early, an error follows (e.g. a progress line is cleared first) */
  void (*interrupted)(void *ctx);
} SessionReport;

/* Trains t on train (holding out the train block's validation images) and scores test after
 * each epoch; each callback of report may be NULL. False after reporting an error (a data
 * set that does not fit the model, a validation split it cannot spare, a checkpoint that
 * cannot be read or written, a loss that is not finite). */
bool session_run(Trainer *t, const DlrtDataset *train, const DlrtDataset *test, const SessionOptions *o,
                 const SessionReport *report);
#endif
