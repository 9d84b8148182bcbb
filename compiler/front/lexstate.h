/* lexstate.h — what the reentrant scanner carries between tokens. */
#ifndef DLC_LEXSTATE_H
#define DLC_LEXSTATE_H
#include "arena.h"
#include "diag.h"

struct LexState {
  const SrcFile *file;
  Arena *arena;
  int line, col;         /* where the next token starts */
  int end_line, end_col;  /* just past the last token (where end of file is reported) */
};

/* Reports a character that starts no token. */
void lex_bad_char(struct LexState *s, SrcLoc loc, unsigned char c);
/* The value of the string literal text[0..len) (quotes included) in the arena, its escapes
 * \" and \\ undone; NULL after reporting a control character or another escape in it. */
const char *lex_string(struct LexState *s, SrcLoc loc, const char *text, size_t len);
/* Reports a string that its line ends inside. */
void lex_unterminated(struct LexState *s, SrcLoc loc);
#endif
