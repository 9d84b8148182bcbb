/* diag.c — located diagnostics with the source line and a caret (and the calls that
 * expanded it, for a place inside a user function); warnings and --Werror; fatal internal
 * errors. */
#include "diag.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const SrcLoc NO_LOC = {NULL, 0, 0, NULL};
static int error_count, warning_count;
static WarningMode warning_mode;
static const CallSite *expansion;
static FILE *out_stream;

FILE *diag_stream(void) { return out_stream ? out_stream : stderr; }
void diag_set_stream(FILE *f) { out_stream = f; }
int diag_error_count(void) { return error_count; }
bool diag_too_many(void) { return error_count > DIAG_MAX_ERRORS; }
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
  /* Where each line starts, so that a diagnostic finds its line at once (a file with an
   * error on every one of its lines is reported in linear time). */
  int lines = 1;
  for (long i = 0; i < len; i++) lines += text[i] == '\n' || (text[i] == '\r' && (i + 1 == len || text[i + 1] != '\n'));
  f->line_start = malloc(sizeof(int) * (size_t)lines);
  if (!f->name || !f->line_start) dlc_fatal("out of memory");
  f->line_start[0] = 0;
  f->n_lines = 1;
  for (long i = 0; i < len; i++)
    if (text[i] == '\n' || (text[i] == '\r' && (i + 1 == len || text[i + 1] != '\n'))) f->line_start[f->n_lines++] = (int)i + 1;
  return f;
}

static const char *file_kind(mode_t mode) {
  return S_ISDIR(mode) ? "a directory" : S_ISFIFO(mode) ? "a FIFO" : S_ISCHR(mode) ? "a character device"
       : S_ISBLK(mode) ? "a block device" : S_ISSOCK(mode) ? "a socket" : "not a file";
}

