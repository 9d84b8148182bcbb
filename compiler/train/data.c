/* data.c — loads the train block's data set: MNIST's four IDX files from DIR/mnist/. */
#include "data.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *data_dir(const char *dir) {
  if (dir) return dir;
  const char *env = getenv("DLC_DATA");
  return env && *env ? env : "data";
}

bool data_load(const TrainSettings *ts, const char *dir, DlrtDataset *train, DlrtDataset *test) {
  (void)ts; /* MNIST is the only data set so far */
  char err[1024];
  if ((train && dlrt_mnist_load(dir, "train", train, err, sizeof err) != 0) ||
      (test && dlrt_mnist_load(dir, "t10k", test, err, sizeof err) != 0)) {
    if (strstr(diag_path_error(err), "not found"))
      fprintf(diag_stream(), "  (fetch MNIST with scripts/fetch-mnist.sh %s, or point --data or DLC_DATA at it)\n", dir);
    if (train) dlrt_dataset_free(train);
    return false;
  }
  return true;
}
