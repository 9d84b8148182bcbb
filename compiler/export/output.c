/* output.c — writing an exported file: never over one of the command's inputs, and never
 * half: the bytes go to a temporary file beside the destination, renamed over it once they
 * are all written, so a failure leaves whatever was there before. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "export.h"

/* Whether a and b name the same existing file. */
static bool same_file(const char *a, const char *b) {
  struct stat sa, sb;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int export_write_file(const char *path, const void *data, size_t len, const char *const *inputs, int n_inputs,
                      char *err, size_t errlen) {
  for (int i = 0; i < n_inputs; i++)
    if (inputs[i] && same_file(path, inputs[i])) {
      snprintf(err, errlen, "%s: is an input of this command (%s); choose another output", path, inputs[i]);
      return -1;
    }
  size_t tmp_len = strlen(path) + sizeof ".tmp-XXXXXX";
  char *tmp = malloc(tmp_len);
  if (!tmp) dlc_fatal("out of memory");
  snprintf(tmp, tmp_len, "%s.tmp-XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    free(tmp);
    return -1;
  }
  FILE *f = fdopen(fd, "wb");
  bool ok = f && fwrite(data, 1, len, f) == len;
  ok = (f ? fclose(f) == 0 : (close(fd), false)) && ok;
  /* mkstemp makes the file 0600; an exported model is an ordinary file (umask applies) */
  mode_t mask = umask(0);
  umask(mask);
  ok = ok && chmod(tmp, 0666 & ~mask) == 0 && rename(tmp, path) == 0;
  if (!ok) {
    snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    unlink(tmp);
  }
  free(tmp);
  return ok ? 0 : -1;
}
