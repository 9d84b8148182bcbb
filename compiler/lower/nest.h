/* nest.h — strided loop nests: iterate over a (batched) shape and read or write several
 * operands whose shapes broadcast to it, each at its own affine index.
 *
 * The iteration space is the batch axis (when batched) and each dimension of the shape.
 * Every operand gets a stride per dimension: its row-major stride, or 0 where it is
 * broadcast (a missing or size-1 dimension, or the batch axis of an unbatched operand).
 * Adjacent dimensions that every operand walks contiguously are merged, so a same-shape
 * elementwise op is one flat loop and a bias add is (rows, maps, pixels) with the bias
 * invariant in the innermost loop, which runs on vectors (nest_inner_vectors). */
#ifndef DLC_NEST_H
#define DLC_NEST_H
#include "llvm_util.h"

/* The output and every leaf of a fused tree (fuse.c bounds them). */
enum { NEST_MAX_DIMS = MAX_RANK + 1, NEST_MAX_OPERANDS = 1 + MAX_FUSED_LEAVES };

typedef struct Nest {
  int dims;                            /* loops, outermost first */
  int64_t count[NEST_MAX_DIMS];        /* trip count, times n if by_n */
  bool by_n[NEST_MAX_DIMS];
  int operands;
  int64_t stride[NEST_MAX_OPERANDS][NEST_MAX_DIMS];
  Loop loop[NEST_MAX_DIMS];
  /* In nest_inner_vectors: the index of the first lane along the innermost loop, and the
   * lanes in use (NULL: all of them). */
  bool vector;
  LLVMValueRef inner, mask;
} Nest;

/* A nest over `space`, for operands of the given shapes (each broadcasts to space). */
void nest_plan(Nest *n, Shape space, const Shape *operands, int n_operands);
/* Opens the loops in two steps: every loop but the innermost, then the innermost; the
 * builder ends in the innermost body. Between them is
 * the place for loads that do not change along the innermost loop (operand k with
 * nest_inner_invariant), which LLVM would not hoist itself: every buffer is in one arena,
 * so a store to the output might alias them, and the loop would stay scalar. */
void nest_begin_outer(LowerCtx *c, Nest *n);
void nest_begin_inner(LowerCtx *c, Nest *n);
bool nest_inner_invariant(const Nest *n, int k);
/* Whether every operand walks the innermost loop contiguously or not at all, so that it
 * can run in vectors. */
bool nest_vectorisable(const Nest *n);
/* Runs the innermost loop in vectors of LANES elements (instead of nest_begin_inner) and
 * closes it. Unless the trip count is a constant multiple of LANES, the vectors are masked
 * to the elements left: with c->mask_every_vector, body is emitted once, into a loop over
 * the vectors, each masked; else twice, into a loop over the whole vectors and once more,
 * masked, for the rest. nest_load and nest_store read and write the lanes in use. */
typedef void NestBody(LowerCtx *c, Nest *n, void *arg);
void nest_inner_vectors(LowerCtx *c, Nest *n, NestBody *body, void *arg);
/* Operand k (at base) at the current iteration: a vector of its elements, or of the one
 * element where it is invariant along the innermost loop; or a float outside vectors. */
LLVMValueRef nest_load(LowerCtx *c, const Nest *n, int k, LLVMValueRef base);
void nest_store(LowerCtx *c, const Nest *n, int k, LLVMValueRef base, LLVMValueRef v);
/* Operand k's index from the outer loops alone (for an invariant operand, its index). */
LLVMValueRef nest_outer_index(LowerCtx *c, const Nest *n, int k);
/* The element index of operand k at the current iteration. */
LLVMValueRef nest_index(LowerCtx *c, const Nest *n, int k);
void nest_end(LowerCtx *c, Nest *n);
#endif
