/* metrics_log.c — the --metrics file; see metrics_log.h. */
#include "metrics_log.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "diag.h"
#include "outfile.h"

static void add(MetricsLog *l, const char *s, size_t n) {
  if (l->len + n + 1 > l->cap) {
    l->cap = 2 * (l->len + n + 1);
    l->text = realloc(l->text, l->cap);
    if (!l->text) dlc_fatal("out of memory");
  }
  memcpy(l->text + l->len, s, n);
  l->len += n;
  l->text[l->len] = 0;
}

static bool rewrite(MetricsLog *l) {
  char err[1024];
  if (dlrt_outfile_write(l->path, "metrics", l->text ? l->text : "", l->len, err, sizeof err) == 0) return true;
  diag_path_error(err);
  return false;
}

/* The file's lines of epochs up to keep, in l; false after reporting a file that is not a
 * metrics log of consecutive epochs (from any first one: a run may have begun its log when
 * resumed). */
static bool keep_epochs(MetricsLog *l, const char *text, int keep) {
  int line = 1, want = 0;
  for (const char *p = text; *p && (want == 0 || want <= keep); line++) {
    const char *end = strchr(p, '\n');
    int epoch = 0, used = 0;
    bool ok = end && sscanf(p, "{\"epoch\":%d,%n", &epoch, &used) == 1 && used > 0 && epoch >= 1;
    if (ok && want == 0) want = epoch;
    if (!ok || epoch != want) {
      diag_error_plain(l->path, "line %d is not the metrics of %s%s; not cutting a file that is not this run's log "
                       "(give --metrics another file)", line, want ? "the next epoch" : "an epoch",
                       end ? "" : " (it ends without a newline)");
      return false;
    }
    if (epoch > keep) break;
    add(l, p, (size_t)(end - p + 1));
    p = end + 1;
    want++;
  }
  return true;
}

bool metrics_start(MetricsLog *l, const char *path, bool resumed, int epochs_done) {
  *l = (MetricsLog){path, NULL, 0, 0};
  if (!resumed) return rewrite(l); /* a fresh run: an empty log from the start */
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (errno == ENOENT) return rewrite(l);
    diag_error_plain(path, "cannot read the metrics to continue them: %s", strerror(errno));
    return false;
  }
  char *text = NULL;
  size_t len = 0, got;
  char buf[65536];
  while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
    text = realloc(text, len + got + 1);
    if (!text) dlc_fatal("out of memory");
    memcpy(text + len, buf, got);
    len += got;
  }
  bool ok = !ferror(f);
  fclose(f);
  if (!ok) diag_error_plain(path, "cannot read the metrics to continue them");
  if (text) text[len] = 0;
  ok = ok && keep_epochs(l, text ? text : "", epochs_done) && rewrite(l);
  free(text);
  return ok;
}

bool metrics_append(MetricsLog *l, const char *line) {
  add(l, line, strlen(line));
  add(l, "\n", 1);
  return rewrite(l);
}

void metrics_free(MetricsLog *l) {
  free(l->text);
  *l = (MetricsLog){0};
}
