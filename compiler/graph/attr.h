/* attr.h — what each attribute kind (ops.def's attr column) means to the rest of dlc:
 * equality and hashing (CSE), printing (the graph dumps), and copying into a graph. Every
 * function dispatches on the op's kind, so a new op with an attribute of a known kind needs
 * no code here or in its users. */
#ifndef DLC_ATTR_H
#define DLC_ATTR_H
#include <stdio.h>
#include "graph.h"

/* Whether two nodes of op carry the same attribute. Floats compare bit for bit: 0.0 and
 * -0.0 differ (1/x tells them apart), and a NaN equals itself. */
bool attr_equal(DlcOp op, const NodeAttr *a, const NodeAttr *b);
/* A hash consistent with attr_equal. */
unsigned attr_hash(DlcOp op, const NodeAttr *a);
/* " a^T", " 2", " k=5 stride=1 pad=2 maps=6": the attribute as `dlc graph` shows it after
 * the inputs (nothing for ATTR_NONE). */
void attr_print(DlcOp op, const NodeAttr *a, FILE *out);
/* attr (NULL: none), with what it points to copied into g's arena (a window and its table). */
NodeAttr attr_keep(Graph *g, DlcOp op, const NodeAttr *attr);
#endif
