/* pieces.c — the parallel JIT's unit of work: every function of a model cut into pieces of
 * about the same size, each lowered into a module of its own LLVM context, so that the
 * cores optimise and compile them at once (driver.c model_compile, jit.c). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "driver.h"

/* The pieces the JIT compiles on `threads` threads, each a module of its own: a function of
 * more instructions than a thread's quarter share is cut into consecutive parts of about
 * that many (as lowering it once measured each node), and a function of the original name
 * runs the parts in order. Small pieces let the threads finish together and cost less in
 * all: LLVM's time grows faster than a function's size (a 1,500-instruction piece of
 * LeNet-5 took eight times as long to optimise as a 550 one). */
enum { MIN_PIECE = 300 }; /* instructions: smaller functions are not cut */

int model_pieces(Model *m, const LowerFn *fns, int n_fns, int threads, DlcModule **mods, char names[][64]) {
  int n = 0;
  int64_t *cost[3], size[3], all = 0;
  DLC_ASSERT(n_fns <= 3);
  DlcModule *whole[3];
  for (int k = 0; k < n_fns; k++) {
    cost[k] = calloc((size_t)fns[k].sched.len + 1, sizeof *cost[k]);
    if (!cost[k]) dlc_fatal("out of memory");
    whole[k] = lower_module_costs(m->g, &fns[k], 1, cost[k]);
    all += size[k] = lower_module_size(whole[k]);
  }
  int64_t limit = all / (4 * threads) > MIN_PIECE ? all / (4 * threads) : MIN_PIECE;
  for (int k = 0; k < n_fns; k++) {
    int parts = (int)((size[k] + limit - 1) / limit);
    parts = parts > MAX_PIECES ? MAX_PIECES : parts;
    if (parts <= 1) {
      mods[n++] = whole[k];
      free(cost[k]);
      continue;
    }
    lower_module_free(whole[k]);
    const char *part_names[MAX_PIECES];
    int64_t per_part = size[k] / parts;
    int from = 0, len = fns[k].sched.len;
    for (int p = 0; p < parts; p++) {
      int to = from;
      int64_t acc = 0;
      while (to < len && (p == parts - 1 || acc < per_part)) acc += cost[k][to++];
      LowerFn piece = fns[k];
      snprintf(names[p], 64, "%s.part%d", fns[k].name, p + 1);
      piece.name = part_names[p] = names[p];
      piece.from = from;
      piece.to = to;
      mods[n++] = lower_module(m->g, &piece, 1);
      from = to;
    }
    mods[n++] = lower_sequence(fns[k].name, part_names, parts);
    free(cost[k]);
  }
  return n;
}

int compile_threads(void) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return cores < 2 ? 1 : cores > 4 ? 4 : (int)cores;
}
