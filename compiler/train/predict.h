/* predict.h — a trained model's answers on new inputs (`dlc predict`): PNG files, folders of
 * them and .npy arrays of images become examples of the model's input (mapped as training
 * mapped its pixels), dlc_forward classifies them in batches, and each output becomes scores
 * per class as scores.h says (probabilities for logits and softmax outputs, the outputs
 * themselves otherwise), the numbers `dlc eval` and the report give the same image. */
#ifndef DLC_PREDICT_H
#define DLC_PREDICT_H
#include "scores.h"
#include "trainer.h"

/* One input example's answer: where it came from and its score per class. */
typedef struct Prediction {
  const char *file; /* the PNG or .npy file */
  int index;        /* the example's index in a .npy file; -1 for a PNG */
  const float *scores; /* one per class, score_row's (valid during the callback) */
} Prediction;

typedef void (*PredictionFn)(void *ctx, const Prediction *p);

/* The inputs, read and checked. */
typedef struct PredictInputs PredictInputs;

/* Reads every input (a PNG file, a folder: its .png files in sorted order, or a .npy file of
 * images) and checks that each fits m's input (the same channels, rows and columns, or as
 * many values for a model whose input is a vector and whose data set's shape is not known).
 * All are read before any is classified, so that a bad one costs no compile and leaves no
 * partial answers. NULL after reporting (naming the file). */
PredictInputs *predict_read(const Model *m, const char *const *inputs, int n_inputs);
/* Classifies them all, in order, calling `each` per example; false after reporting that
 * dlc_forward failed to compile. */
bool predict_run(Trainer *t, const PredictInputs *in, PredictionFn each, void *ctx);
void predict_free(PredictInputs *in);
#endif
