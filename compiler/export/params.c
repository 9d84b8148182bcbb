/* params.c — the values an exported model carries: every PARAM and STATE leaf, from a dlc
 * checkpoint (runtime/checkpoint.h) or drawn from the seed as training starts.
 *
 * The checkpoint is checked as `dlc eval` checks it (train/snapshot.c): a dlc checkpoint,
 * every parameter present with this model's shape, and any state it holds (batch norm's
 * running statistics) of the right shape; optimiser moments are not needed and are ignored
 * when absent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "checkpoint.h"
#include "export.h"

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

/* In graph order, each from the one stream: what trainer.c's init_params does, so that the
 * same seed gives the same network. Optimiser state starts at zero (its initialiser). */
static void draw_from_seed(const Graph *g, unsigned long long seed, ExportParams *p) {
  DlrtRng rng;
  dlrt_rng_seed(&rng, seed);
  for (int i = 0; i < g->len; i++) {
    const Node *x = g->nodes[i];
    if (persistent(x)) dlrt_init_fill(&x->init, p->value[i], shape_numel(x->shape), &rng);
  }
}

static bool same_shape(const CkptTensor *t, Shape s) {
  if (t->rank != s.rank) return false;
  for (int d = 0; d < s.rank; d++)
    if (t->dim[d] != s.dim[d]) return false;
  return true;
}

/* Overwrites p's values with the checkpoint's; every name and shape is checked first. */
static int read_checkpoint(const Graph *g, const char *path, ExportParams *p, char *err, size_t errlen) {
  Ckpt c;
  if (dlrt_ckpt_load(path, &c, err, errlen) != 0) return -1;
  int rc = -1;
  const char *format = dlrt_ckpt_meta(&c, "format");
  if (!format || strcmp(format, "dlc") != 0) {
    snprintf(err, errlen, "%s: not a dlc checkpoint (no \"format\": \"dlc\" in its metadata)", path);
    goto done;
  }
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < g->len; i++) {
      const Node *x = g->nodes[i];
      if (!persistent(x)) continue;
      const CkptTensor *ct = dlrt_ckpt_tensor(&c, x->name);
      if (x->op == OP_STATE && !ct) continue; /* optimiser moments (or statistics as initialised) */
      if (!ct || !same_shape(ct, x->shape)) {
        snprintf(err, errlen, "%s: %s '%s' of this model (is it another model's checkpoint?)", path,
                 ct ? "has another shape for" : "has no", x->name);
        goto done;
      }
      if (pass == 1) memcpy(p->value[i], ct->data, sizeof(float) * (size_t)shape_numel(x->shape));
    }
  rc = 0;
done:
  dlrt_ckpt_free(&c);
  return rc;
}

int export_params_load(const Graph *g, unsigned long long seed, const char *ckpt, ExportParams *p, char *err,
                       size_t errlen) {
  params_alloc(g, p);
  p->source = ckpt;
  draw_from_seed(g, seed, p); /* what a checkpoint lacks keeps its initial value */
  if (ckpt && read_checkpoint(g, ckpt, p, err, errlen) != 0) {
    export_params_free(p);
    return -1;
  }
  return 0;
}

void export_params_free(ExportParams *p) {
  for (int i = 0; p->value && i < p->len; i++) free(p->value[i]);
  free(p->value);
  p->value = NULL;
  p->len = 0;
}
