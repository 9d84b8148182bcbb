/* export.c — `dlc export` as one call: the parameters, the inference graph, the writer. */
#include "export.h"

bool export_model(Model *m, ExportFormat f, const char *ckpt, const char *path, ExportSummary *sum) {
  ExportParams p;
  char err[1024];
  if (export_params_load(m->g, m, m->train.seed, ckpt, &p, err, sizeof err) != 0) {
    diag_path_error(err);
    return false;
  }
  Inference inf;
  bool built = inference_of_model(&inf, m); /* dlc_forward always ends in its OUTPUT */
  DLC_ASSERT(built);
  ExportInfo info = {m->file->name, m->train.pixel_lo, m->train.pixel_hi};
  bool ok = f == EXPORT_ONNX ? export_onnx(&inf, &p, &info, path, sum) : export_pytorch(&inf, &p, &info, path, sum);
  inference_free(&inf);
  export_params_free(&p);
  return ok;
}
