/* names.c — unique names for exported values: ONNX tensor names and Python identifiers.
 * Names come from the .net file where it has them ("c1", "c1.W"); a second use of a name, or
 * one Python cannot take, gets a suffix. Models have hundreds of names, so a linear search
 * is enough. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "export.h"

/* Python's keywords and the names a generated module uses itself. */
static const char *const python_reserved[] = {
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "self", "torch", "F", "x", NULL};

static bool python_ok(const char *s) {
  if (!(isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
  for (const char *p = s; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_')) return false;
  for (const char *const *r = python_reserved; *r; r++)
    if (strcmp(*r, s) == 0) return false;
  return true;
}

static bool taken(const NameSet *s, const char *name) {
  for (int i = 0; i < s->len; i++)
    if (strcmp(s->names[i], name) == 0) return true;
  return false;
}

/* want with every character an identifier cannot hold made '_' ("c1.W" -> "c1_W"). */
static const char *identifier(Arena *a, const char *want) {
  char *id = arena_printf(a, "%s%s", isdigit((unsigned char)want[0]) || !want[0] ? "_" : "", want);
  for (char *p = id; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_')) *p = '_';
  return id;
}

const char *names_unique(NameSet *s, const char *want, bool python) {
  if (python) want = identifier(s->arena, want);
  const char *name = want;
  for (int k = 2; taken(s, name) || (python && !python_ok(name)); k++) name = arena_printf(s->arena, "%s_%d", want, k);
  if (s->len == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 64;
    s->names = realloc(s->names, sizeof *s->names * (size_t)s->cap);
    if (!s->names) dlc_fatal("out of memory");
  }
  name = name == want ? arena_strdup(s->arena, want) : name;
  s->names[s->len++] = name;
  return name;
}

void names_free(NameSet *s) {
  free(s->names);
  s->names = NULL;
  s->len = s->cap = 0;
}
