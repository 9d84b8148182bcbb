/* lower.h — graph -> LLVM module -> native code. The rest of dlc sees only these opaque
 * handles; llvm-c stays inside compiler/lower/. */
#ifndef DLC_LOWER_H
#define DLC_LOWER_H
#include "graph.h"
#include "schedule.h"

/* One function to generate: its name, what it runs, and where its buffers live. All
 * functions of a module share the persistent part of the arena. */
typedef struct LowerFn {
  const char *name;
  Schedule sched;
  MemPlan plan;
  bool profile; /* time every node (runtime/profile.c) */
} LowerFn;

typedef struct DlcModule DlcModule;

/* Builds and verifies the module (with the DlrtModelFn signature of runtime/dlrt.h). */
DlcModule *lower_module(const Graph *g, const LowerFn *fns, int n_fns);
/* O3 for the host CPU, its name and features (AVX-512 where present). */
void lower_optimize(DlcModule *m);
/* LLVM IR text, or the host assembly; free with lower_free_text. */
char *lower_module_text(DlcModule *m);
/* The IR of one function of the module, or NULL if it has none of that name. */
char *lower_function_text(DlcModule *m, const char *name);
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
void *jit_lookup(DlcJit *j, const char *name);
void jit_free(DlcJit *j);
#endif
