/* scores.h — what a classifier's outputs mean, decided once for every place that shows them:
 * `dlc predict`, `dlc eval`'s --predictions, --metrics and --errors, and the report page.
 * They all print the same number for an image, and say what it is in the same words.
 *
 * The kind follows from the model's `out` and what its loss does with it:
 *  - SCORES_LOGITS: the loss reads `out` through softmax or log_softmax (cross_entropy(out, y)
 *    does), or `out` is a log_softmax: the probabilities are softmax(out);
 *  - SCORES_SOFTMAX: `out` is a softmax: its values are the probabilities, as they are (also
 *    when cross_entropy softmaxes it again, which dlc warns about);
 *  - SCORES_SIGMOID: `out` is a sigmoid per class (as examples/mlp.net's, trained with a sum
 *    of squares): each value is in 0..1 on its own and they need not sum to 1, so they are
 *    scores, not a distribution over the classes;
 *  - SCORES_RAW: any other `out` (a linear or tanh layer trained with a sum of squares,
 *    lenet_paper.net's negated distances): its values as they are, scores.
 * No kind is normalised into something the model was not trained to give. Whatever the kind,
 * the class with the largest score is the one with the largest output: the predicted class,
 * as the test error counts it. */
#ifndef DLC_SCORES_H
#define DLC_SCORES_H
#include <stdbool.h>
#include "driver.h"

typedef enum ScoreKind { SCORES_LOGITS, SCORES_SOFTMAX, SCORES_SIGMOID, SCORES_RAW } ScoreKind;

ScoreKind score_kind(const Model *m);

/* Whether a row's scores are probabilities (a distribution: they sum to 1). */
static inline bool score_is_probability(ScoreKind k) { return k == SCORES_LOGITS || k == SCORES_SOFTMAX; }

/* What a score is, for programs (predict's JSON "scores", eval's metrics): "softmax(out)",
 * "out" (a softmax), "out (sigmoid)", "out (raw)". */
const char *score_name(ScoreKind k);
/* The same for people, one phrase: "probabilities: the softmax of 'out' (its values are
 * logits)", "scores: the values of 'out', a sigmoid per class (...)", ... */
const char *score_text(ScoreKind k);
/* One number's name: "probability" or "score" (the predictions CSV's column, captions). */
const char *score_word(ScoreKind k);

/* The scores of one row of outputs (classes values) into scores (a softmax in double, so
 * that large logits neither overflow nor lose the small classes). */
void score_row(ScoreKind k, const float *out, int classes, float *scores);
#endif
