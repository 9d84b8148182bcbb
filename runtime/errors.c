/* errors.c — see errors.h. */
#include "errors.h"
#include <stdarg.h>
#include <stdio.h>

int dlrt_fail(char *err, size_t errlen, const char *path, const char *fmt, ...) {
  if (!err || !errlen) return -1;
  int n = snprintf(err, errlen, "%s: ", path);
  if (n < 0 || (size_t)n >= errlen) return -1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
  va_end(ap);
  return -1;
}
