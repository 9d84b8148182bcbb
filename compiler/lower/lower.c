/* lower.c — builds LLVM modules: one function per LowerFn, of the DlrtModelFn signature,
 * whose body is the function's schedule in order (or the part [from, to) of it, for the
 * parallel JIT's pieces, which a lower_sequence function runs in order), each node
 * dispatched on its op class. Elementwise, reduction and row ops become loops here
 * (lower_elem.c); matrix products become calls into the runtime (lower_call.c). Nothing is
 * allocated at run time: every buffer is an offset into the state or scratch block the
 * caller passes. */
#include <llvm-c/Analysis.h>
#include <llvm-c/Target.h>
#include <llvm-c/Support.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dlrt.h"
#include "lower_private.h"
#include "outfile.h"

const RuntimeSymbol lower_runtime_symbols[] = {
    {"dlrt_gemm", (void *)dlrt_gemm},
    {"dlrt_im2col", (void *)dlrt_im2col},
    {"dlrt_prof_enter", (void *)dlrt_prof_enter},
    {"dlrt_prof_leave", (void *)dlrt_prof_leave},
    {"dlrt_col2im", (void *)dlrt_col2im},
    {"dlrt_winograd_conv", (void *)dlrt_winograd_conv},
    {"dlrt_winograd_dw", (void *)dlrt_winograd_dw},
    {"dlrt_sync", (void *)dlrt_sync},
    /* libm functions that LLVM lowers intrinsics to when the CPU lacks an instruction
     * (llvm.rint without SSE4.1, llvm.fma without FMA, ...) */
    {"logf", (void *)logf},
    {"powf", (void *)powf},
    {"rintf", (void *)rintf},
    {"fmaf", (void *)fmaf},
    {"sqrtf", (void *)sqrtf},
    {"expf", (void *)expf},
    /* LLVM turns zeroing and copying loops into these. */
    {"memset", (void *)memset},
    {"memcpy", (void *)memcpy},
    {"memmove", (void *)memmove},
    {NULL, NULL},
};

/* The .net file the graph came from (the first node with a location), or NULL. */
static const SrcFile *model_file(const Graph *g) {
  for (int i = 0; i < g->len; i++)
    if (g->nodes[i]->loc.file) return g->nodes[i]->loc.file;
  return NULL;
}

/* What the host has: AVX-512's masked loads and stores (one instruction each; AVX2's
 * vmaskmovps stores are slow on AMD, and SSE has none), AVX2 with FMA, AVX. Set once, by
 * init_llvm. */
static bool host_has_avx512, host_has_avx2, host_has_avx;

static bool has_feature(const char *features, const char *name) {
  size_t len = strlen(name);
  for (const char *p = strstr(features, name); p; p = strstr(p + 1, name))
    if (p > features && p[-1] == '+' && (p[len] == ',' || p[len] == 0)) return true;
  return false;
}

static void init_llvm(void) {
  char *features = LLVMGetHostCPUFeatures();
  host_has_avx512 = has_feature(features, "avx512f");
  host_has_avx2 = has_feature(features, "avx2") && has_feature(features, "fma");
  host_has_avx = has_feature(features, "avx");
  LLVMDisposeMessage(features);
  LLVMInitializeNativeTarget();
  LLVMInitializeNativeAsmPrinter();
  /* No loop strength reduction in code generation: it was a fifth of the machine-code time
   * (LeNet-5: 165 ms of code generation on one thread with it, 119 without, best of 5), and
   * the steps ran as fast without it (LeNet-5 3.53 ms against 3.63, lenet_relu 1% slower:
   * the best of 9 and 5 alternating runs), the kernels' addressing being simple already.
   * For developers, one more of LLVM's own options: DLC_LLVM_ARGS=-time-passes. */
  const char *extra = getenv("DLC_LLVM_ARGS");
  const char *argv[3] = {"dlc", "-disable-lsr", extra};
  if (extra && strstr(extra, "-disable-lsr")) argv[1] = extra; /* an option may occur once */
  LLVMParseCommandLineOptions(extra && *extra && argv[1] != extra ? 3 : 2, argv, NULL);
}

/* Modules are lowered on several threads (jit.c's background compile). */
static void init_llvm_once(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, init_llvm);
}

bool lower_isa_supported(VectorIsa isa) {
  init_llvm_once();
  return isa == ISA_HOST || host_has_avx2;
}

static bool uses_avx512(VectorIsa isa) { return isa == ISA_HOST && host_has_avx512; }

