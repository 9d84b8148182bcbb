/* llvm_util.c — loops, constants, memory access and calls for the lowering. */
#include "llvm_util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

LLVMValueRef c_i64(LowerCtx *c, int64_t v) { return LLVMConstInt(c->i64, (unsigned long long)v, true); }
LLVMValueRef c_i32(LowerCtx *c, int32_t v) { return LLVMConstInt(c->i32, (unsigned long long)v, true); }
LLVMValueRef c_f32(LowerCtx *c, double v) { return LLVMConstReal(c->f32, v); }

/* Loops are built in the form LLVM's loop passes want them (rotated): a guard only where
 * the count may be 0, the body, and the test at its end. Built as `while` loops, every pass
 * over them first had to rotate them (LoopRotate took a tenth of the optimiser's time). */
LLVMValueRef loop_begin(LowerCtx *c, Loop *l, LLVMValueRef count, const char *name) {
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(c->b);
  l->count = count;
  l->body = LLVMAppendBasicBlockInContext(c->ctx, c->fn, name);
  /* The exit block joins the function at loop_end, so blocks print in source order. */
  l->exit = LLVMCreateBasicBlockInContext(c->ctx, "done");
  bool nonzero = LLVMIsAConstantInt(count) && LLVMConstIntGetSExtValue(count) > 0;
  if (nonzero) LLVMBuildBr(c->b, l->body);
  else LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntSGT, count, c_i64(c, 0), "any"), l->body, l->exit);
  LLVMPositionBuilderAtEnd(c->b, l->body);
  l->iv = LLVMBuildPhi(c->b, c->i64, name);
  LLVMValueRef zero = c_i64(c, 0);
  LLVMAddIncoming(l->iv, &zero, &pre, 1);
  return l->iv;
}

void loop_end(LowerCtx *c, Loop *l) {
  LLVMValueRef next = LLVMBuildNUWAdd(c->b, l->iv, c_i64(c, 1), "next");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(c->b);
  LLVMAddIncoming(l->iv, &next, &latch, 1);
  LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntNE, next, l->count, "more"), l->body, l->exit);
  LLVMAppendExistingBasicBlock(c->fn, l->exit);
  LLVMPositionBuilderAtEnd(c->b, l->exit);
}

LLVMValueRef elem_ptr(LowerCtx *c, LLVMValueRef base, LLVMValueRef index) {
  return LLVMBuildInBoundsGEP2(c->b, c->f32, base, &index, 1, "p");
}

LLVMValueRef load_f32(LowerCtx *c, LLVMValueRef base, LLVMValueRef index) {
  return LLVMBuildLoad2(c->b, c->f32, elem_ptr(c, base, index), "v");
}

void store_f32(LowerCtx *c, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index) {
  LLVMBuildStore(c->b, v, elem_ptr(c, base, index));
}

LLVMValueRef call_fn(LowerCtx *c, const char *name, LLVMTypeRef ret, LLVMTypeRef *params,
                     int n_params, LLVMValueRef *args) {
  LLVMTypeRef ty = LLVMFunctionType(ret, params, (unsigned)n_params, false);
  LLVMValueRef f = LLVMGetNamedFunction(c->mod, name);
  if (!f) {
    f = LLVMAddFunction(c->mod, name, ty);
    LLVMSetLinkage(f, LLVMExternalLinkage);
  }
  return LLVMBuildCall2(c->b, LLVMGlobalGetValueType(f), f, args, (unsigned)n_params, "");
}

LLVMTypeRef vec_t(LowerCtx *c) { return vec_of(c, LANES); }
LLVMTypeRef vec_of(LowerCtx *c, int lanes) { return LLVMVectorType(c->f32, (unsigned)lanes); }

LLVMValueRef splat(LowerCtx *c, LLVMValueRef x) { return splat_of(c, x, LANES); }

LLVMValueRef splat_of(LowerCtx *c, LLVMValueRef x, int lanes) {
  LLVMTypeRef t = LLVMVectorType(LLVMTypeOf(x), (unsigned)lanes);
  LLVMValueRef one = LLVMBuildInsertElement(c->b, LLVMGetUndef(t), x, c_i32(c, 0), "");
  return LLVMBuildShuffleVector(c->b, one, LLVMGetUndef(t), LLVMConstNull(LLVMVectorType(c->i32, (unsigned)lanes)), "splat");
}

static bool is_vector(LLVMValueRef x) { return LLVMGetTypeKind(LLVMTypeOf(x)) == LLVMVectorTypeKind; }

