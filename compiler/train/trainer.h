/* trainer.h — a compiled model in memory: its arena, initialised parameters and the JIT'd
 * functions, with the loops that feed them batches (training epochs, test error).
 *
 * A Trainer borrows its Model (whose compiled code it calls): free the Trainer first. */
#ifndef DLC_TRAINER_H
#define DLC_TRAINER_H
#include "batch.h"
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
  float batch_rows;       /* synced: the whole batch's rows, fed (its 1/n is the step's) */
  BatchFill filling;      /* the batch being assembled */
  const float **grad_src; /* this step's gradient blocks to sum (workers that had rows) */
  float *grad_weight;     /* ... and their weights: rows / batch rows */
  int n_grad_src;
  float *x, *y, *out;  /* one batch of inputs, one-hot targets, outputs */
  float *x_next, *y_next; /* with distortions: the next batch, made while the step runs */
  Prefetch prefetch;      /* ... on this thread */
  /* What the feeds point at between calls (they outlive any one call): the hypers of this
   * step, and the training flag (1 in a training step, 0 in inference). */
  float hyper[HYPER_COUNT];
  float training_on, training_off;
  double augment_seconds; /* the last epoch's time spent distorting images (on the helper thread) */
  double augment_wait;    /* ... and the part of it the steps waited for */
  double forward_seconds; /* the last trainer_error's time in the model itself (not assembling batches) */
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
} Trainer;

/* Compiles m (model_build_training must have run) and initialises its parameters from the
 * seed. NULL after reporting a failure. */
Trainer *trainer_new(Model *m);
void trainer_free(Trainer *t);
/* dlc_forward, once it has compiled (model_compile may still be compiling it in the
 * background: this waits); NULL after reporting a failure. */
DlrtModelFn trainer_forward(Trainer *t);

/* Called every few batches with the examples done so far. */
typedef void (*ProgressFn)(void *ctx, int done, int total);

/* Epoch `epoch` (0-based, of m->train.epochs): one pass over the first `limit` examples of
 * d (all if limit <= 0) in a fresh shuffled order. Returns the mean per-example loss. */
double trainer_epoch(Trainer *t, const DlrtDataset *d, int limit, int epoch, ProgressFn progress, void *ctx);
/* Fraction of the first `limit` examples of d (all if limit <= 0) misclassified; negative
 * after reporting that dlc_forward failed to compile. */
double trainer_error(Trainer *t, const DlrtDataset *d, int limit);
/* Whether every process of the job holds the same parameters and state (a hash of each,
 * gathered to process 0): they must, since each applies the same summed gradients. True
 * alone; on process 0, false after reporting a difference (the others return true). */
bool trainer_check_replicas(const Trainer *t);
/* Checks that d's examples fit the model's input and target; reports with the file's
 * locations and returns false if not. */
bool trainer_check_data(const Trainer *t, const DlrtDataset *d, const char *what);
#endif