VectorUnit lower_vector_unit(const LowerOptions *o) {
  init_llvm_once();
  VectorIsa isa = o ? o->isa : ISA_HOST;
  if (uses_avx512(isa)) return (VectorUnit){16, 32};
  return (VectorUnit){isa == ISA_AVX2 || host_has_avx ? 8 : 4, 16};
}

LLVMTargetMachineRef lower_host_machine(LLVMRelocMode reloc, LLVMCodeModel model, VectorIsa isa, char *err, int errlen) {
  init_llvm_once();
  char *triple = LLVMGetDefaultTargetTriple();
  char *cpu = LLVMGetHostCPUName();
  char *host = LLVMGetHostCPUFeatures();
  /* AVX2 code on a host with AVX-512: the host's CPU and features without AVX-512 (turning
   * avx512f off turns off every AVX-512 extension, which all imply it). */
  char *features = malloc(strlen(host) + 16);
  if (!features) dlc_fatal("out of memory");
  sprintf(features, "%s%s", host, isa == ISA_AVX2 && host_has_avx512 ? ",-avx512f" : "");
  LLVMTargetRef target;
  char *msg = NULL;
  LLVMTargetMachineRef tm = NULL;
  if (LLVMGetTargetFromTriple(triple, &target, &msg)) snprintf(err, (size_t)errlen, "no LLVM target for %s: %s", triple, msg);
  else tm = LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelAggressive, reloc, model);
  LLVMDisposeMessage(msg);
  LLVMDisposeMessage(triple);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(host);
  free(features);
  return tm;
}

/* Marks the pointer parameters: state, scratch, feeds and results never alias each other. */
static void add_param_attrs(LowerCtx *c) {
  unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
  unsigned nocapture = LLVMGetEnumAttributeKindForName("nocapture", 9);
  for (unsigned i = 1; i <= 4; i++) {
    LLVMAddAttributeAtIndex(c->fn, i, LLVMCreateEnumAttribute(c->ctx, noalias, 0));
    LLVMAddAttributeAtIndex(c->fn, i, LLVMCreateEnumAttribute(c->ctx, nocapture, 0));
  }
}

/* The pointer feeds[slot], loaded. */
static LLVMValueRef feed_at(LowerCtx *c, int slot, const char *name) {
  LLVMValueRef idx = c_i64(c, slot);
  return LLVMBuildLoad2(c->b, c->ptr, LLVMBuildInBoundsGEP2(c->b, c->ptr, c->feeds, &idx, 1, "feed"), name);
}

/* Loads each feed pointer (and each HYPER scalar) once, on entry. */
static void load_feeds(LowerCtx *c, const Schedule *s) {
  for (int i = 0; i < s->len; i++) {
    const Node *x = s->order[i];
    if (!op_is_fed_buffer(x->op) && x->op != OP_HYPER) continue;
    LLVMValueRef idx = c_i64(c, x->attr.slot);
    LLVMValueRef slot = LLVMBuildInBoundsGEP2(c->b, c->ptr, c->feeds, &idx, 1, "feed");
    LLVMValueRef p = LLVMBuildLoad2(c->b, c->ptr, slot, x->name ? x->name : "feed");
    c->feed_ptr[x->attr.slot] = x->op == OP_HYPER ? LLVMBuildLoad2(c->b, c->f32, p, x->name) : p;
  }
}

static void profile_call(LowerCtx *c, const char *fn, const Node *y) {
  LLVMTypeRef p = c->i32;
  LLVMValueRef id = c_i32(c, y->id);
  call_fn(c, fn, c->void_t, &p, 1, &id);
}

static void lower_node(LowerCtx *c, const Node *y) {
  /* Fused nodes are computed inside their reader's loop; views share a buffer (and cost no
   * code); an ASSIGN whose value was computed in place has nothing left to store. */
  if (schedule_site(c->sched, y) != y || (c->sched->view_of && c->sched->view_of[y->id])) return;
  if (y->op == OP_ASSIGN && schedule_storage(c->sched, y->in[1]) == y->in[0]) return;
  if (op_info(y->op)->cls == LEAF) return; /* fed, persistent, or inlined where used */
  debug_at(c, y->loc);
  if (c->profile) profile_call(c, "dlrt_prof_enter", y);
  switch (op_info(y->op)->cls) {
  case LEAF: DLC_UNREACHABLE();
  case UNARY:
  case BINARY: lower_elementwise(c, y); break;
  case GEMM: lower_gemm(c, y); break;
  case REDUCE: lower_sum_to(c, y); break;
  case ROW: lower_row(c, y); break;
  case VIEW: lower_view(c, y); break;
  case MOVE: lower_move(c, y); break;
  case CONV: lower_conv(c, y); break;
  case EFFECT: lower_effect(c, y); break;
  }
  if (c->profile) profile_call(c, "dlrt_prof_leave", y);
}

