/* jit.c — ORC LLJIT: creates the JIT for the host machine, binds the runtime's symbols as
 * absolute addresses (no -rdynamic needed), adds the module (or has several threads lower,
 * optimise and compile modules to machine code and adds the objects; or does that on a
 * thread of its own while the caller goes on) and looks functions up.
 * It owns every LLVM object it creates and disposes all of them in jit_free. */
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dlrt.h"
#include "lower_private.h"


/* Modules compiling to machine code on a thread of their own (jit_compile_later). */
typedef struct Later {
  pthread_t thread;
  bool running; /* thread was started (and is to be joined) */
  atomic_bool cancel; /* jit_free: take no more modules */
  JitPlanner *plan; /* plans the modules, on the thread */
  void *plan_arg;
  struct CompileWork *work;
  char names[MAX_LATER_NAMES][64]; /* the functions that wait for them */
  int n_names;
  double start, seconds;
} Later;

struct DlcJit {
  LLVMOrcLLJITRef jit;
  Later *later; /* or NULL */
};

/* Copies an LLVM error's message into err and consumes the error. */
static void take_error(LLVMErrorRef e, const char *what, char *err, int errlen) {
  char *msg = LLVMGetErrorMessage(e);
  snprintf(err, (size_t)errlen, "%s: %s", what, msg);
  LLVMDisposeErrorMessage(msg);
}

static LLVMErrorRef define_runtime_symbols(LLVMOrcLLJITRef jit) {
  int n = 0;
  while (lower_runtime_symbols[n].name) n++;
  LLVMOrcCSymbolMapPair *pairs = calloc((size_t)n, sizeof *pairs);
  if (!pairs) dlc_fatal("out of memory");
  for (int i = 0; i < n; i++) {
    pairs[i].Name = LLVMOrcLLJITMangleAndIntern(jit, lower_runtime_symbols[i].name);
    pairs[i].Sym.Address = (LLVMOrcJITTargetAddress)(uintptr_t)lower_runtime_symbols[i].addr;
    pairs[i].Sym.Flags.GenericFlags = LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable;
    pairs[i].Sym.Flags.TargetFlags = 0;
  }
  LLVMOrcMaterializationUnitRef mu = LLVMOrcAbsoluteSymbols(pairs, (size_t)n);
  free(pairs);
  return LLVMOrcJITDylibDefine(LLVMOrcLLJITGetMainJITDylib(jit), mu);
}

/* An LLJIT for the host with the runtime's symbols and the process behind them. */
static DlcJit *jit_new(VectorIsa isa, char *err, int errlen) {
  DlcJit *j = calloc(1, sizeof *j);
  if (!j) dlc_fatal("out of memory");
  /* The JIT gets a target machine of its own (the builder takes ownership of it). */
  LLVMTargetMachineRef tm = lower_host_machine(LLVMRelocDefault, LLVMCodeModelJITDefault, isa, err, errlen);
  if (!tm) {
    free(j);
    return NULL;
  }
  LLVMOrcJITTargetMachineBuilderRef jtmb = LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm);
  LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb);
  LLVMErrorRef e = LLVMOrcCreateLLJIT(&j->jit, builder);
  if (e) {
    take_error(e, "cannot create the JIT", err, errlen);
    goto fail;
  }
  if ((e = define_runtime_symbols(j->jit))) {
    take_error(e, "cannot bind runtime symbols", err, errlen);
    goto fail;
  }
  /* Anything else LLVM's code generator may call for this CPU (a libm or compiler-rt
   * function behind an intrinsic) is looked up in the process. */
  LLVMOrcDefinitionGeneratorRef gen = NULL;
  if ((e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(j->jit), NULL, NULL))) {
    take_error(e, "cannot search the process for symbols", err, errlen);
    goto fail;
  }
  LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(j->jit), gen);
  return j;
fail:
  jit_free(j);
  return NULL;
}

DlcJit *jit_compile(DlcModule *m, char *err, int errlen) {
  if (m->error) {
    snprintf(err, (size_t)errlen, "%s", m->error);
    lower_module_free(m);
    return NULL;
  }
  DlcJit *j = jit_new(m->isa, err, errlen); /* it generates the module's code */
  if (!j) {
    lower_module_free(m);
    return NULL;
  }
  /* If adding succeeds the JIT owns the module; the thread-safe module holds its own
   * reference to the context, so ours is released either way. */
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m->mod, m->tsctx);
  m->mod = NULL;
  LLVMOrcDisposeThreadSafeContext(m->tsctx);
  m->tsctx = NULL;
  LLVMErrorRef e = LLVMOrcLLJITAddLLVMIRModule(j->jit, LLVMOrcLLJITGetMainJITDylib(j->jit), tsm);
  lower_module_free(m);
  if (e) {
    LLVMOrcDisposeThreadSafeModule(tsm);
    take_error(e, "cannot add the module to the JIT", err, errlen);
    jit_free(j);
    return NULL;
  }
  return j;
}

