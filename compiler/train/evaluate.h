/* evaluate.h — one inference pass over a data set that keeps what each image got: its label,
 * the predicted class and the scores the model gives them (scores.h: probabilities for logits
 * and softmax outputs, the outputs themselves otherwise); and from these the confusion
 * matrix, the error per class and the worst mistakes. `dlc eval --confusion`, `--predictions`
 * and `--errors` and the HTML report read it; the per-epoch test error stays trainer_error,
 * which counts and keeps nothing. The predicted class is the output's largest (the first, on
 * ties), as for the test error, and it has the largest score. */
#ifndef DLC_EVALUATE_H
#define DLC_EVALUATE_H
#include <stdbool.h>
#include <stdint.h>
#include "scores.h"
#include "trainer.h"

typedef struct Evaluation {
  int count, classes;   /* images evaluated; classes: the model's outputs */
  ScoreKind kind;       /* what the scores are */
  int32_t *label;       /* [count] the true class */
  int32_t *pred;        /* [count] the predicted class */
  float *score;         /* [count] the score of the predicted class (score_row's) */
  float *score_label;   /* [count] ... and of the true class (equal when right) */
  int64_t *confusion;   /* [classes * classes]: row the true class, column the predicted */
  int wrong;
  double error;         /* wrong / count */
} Evaluation;

/* Classifies the first `limit` examples of d (all if limit <= 0) with t's parameters.
 * False after reporting that dlc_forward failed to compile (e is then empty). */
bool evaluate(Trainer *t, const DlrtDataset *d, int limit, Evaluation *e);
void evaluation_free(Evaluation *e);

/* The fraction of class c's images misclassified, and how many there are (*images); NAN
 * when there are none. */
double evaluation_class_error(const Evaluation *e, int c, int64_t *images);

/* The misclassified images in order of the score the model gave their true class,
 * lowest first (ties: by index): at most max of their indices into idx; returns how many. */
int evaluation_worst(const Evaluation *e, int max, int *idx);
#endif
