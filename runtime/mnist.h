/* mnist.h — kept for the code that includes it: dlrt_mnist_load and the data set type are
 * declared, with every other loader, in dataset.h. */
#ifndef DLRT_MNIST_H
#define DLRT_MNIST_H
#include "dataset.h"
#endif
