/* png.c — see png.h. libpng reports errors by calling back and jumping out (longjmp), so each
 * read or write keeps what it allocated in a context the caller frees, and the code between
 * setjmp and the jump keeps no state in locals. */
#include "png.h"
#include "outfile.h"
#include <errno.h>
#include <libpng16/png.h> /* libpng's png.h by its full name: runtime/png.h (this API) shadows <png.h> */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "datafile.h"

typedef struct PngCtx {
  const char *path;
  const char *what; /* message prefix for libpng's errors: "invalid PNG", "cannot write" */
  char *err;
  size_t errlen;
  DataMap map; /* reading: the file, and how far libpng has read it */
  size_t pos;
  unsigned char *pixels;
  png_bytep *rows;
} PngCtx;

static void on_error(png_structp png, png_const_charp msg) {
  PngCtx *c = png_get_error_ptr(png);
  dlrt_fail(c->err, c->errlen, c->path, "%s: %s", c->what, msg);
  png_longjmp(png, 1);
}

/* Warnings (an ancillary chunk libpng dislikes, an odd colour profile) do not affect the
 * pixels dlc reads: they are not worth a line on stderr per image. */
static void on_warning(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg;
}

static void read_mapped(png_structp png, png_bytep out, size_t n) {
  PngCtx *c = png_get_io_ptr(png);
  if (c->map.size - c->pos < n) png_error(png, "the file ends early (truncated)");
  memcpy(out, c->map.data + c->pos, n);
  c->pos += n;
}

/* ---- reading ---- */

/* Refuses what dlc does not read, and asks libpng for 8-bit grey or RGB samples. */
static int set_transforms(PngCtx *c, png_structp png, png_infop info, DlrtImage *img) {
  png_uint_32 w, h;
  int depth, color;
  png_get_IHDR(png, info, &w, &h, &depth, &color, NULL, NULL, NULL);
  if (color & PNG_COLOR_MASK_ALPHA || png_get_valid(png, info, PNG_INFO_tRNS))
    return dlrt_fail(c->err, c->errlen, c->path, "has an alpha channel (transparency); dlc reads grey or RGB images");
  if (w > DLRT_MAX_SIDE || h > DLRT_MAX_SIDE || (size_t)w * h * 3 > DLRT_MAX_EXAMPLE)
    return dlrt_fail(c->err, c->errlen, c->path, "%ux%u pixels is too large (sides up to %d)", (unsigned)w,
                     (unsigned)h, DLRT_MAX_SIDE);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (depth == 16) png_set_scale_16(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  *img = (DlrtImage){(int)w, (int)h, png_get_channels(png, info), NULL};
  return 0;
}

static int decode(PngCtx *c, png_structp png, png_infop info, DlrtImage *img) {
  if (setjmp(png_jmpbuf(png))) return -1;
  png_set_read_fn(png, c, read_mapped);
  png_read_info(png, info);
  if (set_transforms(c, png, info, img) != 0) return -1;
  size_t stride = (size_t)img->width * (size_t)img->channels;
  if (png_get_rowbytes(png, info) != stride) png_error(png, "unexpected row size after the transformations");
  c->pixels = malloc(stride * (size_t)img->height);
  c->rows = malloc(sizeof *c->rows * (size_t)img->height);
  if (!c->pixels || !c->rows) png_error(png, "out of memory");
  for (int y = 0; y < img->height; y++) c->rows[y] = c->pixels + (size_t)y * stride;
  png_read_image(png, c->rows);
  png_read_end(png, NULL); /* the rest of the file: checksums of chunks after the pixels */
  return 0;
}

int dlrt_png_read(const char *path, DlrtImage *img, char *err, size_t errlen) {
  memset(img, 0, sizeof *img);
  PngCtx c = {.path = path, .what = "invalid PNG", .err = err, .errlen = errlen};
  if (data_map(path, &c.map, err, errlen) != 0) return -1;
  int rc = -1;
  if (c.map.size < 8 || png_sig_cmp(c.map.data, 0, 8) != 0) {
    dlrt_fail(err, errlen, path, "not a PNG file");
  } else {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) dlrt_fail(err, errlen, path, "out of memory");
    else rc = decode(&c, png, info, img);
    png_destroy_read_struct(&png, &info, NULL);
  }
  free(c.rows);
  data_unmap(&c.map);
  if (rc == 0) img->pixels = c.pixels;
  else free(c.pixels), memset(img, 0, sizeof *img);
  return rc;
}

void dlrt_image_free(DlrtImage *img) {
  free(img->pixels);
  memset(img, 0, sizeof *img);
}

/* ---- writing ---- */

static int encode(png_structp png, png_infop info, FILE *f, const unsigned char *pix, int w, int h,
                  int channels) {
  if (setjmp(png_jmpbuf(png))) return -1;
  png_init_io(png, f);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < h; y++) png_write_row(png, pix + (size_t)y * (size_t)w * (size_t)channels);
  png_write_end(png, NULL);
  return 0;
}

int dlrt_png_write(const char *path, const unsigned char *pix, int w, int h, int channels, char *err, size_t errlen) {
  if (w < 1 || h < 1 || w > DLRT_MAX_SIDE || h > DLRT_MAX_SIDE || (channels != 1 && channels != 3))
    return dlrt_fail(err, errlen, path, "cannot write a %dx%d image of %d channels as PNG (grey or RGB)", w, h, channels);
  DlrtOutFile out; /* written whole, never over anything but a regular file */
  if (dlrt_outfile_open(&out, path, "a PNG image", err, errlen) != 0) return -1;
  PngCtx c = {.path = path, .what = "cannot write", .err = err, .errlen = errlen};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  int rc = -1;
  if (!info) dlrt_fail(err, errlen, path, "out of memory");
  else rc = encode(png, info, out.f, pix, w, h, channels);
  png_destroy_write_struct(&png, &info);
  if (rc == 0) return dlrt_outfile_commit(&out, err, errlen);
  dlrt_outfile_abort(&out); /* what was written is not an image */
  return rc;
}

int dlrt_png_encode(const unsigned char *pix, int w, int h, int channels, unsigned char **data, size_t *len, char *err,
                    size_t errlen) {
  *data = NULL;
  *len = 0;
  if (w < 1 || h < 1 || w > DLRT_MAX_SIDE || h > DLRT_MAX_SIDE || (channels != 1 && channels != 3))
    return dlrt_fail(err, errlen, "png", "cannot encode a %dx%d image of %d channels as PNG (grey or RGB)", w, h, channels);
  char *buf = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&buf, &size);
  if (!f) return dlrt_fail(err, errlen, "png", "out of memory");
  PngCtx c = {.path = "png", .what = "cannot encode", .err = err, .errlen = errlen};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  int rc = -1;
  if (!info) dlrt_fail(err, errlen, "png", "out of memory");
  else rc = encode(png, info, f, pix, w, h, channels);
  png_destroy_write_struct(&png, &info);
  if (fclose(f) != 0 && rc == 0) rc = dlrt_fail(err, errlen, "png", "out of memory");
  if (rc != 0) {
    free(buf);
    return -1;
  }
  *data = (unsigned char *)buf;
  *len = size;
  return 0;
}

int dlrt_png_write_gray(const char *path, const unsigned char *pix, int w, int h, char *err, size_t errlen) {
  return dlrt_png_write(path, pix, w, h, 1, err, errlen);
}
