/* buckets.h — the gradient all-reduce of a job of several processes in pieces (buckets) that
 * start while the backward pass still runs (buckets.c). */
#ifndef DLC_BUCKETS_H
#define DLC_BUCKETS_H
#include "schedule.h"

/* Outputs [first, first + n) of the plan, reduced together: `floats` of the gradient block
 * (each output's size rounded up by arena_align). After schedule position hook_before - 1 (at
 * the function's end if it is the schedule's length) every one of them is final, and the
 * function calls the bucket's hook there; the last bucket has none (hook_before -1): it is
 * reduced after the function returns, with the loss. */
typedef struct GradBucket {
  int first, n;
  int hook_before;
  int64_t floats;
} GradBucket;

typedef struct BucketPlan {
  int n_outputs;
  Node **outputs;       /* the OUTPUTs in the order they become final: the block's layout */
  int n_buckets;        /* 0: no plan (one process) */
  GradBucket *buckets;  /* in that order */
  /* Open MPI moves a started all-reduce on only inside its calls (a ring's 2 (P - 1) steps
   * each need one), so after the first bucket's hook the function also calls a hook before
   * each of its kernels (a product or a convolution: a few per layer, microseconds apart
   * at least), where the trainer lets the started all-reduces progress: positions
   * progress_before[0..n_progress), increasing. */
  int n_progress;
  int *progress_before;
} BucketPlan;

/* A bucket closes once it holds this many floats (64 kB). Each all-reduce costs a latency
 * (some 10 µs per ring step over TCP), so buckets must not be tiny; the first one cannot start
 * before it is full, so they must not be large either: LeNet-5's 62K parameters make two
 * (its dense layers, ready a third of the way into the backward pass, and the rest), where
 * 64K floats would make one and hide nothing. docs/scaling.md has the figures. */
enum { BUCKET_MIN_FLOATS = 16384 };

/* Moves each of the OUTPUTs outputs[0..n) of schedule s (fused and planned) to just after the
 * position where its value is final (the node that computes it, an epilogue's kernel for a
 * fused one), so that it leaves the function as early as it can, and groups them in the order
 * they become final into buckets of at least min_floats (the last takes the rest). The memory
 * plan stays valid: a value is read no later than before. Allocated in arena. */
BucketPlan buckets_plan(Schedule *s, Node *const *outputs, int n, int64_t min_floats, Arena *arena);
#endif
