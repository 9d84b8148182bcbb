/* errors.h — how libdlrt reports a failure: a one-line "PATH: MESSAGE" in the caller's err
 * buffer and -1, the caller deciding how to show it (dlc prints "PATH: error: MESSAGE"). */
#ifndef DLRT_ERRORS_H
#define DLRT_ERRORS_H
#include <stddef.h>

/* Writes "PATH: MESSAGE" into err (when err and errlen are non-zero); returns -1. */
int dlrt_fail(char *err, size_t errlen, const char *path, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#endif
