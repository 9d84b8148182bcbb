/* print.h — the graph as text (one node per line) and as Graphviz DOT (`dlc graph`). */
#ifndef DLC_PRINT_H
#define DLC_PRINT_H
#include <stdio.h>
#include "graph.h"
#include "schedule.h"

/* Prints the nodes of s (or the whole graph if s is NULL), marking those created by
 * autodiff (id >= n_forward) as backward, and each buffer's arena offset if `plan` is given. */
void graph_print(const Graph *g, const Schedule *s, int n_forward, const MemPlan *plan, FILE *out);
void graph_print_dot(const Graph *g, const Schedule *s, int n_forward, FILE *out);
#endif
