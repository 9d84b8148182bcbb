/* lower.h — graph -> LLVM module -> native code. The rest of dlc sees only these opaque
 * handles; llvm-c stays inside compiler/lower/. */
#ifndef DLC_LOWER_H
#define DLC_LOWER_H
#include "graph.h"
#include "schedule.h"

/* Calls out of a function in the middle of its work, to the trainer: before schedule position
 * before[k] (after the last node if it equals the schedule's length) the function calls
 * dlrt_sync(feeds[feed - 1], scratch, k) (runtime/dlrt.h); none if feed is 0. */
typedef struct LowerHooks {
  int feed;
  const int *before;
  int n;
} LowerHooks;

/* One function to generate: its name, what it runs, and where its buffers live. All
 * functions of a module share the persistent part of the arena. */
typedef struct LowerFn {
  const char *name;
  Schedule sched;
  MemPlan plan;
  bool profile; /* time every node (runtime/profile.c) */
  int from, to; /* the part of the schedule this function runs: [from, to), all if to == 0 */
  /* A worker's share of a batch split over several (data-parallel, examples coupled: opt/
   * shards.h), or all 0: */
  int batch_feed;         /* > 0: INV_BATCH is 1 / *feeds[batch_feed - 1] (the whole batch's
                             rows) instead of 1 / n (this call's) */
  LowerHooks sync;        /* batch norm's sync points (opt/shards.h) */
  LowerHooks ready;       /* a process's gradient buckets, each final (opt/buckets.h) */
} LowerFn;

/* Floats of scratch node n needs beside its result for `batch` rows (a direct convolution's
 * zero-padded images); 0 for most. The memory plan asks (memplan_build's `workspace`) and
 * places it right after the result. */
int64_t lower_workspace(const Node *n, int batch);

/* How loops end whose trip count is not a constant multiple of the vector width. */
typedef enum VectorTails {
  TAILS_BY_HOST,      /* every vector masked where the host has AVX-512, else one masked last */
  TAILS_MASK_EVERY,   /* every vector masked: one copy of the loop body */
  TAILS_MASKED_LAST,  /* whole vectors unmasked, then one masked vector */
} VectorTails;

/* The instruction set the code is generated for: the host's, or AVX2 without AVX-512 (on a
 * host that has AVX-512 too: how the AVX2 code is measured and tested on one machine). */
typedef enum VectorIsa {
  ISA_HOST,  /* every feature of this CPU */
  ISA_AVX2,  /* AVX2 and FMA, no AVX-512: 16 vector registers of 8 floats */
} VectorIsa;

/* How a module is written: a value per compilation, never a global (the JIT lowers modules
 * on several threads at once). Zero-initialised: the host's choices. */
typedef struct LowerOptions {
  VectorTails tails;
  VectorIsa isa;
} LowerOptions;

/* What the vector code of an instruction set has to work with: floats per vector register
 * and the number of registers (AVX-512: 16 and 32; AVX2: 8 and 16; SSE: 4 and 16). The
 * convolution kernels size their register tiles by it, and so does the optimiser's cost
 * model. NULL options: the host's. */
typedef struct VectorUnit {
  int lanes, registers;
} VectorUnit;
VectorUnit lower_vector_unit(const LowerOptions *o);
/* Whether this CPU can run code for isa (AVX2 needs AVX2 and FMA). */
bool lower_isa_supported(VectorIsa isa);

/* A module being built and compiled. Errors travel with it: a failure anywhere (an LLVM
 * target missing, IR that does not verify, a failed optimisation) is recorded in the module,
 * later steps do nothing, and lower_error says what went wrong. No function of lower/ exits
 * the process: modules are made on the JIT's threads while training runs. */
typedef struct DlcModule DlcModule;
/* NULL, or what went wrong making or optimising m. */
const char *lower_error(const DlcModule *m);

/* Builds and verifies the module (with the DlrtModelFn signature of runtime/dlrt.h). */
DlcModule *lower_module(const Graph *g, const LowerFn *fns, int n_fns, const LowerOptions *o);
/* The same, and the LLVM instructions each node emitted, by schedule position, in cost[]
 * (which must cover the schedules of fns); not verified (a measurement is mostly thrown
 * away: the parts lowered from it are): lower_module_verify before using it. */