static int64_t function_size(LLVMValueRef f) {
  int64_t n = 0;
  for (LLVMBasicBlockRef b = LLVMGetFirstBasicBlock(f); b; b = LLVMGetNextBasicBlock(b))
    for (LLVMValueRef i = LLVMGetFirstInstruction(b); i; i = LLVMGetNextInstruction(i)) n++;
  return n;
}

static LLVMTypeRef model_fn_type(LowerCtx *c) {
  LLVMTypeRef params[5] = {c->ptr, c->ptr, c->ptr, c->ptr, c->i64};
  return LLVMFunctionType(c->void_t, params, 5, false);
}

static void lower_function(LowerCtx *c, const LowerFn *f) {
  c->fn = LLVMAddFunction(c->mod, f->name, model_fn_type(c));
  c->state = LLVMGetParam(c->fn, 0);
  c->scratch = LLVMGetParam(c->fn, 1);
  c->feeds = LLVMGetParam(c->fn, 2);
  c->results = LLVMGetParam(c->fn, 3);
  c->n = LLVMGetParam(c->fn, 4);
  LLVMSetValueName2(c->state, "state", 5);
  LLVMSetValueName2(c->scratch, "scratch", 7);
  LLVMSetValueName2(c->feeds, "feeds", 5);
  LLVMSetValueName2(c->results, "results", 7);
  LLVMSetValueName2(c->n, "n", 1);
  add_param_attrs(c);
  debug_function(c, f->name);
  debug_at(c, NO_LOC);
  c->plan = &f->plan;
  c->sched = &f->sched;
  c->profile = f->profile;
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, c->fn, "entry"));
  c->feed_ptr = calloc((size_t)c->g->n_feeds + 1, sizeof(LLVMValueRef));
  load_feeds(c, &f->sched);
  LLVMValueRef rows = LLVMBuildSIToFP(c->b, c->n, c->f32, "");
  if (f->batch_feed) rows = LLVMBuildLoad2(c->b, c->f32, feed_at(c, f->batch_feed - 1, "batch_rows"), "batch_rows");
  c->inv_n = LLVMBuildFDiv(c->b, c_f32(c, 1), rows, "inv_n");
  const LowerHooks *hooks[2] = {&f->ready, &f->sync}; /* (at one position: start sums, then wait) */
  LLVMValueRef hook_arg[2];
  for (int h = 0; h < 2; h++) hook_arg[h] = hooks[h]->feed ? feed_at(c, hooks[h]->feed - 1, h ? "sync" : "ready") : NULL;
  int to = f->to ? f->to : f->sched.len;
  int64_t before = c->cost ? function_size(c->fn) : 0;
  for (int i = f->from; i <= to; i++) {
    for (int h = 0; h < 2; h++)
      for (int k = 0; k < hooks[h]->n && hook_arg[h]; k++)
        if (hooks[h]->before[k] == i && (i < to || to == f->sched.len)) { /* (the call may write scratch) */
          LLVMTypeRef p[3] = {c->ptr, c->ptr, c->i32};
          LLVMValueRef args[3] = {hook_arg[h], c->scratch, c_i32(c, k)};
          call_fn(c, "dlrt_sync", c->void_t, p, 3, args);
        }
    if (i == to) break;
    lower_node(c, f->sched.order[i]);
    if (!c->cost) continue;
    int64_t after = function_size(c->fn);
    c->cost[i] = after - before;
    before = after;
  }
  LLVMBuildRetVoid(c->b);
  free(c->feed_ptr);
  c->feed_ptr = NULL;
}

void module_fail(DlcModule *m, const char *fmt, ...) {
  if (m->error) return; /* the first failure is the one to report */
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&m->error, fmt, ap) < 0) m->error = NULL;
  va_end(ap);
  if (!m->error) m->error = strdup("out of memory");
}

const char *lower_error(const DlcModule *m) { return m->error; }

/* A new module in a context of its own, for the host, with c set up to build into it (for
 * the options o, or the host's choices if NULL). */
