/* evaluate.c — a classification pass that keeps each image's outcome; see evaluate.h. */
#define _GNU_SOURCE /* qsort_r */
#include "evaluate.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

bool model_output_is_logits(const Model *m) {
  const Node *out = m->sema.out;
  for (int i = 0; i < m->n_forward; i++) {
    const Node *n = m->g->nodes[i];
    if ((n->op == OP_SOFTMAX || n->op == OP_LOG_SOFTMAX) && n->in[0] == out) return true;
  }
  return false;
}

/* The probabilities of one output row into p (in double: a softmax of large logits). */
static void row_probabilities(const float *out, int classes, bool logits, double *p) {
  double sum = 0;
  if (logits) {
    float top = out[0];
    for (int c = 1; c < classes; c++) top = out[c] > top ? out[c] : top;
    for (int c = 0; c < classes; c++) sum += p[c] = exp((double)out[c] - top);
  } else {
    for (int c = 0; c < classes; c++) sum += p[c] = out[c] > 0 ? out[c] : 0;
  }
  for (int c = 0; c < classes; c++) p[c] = sum > 0 ? p[c] / sum : 1.0 / classes;
}

typedef struct Collect {
  Evaluation *e;
  const DlrtDataset *d;
  double *p; /* one row's probabilities */
} Collect;

static void collect(void *ctx, int first, int n, const float *out) {
  Collect *c = ctx;
  Evaluation *e = c->e;
  int classes = e->classes;
  for (int i = 0; i < n; i++) {
    const float *row = out + (size_t)i * (size_t)classes;
    int k = first + i, label = c->d->labels[k], pred = dlrt_argmax(row, classes);
    row_probabilities(row, classes, e->logits, c->p);
    e->label[k] = label;
    e->pred[k] = pred;
    e->prob[k] = (float)c->p[pred];
    /* (a label the model has no output for is a mistake of probability 0) */
    bool known = label >= 0 && label < classes;
    e->prob_label[k] = known ? (float)c->p[label] : 0;
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
  *e = (Evaluation){.count = count, .classes = classes, .logits = model_output_is_logits(t->m)};
  e->label = zeroed((size_t)count, sizeof *e->label);
  e->pred = zeroed((size_t)count, sizeof *e->pred);
  e->prob = zeroed((size_t)count, sizeof *e->prob);
  e->prob_label = zeroed((size_t)count, sizeof *e->prob_label);
  e->confusion = zeroed((size_t)classes * (size_t)classes, sizeof *e->confusion);
  Collect c = {e, d, zeroed((size_t)classes, sizeof(double))};
  bool ok = trainer_infer(t, d, count, collect, &c);
  free(c.p);
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
  free(e->prob);
  free(e->prob_label);
  free(e->confusion);
  *e = (Evaluation){0};
}

double evaluation_class_error(const Evaluation *e, int c, int64_t *images) {
  int64_t all = 0, right = e->confusion[(size_t)c * (size_t)e->classes + (size_t)c];
  for (int k = 0; k < e->classes; k++) all += e->confusion[(size_t)c * (size_t)e->classes + (size_t)k];
  if (images) *images = all;
  return all ? (double)(all - right) / (double)all : NAN;
}

static int by_true_probability(const void *a, const void *b, void *ctx) {
  const Evaluation *e = ctx;
  int i = *(const int *)a, j = *(const int *)b;
  float pi = e->prob_label[i], pj = e->prob_label[j];
  return pi < pj ? -1 : pi > pj ? 1 : (i > j) - (i < j);
}

int evaluation_worst(const Evaluation *e, int max, int *idx) {
  int *wrong = zeroed((size_t)e->wrong, sizeof *wrong), n = 0;
  for (int k = 0; k < e->count; k++)
    if (e->pred[k] != e->label[k]) wrong[n++] = k;
  qsort_r(wrong, (size_t)n, sizeof *wrong, by_true_probability, (void *)e);
  int shown = n < max ? n : max;
  memcpy(idx, wrong, sizeof *idx * (size_t)shown);
  free(wrong);
  return shown;
}
