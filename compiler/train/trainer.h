/* trainer.h — a compiled model in memory: its arena, initialised parameters and the JIT'd
 * functions, with the loops that feed them batches (training epochs, test error).
 *
 * A Trainer borrows its Model (whose compiled code it calls): free the Trainer first. */
#ifndef DLC_TRAINER_H
#define DLC_TRAINER_H
#include "batch.h"
#include "data.h"
#include "dlrt.h"
#include "driver.h"
#include "pool.h"
#include "prefetch.h"
#include "rng.h"

/* A batch for the workers to convert from a data set (pixels to floats, labels to one-hot). */
typedef struct BatchFill {
  const DlrtDataset *d;
  const int *idx;
  int n, parts; /* parts: the workers that share it (1: the caller alone) */
  float *x, *y;
} BatchFill;

/* One worker's share of a batch: its rows, and the feeds and results of its calls. */
typedef struct Shard {
  int first, n;
  const float **feeds;  /* by feed slot */
  float **results;      /* by result slot */
  float *scratch;       /* its scratch block */
  float *grads;         /* data-parallel: its gradients, all parameters back to back */
  float loss_sum;
} Shard;

typedef struct Trainer {
  Model *m;
  DlrtModelFn forward, train_step;  /* train_step: NULL when data-parallel; forward: NULL
                                       until trainer_forward */
  DlrtModelFn train_grad, train_update; /* data-parallel only */
  float *arena;        /* m->arena_floats, 64-byte aligned: the state, then worker 0's scratch */
  int workers;         /* threads: inference splits each batch over them, training too if
                          m->par.data_parallel (else worker 0 runs dlc_train_step) */
  int rank, procs;     /* this process among the job's (runtime/comm.h; 0 of 1 alone): each
                          training batch and each evaluation is split over the processes, and
                          their gradients and counts summed */
  int row0;            /* this process's first row of the current training batch */
  int active;          /* workers with rows in the current batch: min(workers, rows) */
  DlrtPool *pool;      /* NULL with one worker */
  Shard *shards;       /* [workers] */
  int64_t grad_floats; /* data-parallel: one worker's gradient block */
  int64_t *grad_at;    /* ... and each PARAM's offset in it, by node id (-1: none) */
  int64_t *once;       /* synced: the [offset, floats) pairs of gradient blocks that every worker
                          computes whole (counted once, from one worker of the job) */
  int n_once;
  struct SyncState *sync; /* synced: the workers' sync points (workers.c) */
  struct Overlap *overlap; /* several processes: the gradient buckets' all-reduce (overlap.c) */
  float batch_rows;       /* synced: the whole batch's rows, fed (its 1/n is the step's) */
  BatchFill filling;      /* the batch being assembled */
  const float **grad_src; /* this step's gradient blocks to sum (workers that had rows) */
  float *grad_weight;     /* ... and their weights: rows / batch rows */
  int n_grad_src;
  float *x, *y, *out;  /* one batch of inputs, one-hot targets, outputs */
  float *x_next, *y_next; /* with distortions: the next batch, made while the step runs */
  struct BatchAhead *ahead; /* undistorted, when a core is free for it: batches made ahead (ahead.h) */
  Prefetch prefetch;      /* ... on this thread (either) */
  /* What the feeds point at between calls (they outlive any one call): the hypers of this
   * step, and the training flag (1 in a training step, 0 in inference). */
  float hyper[HYPER_COUNT];
  float training_on, training_off;
  DlrtPixelMap pixels;    /* how stored pixels become inputs (the train block's range and normalize) */
  double assemble_seconds; /* the last epoch's time the steps lost to undistorted batches: the stepping
                              thread's CPU time assembling them, and its wait for the helper thread's */
  double epoch_cpu_seconds; /* ... and the stepping thread's CPU time for all of its training */
  double augment_seconds; /* the last epoch's time spent distorting images (on the helper thread) */
  double augment_wait;    /* ... and the part of it the steps waited for */
  int forward_rows;       /* inference: rows per dlc_forward call (0: a worker's all at once) */
  double forward_seconds; /* the last trainer_infer's time in the model itself (not assembling batches) */
  int *perm;           /* training-set order of the current epoch */
  int perm_len;
  DlrtRng rng;
  int in_features, classes;
  int64_t step;        /* training steps taken (Adam's t) */
  int64_t run_steps, run_examples; /* steps and examples in this process (not restored on resume) */
  double best_val_error; /* the lowest validation error so far (1 before any) */
  int best_epoch;        /* the epoch that reached it (0: none yet) */
  int n_noise;         /* NOISE leaves (dropout), each with a batch of uniform numbers */
  const Node **noise;
  float **noise_buf;
  /* Divergence: the first step of an epoch whose loss was not finite (the epoch stops there),
   * and what replaying the epoch up to it needs: the state, RNG and step count at its start. */
  struct {
    bool diverged;
    int epoch, batch;   /* 0-based: the epoch, and the step within it */
    int64_t step;       /* 1-based, of the whole run */
    float loss;         /* the batch's summed loss */
  } divergence;
  float *epoch_state;   /* a copy of the state at the start of the last epoch */
  DlrtRng epoch_rng;
  int64_t epoch_step;
  /* trainer_epoch stops before this step of the epoch (-1: it does not), with that step's
   * batch, noise and hypers ready: held_x, held_y, held_n (diverge.c re-runs it) */
  int stop_before;
  const float *held_x, *held_y;
  int held_n;
} Trainer;

