/* rules.h — the table of derivative rules, one per differentiable op in ops.def. */
#ifndef DLC_RULES_H
#define DLC_RULES_H
#include "grad.h"

/* A rule receives the forward node y and d(objective)/dy, and calls grad_accum for each
 * input with its vector-Jacobian product. */
typedef void (*GradRule)(GradCtx *c, Node *y, Node *dy);
GradRule grad_rule(DlcOp op);
#endif
