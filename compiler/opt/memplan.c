/* memplan.c — static memory planning. Persistent leaves first; then every buffer a function
 * needs gets an offset by a linear scan over the schedule: a buffer is allocated where its
 * node runs (first fit among the gaps between live buffers) and released after its last
 * reader, so its space serves later nodes. A node's output never overlaps its inputs. */
#include "schedule.h"

bool node_has_buffer(const Node *n) {
  OpClass c = op_info(n->op)->cls;
  return c != LEAF && c != EFFECT && !op_is_inline(n->op);
}

int64_t arena_align(int64_t x) {
  return (x + ARENA_ALIGN_FLOATS - 1) / ARENA_ALIGN_FLOATS * ARENA_ALIGN_FLOATS;
}

int64_t memplan_persistent(const Graph *g, int64_t *offset) {
  int64_t top = 0;
  for (int i = 0; i < g->len; i++) {
    const Node *n = g->nodes[i];
    offset[i] = -1;
    if (n->op == OP_PARAM || n->op == OP_STATE) {
      offset[i] = top;
      top += arena_align(shape_numel(n->shape));
    }
  }
  return top;
}

typedef struct Block {
  int64_t start, size;
  int node; /* owner id */
} Block;

/* Live blocks sorted by start; returns the lowest start where `size` fits. */
static int64_t first_fit(const Block *live, int n_live, int64_t base, int64_t size) {
  int64_t at = base;
  for (int i = 0; i < n_live; i++) {
    if (live[i].start - at >= size) return at;
    if (live[i].start + live[i].size > at) at = live[i].start + live[i].size;
  }
  return at;
}

static void insert_sorted(Block *live, int *n_live, Block b) {
  int i = *n_live;
  while (i > 0 && live[i - 1].start > b.start) {
    live[i] = live[i - 1];
    i--;
  }
  live[i] = b;
  (*n_live)++;
}

MemPlan memplan_build(const Graph *g, const Schedule *s, int batch, NodeWorkspaceFn *workspace, Arena *arena) {
  MemPlan p = {ARENA_ARRAY(arena, int64_t, g->len), ARENA_ARRAY(arena, int64_t, g->len), 0, 0, batch};
  for (int i = 0; i < g->len; i++) p.workspace[i] = -1;
  p.persist_floats = memplan_persistent(g, p.offset);
  p.total_floats = p.persist_floats;

  /* Last position at which each buffer is read: a fused node reads its inputs where its
   * chain's final reader runs, and reading a view reads the buffer it shares. */
  int *pos_of = ARENA_ARRAY(arena, int, g->len), *last_use = ARENA_ARRAY(arena, int, g->len);
  for (int i = 0; i < g->len; i++) last_use[i] = -1;
  for (int pos = 0; pos < s->len; pos++) pos_of[s->order[pos]->id] = pos;
  for (int pos = 0; pos < s->len; pos++) {
    const Node *x = s->order[pos];
    int at = pos_of[schedule_site(s, x)->id];
    for (int k = 0; k < op_info(x->op)->arity; k++) {
      int id = schedule_storage(s, x->in[k])->id;
      if (at > last_use[id]) last_use[id] = at;
    }
  }

  Block *live = ARENA_ARRAY(arena, Block, 2 * s->len + 2);
  int n_live = 0;
  for (int pos = 0; pos < s->len; pos++) {
    const Node *x = s->order[pos];
    bool fused = s->fused_into && s->fused_into[x->id];
    /* a kernel with an epilogue stores the epilogue's root: its buffer is placed now */
    const Node *out = s->epilogue && s->epilogue[x->id] ? s->epilogue[x->id] : x;
    if (schedule_storage(s, x) != x) {
      p.offset[x->id] = p.offset[schedule_storage(s, x)->id];
    } else if (node_has_buffer(x) && (!fused || out != x) && p.offset[out->id] < 0) {
      int64_t result = arena_align(shape_numel(out->shape) * (out->shape.batched ? batch : 1));
      int64_t ws = workspace ? workspace(x, batch) : 0;
      int64_t at = first_fit(live, n_live, p.persist_floats, result + arena_align(ws));
      p.offset[out->id] = at;
      insert_sorted(live, &n_live, (Block){at, result, out->id});
      if (ws) { /* the kernel's scratch: released with the kernel, not with its epilogue's root */
        p.workspace[x->id] = at + result;
        insert_sorted(live, &n_live, (Block){at + result, arena_align(ws), x->id});
      }
      if (at + result + arena_align(ws) > p.total_floats) p.total_floats = at + result + arena_align(ws);
    }
    const Node *sum = s->epilogue_sum ? s->epilogue_sum[x->id] : NULL; /* written as the kernel runs */
    if (sum && p.offset[sum->id] < 0) {
      int64_t size = arena_align(shape_numel(sum->shape)), at = first_fit(live, n_live, p.persist_floats, size);
      p.offset[sum->id] = at;
      insert_sorted(live, &n_live, (Block){at, size, sum->id});
      if (at + size > p.total_floats) p.total_floats = at + size;
    }
    /* Release what this node was the last to read (and its own output if nothing reads it). */
    for (int i = 0; i < n_live;) {
      if (last_use[live[i].node] <= pos) {
        for (int j = i; j + 1 < n_live; j++) live[j] = live[j + 1];
        n_live--;
      } else {
        i++;
      }
    }
  }
  return p;
}
