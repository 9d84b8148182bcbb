/* eval_report.h — what is made of an Evaluation (train/evaluate.h) for people and programs:
 * the confusion matrix as a text table (dlc eval --confusion), the predictions as CSV
 * (--predictions), the evaluation as one JSON object (--metrics), and the worst mistakes as
 * an image grid (--errors, and the HTML report's images). */
#ifndef DLC_EVAL_REPORT_H
#define DLC_EVAL_REPORT_H
#include <stddef.h>
#include <stdio.h>
#include "evaluate.h"

/* How many of the worst mistakes the grid and the report show. */
enum { ERRORS_SHOWN = 40 };

/* Whether d names its classes other than by their indices (MNIST's names are "0" .. "9"). */
bool classes_named(const DlrtDataset *d);
/* Class c as the data set names it ("T-shirt/top"), or its index ("7") when the set has no
 * names; into buf, which is returned. */
const char *class_label(const DlrtDataset *d, int c, char *buf, size_t len);

/* The confusion matrix of e (rows: true class, with its name when classes_named; columns:
 * predicted), each row ending with its images and its error, and a last row for all; what the images are is in `what` ("test"). */
void eval_print_confusion(const Evaluation *e, const DlrtDataset *d, const char *what, FILE *out);

/* "index,label,prediction,probability" (or "...,score" where the scores are not
 * probabilities: scores.h), then a line per image: its index in the set, true and predicted
 * class (numbers), and the score of the predicted class. 0, or -1 with "PATH: MESSAGE"
 * (written whole: runtime/outfile.h). */
int eval_write_predictions(const Evaluation *e, const char *path, char *err, size_t errlen);

/* One JSON object and a newline: model, checkpoint, images, wrong, test_error, scores and
 * probabilities (what the scores are, as dlc predict's JSON says it: score_name and
 * score_is_probability), class_names (when classes_named), confusion (rows: true class) and
 * class_error (null for a class without images). 0, or -1 with "PATH: MESSAGE". */
int eval_write_metrics(const Evaluation *e, const DlrtDataset *d, const char *model, const char *checkpoint,
                       const char *path, char *err, size_t errlen);

/* An RGB image. */
typedef struct RgbImage {
  int w, h;
  unsigned char *pixels; /* w * h * 3 bytes, malloc'd */
} RgbImage;

/* Example k of d as an image of its own size: grey channels as grey, three as RGB, others
 * by their first channel (float pixels 0..1 to 0..255). */
RgbImage dataset_image(const DlrtDataset *d, int k);

/* The worst mistakes of e (at most ERRORS_SHOWN, evaluation_worst's order) in a grid, each
 * image enlarged, its true class under it in green and the predicted class with its score in
 * red, under a line that says what the grid is. */
RgbImage errors_grid(const Evaluation *e, const DlrtDataset *d);
/* errors_grid as a PNG at path. 0, or -1 with "PATH: MESSAGE". */
int eval_write_errors_png(const Evaluation *e, const DlrtDataset *d, const char *path, char *err, size_t errlen);
#endif
