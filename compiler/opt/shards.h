/* shards.h — splitting a training function whose examples are coupled by sums over the batch
 * (batch norm) over workers that each run it on their rows, and add up those sums where the
 * rows read them back (shards.c). */
#ifndef DLC_SHARDS_H
#define DLC_SHARDS_H
#include "schedule.h"

/* Before schedule position `before`, the workers add up their values of nodes[0..n) (each a
 * sum over the worker's rows, in a buffer of its own) and all go on with the sums. */
typedef struct SyncPoint {
  int before, n;
  const Node **nodes;
} SyncPoint;

typedef struct ShardPlan {
  const Node *unsplittable; /* where the function cannot be split this way, or NULL */
  int n_points;
  SyncPoint *points;        /* in schedule order */
  bool *once;               /* by node id: an OUTPUT whose value every worker computes whole
                               (count it once); the others are sums over the worker's rows */
} ShardPlan;

/* The sync points of function s (fused and planned), with INV_BATCH standing for the whole
 * batch's 1/n. summed (by node id): the OUTPUTs whose values may stay sums over each worker's
 * rows (gradients, the loss sum), to be added up after the function; any other OUTPUT is
 * made whole. Allocated in arena. */
ShardPlan shards_plan(const Graph *g, const Schedule *s, const bool *summed, Arena *arena);
#endif