static LLVMValueRef const_like(LLVMValueRef x, LLVMValueRef k) {
  if (!is_vector(x)) return k;
  LLVMValueRef lanes[MAX_LANES];
  unsigned n = LLVMGetVectorSize(LLVMTypeOf(x));
  DLC_ASSERT(n <= MAX_LANES);
  for (unsigned i = 0; i < n; i++) lanes[i] = k;
  return LLVMConstVector(lanes, n);
}

LLVMValueRef f32_like(LowerCtx *c, LLVMValueRef x, double v) { return const_like(x, c_f32(c, v)); }
LLVMValueRef i32_like(LowerCtx *c, LLVMValueRef x, int32_t v) { return const_like(x, c_i32(c, v)); }

LLVMTypeRef i32_type_like(LowerCtx *c, LLVMValueRef x) {
  return is_vector(x) ? LLVMVectorType(c->i32, LLVMGetVectorSize(LLVMTypeOf(x))) : c->i32;
}

LLVMValueRef call_like(LowerCtx *c, const char *name, LLVMValueRef x, LLVMValueRef *args, int n_args) {
  char full[64];
  if (is_vector(x)) snprintf(full, sizeof full, "%s.v%uf32", name, LLVMGetVectorSize(LLVMTypeOf(x)));
  else snprintf(full, sizeof full, "%s.f32", name);
  LLVMTypeRef t = LLVMTypeOf(x), params[4] = {t, t, t, t};
  DLC_ASSERT(n_args <= 4);
  return call_fn(c, full, t, params, n_args, args);
}

LLVMValueRef fmuladd(LowerCtx *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef d) {
  LLVMValueRef args[3] = {a, b, d};
  return call_like(c, "llvm.fmuladd", d, args, 3);
}

LLVMValueRef lanes_below(LowerCtx *c, int on) { return lanes_below_of(c, on, LANES); }

LLVMValueRef lanes_below_of(LowerCtx *c, int on, int lanes) {
  LLVMTypeRef i1 = LLVMInt1TypeInContext(c->ctx);
  LLVMValueRef bits[MAX_LANES];
  for (int i = 0; i < lanes; i++) bits[i] = LLVMConstInt(i1, i < on, false);
  return LLVMConstVector(bits, (unsigned)lanes);
}

LLVMValueRef lanes_below_value(LowerCtx *c, LLVMValueRef count) {
  /* in i32 lanes (one vector compare), the count clamped to LANES first */
  LLVMValueRef big = LLVMBuildICmp(c->b, LLVMIntSGT, count, c_i64(c, LANES), "");
  count = LLVMBuildTrunc(c->b, LLVMBuildSelect(c->b, big, c_i64(c, LANES), count, ""), c->i32, "");
  return LLVMBuildICmp(c->b, LLVMIntSLT, lane_numbers(c, LANES), splat(c, count), "lanes");
}

LLVMValueRef lane_numbers(LowerCtx *c, int lanes) {
  LLVMValueRef lane[MAX_LANES];
  for (int i = 0; i < lanes; i++) lane[i] = c_i32(c, i);
  return LLVMConstVector(lane, (unsigned)lanes);
}

static LLVMTypeRef mask_of(LowerCtx *c, int lanes) { return LLVMVectorType(LLVMInt1TypeInContext(c->ctx), (unsigned)lanes); }

LLVMValueRef load_vec(LowerCtx *c, LLVMValueRef base, LLVMValueRef index, LLVMValueRef mask) {
  return load_vec_at(c, LANES, elem_ptr(c, base, index), mask);
}

void store_vec(LowerCtx *c, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index, LLVMValueRef mask) {
  store_vec_at(c, v, elem_ptr(c, base, index), mask);
}

LLVMValueRef load_vec_at(LowerCtx *c, int lanes, LLVMValueRef p, LLVMValueRef mask) {
  if (!mask) {
    LLVMValueRef v = LLVMBuildLoad2(c->b, vec_of(c, lanes), p, "v");
    LLVMSetAlignment(v, 4);
    return v;
  }
  char name[48];
  snprintf(name, sizeof name, "llvm.masked.load.v%df32.p0", lanes);
  LLVMTypeRef params[4] = {c->ptr, c->i32, mask_of(c, lanes), vec_of(c, lanes)};
  LLVMValueRef args[4] = {p, c_i32(c, 4), mask, LLVMConstNull(vec_of(c, lanes))};
  return call_fn(c, name, vec_of(c, lanes), params, 4, args);
}

