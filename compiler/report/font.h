/* font.h — text drawn into RGB images with a built-in 5x7 bitmap font (font.c). */
#ifndef DLC_FONT_H
#define DLC_FONT_H

enum {
  FONT_W = 5,       /* a glyph's pixels, at scale 1 */
  FONT_H = 7,
  FONT_ADVANCE = 6, /* from one glyph to the next: a column between them */
};

/* The width in pixels text takes at scale (each font pixel a scale x scale block). */
int font_width(const char *text, int scale);
/* Draws text with its top left corner at (x, y) into rgb, a w x h image of 3 bytes per
 * pixel, in colour; what falls outside the image is clipped. Returns the width drawn. */
int font_draw(unsigned char *rgb, int w, int h, int x, int y, const char *text, int scale, const unsigned char colour[3]);
#endif
