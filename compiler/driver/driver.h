/* driver.h — the pipeline, in order: read, parse, analyse, choose kernels, differentiate,
 * run the graph passes, schedule and plan, lower, JIT. Each command runs as much of it as it
 * needs, configured by the ModelConfig it passes to model_load; what the pipeline makes is
 * the Model.
 *
 * Ownership: the Model owns everything it made, its compiled code included (model_free
 * first waits for, or cancels, a compile still running in the background, which reads the
 * graph). A Trainer (train/) borrows the Model and must be freed before it. */
#ifndef DLC_DRIVER_H
#define DLC_DRIVER_H
#include <stdio.h>
#include "ast.h"
#include "grad.h"
#include "lower.h"
#include "passes.h"
#include "sema.h"
#include "buckets.h"
#include "shards.h"

/* Command-line overrides of the train block (negative / NULL: keep the file's value). */
typedef struct Overrides {
  int epochs, batch;
  double lr;
  long long seed;
  int validation, patience;
  const char *settings; /* --set: "KEY = VALUE; ..." as in a train block, or NULL */
} Overrides;

/* Splitting a step over threads costs some 30-50 microseconds (waking them, summing and
 * copying the gradients, a separate update pass); below about 16 MFLOP per thread (100
 * microseconds of work) that loses: the MLP at batch 32 (7.6 MFLOP per thread on two) ran 1.4x
 * slower split. Such steps run on one thread. */
#define MIN_SPLIT_FLOPS ((int64_t)16000000)

/* What a command asks of the pipeline. Start from model_config() and set what differs. */
typedef struct ModelConfig {
  Overrides ov;            /* the command line's train settings over the file's */
  int threads;             /* split each batch over this many threads (1: no split) */
  int processes;           /* ... and over this many processes (mpirun -np; 1: alone) */
  int64_t min_split_flops; /* ... training only from this many FLOPs per thread */
  bool profile;            /* time every node of the training step (runtime/profile.c) */
  bool inference_only;     /* dlc_forward is the only function compiled (dlc eval) */
  const char *stop_after;  /* run the graph passes up to and including this one ("none":
                              none), or NULL: all of them */
  LowerOptions lower;      /* how the lowering writes loops (tests force either way) and for
                              which instruction set ($DLC_ISA) */
  ConvForce conv_force;    /* a way forced on every convolution that can run so
                              ($DLC_CONV_KERNEL), or none: the cost model chooses */
  const char *env_error;   /* a developer variable's value that means nothing, or NULL */
  int allreduce;           /* several processes: ALLREDUCE_OVERLAP or _WHOLE ($DLC_ALLREDUCE) */
  int64_t bucket_floats;   /* ... the buckets' least size ($DLC_ALLREDUCE_BUCKET, floats) */
} ModelConfig;

/* How the processes of a job add up their gradients: in buckets started while the backward
 * pass runs (the default), or with one all-reduce of the whole block after it. */
enum { ALLREDUCE_OVERLAP, ALLREDUCE_WHOLE };

/* The defaults: no overrides, one thread, one process, every pass, the host's way of
 * writing loops, with the developer variables DLC_ISA (host, avx2: code for AVX2 without
 * AVX-512), DLC_CONV_KERNEL (im2col, taps, tiled), DLC_ALLREDUCE (overlap, whole) and
 * DLC_ALLREDUCE_BUCKET (a number of floats) applied; model_load reports a value
 * they cannot take. */
ModelConfig model_config(void);

enum { FN_FORWARD, FN_TRAIN, FN_COUNT };
extern const char *const model_fn_names[FN_COUNT];
/* Data-parallel training replaces dlc_train_step by two functions: the forward and backward
 * pass on one thread's share of the batch (results: its loss sum and its gradients), and the
 * update from the gradients summed over the threads (fed as GRAD_IN leaves). */
enum { PAR_GRAD, PAR_UPDATE, PAR_COUNT };
extern const char *const model_par_fn_names[PAR_COUNT];

/* How a batch is split over threads (threads > 1), decided by model_build_training. */
typedef struct ParallelPlan {
  bool data_parallel;      /* training splits each batch: over several processes, or over
                              threads where the step is worth splitting */
  const Node *coupled_at;  /* one example affects another here (batch norm), or NULL ... */
  bool synced;             /* ... and data-parallel: the workers add up the sums over the
                              batch they read back (shards: its sync points), the step's 1/n
                              is the whole batch's (fed in slot batch_slot), and batch norm's
                              running statistics become outputs (state_out) of dlc_train_grad
                              that the update assigns (state_in) */
  const Node *unsplittable; /* synced, but a value here cannot be split so: one worker runs
                               dlc_train_grad on the whole batch (one process only) */
  ShardPlan shards;
  int batch_slot, sync_slot; /* synced: the feeds of the batch's rows (a float) and of the
                                calling worker's DlrtSync */
  Node **state_out;        /* synced, by STATE id: the OUTPUT of its new value, or NULL */
  Node **state_in;         /* ... and the GRAD_IN leaf the update assigns it from */
  bool *moved;             /* by node id < n_moved: an ASSIGN replaced by the one from state_in */
  int n_moved;
  int64_t step_flops;      /* FLOPs of a batch's forward and backward pass */
  int shard_rows;          /* rows one thread's dlc_train_grad is planned for:
                              ceil(ceil(batch / processes) / threads) */
  int forward_rows;        /* ... and its dlc_forward (each process scores its own batches):
                              ceil(batch / threads) */
  Node **grad_out;         /* data-parallel, by PARAM id: the OUTPUT of its gradient, or NULL */
  Node **grad_in;          /* ... and the GRAD_IN leaf the update reads instead */
  BucketPlan buckets;      /* data-parallel over several processes: the gradient block's
                              outputs (grad_out, and synced state_out) in the order they become
                              final, in buckets whose all-reduce starts while dlc_train_grad
                              runs; no buckets alone */
  int ready_slot;          /* ... the feed of the calling worker's DlrtSync for their hooks */
} ParallelPlan;

