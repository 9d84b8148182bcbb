/* evaluate.h — one inference pass over a data set that keeps what each image got: its label,
 * the predicted class and the probabilities the model gives them; and from these the
 * confusion matrix, the error per class and the worst mistakes. `dlc eval --confusion`,
 * `--predictions` and `--errors` and the HTML report read it; the per-epoch test error stays
 * trainer_error, which counts and keeps nothing.
 *
 * "Probability" is the model's output turned into a distribution over the classes:
 *  - when the loss reads the output through softmax or log_softmax (cross_entropy(out, y)
 *    does), the output is logits, and its softmax is the distribution;
 *  - otherwise the output is taken as scores that are already probability-like (a softmax
 *    output, or sigmoid units trained with a sum of squares, as examples/mlp.net): each
 *    class's share of their sum, negative scores counted as 0 (all 0: the uniform 1/classes).
 *    A softmax output is thus its own probability; sigmoid outputs, which need not sum to 1,
 *    are normalised to.
 * Either way the predicted class is the output's largest (the first, on ties), as for the
 * test error, and it has the largest probability. */
#ifndef DLC_EVALUATE_H
#define DLC_EVALUATE_H
#include <stdbool.h>
#include <stdint.h>
#include "trainer.h"

typedef struct Evaluation {
  int count, classes;   /* images evaluated; classes: the model's outputs */
  bool logits;          /* probabilities are the output's softmax (else its shares) */
  int32_t *label;       /* [count] the true class */
  int32_t *pred;        /* [count] the predicted class */
  float *prob;          /* [count] the probability of the predicted class */
  float *prob_label;    /* [count] ... and of the true class (equal when right) */
  int64_t *confusion;   /* [classes * classes]: row the true class, column the predicted */
  int wrong;
  double error;         /* wrong / count */
} Evaluation;

/* Whether m's output is logits: the forward graph applies softmax or log_softmax to it. */
bool model_output_is_logits(const Model *m);

/* Classifies the first `limit` examples of d (all if limit <= 0) with t's parameters.
 * False after reporting that dlc_forward failed to compile (e is then empty). */
bool evaluate(Trainer *t, const DlrtDataset *d, int limit, Evaluation *e);
void evaluation_free(Evaluation *e);

/* The fraction of class c's images misclassified, and how many there are (*images); NAN
 * when there are none. */
double evaluation_class_error(const Evaluation *e, int c, int64_t *images);

/* The misclassified images in order of the probability the model gave their true class,
 * lowest first (ties: by index): at most max of their indices into idx; returns how many. */
int evaluation_worst(const Evaluation *e, int max, int *idx);
#endif
