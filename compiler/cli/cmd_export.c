/* cmd_export.c — `dlc export FILE.net -o model.onnx` (or --pytorch -o model.py): the
 * inference network for other tools (export/), with a checkpoint's parameters or the seed's. */
#include <stdio.h>
#include "cli.h"
#include "export.h"

int cmd_export(const Options *o) {
  if (!o->out) {
    diag_error_plain("dlc", "'export' needs -o FILE (model.onnx, or model.py with --pytorch)");
    return EXIT_USER;
  }
  ModelConfig cfg = options_model_config(o);
  cfg.inference_only = true;
  Model *m = model_load(o->file, &cfg);
  if (!m) return EXIT_USER;
  int rc = EXIT_USER;
  ExportSummary sum;
  ExportFormat format = o->pytorch ? EXPORT_PYTORCH : EXPORT_ONNX;
  const DlrtNamedPath outputs[] = {{o->out, "-o", NULL}};
  if (outputs_ok(o, outputs, 1) && model_build_training(m) && export_model(m, format, o->load, o->out, &sum)) {
    if (format == EXPORT_ONNX)
      printf("%s: ONNX opset %d, %d nodes, %lld parameters (%s)\n", o->out, ONNX_OPSET, sum.ops,
             (long long)sum.parameters, o->load ? o->load : "initial, from the seed");
    else
      printf("%s: PyTorch module Net, %d operations, %lld parameters (load_dlc loads a checkpoint%s%s)\n", o->out,
             sum.ops, (long long)sum.parameters, o->load ? " such as " : "", o->load ? o->load : "");
    rc = EXIT_OK;
  }
  model_free(m);
  return rc;
}
