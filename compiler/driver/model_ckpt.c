/* model_ckpt.c — reading a checkpoint into a model by the rules of model_ckpt.h, and the
 * metadata that lets a later run tell which network wrote it. */
#include "model_ckpt.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t text_hash(const SrcFile *f) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (int i = 0; i < f->len; i++) h = (h ^ (unsigned char)f->text[i]) * 1099511628211ull;
  return h;
}

void model_ckpt_meta(const Model *m, ModelCkptMeta *meta) {
  snprintf(meta->graph_hash, sizeof meta->graph_hash, "%016" PRIx64, graph_hash(m->g, m->n_forward));
  snprintf(meta->file_hash, sizeof meta->file_hash, "%016" PRIx64, text_hash(m->file));
  meta->n = 0;
  meta->entry[meta->n++] = (CkptMeta){"format", "dlc"};
  meta->entry[meta->n++] = (CkptMeta){"model", m->file->name};
  meta->entry[meta->n++] = (CkptMeta){"graph_hash", meta->graph_hash};
  meta->entry[meta->n++] = (CkptMeta){"model_hash", meta->file_hash};
  if (m->file->len <= MAX_SOURCE) meta->entry[meta->n++] = (CkptMeta){"source", m->file->text};
}

static bool persistent(const Node *x) { return x->op == OP_PARAM || x->op == OP_STATE; }

static bool same_shape(const CkptTensor *t, Shape s) {
  if (t->rank != s.rank) return false;
  for (int d = 0; d < s.rank; d++)
    if (t->dim[d] != s.dim[d]) return false;
  return true;
}

static bool is_average(const Model *m, const Node *x) {
  for (int i = 0; i < m->n_forward; i++)
    if (m->hyper.average[i] == x) return true;
  return false;
}

/* Every tensor this use needs is there, with this model's shape. */
static int check_tensors(const Model *m, const Ckpt *c, const char *path, CkptUse use, char *err, size_t errlen) {
  const Graph *g = m->g;
  /* the state inference reads (batch norm's running statistics; not optimiser moments) */
  bool *inference_reads = calloc((size_t)g->len + 1, sizeof *inference_reads);
  if (!inference_reads) dlc_fatal("out of memory");
  const Schedule *fwd = &m->fns[FN_FORWARD].sched;
  for (int i = 0; i < fwd->len; i++) inference_reads[fwd->order[i]->id] = true;
  int rc = 0;
  for (int i = 0; i < g->len && rc == 0; i++) {
    const Node *x = g->nodes[i];
    if (!persistent(x)) continue;
    const CkptTensor *t = dlrt_ckpt_tensor(c, x->name);
    bool needed = x->op == OP_PARAM || use == CKPT_RESUME || inference_reads[i];
    if (!t && !needed) continue; /* optimiser moments: inference does without them */
    if (!t) {
      bool avg = m->hyper.average && is_average(m, x);
      snprintf(err, errlen, "%s: has no '%s' of this model%s", path, x->name,
               x->op == OP_PARAM ? " (is it another model's checkpoint?)"
               : avg ? " (it was trained without average = ema(...), so there is no average to go on with)"
               : use == CKPT_RESUME ? " (was it trained with another optimiser?)"
                                    : " (the statistics inference needs: batch norm's)");
      rc = -1;
    } else if (!same_shape(t, x->shape)) {
      snprintf(err, errlen, "%s: has another shape for '%s' of this model", path, x->name);
      rc = -1;
    }
  }
  free(inference_reads);
  return rc;
}

/* The first line where two texts differ (1-based), and each one's text of it, cut to fit. */
static int first_difference(const char *a, const char *b, char *was, char *now, size_t len) {
  int line = 1;
  while (*a || *b) {
    size_t la = strcspn(a, "\r\n"), lb = strcspn(b, "\r\n");
    if (la != lb || strncmp(a, b, la) != 0) {
      snprintf(was, len, "%.*s%s", la > 60 ? 60 : (int)la, a, la > 60 ? "..." : "");
      snprintf(now, len, "%.*s%s", lb > 60 ? 60 : (int)lb, b, lb > 60 ? "..." : "");
      return line;
    }
    a += la + (a[la] == '\r' && a[la + 1] == '\n') + (a[la] != 0);
    b += lb + (b[lb] == '\r' && b[lb + 1] == '\n') + (b[lb] != 0);
    line++;
  }
  return 0;
}