/* The modules of jit_compile_parallel and what becomes of them; workers take the next
 * module (the largest first), make it (lower it), optimise it and compile it to an object,
 * and note the time each takes. */
typedef struct CompileWork {
  JitWork src;
  int *order;       /* module indices, largest first */
  DlcModule **mods; /* by position in order, once made */
  LLVMMemoryBufferRef *objects;
  char **errors;
  int n;
  atomic_int next;
  double *lower_seconds, *opt_seconds, *emit_seconds; /* by position */
  atomic_bool *cancel; /* or NULL: when set, the workers take no more modules */
} CompileWork;

static void *compile_worker(void *arg) {
  CompileWork *w = arg;
  for (int i; (i = atomic_fetch_add(&w->next, 1)) < w->n;) {
    if (w->cancel && atomic_load(w->cancel)) break;
    double t0 = dlrt_seconds();
    DlcModule *m = w->mods[i] = w->src.make(w->src.arg, w->order[i]);
    double t1 = dlrt_seconds();
    lower_optimize(m);
    double t2 = dlrt_seconds();
    /* a failure stays with the module (its error) and add_objects reports it */
    if (m->error || LLVMTargetMachineEmitToMemoryBuffer(m->tm, m->mod, LLVMObjectFile, &w->errors[i], &w->objects[i]))
      w->objects[i] = NULL;
    w->lower_seconds[i] = t1 - t0;
    w->opt_seconds[i] = t2 - t1;
    w->emit_seconds[i] = dlrt_seconds() - t2;
  }
  return NULL;
}

/* Runs the workers on `threads` threads (this one among them). */
static void run_workers(CompileWork *w, int threads) {
  pthread_t *t = calloc((size_t)threads, sizeof *t);
  if (!t) dlc_fatal("out of memory");
  atomic_store(&w->next, 0);
  int started = 0;
  for (; started < threads - 1; started++)
    if (pthread_create(&t[started], NULL, compile_worker, w) != 0) break;
  compile_worker(w);
  for (int i = 0; i < started; i++) pthread_join(t[i], NULL);
  free(t);
}

static CompileWork *work_new(const JitWork *src) {
  int n = src->n;
  CompileWork *w = calloc(1, sizeof *w);
  if (!w) dlc_fatal("out of memory");
  size_t k = (size_t)(n ? n : 1);
  *w = (CompileWork){*src, calloc(k, sizeof(int)), calloc(k, sizeof(DlcModule *)), calloc(k, sizeof(LLVMMemoryBufferRef)),
                     calloc(k, sizeof(char *)), n, 0, calloc(k, sizeof(double)), calloc(k, sizeof(double)),
                     calloc(k, sizeof(double)), NULL};
  if (!w->order || !w->mods || !w->objects || !w->errors || !w->lower_seconds || !w->opt_seconds || !w->emit_seconds)
    dlc_fatal("out of memory");
  /* the largest first, so that the threads end together */
  for (int i = 0; i < n; i++) {
    int k2 = i;
    for (; k2 > 0 && src->size[w->order[k2 - 1]] < src->size[i]; k2--) w->order[k2] = w->order[k2 - 1];
    w->order[k2] = i;
  }
  return w;
}

/* Adds the compiled objects to j (if j is not NULL and none failed) and frees the work;
 * false with a message in err if something failed. */
static bool add_objects(DlcJit *j, CompileWork *w, char *err, int errlen) {
  bool ok = true;
  for (int i = 0; i < w->n && ok; i++)
    if (!w->objects[i] && w->mods[i]) { /* (a cancelled compile made no module) */
      const char *why = w->mods[i]->error ? w->mods[i]->error : w->errors[i] ? w->errors[i] : "?";
      snprintf(err, (size_t)errlen, "cannot generate machine code: %s", why);
      ok = false;
    }
  for (int i = 0; i < w->n; i++) {
    /* The JIT takes the object buffers it is given, and links them when a symbol is looked up. */
    LLVMErrorRef e = ok && j && w->objects[i]
                         ? LLVMOrcLLJITAddObjectFile(j->jit, LLVMOrcLLJITGetMainJITDylib(j->jit), w->objects[i])
                         : NULL;
    if ((!ok || !j) && w->objects[i]) LLVMDisposeMemoryBuffer(w->objects[i]);
    if (e) {
      take_error(e, "cannot add machine code to the JIT", err, errlen);
      ok = false;
    }
    LLVMDisposeMessage(w->errors[i]);
    lower_module_free(w->mods[i]);
  }
  free(w->order);
  free(w->mods);
  free(w->lower_seconds);
  free(w->objects);
  free(w->errors);
  free(w->opt_seconds);
  free(w->emit_seconds);
  free(w);
  return ok;
}