static DlcModule *new_module(LowerCtx *c, const LowerOptions *o) {
  DlcModule *m = calloc(1, sizeof *m);
  if (!m) dlc_fatal("out of memory");
  char err[256];
  m->isa = o ? o->isa : ISA_HOST;
  m->tm = lower_host_machine(LLVMRelocDefault, LLVMCodeModelJITDefault, m->isa, err, sizeof err); /* LLVM initialised */
  if (!m->tm) module_fail(m, "%s", err);
  VectorTails tails = o ? o->tails : TAILS_BY_HOST;
  c->mask_every_vector = tails == TAILS_BY_HOST ? uses_avx512(m->isa) : tails == TAILS_MASK_EVERY;
  VectorUnit unit = lower_vector_unit(o);
  c->lanes = unit.lanes;
  c->vector_regs = unit.registers;
  m->tsctx = LLVMOrcCreateNewThreadSafeContext();
  c->ctx = LLVMOrcThreadSafeContextGetContext(m->tsctx);
  c->mod = m->mod = LLVMModuleCreateWithNameInContext("dlc", c->ctx);
  if (m->tm) {
    char *triple = LLVMGetTargetMachineTriple(m->tm);
    LLVMSetTarget(c->mod, triple);
    LLVMDisposeMessage(triple);
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(m->tm);
    LLVMSetModuleDataLayout(c->mod, dl);
    LLVMDisposeTargetData(dl);
  }
  c->b = LLVMCreateBuilderInContext(c->ctx);
  c->f32 = LLVMFloatTypeInContext(c->ctx);
  c->i32 = LLVMInt32TypeInContext(c->ctx);
  c->i64 = LLVMInt64TypeInContext(c->ctx);
  c->ptr = LLVMPointerTypeInContext(c->ctx, 0);
  c->void_t = LLVMVoidTypeInContext(c->ctx);
  return m;
}

/* IR that does not verify is dlc's bug: the message says which function, and DLC_DUMP_IR
 * names a file to write the whole module to, for whoever mends it. */
static void verify_module(DlcModule *m) {
  char *msg = NULL;
  if (!m->error && LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &msg)) {
    const char *dump = getenv("DLC_DUMP_IR");
    if (dump && *dump) LLVMPrintModuleToFile(m->mod, dump, NULL);
    module_fail(m, "generated LLVM IR does not verify (a bug of dlc; DLC_DUMP_IR=FILE writes it out): %s", msg);
  }
  LLVMDisposeMessage(msg);
}

void lower_module_verify(DlcModule *m) { verify_module(m); }

DlcModule *lower_sequence(const char *name, const char *const *parts, int n_parts) {
  LowerCtx c = {0};
  DlcModule *m = new_module(&c, NULL);
  LLVMTypeRef ty = model_fn_type(&c);
  c.fn = LLVMAddFunction(c.mod, name, ty);
  LLVMPositionBuilderAtEnd(c.b, LLVMAppendBasicBlockInContext(c.ctx, c.fn, "entry"));
  LLVMValueRef args[5];
  for (unsigned i = 0; i < 5; i++) args[i] = LLVMGetParam(c.fn, i);
  for (int k = 0; k < n_parts; k++) {
    LLVMValueRef part = LLVMGetNamedFunction(c.mod, parts[k]);
    if (!part) part = LLVMAddFunction(c.mod, parts[k], ty);
    LLVMBuildCall2(c.b, ty, part, args, 5, "");
  }
  LLVMBuildRetVoid(c.b);
  LLVMDisposeBuilder(c.b);
  verify_module(m);
  return m;
}

int64_t lower_module_size(DlcModule *m) {
  int64_t n = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(m->mod); f; f = LLVMGetNextFunction(f)) n += function_size(f);
  return n;
}

DlcModule *lower_module_costs(const Graph *g, const LowerFn *fns, int n_fns, const LowerOptions *o, int64_t *cost) {
  LowerCtx c = {0};
  DlcModule *m = new_module(&c, o);
  c.g = g;
  c.cost = cost;
  debug_begin(&c, model_file(g));
  for (int i = 0; i < n_fns; i++) lower_function(&c, &fns[i]);
  debug_end(&c);
  LLVMDisposeBuilder(c.b);
  if (!cost) verify_module(m); /* measured modules: lower_module_verify if kept */
  return m;
}

DlcModule *lower_module(const Graph *g, const LowerFn *fns, int n_fns, const LowerOptions *o) {
  return lower_module_costs(g, fns, n_fns, o, NULL);
}

