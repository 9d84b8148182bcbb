/* llvm_util.h — the LLVM-facing helpers of lower/: types, constants, counted loops and the
 * runtime's declarations. Private to compiler/lower/ (only this directory includes llvm-c). */
#ifndef DLC_LLVM_UTIL_H
#define DLC_LLVM_UTIL_H
#include <llvm-c/Core.h>
#include <llvm-c/DebugInfo.h>
#include "graph.h"
#include "schedule.h"

typedef struct LowerCtx {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  LLVMTypeRef f32, i32, i64, ptr, void_t;
  LLVMValueRef fn;         /* the function being built */
  LLVMValueRef state, scratch, feeds, results, n; /* its parameters (runtime/dlrt.h) */
  LLVMValueRef inv_n;      /* 1/n as float, computed on entry */
  LLVMValueRef *feed_ptr;  /* by feed slot: the fed pointer (INPUT/TARGET) or value (HYPER) */
  const Graph *g;
  const Schedule *sched; /* of the function being built: fusion and views */
  const MemPlan *plan;
  bool profile;          /* time every node (dlrt_prof_enter/leave) */
  int64_t *cost;         /* or NULL: instructions each node emitted, by schedule position */
  bool mask_every_vector; /* masked loads and stores are cheap here (AVX-512): loops mask
                             each vector rather than run a separate last one (nest.c) */
  int lanes, vector_regs; /* the vector unit (lower_vector_unit): the convolution kernels'
                             vectors and register tiles */
  LLVMDIBuilderRef dib;  /* debug info for the .net file, or NULL (debuginfo.c) */
  LLVMMetadataRef di_file, di_scope;
  struct DebugFns *di_fns; /* a DISubprogram per user function expanded (debuginfo.c) */
} LowerCtx;

typedef struct Loop {
  LLVMBasicBlockRef body, exit;
  LLVMValueRef iv, count;
} Loop;

/* for (iv = 0; iv < count; iv++): returns iv and leaves the builder in the body. */
LLVMValueRef loop_begin(LowerCtx *c, Loop *l, LLVMValueRef count, const char *name);
/* Closes the loop; the builder continues after it. */
void loop_end(LowerCtx *c, Loop *l);

LLVMValueRef c_i64(LowerCtx *c, int64_t v);
LLVMValueRef c_i32(LowerCtx *c, int32_t v);
LLVMValueRef c_f32(LowerCtx *c, double v);

/* Pointer to element `index` (i64) of a float buffer. */
LLVMValueRef elem_ptr(LowerCtx *c, LLVMValueRef base, LLVMValueRef index);
LLVMValueRef load_f32(LowerCtx *c, LLVMValueRef base, LLVMValueRef index);
void store_f32(LowerCtx *c, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index);

/* Calls a declared function (runtime, libm or intrinsic), declaring it on first use. */
LLVMValueRef call_fn(LowerCtx *c, const char *name, LLVMTypeRef ret, LLVMTypeRef *params,
                     int n_params, LLVMValueRef *args);

/* Vectors: LANES floats (two AVX2 registers where there is no AVX-512). Generated loops
 * that run along contiguous memory work on vectors, masked where a row ends inside one, so
 * LLVM's loop vectoriser is not needed (it added run-time overlap checks, a scalar copy of
 * the loop and an epilogue to each: every buffer is in the one arena). The convolution
 * kernels use vectors of the vector unit's width instead (c->lanes): the *_of and *_at
 * forms take the width. */
enum { LANES = 16, MAX_LANES = 16 };
LLVMTypeRef vec_t(LowerCtx *c);
LLVMTypeRef vec_of(LowerCtx *c, int lanes);
LLVMValueRef splat(LowerCtx *c, LLVMValueRef scalar);
LLVMValueRef splat_of(LowerCtx *c, LLVMValueRef scalar, int lanes);
/* The constant v as a float or a vector of floats, whichever x is. */
LLVMValueRef f32_like(LowerCtx *c, LLVMValueRef x, double v);
/* The integer type (i32 or a vector of i32) of x's shape, and the constant v of it. */
LLVMTypeRef i32_type_like(LowerCtx *c, LLVMValueRef x);
LLVMValueRef i32_like(LowerCtx *c, LLVMValueRef x, int32_t v);
/* Calls the overloaded intrinsic `name` (llvm.sqrt, llvm.fmuladd, ...) at x's type. */
LLVMValueRef call_like(LowerCtx *c, const char *name, LLVMValueRef x, LLVMValueRef *args, int n_args);
/* a * b + d, fused where the target has FMA (llvm.fmuladd), at d's type. */
LLVMValueRef fmuladd(LowerCtx *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef d);
/* A <LANES x i1> mask of the first `on` lanes (a constant), or of the lanes below `count`
 * (an i64 value). */
LLVMValueRef lanes_below(LowerCtx *c, int on);
LLVMValueRef lanes_below_of(LowerCtx *c, int on, int lanes);
LLVMValueRef lanes_below_value(LowerCtx *c, LLVMValueRef count);
/* The constant vector <0, 1, ..., lanes - 1> of i32. */
LLVMValueRef lane_numbers(LowerCtx *c, int lanes);
/* LANES floats at base[index..]: all of them if mask is NULL, else the masked lanes (the
 * others read as 0 and are not written). */
LLVMValueRef load_vec(LowerCtx *c, LLVMValueRef base, LLVMValueRef index, LLVMValueRef mask);
void store_vec(LowerCtx *c, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index, LLVMValueRef mask);
/* The same at a pointer, `lanes` wide (a store: v's width). A masked store's pointer may lie
 * outside the buffer where only the masked lanes are inside it. */
LLVMValueRef load_vec_at(LowerCtx *c, int lanes, LLVMValueRef p, LLVMValueRef mask);
void store_vec_at(LowerCtx *c, LLVMValueRef v, LLVMValueRef p, LLVMValueRef mask);
/* i64 index arithmetic: a + b, a * k, a + k (no signed wrap). */
LLVMValueRef ix_add(LowerCtx *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef ix_mulk(LowerCtx *c, LLVMValueRef a, int64_t k);
LLVMValueRef ix_addk(LowerCtx *c, LLVMValueRef a, int64_t k);

/* An alloca in the entry block (so mem2reg turns it into SSA values). */
LLVMValueRef entry_alloca(LowerCtx *c, LLVMTypeRef type, const char *name);
/* base[0..count) = 0, and dst[0..count) = src[0..count) (memset and memmove: LLVM
 * expands small constant ones inline). */
void fill_zeros(LowerCtx *c, LLVMValueRef base, LLVMValueRef count);
void copy_floats(LowerCtx *c, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef count);
/* A constant i64 array in the module (private). */
LLVMValueRef const_i64_array(LowerCtx *c, const int64_t *values, int n, const char *name);

/* Rows of node x in this call: n if batched, else 1. */
LLVMValueRef rows_of(LowerCtx *c, const Node *x);
/* The float* at float offset `off` of the memory plan: in the persistent region (state)
 * below plan->persist_floats, else in this call's scratch. */
LLVMValueRef arena_at(LowerCtx *c, int64_t off, const char *name);
/* The float* where node x's value lives (arena buffer or fed pointer). */
LLVMValueRef buffer_of(LowerCtx *c, const Node *x);
#endif
