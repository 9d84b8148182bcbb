/* params.c — the values an exported model carries: every PARAM and STATE leaf, from a
 * checkpoint, read as `dlc eval` reads it (driver/model_ckpt.h: every parameter and the
 * state inference reads, each of this model's shape), or drawn from the seed as training
 * starts (graph_fill_initial). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export.h"
#include "model_ckpt.h"

static bool persistent(const Node *n) { return n->op == OP_PARAM || n->op == OP_STATE; }

static void params_alloc(const Graph *g, ExportParams *p) {
  p->len = g->len;
  p->value = calloc((size_t)g->len, sizeof *p->value);
  if (!p->value) dlc_fatal("out of memory");
  for (int i = 0; i < g->len; i++) {
    const Node *x = g->nodes[i];
    if (!persistent(x)) continue;
    p->value[i] = malloc(sizeof(float) * (size_t)shape_numel(x->shape));
    if (!p->value[i]) dlc_fatal("out of memory");
  }
}

int export_params_load(const Graph *g, const Model *m, unsigned long long seed, const char *ckpt, ExportParams *p,
                       char *err, size_t errlen) {
  DLC_ASSERT(!ckpt || (m && m->g == g));
  params_alloc(g, p);
  p->source = ckpt;
  DlrtRng rng; /* as training starts: what a checkpoint lacks keeps its initial value */
  dlrt_rng_seed(&rng, seed);
  graph_fill_initial(g, &rng, p->value);
  Ckpt c;
  if (ckpt && model_ckpt_read(m, ckpt, CKPT_INFERENCE, p->value, &c, err, errlen) != 0) {
    export_params_free(p);
    return -1;
  }
  if (ckpt) dlrt_ckpt_free(&c);
  return 0;
}

void export_params_free(ExportParams *p) {
  for (int i = 0; p->value && i < p->len; i++) free(p->value[i]);
  free(p->value);
  p->value = NULL;
  p->len = 0;
}