char *text_file_read(const char *path, const char *what, size_t max_bytes, size_t *len) {
  /* Opened without blocking and checked before reading: a FIFO would wait for a writer
   * forever, a device never end. */
  int fd = open(path, O_RDONLY | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    diag_error_plain(path, "cannot read %s: %s", what, strerror(errno));
    if (fd >= 0) close(fd);
    return NULL;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    diag_error_plain(path, "not a regular file (%s): %s must be an ordinary file", file_kind(st.st_mode), what);
    return NULL;
  }
  if ((size_t)st.st_size > max_bytes) {
    close(fd);
    diag_error_plain(path, "is too large for %s (%lld bytes; at most %zu)", what, (long long)st.st_size, max_bytes);
    return NULL;
  }
  /* read to the end, not to st_size: a file that grows while read is read whole up to the limit */
  char *buf = NULL;
  size_t n = 0, cap = 0;
  ssize_t got;
  do {
    if (cap - n < 4096) {
      cap = cap ? 2 * cap : (size_t)st.st_size + 4096;
      char *nb = realloc(buf, cap + 1);
      if (!nb) dlc_fatal("out of memory");
      buf = nb;
    }
    got = read(fd, buf + n, cap - n);
    if (got > 0) n += (size_t)got;
  } while (got > 0 && n <= max_bytes);
  int read_errno = errno;
  close(fd);
  if (got < 0 || n > max_bytes) {
    free(buf);
    if (got < 0) diag_error_plain(path, "cannot read %s: %s", what, strerror(read_errno));
    else diag_error_plain(path, "is too large for %s (more than %zu bytes)", what, max_bytes);
    return NULL;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

SrcFile *srcfile_read(const char *path) {
  size_t len;
  char *buf = text_file_read(path, "a .net program", (size_t)1 << 30, &len);
  if (!buf) return NULL;
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
  free(f->line_start);
  free(f);
}

int srcfile_line(const SrcFile *f, int line, const char **start) {
  if (line < 1 || line > f->n_lines) {
    *start = "";
    return 0;
  }
  const char *p = f->text + f->line_start[line - 1], *end = f->text + f->len, *e = p;
  while (e < end && *e != '\n' && *e != '\r') e++;
  *start = p;
  return (int)(e - p);
}

/* Bounds on what one diagnostic prints: a message (a name in it may be a megabyte long) and
 * the window of the source line shown around the caret. */
enum { MAX_MESSAGE = 1000, LINE_WINDOW = 160 };

/* Prints the source line of loc and a caret under its column; of a long line, only a window
 * around the column, with "..." where it is cut. Tabs are kept in the caret line's padding
 * so the caret lines up in a terminal. */
static void show_line(FILE *o, SrcLoc loc) {
  if (!loc.file || loc.line <= 0) return;
  const char *p;
  int len = srcfile_line(loc.file, loc.line, &p), col = loc.col < 1 ? 1 : loc.col > len + 1 ? len + 1 : loc.col;
  int from = 0, to = len;
  if (len > LINE_WINDOW) {
    from = col - 1 - LINE_WINDOW / 2 > 0 ? col - 1 - LINE_WINDOW / 2 : 0;
    to = from + LINE_WINDOW < len ? from + LINE_WINDOW : len;
  }
  const char *cut_left = from > 0 ? "..." : "", *cut_right = to < len ? "..." : "";
  fprintf(o, "  %s%.*s%s\n  %s", cut_left, to - from, p + from, cut_right, from > 0 ? "   " : "");
  for (int i = from + 1; i < col; i++) fputc(p[i - 1] == '\t' ? '\t' : ' ', o);
  fputs("^\n", o);
}

/* The message, cut to MAX_MESSAGE bytes, then the tag ("" or " [--Werror]"). */
static void print_message(FILE *o, const char *tag, const char *fmt, va_list ap) {
  char msg[MAX_MESSAGE + 4];
  int n = vsnprintf(msg, MAX_MESSAGE + 1, fmt, ap);
  fputs(msg, o);
  if (n > MAX_MESSAGE) fputs("...", o);
  fprintf(o, "%s\n", tag);
}

/* Whether this diagnostic is printed: none after "too many errors". */
static bool quiet(void) { return error_count > DIAG_MAX_ERRORS; }

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
  print_message(o, tag, fmt, ap);
  show_line(o, loc);
  if (strcmp(kind, "note") != 0 && loc.file) show_calls(o, loc.site ? loc.site : expansion);
}

/* Counts an error; false if it is one too many to print (the first such says so). */
static bool count_error(void) {
  error_count++;
  if (error_count == DIAG_MAX_ERRORS + 1)
    fprintf(diag_stream(), "dlc: error: too many errors (%d); the rest are not shown\n", DIAG_MAX_ERRORS);
  return !quiet();
}

void diag_error(SrcLoc loc, const char *fmt, ...) {
  if (!count_error()) return;
  va_list ap;
  va_start(ap, fmt);
  report(loc, "error", "", fmt, ap);
  va_end(ap);
}

void diag_warning(SrcLoc loc, const char *fmt, ...) {
  if (warning_mode == WARNINGS_HIDE || quiet()) return;
  bool as_error = warning_mode == WARNINGS_AS_ERRORS;
  warning_count++;
  if (as_error && !count_error()) return;
  va_list ap;
  va_start(ap, fmt);
  report(loc, as_error ? "error" : "warning", as_error ? " [--Werror]" : "", fmt, ap);
  va_end(ap);
}

void diag_note(SrcLoc loc, const char *fmt, ...) {
  if (quiet()) return;
  va_list ap;
  va_start(ap, fmt);
  report(loc, "note", "", fmt, ap);
  va_end(ap);
}

void diag_error_plain(const char *what, const char *fmt, ...) {
  if (!count_error()) return;
  FILE *o = diag_stream();
  va_list ap;
  va_start(ap, fmt);
  fprintf(o, "%s: error: ", what ? what : "dlc");
  print_message(o, "", fmt, ap);
  va_end(ap);
}

static void plain(const char *what, const char *kind, const char *fmt, va_list ap) {
  FILE *o = diag_stream();
  fprintf(o, "%s: %s: ", what ? what : "dlc", kind);
  print_message(o, "", fmt, ap);
}

void diag_warning_plain(const char *what, const char *fmt, ...) {
  if (quiet()) return;
  va_list ap;
  va_start(ap, fmt);
  plain(what, "warning", fmt, ap);
  va_end(ap);
}

void diag_note_plain(const char *what, const char *fmt, ...) {
  if (quiet()) return;
  va_list ap;
  va_start(ap, fmt);
  plain(what, "note", fmt, ap);
  va_end(ap);
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
