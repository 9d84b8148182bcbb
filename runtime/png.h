/* png.h — a minimal PNG writer (8-bit greyscale), enough for dlc to show images. */
#ifndef DLRT_PNG_H
#define DLRT_PNG_H
#include <stddef.h>

/* Writes the w x h greyscale image pix (row-major, 0 black .. 255 white) to path. 0, or -1
 * with "PATH: MESSAGE" in err. */
int dlrt_png_write_gray(const char *path, const unsigned char *pix, int w, int h, char *err, size_t errlen);
#endif
