/* debuginfo.c — DWARF line tables that lead from generated code back to the .net file.
 *
 * Each generated function gets a DISubprogram in the model file, and every instruction
 * lowered for a node carries the node's location (its line and column in the .net file;
 * backward nodes have the location of the forward node they differentiate). So `dlc ir
 * --stage llvm` shows `!dbg` on each instruction, the assembly has `.loc` lines, and a
 * debugger or `perf annotate` on JIT'd code points at the layer that produced it. */
#include <llvm-c/DebugInfo.h>
#include <string.h>
#include "lower_private.h"

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

void debug_begin(LowerCtx *c, const SrcFile *file) {
  c->dib = NULL;
  if (!file) return;
  c->dib = LLVMCreateDIBuilder(c->mod);
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

void debug_function(LowerCtx *c, const char *name) {
  if (!c->dib) return;
  LLVMMetadataRef type = LLVMDIBuilderCreateSubroutineType(c->dib, c->di_file, NULL, 0, LLVMDIFlagZero);
  c->di_scope = LLVMDIBuilderCreateFunction(c->dib, c->di_file, name, strlen(name), name, strlen(name), c->di_file, 1,
                                            type, false, true, 1, LLVMDIFlagZero, true);
  LLVMSetSubprogram(c->fn, c->di_scope);
}

void debug_at(LowerCtx *c, SrcLoc loc) {
  if (!c->dib) return;
  unsigned line = loc.file ? (unsigned)loc.line : 0, col = loc.file ? (unsigned)loc.col : 0;
  LLVMSetCurrentDebugLocation2(c->b, LLVMDIBuilderCreateDebugLocation(c->ctx, line, col, c->di_scope, NULL));
}

void debug_end(LowerCtx *c) {
  if (!c->dib) return;
  LLVMDIBuilderFinalize(c->dib);
  LLVMDisposeDIBuilder(c->dib);
  c->dib = NULL;
}
