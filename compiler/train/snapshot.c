/* snapshot.c — a Trainer's whole state as a checkpoint (runtime/checkpoint.h): every
 * parameter and optimiser moment by name, and in the metadata the model's own
 * (driver/model_ckpt.h: format, hashes, source) and the training position: the epochs done
 * and the run's length, the steps taken (Adam's t), the RNG state (the next epoch's shuffle),
 * the seed, and early stopping's best validation error and its epoch. Resuming from it
 * continues exactly where the saved run was; every field is checked as it is read. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model_ckpt.h"
#include "snapshot.h"

static bool persistent(const Node *n) { return n->op == OP_PARAM || n->op == OP_STATE; }

int snapshot_save(const Trainer *t, const char *path, int epochs_done, char *err, size_t errlen) {
  const Graph *g = t->m->g;
  const int64_t *off = model_state_offsets(t->m);
  CkptTensor *ts = calloc((size_t)g->len + 1, sizeof *ts);
  if (!ts) dlc_fatal("out of memory");
  int n = 0;
  for (int i = 0; i < g->len; i++) {
    const Node *x = g->nodes[i];
    if (!persistent(x)) continue;
    ts[n] = (CkptTensor){x->name, x->shape.rank, {0}, t->arena + off[i]};
    for (int d = 0; d < x->shape.rank; d++) ts[n].dim[d] = x->shape.dim[d];
    n++;
  }
  char epoch[32], epochs[32], step[32], rng[65], seed[32], best[40], best_epoch[32];
  snprintf(epoch, sizeof epoch, "%d", epochs_done);
  snprintf(epochs, sizeof epochs, "%d", t->m->train.epochs);
  snprintf(step, sizeof step, "%" PRId64, t->step);
  dlrt_rng_to_hex(&t->rng, rng);
  snprintf(seed, sizeof seed, "%llu", t->m->train.seed);
  snprintf(best, sizeof best, "%.17g", t->best_val_error);
  snprintf(best_epoch, sizeof best_epoch, "%d", t->best_epoch);
  ModelCkptMeta mine;
  model_ckpt_meta(t->m, &mine);
  CkptMeta meta[MODEL_META_MAX + 7];
  int n_meta = 0;
  for (int k = 0; k < mine.n; k++) meta[n_meta++] = mine.entry[k];
  meta[n_meta++] = (CkptMeta){"epochs_done", epoch};
  meta[n_meta++] = (CkptMeta){"epochs", epochs};
  meta[n_meta++] = (CkptMeta){"step", step};
  meta[n_meta++] = (CkptMeta){"rng", rng};
  meta[n_meta++] = (CkptMeta){"seed", seed};
  meta[n_meta++] = (CkptMeta){"best_val_error", best};
  meta[n_meta++] = (CkptMeta){"best_epoch", best_epoch};
  int rc = dlrt_ckpt_save(path, ts, n, meta, n_meta, err, errlen);
  free(ts);
  return rc;
}

/* Where each PARAM and STATE leaf lives in t's arena, by node id (malloc'd). */
static float **destinations(const Trainer *t) {
  const Graph *g = t->m->g;
  const int64_t *off = model_state_offsets(t->m);
  float **dest = calloc((size_t)g->len + 1, sizeof *dest);
  if (!dest) dlc_fatal("out of memory");
  for (int i = 0; i < g->len; i++)
    if (persistent(g->nodes[i])) dest[i] = t->arena + off[i];
  return dest;
}

int snapshot_load_for_inference(Trainer *t, const char *path, char *err, size_t errlen) {
  float **dest = destinations(t);
  Ckpt c;
  int rc = model_ckpt_read(t->m, path, CKPT_INFERENCE, dest, &c, err, errlen);
  if (rc == 0) dlrt_ckpt_free(&c);
  free(dest);
  return rc;
}

/* A whole number in [lo, hi] written in decimal, nothing else: "-5", "1e3", "7x" are not. */
static bool whole(const char *s, long long lo, long long hi, long long *out) {
  char *end;
  errno = 0;
  long long v = s && *s && (*s == '-' || (*s >= '0' && *s <= '9')) ? strtoll(s, &end, 10) : 0;
  if (!s || !*s || errno || *end || v < lo || v > hi) return false;
  *out = v;
  return true;
}

/* The training position in c's metadata, every field checked; NULL, or the name of the first
 * field that is missing or cannot be right. */
static const char *read_position(const Ckpt *c, DlrtRng *rng, int64_t *step, SnapshotInfo *info, double *best,
                                 int *best_epoch) {
  long long v;
  if (!whole(dlrt_ckpt_meta(c, "epochs_done"), 0, 100000, &v)) return "epochs_done (a whole number of epochs, 0 or more)";
  info->epochs_done = (int)v;
  const char *epochs = dlrt_ckpt_meta(c, "epochs"); /* (absent from checkpoints of older dlc) */
  if (epochs && (!whole(epochs, 1, 100000, &v) || v < info->epochs_done)) return "epochs (the run's length)";
  info->epochs = epochs ? (int)v : 0;
  if (!whole(dlrt_ckpt_meta(c, "step"), 0, INT64_MAX, &v)) return "step (the steps taken, 0 or more)";
  *step = v;
  if (dlrt_rng_from_hex(rng, dlrt_ckpt_meta(c, "rng") ? dlrt_ckpt_meta(c, "rng") : "") != 0)
    return "rng (64 hex digits of a random generator's state that is not all zero)";
  if (!whole(dlrt_ckpt_meta(c, "seed"), 0, 2147483647, &v)) return "seed";
  info->seed = (unsigned long long)v;
  const char *b = dlrt_ckpt_meta(c, "best_val_error"), *be = dlrt_ckpt_meta(c, "best_epoch");
  if (!b != !be) return "best_val_error and best_epoch (one without the other)";
  if (b) {
    char *end;
    double x = strtod(b, &end);
    if (*end || !(x >= 0 && x <= 1)) return "best_val_error (a fraction from 0 to 1)";
    if (!whole(be, 0, info->epochs_done, &v)) return "best_epoch (at most the epochs done)";
    *best = x;
    *best_epoch = (int)v;
  }
  return NULL;
}

int snapshot_resume(Trainer *t, const char *path, SnapshotInfo *info, char *err, size_t errlen) {
  float **dest = destinations(t);
  float *keep = malloc(sizeof(float) * (size_t)(t->m->state_floats ? t->m->state_floats : 1));
  if (!keep) dlc_fatal("out of memory");
  memcpy(keep, t->arena, sizeof(float) * (size_t)t->m->state_floats); /* to restore if a field is bad */
  Ckpt c;
  int rc = model_ckpt_read(t->m, path, CKPT_RESUME, dest, &c, err, errlen);
  free(dest);
  if (rc == 0) {
    DlrtRng rng;
    int64_t step = 0;
    double best = t->best_val_error;
    int best_epoch = t->best_epoch;
    const char *bad = read_position(&c, &rng, &step, info, &best, &best_epoch);
    if (bad) {
      snprintf(err, errlen, "%s: its metadata has no valid %s; it cannot be resumed from", path, bad);
      memcpy(t->arena, keep, sizeof(float) * (size_t)t->m->state_floats);
      rc = -1;
    } else {
      t->rng = rng;
      t->step = step;
      t->best_val_error = best;
      t->best_epoch = best_epoch;
    }
    dlrt_ckpt_free(&c);
  }
  free(keep);
  return rc;
}
