/* datafile.h — what the data loaders share, inside libdlrt: "PATH: MESSAGE" errors, regular
 * files mapped into memory, a byte source that reads a mapped file raw or through gzip, and
 * labels converted to int32 with their range checked. */
#ifndef DLRT_DATAFILE_H
#define DLRT_DATAFILE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>
#include "dataset.h"
#include "errors.h"


/* DIR/NAME, without doubling a slash DIR already ends with; malloc'd, NULL when out of memory. */
char *data_join(const char *dir, const char *name);

/* A whole regular file, mapped privately: writing to data changes a private copy of the page,
 * never the file. data is NULL for an empty file. */
typedef struct DataMap {
  unsigned char *data;
  size_t size;
} DataMap;

enum { DATA_MISSING = -2 };

/* Maps PATH. Returns 0; DATA_MISSING when it does not exist ("file not found" written); or -1
 * (a directory: "cannot open: Is a directory"; a FIFO, device or socket: "not a regular
 * file", refused without reading, so a FIFO cannot block; unreadable). */
int data_map(const char *path, DataMap *m, char *err, size_t errlen);
/* The same without asking the kernel to read the file ahead: for probes, which read only its
 * header. */
int data_map_lazy(const char *path, DataMap *m, char *err, size_t errlen);
void data_unmap(DataMap *m);

/* A mapped file read front to back, raw or, when it starts with gzip's magic bytes, through
 * zlib. Several gzip members one after another are one stream (as gzip -d reads them);
 * anything else after the last is refused. */
typedef struct DataSource {
  const char *path; /* for messages; not owned */
  char *err;
  size_t errlen;
  DataMap map;
  size_t pos; /* raw: the next byte of map */
  bool gz, gz_ended;
  z_stream z;
} DataSource;

/* Returns 0, DATA_MISSING or -1 as data_map does (data_map_lazy when lazy). */
int source_open(DataSource *s, const char *path, bool lazy, char *err, size_t errlen);
void source_close(DataSource *s);

/* Copies up to n bytes into buf; returns how many (fewer only at the end of the data), or -1
 * after reporting corrupt or truncated gzip data. */
long long source_read(DataSource *s, unsigned char *buf, size_t n);

/* The next n bytes. Raw: *data points into the mapping, nothing copied. Gzip: decompressed
 * into a buffer that grows as data actually arrives (a header claiming terabytes costs at
 * most twice the real size), handed over in *heap for the caller to free. Returns 0; 1 when
 * the data ends after *got bytes (nothing written to err); -1 after reporting an error. */
int source_take(DataSource *s, size_t n, const unsigned char **data, unsigned char **heap, size_t *got);

/* Reads to the end: how many bytes were left, or -1 after reporting an error. */
long long source_rest(DataSource *s);

/* Moves a raw source's mapping into the data set, which then owns it. */
void source_give_map(DataSource *s, DlrtDataset *d);

/* Label encodings: width in bytes, signedness, byte order. */
typedef struct LabelType {
  int size;
  bool is_signed, big_endian;
} LabelType;

/* Converts n labels at src into a malloc'd int32 array, checking each: negative, or not
 * below classes (classes 0: any up to DLRT_MAX_CLASSES - 1, and *classes becomes the largest
 * + 1), is an error naming PATH and the index. */
int data_labels(const unsigned char *src, size_t n, LabelType t, const char *path, int *classes, int32_t **out,
                char *err, size_t errlen);

/* Copies n names (malloc'd, each too) into d as its class names. -1 when out of memory. */
int data_set_names(DlrtDataset *d, const char *const *names, int n);

/* What a probe returns of a loaded data set: its sizes and class names, without pixels or
 * labels (both freed and NULL). */
void data_probe_result(DlrtDataset *d);
#endif
