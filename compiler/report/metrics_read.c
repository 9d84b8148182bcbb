/* metrics_read.c — a --metrics file read back; see metrics_read.h. */
#include "metrics_read.h"
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diag.h"

void run_metrics_add(RunMetrics *r, const EpochMetrics *e) {
  if (r->n == r->cap) {
    r->cap = r->cap ? 2 * r->cap : 64;
    r->epochs = realloc(r->epochs, sizeof *r->epochs * (size_t)r->cap);
    if (!r->epochs) dlc_fatal("out of memory");
  }
  r->epochs[r->n++] = *e;
}

void run_metrics_free(RunMetrics *r) {
  free(r->epochs);
  *r = (RunMetrics){0};
}

/* A field's number: NAN when absent; false (with why) when present and not a number in
 * [lo, hi]. */
static bool number(json_t *o, const char *key, bool required, double lo, double hi, double *v, char *why, size_t len) {
  json_t *x = json_object_get(o, key);
  *v = NAN;
  if (!x) {
    if (required) snprintf(why, len, "no \"%s\": every epoch's line has it", key);
    return !required;
  }
  if (!json_is_number(x)) {
    snprintf(why, len, "\"%s\" is not a number", key);
    return false;
  }
  *v = json_number_value(x);
  if (!(*v >= lo && *v <= hi)) {
    snprintf(why, len, "\"%s\" is %g, outside %g..%g", key, *v, lo, hi);
    return false;
  }
  return true;
}

/* One line's object as an epoch's metrics (following epoch `prev`, 0: the first line); false
 * with why. */
static bool epoch_of(json_t *o, int prev, EpochMetrics *e, char *why, size_t len) {
  if (!json_is_object(o)) {
    snprintf(why, len, "not a JSON object: each line holds one epoch's {...}");
    return false;
  }
  json_t *epoch = json_object_get(o, "epoch");
  if (!json_is_integer(epoch) || json_integer_value(epoch) < 1 || json_integer_value(epoch) > 100000000) {
    snprintf(why, len, "no \"epoch\" (a whole number from 1): not the metrics of dlc train");
    return false;
  }
  e->epoch = (int)json_integer_value(epoch);
  if (prev && e->epoch != prev + 1) {
    snprintf(why, len, "epoch %d follows epoch %d: the lines of a run are its epochs in order", e->epoch, prev);
    return false;
  }
  return number(o, "train_loss", true, -HUGE_VAL, HUGE_VAL, &e->train_loss, why, len) &&
         number(o, "test_error", true, 0, 1, &e->test_error, why, len) &&
         number(o, "seconds", true, 0, HUGE_VAL, &e->seconds, why, len) &&
         number(o, "images_per_s", true, 0, HUGE_VAL, &e->images_per_s, why, len) &&
         number(o, "val_error", false, 0, 1, &e->val_error, why, len) &&
         number(o, "eval_seconds", false, 0, HUGE_VAL, &e->eval_seconds, why, len) &&
         number(o, "lr", false, 0, HUGE_VAL, &e->lr, why, len);
}

/* Where jansson's error is on a line of n bytes: it gives the position after the token it
 * stopped at, and the token in its message ("... near '\"seconds\"'"); the caret goes under
 * the token's start. */
static int token_column(const json_error_t *jerr, int n) {
  int col = jerr->position;
  const char *near = strstr(jerr->text, "near '"), *end = near ? strrchr(near + 6, '\'') : NULL;
  if (end) col -= (int)(end - (near + 6)) - 1;
  return col < 1 ? 1 : col > n ? n + 1 : col;
}

bool metrics_parse(const char *name, const char *text, size_t len, RunMetrics *out) {
  const char *nul = memchr(text, 0, len);
  if (nul) {
    int line = 1;
    for (const char *p = text; p < nul; p++) line += *p == '\n';
    diag_error_plain(name, "line %d holds a NUL byte: not a metrics file (JSON text, one object per line)", line);
    return false;
  }
  if (len == 0) {
    diag_error_plain(name, "is empty: no epoch to report (dlc train --metrics writes a line per epoch)");
    return false;
  }
  char *copy = strndup(text, len);
  if (!copy) dlc_fatal("out of memory");
  SrcFile *f = srcfile_from_string(name, copy);
  free(copy);
  bool ok = true;
  int prev = 0;
  for (int line = 1; ok && line <= f->n_lines; line++) {
    const char *start;
    int n = srcfile_line(f, line, &start);
    if (n == 0 && line == f->n_lines) break; /* the newline that ends the last line */
    json_error_t jerr;
    json_t *o = json_loadb(start, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    char why[256];
    EpochMetrics e;
    if (!o) {
      int col = token_column(&jerr, n);
      diag_error((SrcLoc){f, line, col, NULL}, "%s: not an epoch's metrics (JSON, one object per line)",
                 n ? jerr.text : "an empty line");
      ok = false;
    } else if (!epoch_of(o, prev, &e, why, sizeof why)) {
      diag_error((SrcLoc){f, line, 1, NULL}, "%s", why);
      ok = false;
    } else {
      run_metrics_add(out, &e);
      prev = e.epoch;
    }
    json_decref(o);
  }
  srcfile_free(f);
  return ok;
}

bool metrics_read(const char *path, RunMetrics *out) {
  size_t len;
  char *text = text_file_read(path, "the metrics (a file dlc train --metrics wrote)", (size_t)1 << 30, &len);
  if (!text) return false;
  bool ok = metrics_parse(path, text, len, out);
  free(text);
  return ok;
}
