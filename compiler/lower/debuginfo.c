/* debuginfo.c — DWARF line tables that lead from generated code back to the .net file.
 *
 * Each generated function gets a DISubprogram in the model file, and every instruction
 * lowered for a node carries the node's location (its line and column in the .net file;
 * backward nodes have the location of the forward node they differentiate). So `dlc ir
 * --stage llvm` shows `!dbg` on each instruction, the assembly has `.loc` lines, and a
 * debugger or `perf annotate` on JIT'd code points at the layer that produced it.
 *
 * A node made by expanding a user function is located in that function's body, in a
 * DISubprogram of its own (one per function and module), and inlined at the call that
 * expanded it (`inlinedAt`, out to the call in top-level code): as a C compiler describes an
 * inlined function. `objdump -d -l --inlines` or a debugger then name both the body's line
 * and each call's. */
#include <llvm-c/DebugInfo.h>
#include <stdlib.h>
#include <string.h>
#include "lower_private.h"

/* The user functions' subprograms made so far, by their def's location. */
typedef struct DebugFns {
  struct {
    int line, col;
    LLVMMetadataRef sp;
  } *fn;
  int len, cap;
} DebugFns;

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

void debug_begin(LowerCtx *c, const SrcFile *file) {
  c->dib = NULL;
  c->di_fns = NULL;
  if (!file) return;
  c->dib = LLVMCreateDIBuilder(c->mod);
  c->di_fns = calloc(1, sizeof *c->di_fns);
  if (!c->di_fns) dlc_fatal("out of memory");
  const char *name = base_name(file->name);
  size_t dir_len = (size_t)(name - file->name);
  c->di_file = LLVMDIBuilderCreateFile(c->dib, name, strlen(name), dir_len ? file->name : ".", dir_len ? dir_len - 1 : 1);
  LLVMDIBuilderCreateCompileUnit(c->dib, LLVMDWARFSourceLanguageC, c->di_file, "dlc", 3, true, "", 0, 0, "", 0,
                                 LLVMDWARFEmissionFull, 0, false, false, "", 0, "", 0);
  LLVMAddModuleFlag(c->mod, LLVMModuleFlagBehaviorWarning, "Debug Info Version", 18,
                    LLVMValueAsMetadata(LLVMConstInt(LLVMInt32TypeInContext(c->ctx), LLVMDebugMetadataVersion(), false)));
  LLVMAddModuleFlag(c->mod, LLVMModuleFlagBehaviorWarning, "Dwarf Version", 13,
                    LLVMValueAsMetadata(LLVMConstInt(LLVMInt32TypeInContext(c->ctx), 4, false)));
}

/* A function at `line`: a generated one (exported), or a user function (only inlined). */
static LLVMMetadataRef subprogram(LowerCtx *c, const char *name, int line, bool local) {
  LLVMMetadataRef type = LLVMDIBuilderCreateSubroutineType(c->dib, c->di_file, NULL, 0, LLVMDIFlagZero);
  return LLVMDIBuilderCreateFunction(c->dib, c->di_file, name, strlen(name), name, strlen(name), c->di_file,
                                     (unsigned)line, type, local, true, (unsigned)line, LLVMDIFlagZero, true);
}

void debug_function(LowerCtx *c, const char *name) {
  if (!c->dib) return;
  c->di_scope = subprogram(c, name, 1, false);
  LLVMSetSubprogram(c->fn, c->di_scope);
}

/* The subprogram of the user function that `site` called, made on first use. */
static LLVMMetadataRef user_function(LowerCtx *c, const CallSite *site) {
  DebugFns *f = c->di_fns;
  for (int i = 0; i < f->len; i++)
    if (f->fn[i].line == site->def.line && f->fn[i].col == site->def.col) return f->fn[i].sp;
  if (f->len == f->cap) {
    f->cap = f->cap ? 2 * f->cap : 8;
    void *grown = realloc(f->fn, sizeof *f->fn * (size_t)f->cap);
    if (!grown) dlc_fatal("out of memory");
    f->fn = grown;
  }
  LLVMMetadataRef sp = subprogram(c, site->fn, site->def.line, true);
  f->fn[f->len].line = site->def.line;
  f->fn[f->len].col = site->def.col;
  f->fn[f->len++].sp = sp;
  return sp;
}

/* loc as a DILocation: in the generated function at the top level; in a body, in the user
 * function's subprogram, inlined at its call's location (itself perhaps inlined). */
static LLVMMetadataRef location(LowerCtx *c, SrcLoc loc) {
  unsigned line = loc.file ? (unsigned)loc.line : 0, col = loc.file ? (unsigned)loc.col : 0;
  if (!loc.file || !loc.site) return LLVMDIBuilderCreateDebugLocation(c->ctx, line, col, c->di_scope, NULL);
  LLVMMetadataRef at = location(c, loc.site->call);
  return LLVMDIBuilderCreateDebugLocation(c->ctx, line, col, user_function(c, loc.site), at);
}

void debug_at(LowerCtx *c, SrcLoc loc) {
  if (!c->dib) return;
  LLVMSetCurrentDebugLocation2(c->b, location(c, loc));
}

void debug_end(LowerCtx *c) {
  if (!c->dib) return;
  LLVMDIBuilderFinalize(c->dib);
  LLVMDisposeDIBuilder(c->dib);
  c->dib = NULL;
  free(c->di_fns->fn);
  free(c->di_fns);
  c->di_fns = NULL;
}
