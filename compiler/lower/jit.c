/* jit.c — ORC LLJIT: creates the JIT for the host machine, binds the runtime's symbols as
 * absolute addresses (no -rdynamic needed), adds the module and looks functions up.
 * It owns every LLVM object it creates and disposes all of them in jit_free. */
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <stdio.h>
#include <stdlib.h>
#include "lower_private.h"

struct DlcJit {
  LLVMOrcLLJITRef jit;
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

DlcJit *jit_compile(DlcModule *m, char *err, int errlen) {
  DlcJit *j = calloc(1, sizeof *j);
  if (!j) dlc_fatal("out of memory");
  /* The JIT gets a target machine of its own (the builder takes ownership of it). */
  LLVMOrcJITTargetMachineBuilderRef jtmb =
      LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(lower_host_machine(LLVMRelocDefault, LLVMCodeModelJITDefault));
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
  /* If adding succeeds the JIT owns the module; the thread-safe module holds its own
   * reference to the context, so ours is released either way. */
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m->mod, m->tsctx);
  m->mod = NULL;
  LLVMOrcDisposeThreadSafeContext(m->tsctx);
  m->tsctx = NULL;
  e = LLVMOrcLLJITAddLLVMIRModule(j->jit, LLVMOrcLLJITGetMainJITDylib(j->jit), tsm);
  if (e) {
    LLVMOrcDisposeThreadSafeModule(tsm);
    take_error(e, "cannot add the module to the JIT", err, errlen);
    goto fail;
  }
  lower_module_free(m);
  return j;
fail:
  lower_module_free(m);
  jit_free(j);
  return NULL;
}

void *jit_lookup(DlcJit *j, const char *name) {
  LLVMOrcExecutorAddress addr = 0;
  LLVMErrorRef e = LLVMOrcLLJITLookup(j->jit, &addr, name);
  if (e) {
    char *msg = LLVMGetErrorMessage(e);
    fprintf(stderr, "dlc: JIT lookup of %s failed: %s\n", name, msg);
    LLVMDisposeErrorMessage(msg);
    return NULL;
  }
  return (void *)(uintptr_t)addr;
}

void jit_free(DlcJit *j) {
  if (!j) return;
  if (j->jit) {
    LLVMErrorRef e = LLVMOrcDisposeLLJIT(j->jit);
    if (e) LLVMConsumeError(e);
  }
  free(j);
}
