/* cmd_compile.c — `dlc compile FILE -o model.o`: the optimised forward and training-step
 * functions as an object file, and beside it a C header (model.h, driver/header.c) that
 * describes how to call them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

/* model.o -> model.h; anything else gets ".h" appended. */
static char *header_path(const char *object) {
  size_t len = strlen(object);
  char *h = malloc(len + 3);
  if (!h) dlc_fatal("out of memory");
  if (len > 2 && strcmp(object + len - 2, ".o") == 0) snprintf(h, len + 3, "%.*s.h", (int)(len - 2), object);
  else snprintf(h, len + 3, "%s.h", object);
  return h;
}

int cmd_compile(const Options *o) {
  if (!o->out) {
    diag_error_plain("dlc", "'compile' needs -o FILE.o (the object file to write)");
    return EXIT_USER;
  }
  ModelConfig cfg = options_model_config(o);
  Model *m = model_load(o->file, &cfg);
  if (!m) return EXIT_USER;
  int rc = EXIT_USER;
  char *header = header_path(o->out), err[1024];
  const DlrtNamedPath outputs[] = {{o->out, "-o", NULL}, {header, "its header", NULL}};
  if (!outputs_ok(o, outputs, 2) || !model_build_training(m)) goto done;
  if (model_emit_object(m, o->out, err, sizeof err) != 0) {
    diag_path_error(err);
    goto done;
  }
  if (model_write_header(m, header, o->out, err, sizeof err) != 0) {
    diag_path_error(err);
    goto done;
  }
  printf("%s, %s: dlc_forward and dlc_train_step for batches of up to %d, arena %.1f KiB\n", o->out, header,
         m->train.batch, 4.0 * (double)m->arena_floats / 1024);
  if (o->time) model_print_times(m, stdout);
  rc = EXIT_OK;
done:
  free(header);
  model_free(m);
  return rc;
}
