/* cmd_gradcheck.c — `dlc gradcheck FILE`: every parameter's symbolic gradient against
 * finite differences, and the compiled gradients against both, on a small random batch. */
#include <stdlib.h>
#include "cli.h"
#include "gradcheck.h"

enum { GRADCHECK_ROWS = 3 };

int cmd_gradcheck(const Options *o) {
  ModelConfig cfg = options_model_config(o);
  Model *m = model_load(o->file, &cfg);
  if (!m) return EXIT_USER;
  printf("gradcheck %s: batch of %d random examples, seed %llu\n", m->file->name, GRADCHECK_ROWS, m->train.seed);
  GradcheckResult r = gradcheck_model(m, GRADCHECK_ROWS, stdout);
  printf("%s: %d parameters, %d gradient elements against finite differences: %s", m->file->name, r.params, r.checked,
         r.ok ? "ok" : "MISMATCH");
  if (r.kinks) printf(" (%d within a step of a kink, agreeing at a shorter one)", r.kinks);
  printf("\n");
  model_free(m);
  if (!r.ok) {
    diag_error_plain(o->file, "gradients do not match (an error/tolerance ratio above 1)");
    return EXIT_USER;
  }
  return EXIT_OK;
}