DlcModule *lower_module_costs(const Graph *g, const LowerFn *fns, int n_fns, const LowerOptions *o, int64_t *cost);
void lower_module_verify(DlcModule *m);
/* A module with one function `name` that calls the functions `parts` (defined in other
 * modules of the same JIT) in order, passing its arguments on: a function compiled in pieces
 * on several threads. */
DlcModule *lower_sequence(const char *name, const char *const *parts, int n_parts);
/* Instructions in the module (what its optimisation and code generation cost grows with). */
int64_t lower_module_size(DlcModule *m);
/* Optimises for the host CPU, its name and features (AVX-512 where present): a short pass
 * pipeline (lower.c says which and why). False (lower_error says why) if it failed. */
bool lower_optimize(DlcModule *m);
/* LLVM IR text, or the host assembly; free with lower_free_text. */
char *lower_module_text(DlcModule *m);
/* The IR of one function of the module, or NULL if it has none of that name. */
char *lower_function_text(DlcModule *m, const char *name);
/* NULL (lower_error says why) if the assembly cannot be emitted. */
char *lower_module_asm(DlcModule *m);
void lower_free_text(char *s);
/* Writes the module as a relocatable, position-independent object file for the host (what
 * `dlc compile` links into programs). 0, or -1 with "PATH: MESSAGE" in err. */
int lower_emit_object(DlcModule *m, const char *path, char *err, int errlen);
void lower_module_free(DlcModule *m);

typedef struct DlcJit DlcJit;
/* JIT-compiles the module with ORC LLJIT; takes ownership of m (also on failure).
 * Returns NULL with a message in err on failure. */
DlcJit *jit_compile(DlcModule *m, char *err, int errlen);
/* The parallel JIT's work: n modules, each made (lowered) by make(arg, i) on the thread
 * that then optimises and compiles it to machine code, in an LLVM context of its own;
 * size[i] is about how large module i will be (the largest go first). make must only read
 * what the threads share. done(arg), if set, is called once all are made. */
typedef DlcModule *JitModuleMaker(void *arg, int i);
typedef struct JitWork {
  int n;
  const int64_t *size;
  JitModuleMaker *make;
  void *arg;
  void (*done)(void *arg);
} JitWork;
/* The parallel JIT's work for a model (pieces.c): every function of fns (at most 3) cut into
 * modules of about the same size (lowered whole once, to measure each node), and for each
 * cut function a module of its name that calls its parts in order; each piece is lowered
 * by the JIT's thread that compiles it, and the work's done() frees the plan. */
enum { MAX_PIECES = 64 };
JitWork lower_pieces(const Graph *g, const LowerFn *fns, int n_fns, int threads, const LowerOptions *o);
/* Does the work on up to `threads` threads (this one among them), then links every object
 * into one JIT. seconds[0], [1] and [2]: the wall time, split by the stages' shares of the
 * work: lowering, optimisation, code generation. NULL with a message in err on failure. */
DlcJit *jit_compile_parallel(const JitWork *work, int threads, double seconds[3], char *err, int errlen);
/* Starts a thread of its own that plans more work, plan(plan_arg) (which may lower, to
 * measure; it must only read what it lowers, as the caller goes on meanwhile), and does it
 * as jit_compile_parallel does, on that thread; returns at once. The first jit_lookup of
 * one of the functions `names` waits for it and adds its code. */
enum { MAX_LATER_NAMES = 4 };
typedef JitWork JitPlanner(void *plan_arg);
void jit_compile_later(DlcJit *j, JitPlanner *plan, void *plan_arg, const char *const *names, int n_names);
/* Whether jit_compile_later's work is pending (not yet added to the JIT). */
bool jit_compiling_later(const DlcJit *j);
/* Waits for jit_compile_later's modules (if any) and adds their code; the wall time they
 * took, lowering included, in *seconds (if not NULL). False with a message in err if they
 * failed. */
bool jit_finish_later(DlcJit *j, double *seconds, char *err, int errlen);
/* A function's address (waiting for jit_compile_later's work if it is one of its names);
 * NULL with a message in err if it is missing or failed to compile. */
void *jit_lookup(DlcJit *j, const char *name, char *err, int errlen);
/* Frees the JIT and its code; a background compile still running is cancelled (after the
 * module in hand) and joined first. */
void jit_free(DlcJit *j);
#endif
