/* preview.h — training images as the train block's distortions change them, as one grid
 * (`dlc augment-preview` writes it as a PNG): grey, or in colour for RGB images. */
#ifndef DLC_PREVIEW_H
#define DLC_PREVIEW_H
#include "driver.h"
#include "dataset.h"

enum { PREVIEW_IMAGES = 8, PREVIEW_VARIANTS = 8 };

typedef struct PreviewGrid {
  int w, h;              /* pixels */
  int channels;          /* 1: grey; 3: RGB (a set of three channels) */
  int images, variants;  /* rows, and distortions beside each original */
  unsigned char *pixels; /* w x h, row-major, channels interleaved, 0 .. 255; malloc'd */
} PreviewGrid;

/* The first PREVIEW_IMAGES images of d, each followed by PREVIEW_VARIANTS distortions of it
 * as training draws them (the streams of epochs 0, 1, ... at the image's index). */
PreviewGrid preview_grid(const Model *m, const DlrtDataset *d);
#endif