void store_vec_at(LowerCtx *c, LLVMValueRef v, LLVMValueRef p, LLVMValueRef mask) {
  if (!mask) {
    LLVMSetAlignment(LLVMBuildStore(c->b, v, p), 4);
    return;
  }
  int lanes = (int)LLVMGetVectorSize(LLVMTypeOf(v));
  char name[48];
  snprintf(name, sizeof name, "llvm.masked.store.v%df32.p0", lanes);
  LLVMTypeRef params[4] = {vec_of(c, lanes), c->ptr, c->i32, mask_of(c, lanes)};
  LLVMValueRef args[4] = {v, p, c_i32(c, 4), mask};
  call_fn(c, name, c->void_t, params, 4, args);
}

LLVMValueRef ix_add(LowerCtx *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(c->b, a, b, ""); }
LLVMValueRef ix_mulk(LowerCtx *c, LLVMValueRef a, int64_t k) { return LLVMBuildNSWMul(c->b, a, c_i64(c, k), ""); }
LLVMValueRef ix_addk(LowerCtx *c, LLVMValueRef a, int64_t k) { return ix_add(c, a, c_i64(c, k)); }

LLVMValueRef entry_alloca(LowerCtx *c, LLVMTypeRef type, const char *name) {
  /* Positioning the builder before an instruction also takes that instruction's debug
   * location (the entry block's: line 0); the node being lowered must keep its own. */
  LLVMMetadataRef loc = LLVMGetCurrentDebugLocation2(c->b);
  LLVMBasicBlockRef here = LLVMGetInsertBlock(c->b);
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(c->fn);
  LLVMValueRef first = LLVMGetFirstInstruction(entry);
  if (first) LLVMPositionBuilderBefore(c->b, first);
  else LLVMPositionBuilderAtEnd(c->b, entry);
  LLVMValueRef a = LLVMBuildAlloca(c->b, type, name);
  LLVMPositionBuilderAtEnd(c->b, here);
  LLVMSetCurrentDebugLocation2(c->b, loc);
  return a;
}

void fill_zeros(LowerCtx *c, LLVMValueRef base, LLVMValueRef count) {
  LLVMBuildMemSet(c->b, base, LLVMConstInt(LLVMInt8TypeInContext(c->ctx), 0, false), ix_mulk(c, count, 4), 4);
}

void copy_floats(LowerCtx *c, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef count) {
  LLVMBuildMemMove(c->b, dst, 4, src, 4, ix_mulk(c, count, 4));
}

LLVMValueRef const_i64_array(LowerCtx *c, const int64_t *values, int n, const char *name) {
  LLVMValueRef *vals = malloc(sizeof(LLVMValueRef) * (size_t)(n ? n : 1));
  if (!vals) dlc_fatal("out of memory");
  for (int i = 0; i < n; i++) vals[i] = c_i64(c, values[i]);
  LLVMValueRef arr = LLVMConstArray(c->i64, vals, (unsigned)n);
  free(vals);
  LLVMValueRef g = LLVMAddGlobal(c->mod, LLVMTypeOf(arr), name);
  LLVMSetInitializer(g, arr);
  LLVMSetGlobalConstant(g, true);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  return g;
}

LLVMValueRef rows_of(LowerCtx *c, const Node *x) { return x->shape.batched ? c->n : c_i64(c, 1); }

LLVMValueRef buffer_of(LowerCtx *c, const Node *x) {
  if (c->sched) x = schedule_storage(c->sched, x); /* a view reads its storage's buffer */
  if (op_is_fed_buffer(x->op)) return c->feed_ptr[x->attr.slot];
  int64_t off = c->plan->offset[x->id];
  DLC_ASSERT(off >= 0);
  /* Named after the .net value (h, W1) or the op and node id (%gemm27), as in `dlc graph`. */
  char name[64];
  snprintf(name, sizeof name, "%s", x->name ? x->name : op_name(x->op));
  if (!x->name) snprintf(name + strlen(name), sizeof name - strlen(name), "%d", x->id);
  return arena_at(c, off, name);
}

LLVMValueRef arena_at(LowerCtx *c, int64_t off, const char *name) {
  bool persistent = off < c->plan->persist_floats;
  LLVMValueRef idx = c_i64(c, persistent ? off : off - c->plan->persist_floats);
  return LLVMBuildInBoundsGEP2(c->b, c->f32, persistent ? c->state : c->scratch, &idx, 1, name);
}
