/* interp.h — a plain-C reference evaluator of graphs, in double precision.
 *
 * It is the second, independent implementation of every op: `dlc gradcheck` and the tests
 * compare symbolic gradients against its finite differences, and the JIT-compiled code
 * against its results. It favours obviousness over speed. */
#ifndef DLC_INTERP_H
#define DLC_INTERP_H
#include "graph.h"

typedef struct Interp {
  const Graph *g;
  int n;          /* batch rows */
  double **val;   /* by node id: the node's value (n x numel if batched), or NULL */
  int val_len;    /* entries in val (the graph may grow between runs) */
  double **leaf;  /* by node id: PARAM/STATE contents, owned by the caller */
  const double *const *feeds; /* by feed slot: INPUT/TARGET rows, HYPER scalars */
} Interp;

/* Evaluates the nodes in the order given (a function's schedule: inputs first). ASSIGN nodes
 * overwrite leaf[]; results[slot] receive OUTPUTs (each must have room for the output's
 * n x numel values). */
void interp_run(Interp *it, NodeList order, double *const *results);
/* The scalar formula of an elementwise op (UNARY or BINARY): y's op on a (and b). */
double interp_scalar(const Node *y, double a, double b);
/* Frees the per-node values of the last run. */
void interp_clear(Interp *it);
/* Elements of node x's value in a batch of n rows. */
int64_t interp_size(const Node *x, int n);
#endif
