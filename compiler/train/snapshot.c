/* snapshot.c — a Trainer's whole state as a checkpoint (runtime/checkpoint.h): every
 * parameter and optimiser moment by name, and in the metadata the epochs done, the steps
 * taken (Adam's t), the RNG state (the next epoch's shuffle), the seed, a hash of the .net
 * file and early stopping's best validation error and its epoch. Resuming from it continues exactly where the saved run was. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "checkpoint.h"
#include "snapshot.h"

/* FNV-1a of the .net file: recorded, to tell which file a checkpoint came from. */
static uint64_t file_hash(const SrcFile *f) {
  uint64_t h = 1469598103934665603ull;
  for (int i = 0; i < f->len; i++) h = (h ^ (unsigned char)f->text[i]) * 1099511628211ull;
  return h;
}

static bool persistent(const Node *n) { return n->op == OP_PARAM || n->op == OP_STATE; }

int snapshot_save(const Trainer *t, const char *path, int epochs_done, char *err, size_t errlen) {
  const Graph *g = t->m->g;
  const int64_t *off = model_state_offsets(t->m);
  CkptTensor *ts = calloc((size_t)g->len, sizeof *ts);
  if (!ts) dlc_fatal("out of memory");
  int n = 0;
  for (int i = 0; i < g->len; i++) {
    const Node *x = g->nodes[i];
    if (!persistent(x)) continue;
    ts[n] = (CkptTensor){x->name, x->shape.rank, {0}, t->arena + off[i]};
    for (int d = 0; d < x->shape.rank; d++) ts[n].dim[d] = x->shape.dim[d];
    n++;
  }
  char epoch[32], step[32], rng[80], seed[32], hash[32], best[40], best_epoch[32];
  snprintf(epoch, sizeof epoch, "%d", epochs_done);
  snprintf(step, sizeof step, "%" PRId64, t->step);
  snprintf(rng, sizeof rng, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, t->rng.s[0], t->rng.s[1],
           t->rng.s[2], t->rng.s[3]);
  snprintf(seed, sizeof seed, "%llu", t->m->train.seed);
  snprintf(hash, sizeof hash, "%016" PRIx64, file_hash(t->m->file));
  snprintf(best, sizeof best, "%.17g", t->best_val_error);
  snprintf(best_epoch, sizeof best_epoch, "%d", t->best_epoch);
  CkptMeta meta[] = {{"format", "dlc"},        {"epochs_done", epoch}, {"step", step},
                     {"rng", rng},             {"seed", seed},         {"model_hash", hash},
                     {"model", t->m->file->name}, {"best_val_error", best}, {"best_epoch", best_epoch}};
  int rc = dlrt_ckpt_save(path, ts, n, meta, (int)(sizeof meta / sizeof *meta), err, errlen);
  free(ts);
  return rc;
}

int snapshot_load(Trainer *t, const char *path, bool with_state, int *epochs_done, char *err, size_t errlen) {
  Ckpt c;
  if (dlrt_ckpt_load(path, &c, err, errlen) != 0) return -1;
  const Graph *g = t->m->g;
  const int64_t *off = model_state_offsets(t->m);
  int rc = -1;
  const char *format = dlrt_ckpt_meta(&c, "format");
  if (!format || strcmp(format, "dlc") != 0) {
    snprintf(err, errlen, "%s: not a dlc checkpoint (no \"format\": \"dlc\" in its metadata)", path);
    goto done;
  }
  /* Every parameter (and, to resume, every optimiser moment) by name and shape first, so a
   * mismatch changes nothing. */
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < g->len; i++) {
      const Node *x = g->nodes[i];
      if (x->op != OP_PARAM && x->op != OP_STATE) continue;
      const CkptTensor *ct = dlrt_ckpt_tensor(&c, x->name);
      /* Inference takes state it finds (a batch norm's running statistics) and needs none. */
      if (x->op == OP_STATE && !with_state && !ct) continue;
      bool same = ct && ct->rank == x->shape.rank;
      for (int d = 0; same && d < ct->rank; d++) same = ct->dim[d] == x->shape.dim[d];
      if (!same) {
        snprintf(err, errlen, "%s: %s '%s' of this model%s", path, ct ? "has another shape for" : "has no",
                 x->name, x->op == OP_STATE ? " (was it trained with another optimiser?)" : " (is it another model?)");
        goto done;
      }
      if (pass == 1) memcpy(t->arena + off[i], ct->data, sizeof(float) * (size_t)shape_numel(x->shape));
    }
  const char *epoch = dlrt_ckpt_meta(&c, "epochs_done"), *step = dlrt_ckpt_meta(&c, "step");
  const char *rng = dlrt_ckpt_meta(&c, "rng");
  if (with_state) {
    DlrtRng r;
    if (!epoch || !step || !rng || strlen(rng) != 64 ||
        sscanf(rng, "%16" SCNx64 "%16" SCNx64 "%16" SCNx64 "%16" SCNx64, &r.s[0], &r.s[1], &r.s[2], &r.s[3]) != 4) {
      snprintf(err, errlen, "%s: its metadata lacks the training position (epochs_done, step, rng)", path);
      goto done;
    }
    t->rng = r;
    t->step = strtoll(step, NULL, 10);
    *epochs_done = atoi(epoch);
    /* early stopping's position (absent from checkpoints of runs without validation) */
    const char *best = dlrt_ckpt_meta(&c, "best_val_error"), *best_epoch = dlrt_ckpt_meta(&c, "best_epoch");
    if (best && best_epoch) {
      t->best_val_error = strtod(best, NULL);
      t->best_epoch = atoi(best_epoch);
    }
  }
  rc = 0;
done:
  dlrt_ckpt_free(&c);
  return rc;
}
