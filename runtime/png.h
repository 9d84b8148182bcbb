/* png.h — PNG files through libpng: reading 8-bit grey or RGB images (what image folders
 * hold) and writing them (augment-preview's grids, dlc eval --errors), to a file or to memory
 * (the HTML report's images). */
#ifndef DLRT_PNG_H
#define DLRT_PNG_H
#include <stddef.h>

typedef struct DlrtImage {
  int width, height;
  int channels;          /* 1: grey, 3: RGB */
  unsigned char *pixels; /* height rows of width * channels bytes, channels interleaved (RGBRGB...) as
                            PNG stores them; malloc'd */
} DlrtImage;

/* Reads PATH (a regular file) as 8-bit grey or RGB: palettes become RGB, 1/2/4-bit grey
 * becomes 8-bit, 16-bit samples are scaled to 8 bits (rounded); sample values are taken as
 * stored (no gamma correction). An image with an alpha channel or a transparent colour is
 * refused. 0, or -1 with "PATH: MESSAGE" and *img zeroed. */
int dlrt_png_read(const char *path, DlrtImage *img, char *err, size_t errlen);

/* Frees the pixels and zeroes *img; safe on a zeroed image. */
void dlrt_image_free(DlrtImage *img);

/* Writes the w x h image pix (rows of w * channels bytes, channels interleaved; channels 1 or
 * 3) to PATH as an 8-bit grey or RGB PNG. 0, or -1 with "PATH: MESSAGE" (a partly written
 * file is removed). */
int dlrt_png_write(const char *path, const unsigned char *pix, int w, int h, int channels, char *err, size_t errlen);

/* The same PNG in memory (an HTML page's data: URI): *data, malloc'd, of *len bytes. 0, or -1
 * with "png: MESSAGE" and *data NULL. */
int dlrt_png_encode(const unsigned char *pix, int w, int h, int channels, unsigned char **data, size_t *len, char *err,
                    size_t errlen);

/* dlrt_png_write of a greyscale image (0 black .. 255 white). */
int dlrt_png_write_gray(const char *path, const unsigned char *pix, int w, int h, char *err, size_t errlen);
#endif
