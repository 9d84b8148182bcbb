/* lower_private.h — what lower.c, lower_elem.c, lower_call.c and jit.c share. */
#ifndef DLC_LOWER_PRIVATE_H
#define DLC_LOWER_PRIVATE_H
#include <llvm-c/Orc.h>
#include <llvm-c/TargetMachine.h>
#include "llvm_util.h"
#include "lower.h"

struct DlcModule {
  LLVMOrcThreadSafeContextRef tsctx;
  LLVMModuleRef mod;
  LLVMTargetMachineRef tm;
  VectorIsa isa;     /* what tm generates code for */
  char *error; /* malloc'd: what failed (lower_error), or NULL */
};

/* Records the first failure of m (printf-style); later steps see it and do nothing. */
void module_fail(DlcModule *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Per-class emitters: each emits the code of one node at the builder's position. */
void lower_elementwise(LowerCtx *c, const Node *y);
void lower_sum_to(LowerCtx *c, const Node *y);
void lower_row(LowerCtx *c, const Node *y);
void lower_view(LowerCtx *c, const Node *y);
void lower_effect(LowerCtx *c, const Node *y);
void lower_gemm(LowerCtx *c, const Node *y);
void lower_move(LowerCtx *c, const Node *y);
void lower_axis_op(LowerCtx *c, const Node *y); /* PERMUTE, CONCAT, SLICE, PAD, REDUCE_MAX(_BACK) */
void lower_conv(LowerCtx *c, const Node *y); /* CONV, CONV_DX, CONV_DW */
/* The passes whose Window.choice is CONV_KERNEL_TILED (conv_tiled.c), and their scratch for
 * `batch` rows with vectors of `lanes` floats. */
void lower_conv_tiled(LowerCtx *c, const Node *y);
int64_t conv_tiled_workspace(const Node *y, int batch, int lanes);
/* The passes whose Window.choice is CONV_KERNEL_WINOGRAD (conv_winograd.c), and their scratch. */
void lower_conv_winograd(LowerCtx *c, const Node *y);
int64_t conv_winograd_workspace(const Node *y, int batch);
void lower_im2col(LowerCtx *c, const Node *y); /* IM2COL and COL2IM */
/* MAXPOOL and MAXPOOL_BACK in vectors (lower_pool.c), for windows that tile the image. */
bool lower_pool_in_vectors(const Window *w);
void lower_pool_vectors(LowerCtx *c, const Node *y);

/* Where kernel p stores its result: its own buffer, or its epilogue's root's
 * (Schedule.epilogue); and what it stores for a vector v of its values at flat index `at`
 * (lane 0) of map `map` (the lanes in `mask`, or all): v, or the epilogue's tree of v. */
LLVMValueRef lower_kernel_output(LowerCtx *c, const Node *p);
/* The sum of a vector's LANES lanes, in a tree (as the vector unit adds them). */
LLVMValueRef lanes_sum(LowerCtx *c, LLVMValueRef v);
LLVMValueRef lower_epilogue(LowerCtx *c, const Node *p, LLVMValueRef v, LLVMValueRef at, LLVMValueRef map, LLVMValueRef mask);

/* Debug locations (debuginfo.c): the compile unit for the model's file (nothing if NULL),
 * a subprogram per function, the location of the node being lowered. */
void debug_begin(LowerCtx *c, const SrcFile *file);
void debug_function(LowerCtx *c, const char *name);
void debug_at(LowerCtx *c, SrcLoc loc);
void debug_end(LowerCtx *c);

/* Vectorisable exp, tanh, sigmoid, erf, softplus (fastmath.c). */
LLVMValueRef emit_exp(LowerCtx *c, LLVMValueRef x);
LLVMValueRef emit_tanh(LowerCtx *c, LLVMValueRef x);
LLVMValueRef emit_sigmoid(LowerCtx *c, LLVMValueRef x);
LLVMValueRef emit_erf(LowerCtx *c, LLVMValueRef x);
LLVMValueRef emit_softplus(LowerCtx *c, LLVMValueRef x);

/* The host target machine (its CPU and features, without AVX-512 for ISA_AVX2) with the
 * given relocation and code model: the JIT's, or a position-independent object's. Created
 * per call; the caller disposes. NULL with a message in err if LLVM has no target for this
 * host. */
LLVMTargetMachineRef lower_host_machine(LLVMRelocMode reloc, LLVMCodeModel model, VectorIsa isa, char *err, int errlen);
/* Runtime and libm symbols that generated code may call, for the JIT to bind. */
typedef struct RuntimeSymbol { const char *name; void *addr; } RuntimeSymbol;
extern const RuntimeSymbol lower_runtime_symbols[];
#endif
