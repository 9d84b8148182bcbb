/* fastmath.c — exp, tanh, sigmoid, erf and softplus as straight-line IR, on a float or a vector of floats,
 * whichever the argument is (a call to libm's expf or tanhf cannot be vectorised: with them,
 * tanh alone took a third of a LeNet-5 step). Accuracy: relative error below 3e-7 for exp
 * on [-87.3, 88.3] (about 2 float ulps); outside, the argument is clamped, so exp never
 * returns inf or a denormal (exp(100) gives 2.2e38). Absolute error below 2e-7 for tanh
 * and sigmoid. NaN in, NaN out.
 *
 *   exp(x) = 2^k * p(r),  k = rint(x / ln 2),  r = x - k ln 2 (in two parts, Cody-Waite),
 *            p a degree-6 polynomial of e^r on [-ln2/2, ln2/2], 2^k built in the exponent
 *            bits; x is clamped to [-87.3, 88.3] so that 2^k stays a normal float.
 *   tanh(x) = 1 - 2 / (exp(2x) + 1), or the odd Taylor polynomial where |x| < 0.125 (the
 *            first form cancels there).
 *   sigmoid(x) = 1 / (1 + exp(-x)).
 *   erf(x) = x q(x^2) where |x| < 0.5 (its Taylor series to x^13: relative error below 1e-8),
 *            else sign(x) (1 - t p(t) exp(-x^2)), t = 1 / (1 + 0.3275911 |x|), p of degree 4
 *            (Abramowitz and Stegun 7.1.26: absolute error below 1.5e-7, and erf >= 0.52
 *            there, so relative error below 3e-7 with exp's).
 *   softplus(x) = max(x, 0) + ln(1 + e), e = exp(-|x|) in (0, 1], the logarithm as
 *            2 atanh(u) = 2 (u + u^3/3 + ... + u^15/15), u = e / (2 + e) <= 1/3: relative
 *            error below 1e-8 plus exp's, also where e is tiny (where ln(1 + e) in float
 *            would round to 0) and without a call to logf. */
#include "lower_private.h"

/* Horner's rule with fused multiply-adds: coef[0] + x (coef[1] + x (...)). */
static LLVMValueRef poly(LowerCtx *c, LLVMValueRef x, const double *coef, int n) {
  LLVMValueRef acc = f32_like(c, x, coef[n - 1]);
  for (int i = n - 2; i >= 0; i--) acc = fmuladd(c, acc, x, f32_like(c, x, coef[i]));
  return acc;
}

static LLVMValueRef clamp(LowerCtx *c, LLVMValueRef x, double lo, double hi) {
  /* Ordered compares are false for NaN, so NaN passes through unchanged. */
  LLVMValueRef below = LLVMBuildFCmp(c->b, LLVMRealOLT, x, f32_like(c, x, lo), "");
  x = LLVMBuildSelect(c->b, below, f32_like(c, x, lo), x, "");
  LLVMValueRef above = LLVMBuildFCmp(c->b, LLVMRealOGT, x, f32_like(c, x, hi), "");
  return LLVMBuildSelect(c->b, above, f32_like(c, x, hi), x, "");
}

LLVMValueRef emit_exp(LowerCtx *c, LLVMValueRef x0) {
  static const double taylor[7] = {1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720};
  LLVMValueRef x = clamp(c, x0, -87.3, 88.3);
  LLVMValueRef scaled = LLVMBuildFMul(c->b, x, f32_like(c, x, 1.4426950408889634), "");
  LLVMValueRef k = call_like(c, "llvm.rint", x, &scaled, 1);
  /* ln 2 = 0.693145751953125 + 1.428606765330187e-06, the first part exact in float */
  LLVMValueRef r = fmuladd(c, k, f32_like(c, x, -0.693145751953125), x);
  r = fmuladd(c, k, f32_like(c, x, -1.428606765330187e-06), r);
  LLVMValueRef p = poly(c, r, taylor, 7);
  LLVMTypeRef int_t = i32_type_like(c, x);
  LLVMValueRef ki = LLVMBuildFPToSI(c->b, k, int_t, "");
  LLVMValueRef bits = LLVMBuildShl(c->b, LLVMBuildAdd(c->b, ki, i32_like(c, x, 127), ""), i32_like(c, x, 23), "");
  LLVMValueRef scale = LLVMBuildBitCast(c->b, bits, LLVMTypeOf(x), "two_k");
  LLVMValueRef e = LLVMBuildFMul(c->b, p, scale, "exp");
  LLVMValueRef nan = LLVMBuildFCmp(c->b, LLVMRealUNO, x0, x0, "");
  return LLVMBuildSelect(c->b, nan, x0, e, "");
}