/* A checkpoint of the same names and shapes but another network (relu where it was sigmoid)
 * loads, with a warning naming what changed. */
static void check_origin(const Model *m, const Ckpt *c, const char *path) {
  ModelCkptMeta mine;
  model_ckpt_meta(m, &mine);
  const char *graph = dlrt_ckpt_meta(c, "graph_hash"), *file = dlrt_ckpt_meta(c, "model_hash");
  const char *source = dlrt_ckpt_meta(c, "source");
  bool differs = graph ? strcmp(graph, mine.graph_hash) != 0 : file && strcmp(file, mine.file_hash) != 0;
  if (!differs) return; /* (an edit of comments or spacing changes the file, not the network) */
  char was[80], now[80];
  int line = source ? first_difference(source, m->file->text, was, now, sizeof was) : 0;
  if (line)
    diag_warning_plain(path, "was saved by another version of %s: its line %d was '%s', now '%s'", m->file->name, line, was,
                       now);
  else
    diag_warning_plain(path, "was saved by a network other than what %s describes now (same names and shapes)",
                       m->file->name);
}

/* For inference, a checkpoint's moving averages (average = ema(d): "NAME.average") replace
 * the parameters they average, whether or not the .net file still asks for averaging: they are
 * what training measured its errors with. The model's own averages then hold the same values
 * (the trainer swaps them in for inference), as they do when the checkpoint has none. */
static void use_averages(const Model *m, const Ckpt *c, float *const *dest) {
  const Graph *g = m->g;
  char name[512];
  for (int i = 0; i < g->len; i++) {
    const Node *x = g->nodes[i];
    if (x->op != OP_PARAM || !dest[i]) continue;
    size_t n = sizeof(float) * (size_t)shape_numel(x->shape);
    snprintf(name, sizeof name, "%s.average", x->name);
    const CkptTensor *t = dlrt_ckpt_tensor(c, name);
    if (t && same_shape(t, x->shape)) memcpy(dest[i], t->data, n);
    const Node *a = m->hyper.average && i < m->n_forward ? m->hyper.average[i] : NULL;
    if (a && dest[a->id]) memcpy(dest[a->id], dest[i], n);
  }
}

int model_ckpt_read(const Model *m, const char *path, CkptUse use, float *const *dest, Ckpt *out, char *err,
                    size_t errlen) {
  Ckpt c;
  if (dlrt_ckpt_load(path, &c, err, errlen) != 0) return -1;
  const char *format = dlrt_ckpt_meta(&c, "format");
  bool dlc = format && strcmp(format, "dlc") == 0;
  int rc = -1;
  char msg[512];
  if (use == CKPT_RESUME && !dlc)
    snprintf(err, errlen, "%s: not a dlc checkpoint (no \"format\": \"dlc\" in its metadata), so it has no training position to resume", path);
  else if (check_tensors(m, &c, path, use, err, errlen) == 0)
    rc = 0;
  if (rc == 0 && dlrt_ckpt_check_finite(&c, path, msg, sizeof msg) != 0) {
    if (use == CKPT_RESUME) {
      snprintf(err, errlen, "%s (training cannot continue from it)", msg);
      rc = -1;
    } else {
      char *sep = strstr(msg, ": ");
      diag_warning_plain(path, "%s: its answers may be NaN", sep ? sep + 2 : msg);
    }
  }
  if (rc != 0) {
    dlrt_ckpt_free(&c);
    return -1;
  }
  if (!c.checksummed)
    diag_note_plain(path, "has no dlc checksums (written by another tool?): its values were not verified");
  if (dlc) check_origin(m, &c, path);
  const Graph *g = m->g;
  for (int i = 0; i < g->len; i++) {
    const Node *x = g->nodes[i];
    const CkptTensor *t = persistent(x) ? dlrt_ckpt_tensor(&c, x->name) : NULL;
    if (t) memcpy(dest[i], t->data, sizeof(float) * (size_t)shape_numel(x->shape));
  }
  if (use == CKPT_INFERENCE) use_averages(m, &c, dest);
  *out = c;
  return 0;
}
