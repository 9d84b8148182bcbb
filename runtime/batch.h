/* batch.h — turning examples of a data set into the float rows a compiled model is fed. */
#ifndef DLRT_BATCH_H
#define DLRT_BATCH_H
#include "mnist.h"

/* Fills x (n x rows*cols; pixel values 0..255 mapped linearly to lo..hi) and, if y is not
 * NULL, y (n x classes, one-hot) with the examples idx[0..n) of d. */
void dlrt_fill_batch(const DlrtDataset *d, const int *idx, int n, int classes, float lo, float hi, float *x,
                     float *y);

/* Fills y (n x classes) with the one-hot labels of the examples idx[0..n) of d. */
void dlrt_fill_labels(const DlrtDataset *d, const int *idx, int n, int classes, float *y);

/* Index of the largest of v[0..len) (the first, on ties). */
int dlrt_argmax(const float *v, int len);
#endif
