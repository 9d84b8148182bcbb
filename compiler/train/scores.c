/* scores.c — what a model's outputs mean; see scores.h. */
#include "scores.h"
#include <math.h>
#include <string.h>

/* Whether the forward graph applies softmax or log_softmax to `out` (its loss does). */
static bool read_as_logits(const Model *m) {
  const Node *out = m->sema.out;
  for (int i = 0; i < m->n_forward; i++) {
    const Node *n = m->g->nodes[i];
    if ((n->op == OP_SOFTMAX || n->op == OP_LOG_SOFTMAX) && n->in[0] == out) return true;
  }
  return false;
}

ScoreKind score_kind(const Model *m) {
  DlcOp op = m->sema.out->op;
  if (op == OP_SOFTMAX) return SCORES_SOFTMAX;
  if (op == OP_LOG_SOFTMAX || read_as_logits(m)) return SCORES_LOGITS; /* (softmax of a log_softmax: the same) */
  return op == OP_SIGMOID ? SCORES_SIGMOID : SCORES_RAW;
}

const char *score_name(ScoreKind k) {
  static const char *const names[] = {[SCORES_LOGITS] = "softmax(out)", [SCORES_SOFTMAX] = "out",
                                      [SCORES_SIGMOID] = "out (sigmoid)", [SCORES_RAW] = "out (raw)"};
  return names[k];
}

const char *score_text(ScoreKind k) {
  static const char *const text[] = {
      [SCORES_LOGITS] = "probabilities: the softmax of 'out' (its values are logits)",
      [SCORES_SOFTMAX] = "probabilities: the values of 'out' (a softmax)",
      [SCORES_SIGMOID] = "scores: the values of 'out', a sigmoid per class (each 0..1; they do not sum to 1)",
      [SCORES_RAW] = "scores: the values of 'out' (neither logits nor probabilities)"};
  return text[k];
}

const char *score_word(ScoreKind k) { return score_is_probability(k) ? "probability" : "score"; }

void score_row(ScoreKind k, const float *out, int classes, float *scores) {
  if (k != SCORES_LOGITS) {
    memcpy(scores, out, sizeof(float) * (size_t)classes);
    return;
  }
  double top = out[0], sum = 0;
  for (int c = 1; c < classes; c++) top = out[c] > top ? out[c] : top;
  for (int c = 0; c < classes; c++) sum += exp((double)out[c] - top);
  for (int c = 0; c < classes; c++) scores[c] = (float)(exp((double)out[c] - top) / sum);
}
