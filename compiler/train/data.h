/* data.h — the data set a model's train block names, loaded from the data directory. */
#ifndef DLC_DATA_H
#define DLC_DATA_H
#include <stdbool.h>
#include "mnist.h"
#include "settings.h"

/* Where the data sets live: dir if not NULL, else $DLC_DATA, else ./data. */
const char *data_dir(const char *dir);
/* Loads the training and/or test set (either may be NULL) of the data set ts names, from
 * dir; false after reporting a missing or malformed file (with a hint where to get it). */
bool data_load(const TrainSettings *ts, const char *dir, DlrtDataset *train, DlrtDataset *test);
#endif
