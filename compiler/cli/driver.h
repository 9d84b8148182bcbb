/* driver.h — the pipeline, in order: read, parse, analyse, differentiate, schedule and plan,
 * lower, JIT. Each subcommand runs as much of it as it needs. */
#ifndef DLC_DRIVER_H
#define DLC_DRIVER_H
#include <stdio.h>
#include "ast.h"
#include "dlrt.h" /* dlrt_seconds: the stages are timed */
#include "lower.h"
#include "sema.h"

/* Command-line overrides of the train block (negative / NULL: keep the file's value). */
typedef struct Overrides {
  int epochs, batch;
  double lr;
  long long seed;
  int validation, patience;
  const char *settings; /* --set: "KEY = VALUE; ..." as in a train block, or NULL */
} Overrides;

enum { FN_FORWARD, FN_TRAIN, FN_COUNT };
extern const char *const model_fn_names[FN_COUNT];
/* Data-parallel training replaces dlc_train_step by two functions: the forward and backward
 * pass on one thread's share of the batch (results: its loss sum and its gradients), and the
 * update from the gradients summed over the threads (fed as GRAD_IN leaves). */
enum { PAR_GRAD, PAR_UPDATE, PAR_COUNT };
extern const char *const model_par_fn_names[PAR_COUNT];

typedef struct Model {
  SrcFile *file;
  Arena ast_arena;
  Program *prog;
  Graph *g;
  SemaResult sema;
  TrainSettings train;   /* the file's settings with the overrides applied */
  SrcFile *set_file;     /* the --set settings, as the train block "--set" parses */
  int n_forward;         /* nodes before autodiff */
  int n_before_update;   /* nodes of forward + backward */
  int n_before_passes;   /* nodes of forward + backward + update, before the passes */
  Node **grads;          /* by forward node id: d objective / d param */
  UpdateHypers hyper;    /* the HYPER nodes the update reads (learning rate, Adam's c2) */
  Node *loss_sum;        /* OUTPUT: sum over the batch of the per-example loss (train step) */
  Node *out_result;      /* OUTPUT: the network output (forward) */
  Arena plan_arena;
  LowerFn fns[FN_COUNT]; /* dlc_forward, dlc_train_step (not built when data_parallel) */
  int threads;           /* threads to split each batch over (set before model_build_training) */
  bool data_parallel;    /* threads > 1 and the examples of a batch are independent */
  const Node *coupled_at;  /* threads > 1 but not data_parallel: where one example affects another */
  int64_t step_flops;      /* threads > 1: FLOPs of a batch's forward and backward pass */
  int64_t min_split_flops; /* data-parallel from this many FLOPs per thread (MIN_SPLIT_FLOPS) */
  LowerFn par_fns[PAR_COUNT]; /* when data_parallel: dlc_train_grad, dlc_train_update */
  Node **grad_out;       /* when data_parallel, by PARAM id: the OUTPUT of its gradient, or NULL */
  Node **grad_in;        /* ... and the GRAD_IN leaf the update reads instead */
  int shard_rows;        /* rows one thread's dlc_forward (and dlc_train_grad) are planned for:
                            ceil(batch / threads) */
  int64_t arena_floats;  /* the arena the functions need: state + the largest scratch */
  int64_t state_floats;  /* its persistent part: parameters and optimiser state */
  /* compile time by stage: parse and analyse; autodiff, passes, schedules and plans; LLVM IR
   * generation; its optimisation; machine code (JIT or object file) */
  double seconds_front, seconds_graph, seconds_irgen, seconds_opt, seconds_jit;
  int compile_threads;   /* the last two stages ran on this many threads (JIT; 0: one) */
  bool inference_only;   /* dlc eval: dlc_forward is the only function compiled */
  bool forward_later;    /* the JIT compiles dlc_forward after the training functions, in
                            the background (model_compile) */
  double seconds_forward; /* how long that took (once model_finish_compile has waited) */
  bool forward_done;      /* model_finish_compile has waited */
  bool profile;          /* compile with per-node timing */
} Model;

/* Splitting a step over threads costs some 30-50 microseconds (waking them, summing and
 * copying the gradients, a separate update pass); below about 16 MFLOP per thread (100
 * microseconds of work) that loses: the MLP at batch 32 (7.6 MFLOP per thread on two) ran 1.4x
 * slower split. Such steps run on one thread. */
#define MIN_SPLIT_FLOPS ((int64_t)16000000)

/* Parse and analyse; NULL after reporting errors. */
Model *model_load(const char *path, const Overrides *ov);
/* Autodiff, update, the graph passes (all, or up to and including `stop_after`),
 * schedules and memory plans. False (reported) if the arena would be too large. */
bool model_build_training(Model *m);
bool model_build_training_until(Model *m, const char *stop_after);
/* The largest arena dlc plans (8 GiB): beyond it, `train` says to lower --batch. This also
 * keeps every matrix dimension within OpenBLAS's 32-bit sizes. */
#define MAX_ARENA_FLOATS ((int64_t)1 << 31)
/* Builds the LLVM module (optionally optimised for the host). */
DlcModule *model_lower(Model *m, bool optimize);
/* The functions this model compiles (dlc_forward, then dlc_train_step or the data-parallel
 * pair, unless inference_only), in order; returns how many. */
int model_functions(const Model *m, LowerFn *fns);
/* The parallel JIT's work (pieces.c): every function of fns (at most 3) cut into modules of
 * about the same size (lowered whole once, to measure each node), and for each cut function
 * a module of its name that calls its parts in order; each piece is lowered by the JIT's
 * thread that compiles it, and the work's done() frees the plan. */
enum { MAX_PIECES = 64 };
JitWork model_pieces(Model *m, const LowerFn *fns, int n_fns, int threads);
/* Threads the JIT compiles on: the cores online, at most 4. */
int compile_threads(void);
/* Lowers, optimises and JIT-compiles; NULL after reporting a failure. On several cores the
 * training functions are compiled first, and dlc_forward (which training needs only for its
 * first evaluation) on a thread of its own while the caller goes on: the first jit_lookup
 * of it waits. The seconds_* stages then time the training functions (all the functions
 * otherwise: one core, --profile, or dlc_forward alone for dlc eval). */
DlcJit *model_compile(Model *m);
/* Waits for dlc_forward if it is compiling; false (reported) if that failed. */
bool model_finish_compile(Model *m, DlcJit *jit);
void model_free(Model *m);
/* Trainable values in the model. */
int64_t model_param_count(const Model *m);
/* Float offset of every PARAM and STATE leaf in the state block, by node id. */
static inline const int64_t *model_state_offsets(const Model *m) { return m->fns[FN_FORWARD].plan.offset; }

/* Parse to machine code, and the same by stage on one line (--time). */
double model_compile_seconds(const Model *m);
void model_print_times(const Model *m, FILE *out);
#endif
