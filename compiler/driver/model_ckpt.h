/* model_ckpt.h — a model's side of its checkpoints: which tensors a checkpoint must hold for
 * what it is used for, and what a checkpoint says about the network that wrote it. Used by
 * training (train/snapshot.c: saving, resuming, dlc eval) and export (export/params.c), so
 * that both read a checkpoint by the same rules. */
#ifndef DLC_MODEL_CKPT_H
#define DLC_MODEL_CKPT_H
#include <stddef.h>
#include "checkpoint.h"
#include "driver.h"

typedef enum CkptUse {
  CKPT_INFERENCE, /* every parameter, and the state inference reads (batch norm's running
                     statistics); any checkpoint (other tools' too, with a note), NaN or
                     infinity a warning */
  CKPT_RESUME,    /* every parameter and every state (optimiser moments); a dlc checkpoint,
                     every value finite */
} CkptUse;

/* Reads path, checks it against m for `use` and copies each tensor to dest[node id] (a PARAM
 * or STATE leaf's values); for inference, a parameter's moving average (NAME.average, from a
 * run with average = ema(d)) in the parameter's place. Every name and shape is checked before anything is copied, so a
 * mismatch changes nothing. Notes and warnings go through diag: a file without dlc checksums,
 * values that are not finite (for inference), a network that differs from the one that saved
 * it (naming the first line of the .net file that changed). 0 with the checkpoint in *out
 * (its metadata, for the caller; dlrt_ckpt_free it), or -1 with "PATH: MESSAGE" in err. */
int model_ckpt_read(const Model *m, const char *path, CkptUse use, float *const *dest, Ckpt *out, char *err,
                    size_t errlen);

/* The metadata a model writes about itself: "format", "model" (the file's name),
 * "graph_hash" (graph_hash of the forward graph), "model_hash" (of the file's text), and
 * "source" (the file's text, when it is at most MAX_SOURCE bytes: what names a changed line). */
enum { MAX_SOURCE = 65536, MODEL_META_MAX = 5 };
typedef struct ModelCkptMeta {
  char graph_hash[24], file_hash[24];
  CkptMeta entry[MODEL_META_MAX];
  int n;
} ModelCkptMeta;
void model_ckpt_meta(const Model *m, ModelCkptMeta *meta);
#endif
