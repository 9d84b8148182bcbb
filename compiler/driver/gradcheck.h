/* gradcheck.h — checks a graph's symbolic gradients two ways:
 *   1. the backward graph, evaluated by the double-precision reference evaluator, against
 *      central finite differences of the forward graph (the derivative rules are right);
 *   2. the same gradients computed by JIT-compiled code in float against (1) (the lowering
 *      of every forward and backward node is right).
 * Used by `dlc gradcheck` and by tests/check_grad.c for every op in the table. */
#ifndef DLC_GRADCHECK_H
#define DLC_GRADCHECK_H
#include <stdio.h>
#include "driver.h"

typedef struct GradcheckResult {
  int params;        /* parameters with a gradient */
  int checked;       /* elements compared against finite differences */
  int kinks;         /* ... of which agreed only at a shorter step (a kink within the first) */
  double worst_fd;   /* largest error / tolerance, symbolic vs finite differences */
  double worst_jit;  /* largest error / tolerance, JIT vs reference */
  bool ok;           /* both worst ratios <= 1 */
} GradcheckResult;

/* g holds the forward graph whose per-example loss is `loss`; gradient nodes are added
 * to it. `feeds` (by feed slot) hold n rows of each INPUT/TARGET and each HYPER scalar;
 * `leaf` (by node id) holds every PARAM's values. Writes a per-parameter table to report
 * if it is not NULL. */
GradcheckResult gradcheck_graph(Graph *g, Node *loss, int n, const double *const *feeds, double **leaf,
                                FILE *report);
/* dlc gradcheck: every parameter of a loaded model (model_load only: gradient nodes are added
 * to its graph), on n random examples with its own initialisers plus a little noise. */
GradcheckResult gradcheck_model(Model *m, int n, FILE *report);
/* The same, with the gradients already built by grad_build (so a test can corrupt them
 * and see the check fail). */
GradcheckResult gradcheck_grads(Graph *g, Node *loss, Node **grads, int n_forward, int n,
                                const double *const *feeds, double **leaf, FILE *report);
#endif
