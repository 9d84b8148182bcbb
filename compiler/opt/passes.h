/* passes.h — graph optimisation passes and their pipeline.
 *
 * Each pass is a function over the whole graph (forward, backward and update together) that
 * rewrites it in place and says whether it changed anything. Passes never replace leaves or
 * effects (ASSIGN, OUTPUT), which is what the rest of dlc holds pointers to; they redirect
 * the inputs of other nodes, or turn a node into a constant where it stands, so creation
 * order stays a topological order. Dead nodes are simply left behind: a function's schedule
 * is what its roots reach. */
#ifndef DLC_PASSES_H
#define DLC_PASSES_H
#include <stdio.h>
#include "graph.h"

typedef bool (*GraphPass)(Graph *g);

typedef struct PassInfo {
  const char *name;
  GraphPass run;
  const char *what;
} PassInfo;

/* The pipeline, in order; NULL-terminated. */
extern const PassInfo graph_passes[];
const PassInfo *pass_find(const char *name);

bool pass_fold(Graph *g);     /* fold.c:     elementwise ops on constants become constants */
bool pass_simplify(Graph *g); /* simplify.c: x*1, x+0, x-0, x/1, --x, x^1, no-op broadcasts and sums */
bool pass_cse(Graph *g);      /* cse.c:      one node per distinct computation */

/* What the convolution cost model plans for: the vector unit the code will run on (floats
 * per vector, vector registers: the lowering's lower_vector_unit), and a way forced where it
 * can run (DLC_CONV_KERNEL, for measuring the ways against each other). */
typedef enum ConvForce { CONV_FORCE_NONE, CONV_FORCE_IM2COL, CONV_FORCE_TAPS, CONV_FORCE_TILED, CONV_FORCE_WINOGRAD } ConvForce;
typedef struct ConvTarget {
  int lanes, registers;
  ConvForce force;
} ConvTarget;

/* Before autodiff, on the forward graph: how each convolution runs (conv_algo.c): each
 * direct conv's kernel per pass (Window.choice), or im2col patches times a matrix, rewritten
 * so in place. */
bool opt_choose_convolutions(Graph *g, const ConvTarget *t);

/* Runs the pipeline until nothing changes (at most a few rounds), stopping after the pass
 * named `stop_after` if it is not NULL. With `verify`, checks the graph after every pass
 * (graph_verify) and aborts on a broken invariant. Returns the passes run. */
int passes_run(Graph *g, const char *stop_after, bool verify);

/* Replacements a pass finds as it walks the graph in creation order: "every use of `from`
 * reads `to` instead" (same shape, `to` made before `from`). Rather than scanning every later
 * node for uses at each replacement (quadratic: a file of 40,000 statements took minutes),
 * the pass calls rewire_inputs on each node as its walk reaches it, which redirects the
 * node's inputs to their replacements: one pass over the graph in all. */
typedef struct Rewire {
  Node **to;    /* by node id: its replacement, or NULL */
  bool changed; /* some input was redirected */
} Rewire;
void rewire_begin(Rewire *r, const Graph *g);
void rewire_inputs(Rewire *r, Node *y);
void rewire_replace(Rewire *r, const Node *from, Node *to);
/* Frees r; whether the pass redirected any input (a node already dead has none). */
bool rewire_end(Rewire *r);
#endif
