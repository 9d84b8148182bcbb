/* pieces.c — the parallel JIT's unit of work: every function of a model cut into pieces of
 * about the same size, each lowered into a module of its own LLVM context by the thread
 * that then optimises and compiles it, so that the cores do all of it at once (jit.c;
 * driver.c's model_compile asks for it). */
#include <stdio.h>
#include <stdlib.h>
#include "lower.h"

/* The pieces the JIT compiles on `threads` threads, each a module of its own: a function of
 * more instructions than a thread's quarter share is cut into consecutive parts of about
 * that many (as lowering it once measured each node), and a function of the original name
 * runs the parts in order. Small pieces let the threads finish together and cost less in
 * all: LLVM's time grows faster than a function's size (a 1,500-instruction piece of
 * LeNet-5 took eight times as long to optimise as a 550 one). */
enum { MIN_PIECE = 300 }; /* instructions: smaller functions are not cut */

/* One module of the plan: a function lowered whole (to measure it, and kept), a part of
 * one, or the function of the original name that calls the parts. */
typedef struct Piece {
  enum { WHOLE, PART, SEQUENCE } kind;
  DlcModule *whole;
  LowerFn fn;         /* PART: the function and its range of the schedule */
  char name[64];      /* PART: "dlc_train_step.part1" */
  int first, n_parts; /* SEQUENCE: the parts, pieces [first, first + n_parts) */
} Piece;

typedef struct Pieces {
  const Graph *g;
  LowerOptions options;
  int n;
  Piece piece[3 * (MAX_PIECES + 1)];
  int64_t size[3 * (MAX_PIECES + 1)]; /* instructions, as measured */
} Pieces;

static DlcModule *piece_module(void *pieces, int i);
static void pieces_free(void *pieces);

JitWork lower_pieces(const Graph *g, const LowerFn *fns, int n_fns, int threads, const LowerOptions *o) {
  Pieces *ps = calloc(1, sizeof *ps);
  if (!ps) dlc_fatal("out of memory");
  ps->g = g;
  if (o) ps->options = *o;
  int64_t *cost[3], size[3], all = 0;
  DLC_ASSERT(n_fns <= 3);
  DlcModule *whole[3];
  for (int k = 0; k < n_fns; k++) {
    cost[k] = calloc((size_t)fns[k].sched.len + 1, sizeof *cost[k]);
    if (!cost[k]) dlc_fatal("out of memory");
    whole[k] = lower_module_costs(g, &fns[k], 1, &ps->options, cost[k]);
    all += size[k] = lower_module_size(whole[k]);
  }
  int64_t limit = all / (4 * threads) > MIN_PIECE ? all / (4 * threads) : MIN_PIECE;
  for (int k = 0; k < n_fns; k++) {
    int parts = (int)((size[k] + limit - 1) / limit);
    parts = parts > MAX_PIECES ? MAX_PIECES : parts;
    if (parts <= 1) {
      ps->size[ps->n] = size[k];
      ps->piece[ps->n++] = (Piece){.kind = WHOLE, .whole = whole[k]};
      free(cost[k]);
      continue;
    }
    lower_module_free(whole[k]);
    int64_t per_part = size[k] / parts;
    int from = 0, len = fns[k].sched.len, first = ps->n;
    for (int p = 0; p < parts; p++) {
      int to = from;
      int64_t acc = 0;
      while (to < len && (p == parts - 1 || acc < per_part)) acc += cost[k][to++];
      Piece *pc = &ps->piece[ps->n];
      *pc = (Piece){.kind = PART, .fn = fns[k]};
      snprintf(pc->name, sizeof pc->name, "%s.part%d", fns[k].name, p + 1);
      pc->fn.name = pc->name;
      pc->fn.from = from;
      pc->fn.to = to;
      ps->size[ps->n++] = acc;
      from = to;
    }
    Piece *seq = &ps->piece[ps->n];
    *seq = (Piece){.kind = SEQUENCE, .first = first, .n_parts = parts};
    snprintf(seq->name, sizeof seq->name, "%s", fns[k].name);
    ps->size[ps->n++] = parts;
    free(cost[k]);
  }
  return (JitWork){ps->n, ps->size, piece_module, ps, pieces_free};
}

/* Lowers piece i (on the JIT's threads). */
static DlcModule *piece_module(void *pieces, int i) {
  Pieces *ps = pieces;
  Piece *pc = &ps->piece[i];
  switch (pc->kind) {
  case WHOLE: {
    DlcModule *m = pc->whole;
    pc->whole = NULL; /* the JIT's now */
    lower_module_verify(m);
    return m;
  }
  case PART: return lower_module(ps->g, &pc->fn, 1, &ps->options);
  case SEQUENCE: {
    const char *parts[MAX_PIECES];
    for (int p = 0; p < pc->n_parts; p++) parts[p] = ps->piece[pc->first + p].name;
    return lower_sequence(pc->name, parts, pc->n_parts);
  }
  }
  DLC_UNREACHABLE();
}

static void pieces_free(void *pieces) {
  Pieces *ps = pieces;
  for (int i = 0; i < ps->n; i++)
    if (ps->piece[i].kind == WHOLE) lower_module_free(ps->piece[i].whole); /* not made (NULL if it was) */
  free(ps);
}
