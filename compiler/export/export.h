/* export.h — the network as it classifies, written for other tools: an ONNX model (onnx.c)
 * or a PyTorch module (pytorch.c), `dlc export`.
 *
 * What is exported is the inference graph: the model's dlc_forward as the graph passes left
 * it, with the training flag fixed at 0 (inference.c). Batch norm then reads its running
 * statistics and dropout passes its input on, and what only training needs (the batch's
 * statistics, dropout's noise) is no longer computed. Its parameters come from a checkpoint,
 * or are drawn from the seed as training starts (params.c).
 *
 * Each target maps dlc's primitive ops (graph/ops.def) through a table with one row per op:
 * an op without a row is a located error that names it, never a wrong model. */
#ifndef DLC_EXPORT_H
#define DLC_EXPORT_H
#include <stdbool.h>
#include <stddef.h>
#include "driver.h"

/* ---- the inference graph (inference.c) ---- */

/* A convolution as dlc computes it with many taps: im2col(x) -> gemm with the kernels
 * (transposed) -> transpose -> reshape to images. Exported as one convolution. */
typedef struct PatchConv {
  const Node *image;    /* x, the input of the im2col */
  const Node *kernels;  /* [maps, c k k] */
  Window win;           /* the im2col's window, with its maps */
} PatchConv;

typedef struct Inference {
  const Graph *g;
  NodeList order;     /* the nodes inference computes, dependencies first (leaves included;
                         not the OUTPUT effect) */
  const Node *input;  /* the network's input (INPUT), or NULL if the output does not read it */
  const Node *out;    /* the node whose value is the network's output */
  const Node **same;  /* by node id: the node whose value this one has (x * 1, x + 0 folded),
                         itself otherwise */
  bool *folded;       /* by node id: the node is the constant constant[id] in every element */
  float *constant;
  PatchConv **patch_conv; /* by node id: the reshape that ends a PatchConv chain: the
                             convolution (the chain's other nodes are not in order) */
  Arena arena;        /* the arrays above */
} Inference;

/* Specialises the function `forward` (a schedule ending in one OUTPUT) of g for inference:
 * `training` (the training flag, or NULL) is 0, and what that makes constant is folded
 * (t * v = 0, x + 0 = x, x * 1 = x, operations on constants); convolutions computed through
 * patches are found (patch_conv). False if forward has no OUTPUT (dlc's bug, not the
 * user's: callers assert). */
bool inference_build(Inference *inf, const Graph *g, NodeList forward, const Node *training);
/* The model's dlc_forward (model_build_training must have run). */
bool inference_of_model(Inference *inf, const Model *m);
void inference_free(Inference *inf);
/* Input k of y as the inference computes it (through folded aliases). */
static inline const Node *inference_input(const Inference *inf, const Node *y, int k) {
  return inf->same[y->in[k]->id];
}

/* How a convolution of window w is exported. Without a connection table, or with one that is
 * exactly block diagonal (output maps in g equal groups, each reading every input map of its
 * own group and no other: `groups: g`, depthwise for g = c, and a full table for g = 1), it is
 * an ONNX Conv with group g and PyTorch's conv2d with groups=g, whose kernels [maps, c/g, k, k]
 * are dlc's own memory; that g. Any other table: 0, a masked full convolution. */
int conv_groups(const Window *w);

/* ---- parameter values (params.c) ---- */

typedef struct ExportParams {
  float **value;      /* by node id: the values of each PARAM and STATE leaf, else NULL */
  int len;
  const char *source; /* the checkpoint they came from, or NULL: the seed's initial values */
} ExportParams;

/* Every PARAM and STATE leaf of g: read from the checkpoint `ckpt` as dlc eval reads it into
 * the model m whose graph g is (driver/model_ckpt.h), or, with ckpt NULL (and m too, if g
 * is not a model's), drawn from `seed` in declaration order exactly as the trainer
 * initialises them (graph_fill_initial; tests/check_export.c checks they agree).
 * 0, or -1 with "PATH: MESSAGE" in err (nothing to free then). */
int export_params_load(const Graph *g, const Model *m, unsigned long long seed, const char *ckpt, ExportParams *p, char *err,
                       size_t errlen);
void export_params_free(ExportParams *p);

/* ---- the writers ---- */

/* What a written model says about itself beside the graph. */
typedef struct ExportInfo {
  const char *source;          /* the .net file */
  float pixel_lo, pixel_hi;    /* pixel values 0 and 255 become these before the network sees them */
} ExportInfo;

/* What was written, for the command to report. */
typedef struct ExportSummary {
  int ops;              /* ONNX nodes, or lines of the module's forward */
  int64_t parameters;   /* trainable values written (ONNX) or declared (PyTorch) */
} ExportSummary;

/* The ONNX model (opset ONNX_OPSET, batch dimension "N") at path. A dlc op that ONNX cannot
 * express is reported at its place in the .net file, naming the op; a file that cannot be
 * written as "PATH: error: ...". False after reporting. */
enum { ONNX_OPSET = 13 };
bool export_onnx(const Inference *inf, const ExportParams *p, const ExportInfo *info, const char *path,
                 ExportSummary *sum);
/* The PyTorch module (a Python file, class Net) at path: the same network, loading and
 * saving dlc checkpoints (load_dlc, save_dlc). Errors as export_onnx's. */
bool export_pytorch(const Inference *inf, const ExportParams *p, const ExportInfo *info, const char *path,
                    ExportSummary *sum);
/* Whether op has a row in the writer's table (the leaves a writer handles apart included):
 * what tests/check_export.c holds to the ops its models compute. */
bool export_onnx_maps(DlcOp op);
bool export_pytorch_maps(DlcOp op);

/* ---- the command (export.c) ---- */

typedef enum ExportFormat { EXPORT_ONNX, EXPORT_PYTORCH } ExportFormat;
/* `dlc export`: m's inference graph (model_build_training must have run) with the parameters
 * of the checkpoint ckpt (NULL: initialised from the seed), written in format f at path.
 * False after reporting. */
bool export_model(Model *m, ExportFormat f, const char *ckpt, const char *path, ExportSummary *sum);

/* ---- unique names (names.c) ---- */

/* A set of names handed out: each asked-for name once, later ones with a suffix. */
typedef struct NameSet {
  Arena *arena;
  const char **names;
  int len, cap;
} NameSet;
/* `want` if it is free (and, with python, an identifier that is not a Python keyword), else
 * want_2, want_3, ...; remembered and returned (in the set's arena). */
const char *names_unique(NameSet *s, const char *want, bool python);
void names_free(NameSet *s);
#endif
