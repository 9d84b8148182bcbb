/* png.c — PNG as the specification's minimum: signature, IHDR, one zlib-compressed IDAT of
 * filter-0 rows, IEND; each chunk with its CRC (zlib's crc32). */
#include "png.h"
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8),
  p[3] = (unsigned char)v;
}

/* length, type, data, CRC over type and data */
static bool write_chunk(FILE *f, const char *type, const unsigned char *data, uint32_t len) {
  unsigned char head[8], tail[4];
  put_be32(head, len);
  memcpy(head + 4, type, 4);
  uLong crc = crc32(0, head + 4, 4);
  if (len) crc = crc32(crc, data, len);
  put_be32(tail, (uint32_t)crc);
  return fwrite(head, 1, 8, f) == 8 && (len == 0 || fwrite(data, 1, len, f) == len) && fwrite(tail, 1, 4, f) == 4;
}

int dlrt_png_write_gray(const char *path, const unsigned char *pix, int w, int h, char *err, size_t errlen) {
  size_t raw_len = (size_t)h * ((size_t)w + 1);
  unsigned char *raw = malloc(raw_len);
  uLongf packed_len = compressBound((uLong)raw_len);
  unsigned char *packed = malloc(packed_len);
  if (!raw || !packed) {
    free(raw);
    free(packed);
    snprintf(err, errlen, "%s: out of memory", path);
    return -1;
  }
  for (int y = 0; y < h; y++) { /* each row: filter type 0 (none), then its pixels */
    raw[(size_t)y * ((size_t)w + 1)] = 0;
    memcpy(raw + (size_t)y * ((size_t)w + 1) + 1, pix + (size_t)y * (size_t)w, (size_t)w);
  }
  int rc = -1;
  FILE *f = NULL;
  if (compress2(packed, &packed_len, raw, (uLong)raw_len, 9) != Z_OK) {
    snprintf(err, errlen, "%s: compression failed", path);
    goto done;
  }
  if (!(f = fopen(path, "wb"))) {
    snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    goto done;
  }
  static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  unsigned char ihdr[13];
  put_be32(ihdr, (uint32_t)w);
  put_be32(ihdr + 4, (uint32_t)h);
  ihdr[8] = 8;  /* bits per sample */
  ihdr[9] = 0;  /* greyscale */
  ihdr[10] = ihdr[11] = ihdr[12] = 0; /* deflate, adaptive filtering, no interlace */
  bool ok = fwrite(signature, 1, 8, f) == 8 && write_chunk(f, "IHDR", ihdr, 13) &&
            write_chunk(f, "IDAT", packed, (uint32_t)packed_len) && write_chunk(f, "IEND", NULL, 0);
  if (fclose(f) != 0) ok = false;
  if (!ok) snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
  else rc = 0;
done:
  free(raw);
  free(packed);
  return rc;
}