/* The optimisation pipeline: the lowering writes the vector code itself (nest.c,
 * lower_conv.c) in loops LLVM need not reshape, so what is left to do is local: allocas
 * (accumulators) into registers (sroa), common index arithmetic (early-cse), folding
 * (instcombine), hoisting what does not change in a loop out of it, broadcast weights and
 * constants included (licm), the few scalar statements that pair up (slp-vectorizer), and
 * tidying the control flow (simplifycfg). LLVM's default<O1> pipeline took three times as
 * long to optimise LeNet-5 (114 ms on one thread against 34) and default<O3> four times,
 * and neither made a step faster: LeNet-5, lenet_relu, deep_tanh, deep_relu and the MLPs
 * within 1-2% (the best of 5-9 alternating runs each), with the same machine-code time.
 * Without slp-vectorizer, deep_tanh's step was 5% slower. */
static const char *const PIPELINE =
    "function(sroa,early-cse,instcombine,simplifycfg,loop-mssa(licm),slp-vectorizer,instcombine,simplifycfg)";

bool lower_optimize(DlcModule *m) {
  if (m->error) return false;
  LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
  LLVMErrorRef err = LLVMRunPasses(m->mod, PIPELINE, m->tm, opts);
  LLVMDisposePassBuilderOptions(opts);
  if (err) {
    char *msg = LLVMGetErrorMessage(err);
    module_fail(m, "LLVM optimisation failed: %s", msg);
    LLVMDisposeErrorMessage(msg);
    return false;
  }
  return true;
}

char *lower_module_text(DlcModule *m) { return LLVMPrintModuleToString(m->mod); }

char *lower_function_text(DlcModule *m, const char *name) {
  LLVMValueRef f = LLVMGetNamedFunction(m->mod, name);
  return f ? LLVMPrintValueToString(f) : NULL;
}

char *lower_module_asm(DlcModule *m) {
  /* Emitting rewrites the module in place, so emit from a copy. */
  LLVMModuleRef copy = LLVMCloneModule(m->mod);
  LLVMMemoryBufferRef buf = NULL;
  char *err = NULL;
  if (m->error || LLVMTargetMachineEmitToMemoryBuffer(m->tm, copy, LLVMAssemblyFile, &err, &buf)) {
    module_fail(m, "cannot emit assembly: %s", err ? err : "?");
    LLVMDisposeMessage(err);
    LLVMDisposeModule(copy);
    return NULL;
  }
  LLVMDisposeModule(copy);
  size_t len = LLVMGetBufferSize(buf);
  char *text = malloc(len + 1);
  if (!text) dlc_fatal("out of memory");
  memcpy(text, LLVMGetBufferStart(buf), len);
  text[len] = 0;
  LLVMDisposeMemoryBuffer(buf);
  char *out = LLVMCreateMessage(text);
  free(text);
  return out;
}

int lower_emit_object(DlcModule *m, const char *path, char *err, int errlen) {
  /* Position-independent, default code model: the object links into any program (PIE
   * executables included), unlike the JIT's in-process code. */
  if (m->error) return snprintf(err, (size_t)errlen, "%s: %s", path, m->error), -1;
  LLVMTargetMachineRef tm = lower_host_machine(LLVMRelocPIC, LLVMCodeModelDefault, m->isa, err, errlen);
  if (!tm) return -1;
  char *msg = NULL;
  LLVMModuleRef copy = LLVMCloneModule(m->mod); /* emitting rewrites the module */
  LLVMMemoryBufferRef buf = NULL;
  int rc = 0;
  if (LLVMTargetMachineEmitToMemoryBuffer(tm, copy, LLVMObjectFile, &msg, &buf)) {
    snprintf(err, (size_t)errlen, "%s: %s", path, msg ? msg : "cannot generate the object file");
    rc = -1;
  } else { /* written whole, never over anything but a regular file (runtime/outfile.h) */
    rc = dlrt_outfile_write(path, "an object file", LLVMGetBufferStart(buf), LLVMGetBufferSize(buf), err, (size_t)errlen);
    LLVMDisposeMemoryBuffer(buf);
  }
  LLVMDisposeMessage(msg);
  LLVMDisposeModule(copy);
  LLVMDisposeTargetMachine(tm);
  return rc;
}

void lower_free_text(char *s) { LLVMDisposeMessage(s); }

void lower_module_free(DlcModule *m) {
  if (!m) return;
  if (m->mod) LLVMDisposeModule(m->mod);
  if (m->tsctx) LLVMOrcDisposeThreadSafeContext(m->tsctx);
  if (m->tm) LLVMDisposeTargetMachine(m->tm);
  free(m->error);
  free(m);
}
