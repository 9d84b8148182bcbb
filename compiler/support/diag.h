/* diag.h — source files, locations and diagnostics.
 *
 * Two kinds of failure, kept apart (as QBE's err()/die()):
 *   - the user's: diag_error(loc, ...) prints "FILE:LINE:COL: error: MESSAGE", the source line
 *     and a caret; the caller carries on to find more errors, and the command exits with 1;
 *   - dlc's own bugs: DLC_ASSERT / dlc_fatal print where and exit with 2. Never for user input.
 * And one kind of advice: diag_warning(loc, ...) prints "FILE:LINE:COL: warning: MESSAGE" the
 * same way, counted apart from errors, unless --Werror makes each warning an error.
 *
 * A location inside a user function's body that a call expanded carries that call (and the
 * call's own location carries the call that expanded it, out to the file's top level), so
 * diagnostics, `dlc check`, `dlc profile` and the DWARF line tables can name both places. */
#ifndef DLC_DIAG_H
#define DLC_DIAG_H
#include <stdbool.h>
#include <stdio.h>

typedef struct SrcFile {
  const char *name;  /* as given on the command line */
  const char *text;  /* whole file, NUL-terminated; a UTF-8 BOM is already stripped */
  int len;
  int *line_start;   /* byte offset of each line (0-based index: line 1 first); a line ends
                        with LF, CR LF or a lone CR */
  int n_lines;
} SrcFile;

typedef struct CallSite CallSite;

typedef struct SrcLoc {
  const SrcFile *file; /* NULL: no location (generated or command-line) */
  int line, col;       /* 1-based; col counts bytes */
  const CallSite *site; /* in a user function's body: the call that expanded it; NULL at the
                           top level. Sites live in the graph's arena. */
} SrcLoc;

/* A call of a user function, as sema expands it. */
struct CallSite {
  const char *fn; /* the function */
  SrcLoc def;     /* its name in `def NAME(...)` */
  SrcLoc call;    /* the call; call.site is the call whose expansion made this one, if any */
};

extern const SrcLoc NO_LOC;

/* The place in the file's top-level code that loc comes from: the outermost call that
 * expanded it, or loc itself. */
SrcLoc srcloc_outermost(SrcLoc loc);
/* The outermost call that expanded loc (the one in top-level code), or NULL. */
const CallSite *srcloc_outermost_call(SrcLoc loc);
/* The calls that expanded loc (0 at the top level). */
int srcloc_depth(SrcLoc loc);

/* The whole of a regular file, NUL-terminated (*len its bytes, NULs inside left to the
 * caller), or NULL after reporting "PATH: error: cannot read WHAT: ..." or why it is not
 * read: not a regular file (a FIFO would wait for a writer forever, a device never end) or
 * more than max_bytes. `what` names what the file should be ("a .net program"). */
char *text_file_read(const char *path, const char *what, size_t max_bytes, size_t *len);
/* Reads a source file (a regular file only: a FIFO or a device would block or never end);
 * on failure reports "NAME: error: ..." and returns NULL. */
SrcFile *srcfile_read(const char *path);
/* Wraps text held in memory (tests, generated code); the text is copied. */
SrcFile *srcfile_from_string(const char *name, const char *text);
void srcfile_free(SrcFile *f);
/* The text of a 1-based line (without its line end): its length, and its start in *start.
 * 0 and an empty string past the end. */
int srcfile_line(const SrcFile *f, int line, const char **start);

void diag_error(SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_warning(SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_note(SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An error about something that has no source position: a data file, a flag. */
void diag_error_plain(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for a warning (not counted as an error) and a note: "WHAT: warning: MESSAGE". */
void diag_warning_plain(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_note_plain(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The runtime's errors say "PATH: MESSAGE"; the contract prints "PATH: error: MESSAGE".
 * Reports err so (splitting it in place) and returns the message part. */
const char *diag_path_error(char *err);
int diag_error_count(void);
/* Errors after the first DIAG_MAX_ERRORS are counted but not printed ("too many errors" is,
 * once); analyses may stop early once this is true. */
enum { DIAG_MAX_ERRORS = 100 };
bool diag_too_many(void);
int diag_warning_count(void); /* warnings reported (also those --Werror made errors) */
void diag_reset(void);        /* both counts to 0 */
/* What diag_warning does: report a warning; report an error (--Werror: counted as one, and
 * marked "[--Werror]"); or nothing (a second analysis of a file already warned about). */
typedef enum WarningMode { WARNINGS_SHOW, WARNINGS_AS_ERRORS, WARNINGS_HIDE } WarningMode;
void diag_set_warning_mode(WarningMode mode);
WarningMode diag_warning_mode(void);
/* The call being expanded (sema): errors and warnings at a location without a site of its
 * own are inside this call, and say so. NULL: none. */
void diag_set_expansion(const CallSite *site);
/* Where diagnostics go; stderr unless a test redirects them. */
void diag_set_stream(FILE *f);
FILE *diag_stream(void);

_Noreturn void dlc_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void dlc_assert_fail(const char *cond, const char *file, int line);

#define DLC_ASSERT(c) ((c) ? (void)0 : dlc_assert_fail(#c, __FILE__, __LINE__))
#define DLC_UNREACHABLE() dlc_assert_fail("unreachable", __FILE__, __LINE__)

/* Exit statuses of the command-line contract. */
enum { EXIT_OK = 0, EXIT_USER = 1, EXIT_INTERNAL = 2 };
#endif
