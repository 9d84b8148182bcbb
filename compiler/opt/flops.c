/* flops.c — the arithmetic a schedule does: what `dlc check` reports, what the profile
 * divides by time, and what decides whether a step is worth splitting over threads. */
#include "schedule.h"

/* Multiply-adds counted as 2 FLOPs; elementwise and row ops as one per element. */
int64_t node_flops(const Node *n) {
  switch (op_info(n->op)->cls) {
  case GEMM: {
    MatDims a;
    gemm_dims(n->in[0]->shape, &a);
    /* The contracted length; when it runs over the batch (a weight gradient), a.rows is
     * its length per example. */
    int64_t k = n->attr.gemm.ta ? a.rows : a.cols;
    return 2 * k * shape_numel(n->shape);
  }
  case UNARY:
  case BINARY:
  case ROW: return shape_numel(n->shape);
  case REDUCE: return shape_numel(n->in[0]->shape);
  case CONV: { /* a multiply-add per connected kernel tap and output cell */
    const Window *w = n->attr.win;
    return 2 * (int64_t)conv_kernels(w) * w->k * w->k * w->ho * w->wo;
  }
  default: return 0;
  }
}

/* A node whose value and inputs are all shared (not per example) runs once per step, whatever
 * the batch: the optimiser update. Everything else is work per example. */
bool node_once_per_step(const Node *n) {
  if (n->shape.batched) return false;
  for (int k = 0; k < op_info(n->op)->arity; k++)
    if (n->in[k]->shape.batched) return false;
  return true;
}

/* FLOPs of a schedule: per example (*per_step: once per step). */
int64_t schedule_flops(const Schedule *s, int64_t *per_step) {
  int64_t f = 0, once = 0;
  for (int i = 0; i < s->len; i++) {
    if (node_once_per_step(s->order[i])) once += node_flops(s->order[i]);
    else f += node_flops(s->order[i]);
  }
  if (per_step) *per_step = once;
  return f;
}
