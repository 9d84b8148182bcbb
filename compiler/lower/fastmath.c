/* fastmath.c — exp, tanh and sigmoid as straight-line IR that LLVM vectorises (a call to
 * libm's expf or tanhf in a loop stays scalar: with them, tanh alone took a third of a
 * LeNet-5 step). Accuracy: relative error below 3e-7 for exp on [-87.3, 88.3] (about 2
 * float ulps); outside, the argument is clamped, so exp never returns inf or a denormal
 * (exp(100) gives 2.2e38). Absolute error below 2e-7 for tanh and sigmoid. NaN in, NaN out.
 *
 *   exp(x) = 2^k * p(r),  k = rint(x / ln 2),  r = x - k ln 2 (in two parts, Cody-Waite),
 *            p a degree-6 polynomial of e^r on [-ln2/2, ln2/2], 2^k built in the exponent
 *            bits; x is clamped to [-87.3, 88.3] so that 2^k stays a normal float.
 *   tanh(x) = 1 - 2 / (exp(2x) + 1), or the odd Taylor polynomial where |x| < 0.125 (the
 *            first form cancels there).
 *   sigmoid(x) = 1 / (1 + exp(-x)). */
#include "lower_private.h"

static LLVMValueRef fma3(LowerCtx *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef d) {
  LLVMTypeRef p[3] = {c->f32, c->f32, c->f32};
  LLVMValueRef args[3] = {a, b, d};
  return call_fn(c, "llvm.fmuladd.f32", c->f32, p, 3, args);
}

/* Horner's rule with fused multiply-adds: coef[0] + x (coef[1] + x (...)). */
static LLVMValueRef poly(LowerCtx *c, LLVMValueRef x, const double *coef, int n) {
  LLVMValueRef acc = c_f32(c, coef[n - 1]);
  for (int i = n - 2; i >= 0; i--) acc = fma3(c, acc, x, c_f32(c, coef[i]));
  return acc;
}

static LLVMValueRef clamp(LowerCtx *c, LLVMValueRef x, double lo, double hi) {
  /* Ordered compares are false for NaN, so NaN passes through unchanged. */
  LLVMValueRef below = LLVMBuildFCmp(c->b, LLVMRealOLT, x, c_f32(c, lo), "");
  x = LLVMBuildSelect(c->b, below, c_f32(c, lo), x, "");
  LLVMValueRef above = LLVMBuildFCmp(c->b, LLVMRealOGT, x, c_f32(c, hi), "");
  return LLVMBuildSelect(c->b, above, c_f32(c, hi), x, "");
}

LLVMValueRef emit_exp(LowerCtx *c, LLVMValueRef x0) {
  static const double taylor[7] = {1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720};
  LLVMValueRef x = clamp(c, x0, -87.3, 88.3);
  LLVMValueRef k = call_f32(c, "llvm.rint.f32", LLVMBuildFMul(c->b, x, c_f32(c, 1.4426950408889634), ""));
  /* ln 2 = 0.693145751953125 + 1.428606765330187e-06, the first part exact in float */
  LLVMValueRef r = fma3(c, k, c_f32(c, -0.693145751953125), x);
  r = fma3(c, k, c_f32(c, -1.428606765330187e-06), r);
  LLVMValueRef p = poly(c, r, taylor, 7);
  LLVMValueRef ki = LLVMBuildFPToSI(c->b, k, c->i32, "");
  LLVMValueRef bits = LLVMBuildShl(c->b, LLVMBuildAdd(c->b, ki, c_i32(c, 127), ""), c_i32(c, 23), "");
  LLVMValueRef scale = LLVMBuildBitCast(c->b, bits, c->f32, "two_k");
  LLVMValueRef e = LLVMBuildFMul(c->b, p, scale, "exp");
  LLVMValueRef nan = LLVMBuildFCmp(c->b, LLVMRealUNO, x0, x0, "");
  return LLVMBuildSelect(c->b, nan, x0, e, "");
}

LLVMValueRef emit_tanh(LowerCtx *c, LLVMValueRef x) {
  /* x - x^3/3 + 2x^5/15 - 17x^7/315: error below 1e-9 for |x| < 0.125 */
  static const double odd[4] = {1.0, -1.0 / 3, 2.0 / 15, -17.0 / 315};
  LLVMValueRef e = emit_exp(c, LLVMBuildFMul(c->b, x, c_f32(c, 2), ""));
  LLVMValueRef big = LLVMBuildFSub(c->b, c_f32(c, 1),
                                   LLVMBuildFDiv(c->b, c_f32(c, 2), LLVMBuildFAdd(c->b, e, c_f32(c, 1), ""), ""), "");
  LLVMValueRef small = LLVMBuildFMul(c->b, x, poly(c, LLVMBuildFMul(c->b, x, x, ""), odd, 4), "");
  LLVMValueRef ax = call_f32(c, "llvm.fabs.f32", x);
  LLVMValueRef is_small = LLVMBuildFCmp(c->b, LLVMRealOLT, ax, c_f32(c, 0.125), "");
  return LLVMBuildSelect(c->b, is_small, small, big, "tanh");
}

LLVMValueRef emit_sigmoid(LowerCtx *c, LLVMValueRef x) {
  LLVMValueRef e = emit_exp(c, LLVMBuildFNeg(c->b, x, ""));
  return LLVMBuildFDiv(c->b, c_f32(c, 1), LLVMBuildFAdd(c->b, c_f32(c, 1), e, ""), "sigmoid");
}
