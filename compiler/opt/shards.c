/* shards.c — how a training function whose examples are coupled (batch norm) still splits
 * over workers: each worker runs the function on its rows, and where a value summed over the
 * batch is read back by the rows, the workers stop, add up their partial sums and go on with
 * the whole batch's (sync points). With 1/n the whole batch's (INV_BATCH fed, not the
 * worker's rows), every worker then computes exactly what one worker on the whole batch
 * computes, up to the order of float sums.
 *
 * Each value of the function is, on one worker:
 *   ROWS     per example (batched): the worker's rows of it;
 *   PARTIAL  a sum over the worker's rows (a reduction over the batch, and what is linear in
 *            such sums: scaled by a shared value, added, reshaped): the workers' add up to
 *            the batch's;
 *   WHOLE    the same on every worker (computed from synced sums);
 *   NONE     no example in it (parameters, constants).
 * A PARTIAL value read by a batched node, or in a way that is not linear (a product of two,
 * a sum with a shared value, a power), must be WHOLE first: that node is synced. A synced node
 * must have a buffer of its own; where it is fused into its reader or a view, its PARTIAL
 * inputs are synced instead. Syncing makes more values WHOLE, so the classification runs
 * again until no new sync appears. OUTPUTs of PARTIAL values (gradients, the loss sum) are
 * summed by the trainer after the function; OUTPUTs of WHOLE values (a gradient through the
 * statistics alone, batch norm's new running statistics) are counted once. */
#include <stdlib.h>
#include "schedule.h"
#include "shards.h"

enum { K_NONE, K_ROWS, K_PARTIAL, K_WHOLE };

typedef struct Ctx {
  const Schedule *s;
  const bool *summed;
  bool *synced;        /* by node id */
  unsigned char *kind; /* by node id, this pass */
  bool changed;
  const Node *bad;
} Ctx;

/* x's kind as its readers see it: a synced node is WHOLE once the sync point has run. */
static int seen(const Ctx *c, const Node *x) { return c->synced[x->id] ? K_WHOLE : c->kind[x->id]; }

/* Makes x WHOLE for its readers: syncs x, or (fused or a view: no buffer of its own) its
 * PARTIAL inputs. */
static void need_whole(Ctx *c, const Node *x) {
  if (seen(c, x) != K_PARTIAL) return;
  if (schedule_site(c->s, x) == x && schedule_storage(c->s, x) == x && node_has_buffer(x)) {
    c->synced[x->id] = true;
    c->changed = true;
    return;
  }
  bool any = false;
  for (int k = 0; k < op_info(x->op)->arity; k++)
    if (seen(c, x->in[k]) == K_PARTIAL) need_whole(c, x->in[k]), any = true;
  if (!any) c->bad = x;
}

/* Reductions over the batch that are sums over its rows (their workers' results add up). */
static bool sums_rows(DlcOp op) { return op == OP_SUM_TO || op == OP_GEMM || op == OP_CONV_DW; }

/* Whether y of PARTIAL inputs (and shared ones) is itself a sum over rows: linear in them. */
static bool linear(const Ctx *c, const Node *y) {
  if (op_info(y->op)->arity == 1) switch (y->op) {
    case OP_NEG: case OP_BROADCAST: case OP_RESHAPE: case OP_PERMUTE: case OP_SLICE: case OP_PAD: case OP_SUM_TO:
    case OP_POOL_SUM: case OP_UNPOOL_SUM: case OP_IM2COL: case OP_COL2IM: return true;
    default: return false;
    }
  bool pa = seen(c, y->in[0]) == K_PARTIAL, pb = seen(c, y->in[1]) == K_PARTIAL;
  switch (y->op) {
  case OP_ADD: case OP_SUB: case OP_CONCAT: return pa && pb;
  case OP_MUL: case OP_GEMM: case OP_CONV: return pa != pb;
  case OP_DIV: return pa && !pb;
  default: return false;
  }
}

