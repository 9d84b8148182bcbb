/* idx.h — inside libdlrt: what mnist.c needs from idx.c to read MNIST-style directories,
 * whose files are held to what their names promise (idx3-ubyte images, idx1-ubyte labels). */
#ifndef DLRT_IDX_H
#define DLRT_IDX_H
#include <stdbool.h>
#include "dataset.h"

/* Whether DIR holds PREFIX-images-idx3-ubyte (raw or .gz). */
bool idx_dir_has_set(const char *dir, const char *prefix);

/* Loads DIR/PREFIX-images-idx3-ubyte and DIR/PREFIX-labels-idx1-ubyte, each raw or .gz (the
 * raw name first), into *out (zeroed by the caller); a count mismatch is reported against
 * DIR. classes as for dlrt_idx_load; probe: as dlrt_idx_probe, without pixels or labels. 0,
 * or -1 with "PATH: MESSAGE" (and *out for the caller to free). */
int idx_load_dir(const char *dir, const char *prefix, int classes, bool probe, DlrtDataset *out, char *err,
                 size_t errlen);
#endif