LLVMValueRef emit_tanh(LowerCtx *c, LLVMValueRef x) {
  /* x - x^3/3 + 2x^5/15 - 17x^7/315: error below 1e-9 for |x| < 0.125 */
  static const double odd[4] = {1.0, -1.0 / 3, 2.0 / 15, -17.0 / 315};
  LLVMValueRef e = emit_exp(c, LLVMBuildFMul(c->b, x, f32_like(c, x, 2), ""));
  LLVMValueRef big = LLVMBuildFSub(c->b, f32_like(c, x, 1),
                                   LLVMBuildFDiv(c->b, f32_like(c, x, 2), LLVMBuildFAdd(c->b, e, f32_like(c, x, 1), ""), ""), "");
  LLVMValueRef small = LLVMBuildFMul(c->b, x, poly(c, LLVMBuildFMul(c->b, x, x, ""), odd, 4), "");
  LLVMValueRef ax = call_like(c, "llvm.fabs", x, &x, 1);
  LLVMValueRef is_small = LLVMBuildFCmp(c->b, LLVMRealOLT, ax, f32_like(c, x, 0.125), "");
  return LLVMBuildSelect(c->b, is_small, small, big, "tanh");
}

LLVMValueRef emit_sigmoid(LowerCtx *c, LLVMValueRef x) {
  LLVMValueRef e = emit_exp(c, LLVMBuildFNeg(c->b, x, ""));
  return LLVMBuildFDiv(c->b, f32_like(c, x, 1), LLVMBuildFAdd(c->b, f32_like(c, x, 1), e, ""), "sigmoid");
}

LLVMValueRef emit_erf(LowerCtx *c, LLVMValueRef x) {
  /* 2/sqrt(pi) (1, -1/3, 1/10, -1/42, 1/216, -1/1320, 1/9360): x^(2k+1) (-1)^k / (k! (2k+1)) */
  static const double taylor[7] = {1.1283791670955126,    -0.37612638903183754,  0.11283791670955126,
                                   -0.026866170645131252, 0.0052239776254421874, -0.00085483270234508528,
                                   0.00012055332981789664};
  static const double as[5] = {0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429};
  LLVMValueRef x2 = LLVMBuildFMul(c->b, x, x, "");
  LLVMValueRef small = LLVMBuildFMul(c->b, x, poly(c, x2, taylor, 7), "");
  LLVMValueRef ax = call_like(c, "llvm.fabs", x, &x, 1);
  LLVMValueRef t = LLVMBuildFDiv(c->b, f32_like(c, x, 1), fmuladd(c, ax, f32_like(c, x, 0.3275911), f32_like(c, x, 1)), "");
  LLVMValueRef tail = LLVMBuildFMul(c->b, LLVMBuildFMul(c->b, t, poly(c, t, as, 5), ""), emit_exp(c, LLVMBuildFNeg(c->b, x2, "")), "");
  LLVMValueRef big = LLVMBuildFSub(c->b, f32_like(c, x, 1), tail, "");
  LLVMValueRef args[2] = {big, x};
  big = call_like(c, "llvm.copysign", big, args, 2);
  LLVMValueRef is_small = LLVMBuildFCmp(c->b, LLVMRealOLT, ax, f32_like(c, x, 0.5), "");
  return LLVMBuildSelect(c->b, is_small, small, big, "erf");
}

LLVMValueRef emit_softplus(LowerCtx *c, LLVMValueRef x) {
  static const double odd[8] = {2.0, 2.0 / 3, 2.0 / 5, 2.0 / 7, 2.0 / 9, 2.0 / 11, 2.0 / 13, 2.0 / 15};
  LLVMValueRef ax = call_like(c, "llvm.fabs", x, &x, 1);
  LLVMValueRef e = emit_exp(c, LLVMBuildFNeg(c->b, ax, ""));
  LLVMValueRef u = LLVMBuildFDiv(c->b, e, LLVMBuildFAdd(c->b, e, f32_like(c, x, 2), ""), "");
  LLVMValueRef log1p = LLVMBuildFMul(c->b, u, poly(c, LLVMBuildFMul(c->b, u, u, ""), odd, 8), "");
  LLVMValueRef pos = LLVMBuildFCmp(c->b, LLVMRealOGT, x, f32_like(c, x, 0), "");
  LLVMValueRef relu = LLVMBuildSelect(c->b, pos, x, f32_like(c, x, 0), "");
  return LLVMBuildFAdd(c->b, relu, log1p, "softplus");
}