static void classify(Ctx *c, const Node *y) {
  int n = op_info(y->op)->arity;
  if (n == 0) {
    c->kind[y->id] = y->shape.batched ? K_ROWS : K_NONE;
    return;
  }
  bool rows = false, part = false, whole = false;
  for (int k = 0; k < n; k++) {
    int kx = seen(c, y->in[k]);
    rows |= kx == K_ROWS, part |= kx == K_PARTIAL, whole |= kx == K_WHOLE;
  }
  int kind = K_NONE;
  if (y->op == OP_OUTPUT) {
    if (rows) c->bad = y;
    else if (part && !c->summed[y->id]) need_whole(c, y->in[0]);
    kind = seen(c, y->in[0]);
  } else if (y->op == OP_ASSIGN) {
    if (rows || part || whole) c->bad = y; /* (the driver moves these to the update) */
  } else if (y->shape.batched) {
    for (int k = 0; k < n; k++) need_whole(c, y->in[k]);
    kind = K_ROWS;
  } else if (rows) { /* a reduction over the batch */
    if (!sums_rows(y->op)) c->bad = y;
    for (int k = 0; k < n; k++) need_whole(c, y->in[k]); /* (the other operand must be shared) */
    kind = K_PARTIAL;
  } else if (part && linear(c, y)) {
    kind = K_PARTIAL;
  } else if (part) {
    for (int k = 0; k < n; k++) need_whole(c, y->in[k]);
    kind = K_WHOLE;
  } else {
    kind = whole ? K_WHOLE : K_NONE;
  }
  c->kind[y->id] = (unsigned char)kind;
}

/* Sync points: before the first node that reads a synced node not yet summed, every synced
 * node computed so far is summed at once (fewer stops: batch norm's forward has one per
 * statistic it reads back, its backward one for both sums of the gradient). "First" is in
 * the order the nodes run: a node fused into another's loop runs at that node's position
 * (schedule_site), which an epilogue moves before the node's own place in the order (the
 * tree reading a kernel's output is computed where the kernel stores). */
static void place_points(const Graph *g, const Schedule *s, const bool *synced, ShardPlan *p, Arena *arena) {
  /* the order's indices sorted (stably) by the position they run at: by_run[start[at] ..
   * start[at + 1]) run at position at */
  int *pos = ARENA_ARRAY(arena, int, g->len + 1), *runs_at = ARENA_ARRAY(arena, int, s->len + 1);
  int *start = ARENA_ARRAY(arena, int, s->len + 2), *by_run = ARENA_ARRAY(arena, int, s->len + 1);
  for (int i = 0; i < s->len; i++) pos[s->order[i]->id] = i;
  for (int i = 0; i < s->len; i++) start[1 + (runs_at[i] = pos[schedule_site(s, s->order[i])->id])]++;
  for (int at = 0; at < s->len; at++) start[at + 1] += start[at];
  for (int i = 0, *fill = ARENA_ARRAY(arena, int, s->len + 1); i < s->len; i++)
    by_run[start[runs_at[i]] + fill[runs_at[i]]++] = i;
  const Node **pending = ARENA_ARRAY(arena, const Node *, s->len + 1);
  bool *is_pending = ARENA_ARRAY(arena, bool, g->len + 1);
  p->points = ARENA_ARRAY(arena, SyncPoint, s->len + 1);
  int n_pending = 0;
  for (int at = 0; at < s->len; at++) { /* each position, with the nodes that run there */
    for (int r = start[at]; r < start[at + 1]; r++) {
      const Node *y = s->order[by_run[r]];
      bool reads = false;
      for (int k = 0; k < op_info(y->op)->arity; k++) reads |= is_pending[y->in[k]->id];
      if (reads) {
        SyncPoint *pt = &p->points[p->n_points++];
        pt->before = at;
        pt->n = n_pending;
        pt->nodes = ARENA_ARRAY(arena, const Node *, n_pending);
        for (int k = 0; k < n_pending; k++) pt->nodes[k] = pending[k], is_pending[pending[k]->id] = false;
        n_pending = 0;
      }
      if (synced[y->id]) pending[n_pending++] = y, is_pending[y->id] = true;
    }
  }
}

ShardPlan shards_plan(const Graph *g, const Schedule *s, const bool *summed, Arena *arena) {
  ShardPlan p = {0};
  Ctx c = {s, summed, ARENA_ARRAY(arena, bool, g->len + 1), calloc((size_t)g->len + 1, 1), true, NULL};
  if (!c.kind) dlc_fatal("out of memory");
  while (c.changed && !c.bad) { /* syncs only grow: this ends */
    c.changed = false;
    for (int i = 0; i < s->len && !c.bad; i++) classify(&c, s->order[i]);
  }
  if (!(p.unsplittable = c.bad)) {
    place_points(g, s, c.synced, &p, arena);
    p.once = ARENA_ARRAY(arena, bool, g->len + 1);
    for (int i = 0; i < s->len; i++) {
      const Node *y = s->order[i];
      if (y->op == OP_OUTPUT && seen(&c, y->in[0]) != K_PARTIAL) p.once[y->id] = true;
    }
  }
  free(c.kind);
  return p;
}