/* Compile time by stage (--time): parse and analyse; autodiff, passes, schedules and plans;
 * LLVM IR generation; its optimisation; machine code (JIT or object file). */
typedef struct CompileTimes {
  double front, graph, irgen, opt, jit;
  int threads;          /* the last two stages ran on this many threads (0: one) */
  bool forward_later;   /* dlc_forward compiles in the background, after the training step */
  bool forward_done;    /* ... and model_finish_compile has waited for it */
  double forward;       /* how long that took */
} CompileTimes;

typedef struct Model {
  ModelConfig cfg;
  /* the front end's */
  SrcFile *file;
  SrcFile *set_file;     /* the --set settings, as the train block "--set" parses */
  Arena ast_arena;
  Program *prog;
  Graph *g;
  SemaResult sema;
  TrainSettings train;   /* the file's settings with the overrides applied */
  int n_forward;         /* nodes before autodiff */
  /* autodiff's and the update's */
  int n_before_update;   /* nodes of forward + backward */
  int n_before_passes;   /* nodes of forward + backward + update, before the passes */
  Node **grads;          /* by forward node id: d objective / d param */
  UpdateHypers hyper;    /* the HYPER nodes the update reads (learning rate, Adam's c2) */
  Node *loss_sum;        /* OUTPUT: sum over the batch of the per-example loss (train step) */
  Node *out_result;      /* OUTPUT: the network output (forward) */
  /* the functions, their schedules and memory plans */
  Arena plan_arena;
  LowerFn fns[FN_COUNT];      /* dlc_forward, dlc_train_step (not built when data-parallel) */
  LowerFn par_fns[PAR_COUNT]; /* data-parallel: dlc_train_grad, dlc_train_update */
  ParallelPlan par;
  int64_t arena_floats;  /* the arena the functions need: state + the largest scratch */
  int64_t state_floats;  /* its persistent part: parameters and optimiser state */
  /* the compiled code (model_compile) */
  DlcJit *jit;
  CompileTimes times;
} Model;

/* Parse and analyse, and choose how each convolution runs; NULL after reporting errors. */
Model *model_load(const char *path, const ModelConfig *cfg);
/* The same for a file already read (the model takes it over, also on failure): the fuzzer's
 * and the tests' inline programs, the source a checkpoint saved. */
Model *model_load_source(SrcFile *f, const ModelConfig *cfg);
/* Autodiff, update, the graph passes (up to cfg.stop_after), schedules and memory plans.
 * False (reported) if the arena would be too large. */
bool model_build_training(Model *m);
/* The largest arena dlc plans (8 GiB): beyond it, `train` says to lower --batch. This also
 * keeps every matrix dimension within OpenBLAS's 32-bit sizes. */
#define MAX_ARENA_FLOATS ((int64_t)1 << 31)
/* The functions this model compiles (dlc_forward, then dlc_train_step or the data-parallel
 * pair, unless inference_only), in order; returns how many. */
int model_functions(const Model *m, LowerFn *fns);
/* Builds the LLVM module of those functions, optionally optimised for the host; NULL after
 * reporting a failure. */
DlcModule *model_lower(Model *m, bool optimize);
/* Writes them as an object file (dlc compile), timed as the machine-code stage. 0, or -1
 * with "PATH: MESSAGE" in err. */
int model_emit_object(Model *m, const char *path, char *err, int errlen);
/* Writes the C header of that object file (header.c): the arena, parameter offsets, feed
 * and result slots. 0, or -1 with "PATH: MESSAGE" in err. */
int model_write_header(const Model *m, const char *path, const char *object, char *err, int errlen);
/* Lowers, optimises and JIT-compiles into m->jit; false after reporting a failure. On several
 * cores the training functions are compiled first, and dlc_forward (which training needs
 * only for its first evaluation) on a thread of its own while the caller goes on: the first
 * model_function of it waits. The times then are the training functions' (all the
 * functions otherwise: one core, profiling, or dlc_forward alone for inference_only). */
bool model_compile(Model *m);
/* A compiled function by name (waiting for it if it is compiling in the background); NULL
 * after reporting a failure. */
void *model_function(Model *m, const char *name);
/* Threads the JIT compiles on: the cores online, at most 4. */
int compile_threads(void);
void model_free(Model *m);
/* Trainable values in the model. */
int64_t model_param_count(const Model *m);
/* Float offset of every PARAM and STATE leaf in the state block, by node id. */
static inline const int64_t *model_state_offsets(const Model *m) { return m->fns[FN_FORWARD].plan.offset; }

/* Parse to machine code, and the same by stage on one line (--time). */
double model_compile_seconds(const Model *m);
void model_print_times(const Model *m, FILE *out);
#endif
