/* diag.c — located diagnostics with the source line and a caret (and the calls that
 * expanded it, for a place inside a user function); warnings and --Werror; fatal internal
 * errors. */
#include "diag.h"
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const SrcLoc NO_LOC = {NULL, 0, 0, NULL};
static int error_count, warning_count;
static WarningMode warning_mode;
static const CallSite *expansion;
static FILE *out_stream;

FILE *diag_stream(void) { return out_stream ? out_stream : stderr; }
void diag_set_stream(FILE *f) { out_stream = f; }
int diag_error_count(void) { return error_count; }
int diag_warning_count(void) { return warning_count; }
void diag_reset(void) { error_count = warning_count = 0; }
void diag_set_warning_mode(WarningMode mode) { warning_mode = mode; }
WarningMode diag_warning_mode(void) { return warning_mode; }
void diag_set_expansion(const CallSite *site) { expansion = site; }

SrcLoc srcloc_outermost(SrcLoc loc) {
  while (loc.site) loc = loc.site->call;
  return loc;
}

const CallSite *srcloc_outermost_call(SrcLoc loc) {
  const CallSite *outer = NULL;
  for (const CallSite *s = loc.site; s; s = s->call.site) outer = s;
  return outer;
}

int srcloc_depth(SrcLoc loc) {
  int depth = 0;
  for (const CallSite *s = loc.site; s; s = s->call.site) depth++;
  return depth;
}

static SrcFile *srcfile_wrap(const char *name, char *text, long len) {
  SrcFile *f = calloc(1, sizeof *f);
  if (!f) dlc_fatal("out of memory");
  /* A UTF-8 byte-order mark is not part of the program. */
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
    memmove(text, text + 3, (size_t)len - 2);
    len -= 3;
  }
  f->name = strdup(name);
  f->text = text;
  f->len = (int)len;
  return f;
}

SrcFile *srcfile_read(const char *path) {
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    diag_error_plain(path, "cannot open: %s", strerror(errno));
    return NULL;
  }
  char *buf = NULL;
  size_t len = 0, cap = 0, got;
  do {
    if (cap - len < 4096) {
      cap = cap ? 2 * cap : 8192;
      if (cap > (size_t)1 << 30) {
        fclose(fp);
        free(buf);
        diag_error_plain(path, "file is too large for a .net program");
        return NULL;
      }
      char *nb = realloc(buf, cap + 1);
      if (!nb) dlc_fatal("out of memory");
      buf = nb;
    }
    got = fread(buf + len, 1, cap - len, fp);
    len += got;
  } while (got > 0);
  bool failed = ferror(fp);
  fclose(fp);
  if (failed) {
    free(buf);
    diag_error_plain(path, "cannot read (is it a directory?)");
    return NULL;
  }
  buf[len] = 0;
  if (memchr(buf, 0, len)) {
    free(buf);
    diag_error_plain(path, "not a text file (contains a NUL byte)");
    return NULL;
  }
  return srcfile_wrap(path, buf, (long)len);
}

SrcFile *srcfile_from_string(const char *name, const char *text) {
  size_t n = strlen(text);
  char *copy = malloc(n + 1);
  if (!copy) dlc_fatal("out of memory");
  memcpy(copy, text, n + 1);
  return srcfile_wrap(name, copy, (long)n);
}

void srcfile_free(SrcFile *f) {
  if (!f) return;
  free((void *)f->name);
  free((void *)f->text);
  free(f);
}

/* Prints the source line of loc and a caret under its column. Tabs are kept in the caret
 * line's padding so the caret lines up in a terminal. */
int srcfile_line(const SrcFile *f, int line, const char **start) {
  const char *p = f->text, *end = p + f->len;
  for (int l = 1; l < line && p < end; p++)
    if (*p == '\n') l++;
  const char *e = p;
  while (e < end && *e != '\n' && *e != '\r') e++;
  *start = p;
  return (int)(e - p);
}

static void show_line(FILE *o, SrcLoc loc) {
  if (!loc.file || loc.line <= 0) return;
  const char *p;
  int len = srcfile_line(loc.file, loc.line, &p);
  const char *e = p + len;
  fprintf(o, "  %.*s\n  ", len, p);
  for (int i = 1; i < loc.col && p + i - 1 < e; i++) fputc(p[i - 1] == '\t' ? '\t' : ' ', o);
  fputs("^\n", o);
}

/* Notes at the calls that expanded the place just reported: the innermost (which call of
 * the function this is) and the outermost (where the file's top level comes in); the calls
 * between them add little (and a recursion error has 64). */
static void show_calls(FILE *o, const CallSite *site) {
  int depth = 0;
  const CallSite *outer = site;
  for (const CallSite *s = site; s; s = s->call.site) depth++, outer = s;
  for (const CallSite *s = site; s; s = s == outer ? NULL : outer) {
    fprintf(o, "%s:%d:%d: note: in the call of '%s' here", s->call.file->name, s->call.line, s->call.col, s->fn);
    if (s == outer && depth > 2) fprintf(o, " (the outermost of %d nested calls)", depth);
    fputc('\n', o);
    show_line(o, s->call);
  }
}

static void report(SrcLoc loc, const char *kind, const char *tag, const char *fmt, va_list ap) {
  FILE *o = diag_stream();
  if (loc.file)
    fprintf(o, "%s:%d:%d: %s: ", loc.file->name, loc.line, loc.col, kind);
  else
    fprintf(o, "dlc: %s: ", kind);
  vfprintf(o, fmt, ap);
  fprintf(o, "%s\n", tag);
  show_line(o, loc);
  if (strcmp(kind, "note") != 0 && loc.file) show_calls(o, loc.site ? loc.site : expansion);
}

void diag_error(SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report(loc, "error", "", fmt, ap);
  va_end(ap);
  error_count++;
}

void diag_warning(SrcLoc loc, const char *fmt, ...) {
  if (warning_mode == WARNINGS_HIDE) return;
  bool as_error = warning_mode == WARNINGS_AS_ERRORS;
  va_list ap;
  va_start(ap, fmt);
  report(loc, as_error ? "error" : "warning", as_error ? " [--Werror]" : "", fmt, ap);
  va_end(ap);
  warning_count++;
  error_count += as_error;
}

void diag_note(SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report(loc, "note", "", fmt, ap);
  va_end(ap);
}

void diag_error_plain(const char *what, const char *fmt, ...) {
  FILE *o = diag_stream();
  va_list ap;
  va_start(ap, fmt);
  fprintf(o, "%s: error: ", what ? what : "dlc");
  vfprintf(o, fmt, ap);
  fputc('\n', o);
  va_end(ap);
  error_count++;
}

void dlc_fatal(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("dlc: internal error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(EXIT_INTERNAL);
}

void dlc_assert_fail(const char *cond, const char *file, int line) {
  dlc_fatal("assertion '%s' failed at %s:%d", cond, file, line);
}

const char *diag_path_error(char *err) {
  char *sep = strstr(err, ": ");
  if (sep) *sep = 0;
  const char *msg = sep ? sep + 2 : "failed";
  diag_error_plain(err, "%s", msg);
  return msg;
}