/* Compiles m (model_build_training must have run) and initialises its parameters from the
 * seed. NULL after reporting a failure. */
Trainer *trainer_new(Model *m);
void trainer_free(Trainer *t);
/* dlc_forward, once it has compiled (model_compile may still be compiling it in the
 * background: this waits); NULL after reporting a failure. */
DlrtModelFn trainer_forward(Trainer *t);
/* Rows per dlc_forward call in inference: a slice whose activations stay in the caches, or
 * 0 when the whole batch is small enough to run at once. */
int trainer_forward_rows(const Model *m);

/* Called every few batches with the examples done so far and the sum of their losses (so
 * loss_sum / done is the epoch's running mean loss). */
typedef void (*ProgressFn)(void *ctx, int done, int total, double loss_sum);

/* Epoch `epoch` (0-based, of m->train.epochs): one pass over the first `limit` examples of
 * d (all if limit <= 0) in a fresh shuffled order. Returns the mean per-example loss; NaN if
 * a step's loss was not finite, which ends the epoch there (t->divergence says which). */
double trainer_epoch(Trainer *t, const DlrtDataset *d, int limit, int epoch, ProgressFn progress, void *ctx);
/* Called by trainer_infer with each batch's outputs: examples first .. first + n - 1 of the
 * data set, out holding n rows of t->classes values (valid until the next batch). */
typedef void (*InferFn)(void *ctx, int first, int n, const float *out);
/* Inference (trainer_infer, trainer_error, trainer_outputs) runs with the parameters' moving
 * averages in their places where the model keeps them (average = ema(d)).
 * Runs dlc_forward in inference (the training flag off) over the first `limit` examples of d
 * (all if limit <= 0), batch by batch in order, and hands each batch's outputs to visit.
 * False after reporting that dlc_forward failed to compile. */
bool trainer_infer(Trainer *t, const DlrtDataset *d, int limit, InferFn visit, void *ctx);
/* How many examples of d a call with `limit` covers: the first `limit`, or all if limit <= 0. */
int trainer_examples(const DlrtDataset *d, int limit);
/* Fraction of the first `limit` examples of d (all if limit <= 0) misclassified; negative
 * after reporting that dlc_forward failed to compile. */
double trainer_error(Trainer *t, const DlrtDataset *d, int limit);
/* Whether every process of the job holds the same parameters and state (a hash of each,
 * gathered to process 0): they must, since each applies the same summed gradients. True
 * alone; on process 0, false after reporting a difference (the others return true). */
bool trainer_check_replicas(const Trainer *t);
/* The model's outputs for examples first .. first + n - 1 of d (n at most the batch), into
 * t->out (n rows of t->classes values); false after reporting that dlc_forward failed to
 * compile. */
bool trainer_outputs(Trainer *t, const DlrtDataset *d, int first, int n);
/* This process's rows of a training batch of n: [*lo, *lo + *count). */
void trainer_rows(const Trainer *t, int n, int *lo, int *count);
/* Checks that d's examples fit the model's input (as many values) and that its labels fit
 * the target; reports at the file's declarations and returns false if not (data_load has
 * checked this in full, at `data =`: this guards the loops below against any other caller). */
bool trainer_check_data(const Trainer *t, const DlrtDataset *d, const char *what);
#endif
