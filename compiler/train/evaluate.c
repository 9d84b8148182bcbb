/* evaluate.c — a classification pass that keeps each image's outcome; see evaluate.h. */
#define _GNU_SOURCE /* qsort_r */
#include "evaluate.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct Collect {
  Evaluation *e;
  const DlrtDataset *d;
  float *scores; /* one row's */
} Collect;

static void collect(void *ctx, int first, int n, const float *out) {
  Collect *c = ctx;
  Evaluation *e = c->e;
  int classes = e->classes;
  for (int i = 0; i < n; i++) {
    const float *row = out + (size_t)i * (size_t)classes;
    int k = first + i, label = c->d->labels[k], pred = dlrt_argmax(row, classes);
    score_row(e->kind, row, classes, c->scores);
    e->label[k] = label;
    e->pred[k] = pred;
    e->score[k] = c->scores[pred];
    /* (a label the model has no output for is the worst mistake) */
    bool known = label >= 0 && label < classes;
    e->score_label[k] = known ? c->scores[label] : -INFINITY;
    if (known) e->confusion[(size_t)label * (size_t)classes + (size_t)pred]++;
    e->wrong += pred != label;
  }
}

static void *zeroed(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p) dlc_fatal("out of memory");
  return p;
}

bool evaluate(Trainer *t, const DlrtDataset *d, int limit, Evaluation *e) {
  int count = trainer_examples(d, limit), classes = t->classes;
  *e = (Evaluation){.count = count, .classes = classes, .kind = score_kind(t->m)};
  e->label = zeroed((size_t)count, sizeof *e->label);
  e->pred = zeroed((size_t)count, sizeof *e->pred);
  e->score = zeroed((size_t)count, sizeof *e->score);
  e->score_label = zeroed((size_t)count, sizeof *e->score_label);
  e->confusion = zeroed((size_t)classes * (size_t)classes, sizeof *e->confusion);
  Collect c = {e, d, zeroed((size_t)classes, sizeof(float))};
  bool ok = trainer_infer(t, d, count, collect, &c);
  free(c.scores);
  if (!ok) {
    evaluation_free(e);
    return false;
  }
  e->error = count ? (double)e->wrong / count : 0;
  return true;
}

void evaluation_free(Evaluation *e) {
  free(e->label);
  free(e->pred);
  free(e->score);
  free(e->score_label);
  free(e->confusion);
  *e = (Evaluation){0};
}

double evaluation_class_error(const Evaluation *e, int c, int64_t *images) {
  int64_t all = 0, right = e->confusion[(size_t)c * (size_t)e->classes + (size_t)c];
  for (int k = 0; k < e->classes; k++) all += e->confusion[(size_t)c * (size_t)e->classes + (size_t)k];
  if (images) *images = all;
  return all ? (double)(all - right) / (double)all : NAN;
}

static int by_true_score(const void *a, const void *b, void *ctx) {
  const Evaluation *e = ctx;
  int i = *(const int *)a, j = *(const int *)b;
  float pi = e->score_label[i], pj = e->score_label[j];
  return pi < pj ? -1 : pi > pj ? 1 : (i > j) - (i < j);
}

int evaluation_worst(const Evaluation *e, int max, int *idx) {
  int *wrong = zeroed((size_t)e->wrong, sizeof *wrong), n = 0;
  for (int k = 0; k < e->count; k++)
    if (e->pred[k] != e->label[k]) wrong[n++] = k;
  qsort_r(wrong, (size_t)n, sizeof *wrong, by_true_score, (void *)e);
  int shown = n < max ? n : max;
  memcpy(idx, wrong, sizeof *idx * (size_t)shown);
  free(wrong);
  return shown;
}