DlcJit *jit_compile_parallel(const JitWork *work, int threads, double seconds[3], char *err, int errlen) {
  CompileWork *w = work_new(work);
  err[0] = 0;
  double t0 = dlrt_seconds();
  run_workers(w, threads); /* each module in its own LLVM context: they compile independently */
  /* The stages overlap on the threads: the wall time is split by their shares of the work. */
  double wall = dlrt_seconds() - t0, stage[3] = {0, 0, 0};
  for (int i = 0; i < w->n; i++)
    stage[0] += w->lower_seconds[i], stage[1] += w->opt_seconds[i], stage[2] += w->emit_seconds[i];
  double all = stage[0] + stage[1] + stage[2];
  for (int k = 0; k < 3; k++) seconds[k] = all > 0 ? wall * stage[k] / all : 0;
  DlcJit *j = jit_new(ISA_HOST, err, errlen); /* it links objects already made */
  if (!add_objects(j, w, err, errlen)) {
    jit_free(j);
    return NULL;
  }
  return j;
}

static void *compile_later(void *arg) {
  Later *l = arg;
  JitWork work = l->plan(l->plan_arg);
  l->work = work_new(&work);
  l->work->cancel = &l->cancel;
  run_workers(l->work, 1);
  if (work.done) work.done(work.arg);
  l->seconds = dlrt_seconds() - l->start;
  return NULL;
}

void jit_compile_later(DlcJit *j, JitPlanner *plan, void *plan_arg, const char *const *names, int n_names) {
  DLC_ASSERT(!j->later && n_names <= MAX_LATER_NAMES);
  Later *l = calloc(1, sizeof *l);
  if (!l) dlc_fatal("out of memory");
  l->plan = plan;
  l->plan_arg = plan_arg;
  for (int i = 0; i < n_names; i++) snprintf(l->names[i], sizeof l->names[i], "%s", names[i]);
  l->n_names = n_names;
  l->start = dlrt_seconds();
  l->running = pthread_create(&l->thread, NULL, compile_later, l) == 0;
  if (!l->running) compile_later(l); /* no thread to be had: now, on this one */
  j->later = l;
}

/* Waits for the background compile (if any) and adds its code to j (keep), or stops it after
 * the module in hand and drops its code; false if it failed. */
static bool end_later(DlcJit *j, bool keep, double *seconds, char *err, int errlen) {
  Later *l = j->later;
  if (!l) return true;
  if (!keep) atomic_store(&l->cancel, true);
  if (l->running) pthread_join(l->thread, NULL);
  j->later = NULL;
  if (seconds) *seconds = l->seconds;
  bool ok = add_objects(keep ? j : NULL, l->work, err, errlen);
  free(l);
  return ok;
}

bool jit_finish_later(DlcJit *j, double *seconds, char *err, int errlen) { return end_later(j, true, seconds, err, errlen); }

bool jit_compiling_later(const DlcJit *j) { return j->later != NULL; }

static bool waits_for_later(const DlcJit *j, const char *name) {
  for (int i = 0; j->later && i < j->later->n_names; i++)
    if (!strcmp(j->later->names[i], name)) return true;
  return false;
}

void *jit_lookup(DlcJit *j, const char *name, char *err, int errlen) {
  if (waits_for_later(j, name) && !jit_finish_later(j, NULL, err, errlen)) return NULL;
  LLVMOrcExecutorAddress addr = 0;
  LLVMErrorRef e = LLVMOrcLLJITLookup(j->jit, &addr, name);
  if (e) {
    take_error(e, "JIT lookup failed", err, errlen);
    return NULL;
  }
  return (void *)(uintptr_t)addr;
}

void jit_free(DlcJit *j) {
  if (!j) return;
  char err[512];
  end_later(j, false, NULL, err, sizeof err); /* a compile never needed: its code is dropped */
  if (j->jit) {
    LLVMErrorRef e = LLVMOrcDisposeLLJIT(j->jit);
    if (e) LLVMConsumeError(e);
  }
  free(j);
}
