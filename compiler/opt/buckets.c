/* buckets.c — where each gradient of a training function split over processes is final, and
 * the buckets its all-reduce goes in (buckets.h).
 *
 * The autodiff creates each gradient's OUTPUT after the whole backward pass, and the schedule
 * runs nodes in creation order, so every gradient would leave the function at its very end.
 * An OUTPUT only copies its value into a result buffer that nothing in the function reads,
 * so it can run right after that value is computed: at the position of the node that
 * computes it (schedule_site: the reader whose loop computes a fused node, or the kernel
 * whose epilogue does), or of the node whose buffer it shares (a view). The memory plan was
 * made with the OUTPUT at its old, later position: each value it reads is kept at least until
 * then, so moving the read earlier never meets a reused buffer. */
#include <stdlib.h>
#include "buckets.h"

/* The position after which OUTPUT o's value is final in the order whose positions are pos (by
 * node id); -1 if it is final from the start (a leaf); o's own position if it cannot move. */
static int final_at(const Schedule *s, const int *pos, const Node *o) {
  const Node *src = o->in[0];
  if (schedule_site(s, o) != o || schedule_site(s, src) == o) return pos[o->id];
  int at = -1;
  const Node *makers[2] = {src, schedule_storage(s, src)};
  for (int k = 0; k < 2; k++) {
    if (op_info(makers[k]->op)->cls == LEAF || op_is_inline(makers[k]->op)) continue;
    int p = pos[schedule_site(s, makers[k])->id];
    if (p < 0) return pos[o->id]; /* (not in this function: leave it be) */
    if (p > at) at = p;
  }
  return at;
}

BucketPlan buckets_plan(Schedule *s, Node *const *outputs, int n, int64_t min_floats, Arena *arena) {
  BucketPlan p = {0};
  if (n == 0) return p;
  int glen = 0;
  for (int i = 0; i < s->len; i++)
    if (s->order[i]->id + 1 > glen) glen = s->order[i]->id + 1;
  for (int k = 0; k < n; k++)
    if (outputs[k]->id + 1 > glen) glen = outputs[k]->id + 1;
  int *pos = ARENA_ARRAY(arena, int, glen + 1), *ready = ARENA_ARRAY(arena, int, n);
  bool *moving = ARENA_ARRAY(arena, bool, glen + 1);
  for (int i = 0; i < glen; i++) pos[i] = -1;
  for (int i = 0; i < s->len; i++) pos[s->order[i]->id] = i;
  for (int k = 0; k < n; k++) {
    if (pos[outputs[k]->id] < 0) dlc_fatal("buckets_plan: an output is not in the schedule");
    ready[k] = final_at(s, pos, outputs[k]);
    moving[outputs[k]->id] = true;
  }
  /* the outputs by the position they become final at (stable: insertion sort, n is small) */
  p.outputs = ARENA_ARRAY(arena, Node *, n);
  int *by_ready = ARENA_ARRAY(arena, int, n);
  for (int k = 0; k < n; k++) {
    int j = k;
    for (; j > 0 && ready[by_ready[j - 1]] > ready[k]; j--) by_ready[j] = by_ready[j - 1];
    by_ready[j] = k;
  }
  /* the new order: each output right after the node it waits for */
  Node **order = ARENA_ARRAY(arena, Node *, s->len);
  int len = 0, next = 0;
  while (next < n && ready[by_ready[next]] < 0) order[len++] = outputs[by_ready[next++]];
  for (int i = 0; i < s->len; i++) {
    if (!moving[s->order[i]->id]) order[len++] = s->order[i];
    while (next < n && ready[by_ready[next]] == i) order[len++] = outputs[by_ready[next++]];
  }
  for (int i = 0; i < len; i++) s->order[i] = order[i], pos[order[i]->id] = i;
  p.n_outputs = n;
  for (int k = 0; k < n; k++) p.outputs[k] = outputs[by_ready[k]];
  /* buckets of at least min_floats, in that order */
  p.buckets = ARENA_ARRAY(arena, GradBucket, n);
  GradBucket *b = NULL;
  for (int k = 0; k < n; k++) {
    if (!b || b->floats >= min_floats) b = &p.buckets[p.n_buckets++], b->first = k;
    b->n++;
    b->floats += arena_align(shape_numel(p.outputs[k]->shape));
    b->hook_before = pos[p.outputs[k]->id] + 1;
  }
  p.buckets[p.n_buckets - 1].hook_before = -1;
  p.progress_before = ARENA_ARRAY(arena, int, s->len + 1);
  for (int i = p.n_buckets > 1 ? p.buckets[0].hook_before : s->len; i < s->len; i++) {
    const Node *y = s->order[i];
    int cls = op_info(y->op)->cls;
    if (schedule_site(s, y) == y && (cls == GEMM || cls == CONV)) p.progress_before[p.n_progress++] = i;
  }
  return p;
}
