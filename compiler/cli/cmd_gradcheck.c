/* cmd_gradcheck.c — `dlc gradcheck FILE`: every parameter's symbolic gradient against
 * finite differences, and the compiled gradients against both, on a small random batch. */
#include <stdlib.h>
#include "cli.h"
#include "gradcheck.h"
#include "init.h"
#include "interp.h"
#include "rng.h"

enum { GRADCHECK_ROWS = 3 };

int cmd_gradcheck(const Options *o) {
  Model *m = model_load(o->file, &o->ov);
  if (!m) return EXIT_USER;
  Graph *g = m->g;
  int n = GRADCHECK_ROWS;
  DlrtRng rng;
  dlrt_rng_seed(&rng, m->train.seed);
  int n_nodes = g->len; /* gradcheck adds nodes; leaf[] covers the forward graph */
  double **leaf = calloc((size_t)n_nodes, sizeof *leaf);
  double **feeds = calloc((size_t)g->n_feeds + 1, sizeof *feeds);
  for (int i = 0; i < n_nodes; i++) {
    Node *x = g->nodes[i];
    int64_t size = interp_size(x, n);
    if (x->op == OP_STATE) { /* running statistics: as the file initialises them */
      float *tmp = malloc(sizeof(float) * (size_t)size);
      leaf[i] = malloc(sizeof(double) * (size_t)size);
      dlrt_init_fill(&x->init, tmp, size, &rng);
      for (int64_t k = 0; k < size; k++) leaf[i][k] = tmp[k];
      free(tmp);
    } else if (x->op == OP_PARAM) {
      /* The file's initialiser, then a little noise so that zero-initialised biases and
       * symmetric weights do not hide errors behind zeros. */
      float *tmp = malloc(sizeof(float) * (size_t)size);
      dlrt_init_fill(&x->init, tmp, size, &rng);
      leaf[i] = malloc(sizeof(double) * (size_t)size);
      for (int64_t k = 0; k < size; k++) leaf[i][k] = tmp[k] + 0.05 * (dlrt_rng_uniform(&rng) - 0.5);
      free(tmp);
    } else if (x->op == OP_HYPER) { /* the training flag: dropout on */
      feeds[x->attr.slot] = malloc(sizeof(double));
      feeds[x->attr.slot][0] = 1;
    } else if (x->op == OP_INPUT || x->op == OP_NOISE) {
      feeds[x->attr.slot] = malloc(sizeof(double) * (size_t)size);
      for (int64_t k = 0; k < size; k++) feeds[x->attr.slot][k] = dlrt_rng_uniform(&rng);
    } else if (x->op == OP_TARGET) {
      int64_t classes = shape_numel(x->shape);
      feeds[x->attr.slot] = calloc((size_t)size, sizeof(double));
      for (int r = 0; r < n; r++) feeds[x->attr.slot][r * classes + dlrt_rng_below(&rng, (uint32_t)classes)] = 1;
    }
  }
  printf("gradcheck %s: batch of %d random examples, seed %llu\n", m->file->name, n, m->train.seed);
  GradcheckResult r = gradcheck_graph(g, m->sema.loss, n, (const double *const *)feeds, leaf, stdout);
  printf("%s: %d parameters, %d gradient elements against finite differences: %s\n", m->file->name, r.params,
         r.checked, r.ok ? "ok" : "MISMATCH");
  for (int i = 0; i < n_nodes; i++) free(leaf[i]);
  for (int i = 0; i < g->n_feeds; i++) free(feeds[i]);
  free(leaf);
  free(feeds);
  model_free(m);
  if (!r.ok) {
    diag_error_plain(o->file, "gradients do not match (an error/tolerance ratio above 1)");
    return EXIT_USER;
  }
  return EXIT_OK;
}
