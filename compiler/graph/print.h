/* print.h — the graph as text (one node per line) and as Graphviz DOT (`dlc graph`). */
#ifndef DLC_PRINT_H
#define DLC_PRINT_H
#include <stdio.h>
#include "graph.h"

/* Prints the nodes (a function's schedule, or graph_nodes(g)), marking those created by
 * autodiff (id >= n_forward) as backward, and each buffer's arena offset if `offset` (by
 * node id, -1 for none: a memory plan's) is given. */
void graph_print(NodeList nodes, int n_forward, const int64_t *offset, FILE *out);
void graph_print_dot(NodeList nodes, int n_forward, FILE *out);
#endif
