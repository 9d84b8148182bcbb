/* data.h — the data set a model's train block describes: found (the named sets in the data
 * directory, files where the file says), loaded or only probed, checked against the model's
 * input and target, split when the test set is held out of the training files; how its
 * pixels become inputs; and the names of its classes. */
#ifndef DLC_DATA_H
#define DLC_DATA_H
#include <stdbool.h>
#include "batch.h"
#include "dataset.h"
#include "driver.h"

/* Where the named data sets live: dir if not NULL, else $DLC_DATA, else ./data. */
const char *data_dir(const char *dir);

/* The set in a few words, for messages: "mnist", "npy(\"data/x.npy\")" (its training files). */
const char *data_what(const DataSpec *d, char *buf, size_t len);

/* Loads the training and/or the test set (either may be NULL) of m's data set (the named
 * sets from dir) and checks them against m: the shape of an example and the classes against
 * the input and target (reported at `data =`, sema_check_data), the test set against the
 * training set. Without a test set the last `holdout` of the training files' examples are the
 * test set: *train keeps the rest (owning the memory of both: free train last, or alone).
 * False after reporting (a missing or malformed file, with a hint where to get a named set). */
bool data_load(const Model *m, const char *dir, DlrtDataset *train, DlrtDataset *test);

/* What `dlc check` says of the data set, from the headers alone. */
typedef struct DataSummary {
  bool found;          /* a named set may be missing: then only its shape is known */
  char why[2048];      /* ... and why it was not found */
  DataShape shape;     /* classes: the model's for files (labels are checked against them) */
  DlrtPixelType type;
  int train, test;     /* examples */
  int held_out;        /* > 0: the test set is the last held_out examples of the training files */
} DataSummary;

/* Probes m's data set and checks it against m as data_load would; false after reporting a
 * set of files that is missing, malformed or does not fit (a named set that is missing is
 * no error: its shape is known). */
bool data_probe(const Model *m, const char *dir, DataSummary *s);

/* The shape of m's training examples: a named set's, or its training files' (probed, quietly);
 * false when they are not there to probe. */
bool data_train_shape(const Model *m, DataShape *out);

/* How pixels become inputs: pixels = range(lo, hi), then normalize(mean:, std:). Points
 * into ts. */
DlrtPixelMap data_pixel_map(const TrainSettings *ts);

/* The name of each of the model's classes (as many as the target has), for everything that
 * prints a class: the file's classes = [...], else the data set's (a named set's own, an
 * image folder's folders), else the class numbers "0", "1", ... */
typedef struct ClassNames {
  int n;
  char **name; /* n names, each malloc'd */
} ClassNames;

/* d: a loaded training set whose names to use, or NULL (then an image folder's classes are
 * listed from the folder, if it is there). */
ClassNames class_names_new(const Model *m, const DlrtDataset *d);
void class_names_free(ClassNames *c);
#endif
