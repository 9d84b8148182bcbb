/* checkpoint_header.c — reading a safetensors header: a JSON object of tensor entries and one
 * "__metadata__" object of strings. The reader understands only what such a header holds
 * (objects, strings, arrays of whole numbers) and rejects everything else with a message,
 * never a crash. Then the checks that turn a damaged or foreign file into an error naming
 * the tensor: no tensor name or metadata key twice, F32 only, at most CKPT_MAX_DIMS
 * dimensions, and data_offsets that fit the shapes and tile the data exactly (no overlap, no
 * gap, nothing after the last tensor), as the safetensors format itself requires. */
#include "checkpoint_internal.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Parser {
  const char *start, *p, *end;
  char *arena; /* strings are unescaped into here, NUL-terminated */
  char *why;
  size_t whylen;
  bool failed;
} Parser;

/* Records the first problem (later ones are its consequences); returns false. */
static bool __attribute__((format(printf, 2, 3))) bad(Parser *ps, const char *fmt, ...) {
  if (!ps->failed && ps->why && ps->whylen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->why, ps->whylen, fmt, ap);
    va_end(ap);
  }
  ps->failed = true;
  return false;
}

static bool malformed(Parser *ps, const char *expected) {
  return bad(ps, "malformed header: %s expected at byte %td of it", expected, ps->p - ps->start);
}

static void skip_ws(Parser *ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\t' || *ps->p == '\r')) ps->p++;
}

/* Consumes c (after whitespace) if it is next. */
static bool accept(Parser *ps, char c) {
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == c) return ps->p++, true;
  return false;
}

static bool expect(Parser *ps, char c) {
  char what[8];
  snprintf(what, sizeof what, "'%c'", c);
  return accept(ps, c) || malformed(ps, what);
}

/* ---- strings ---- */

static bool hex4(Parser *ps, unsigned *v) {
  *v = 0;
  for (int i = 0; i < 4; i++) {
    if (ps->p >= ps->end) return malformed(ps, "a \\u escape");
    char h = *ps->p++;
    int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
    if (d < 0) return malformed(ps, "a hex digit");
    *v = *v * 16 + (unsigned)d;
  }
  return true;
}

static char *put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) {
    *o++ = (char)cp;
  } else if (cp < 0x800) {
    *o++ = (char)(0xC0 | cp >> 6);
    *o++ = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *o++ = (char)(0xE0 | cp >> 12);
    *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
    *o++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *o++ = (char)(0xF0 | cp >> 18);
    *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
    *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
    *o++ = (char)(0x80 | (cp & 0x3F));
  }
  return o;
}

/* \uXXXX (a surrogate pair: two of them) as UTF-8; the backslash and 'u' are consumed. A
 * NUL is refused: names are C strings, and one cut short would be another name. */
static bool unicode_escape(Parser *ps, char **o) {
  unsigned cp, low;
  if (!hex4(ps, &cp)) return false;
  if (cp >= 0xD800 && cp < 0xDC00) {
    if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') return malformed(ps, "a low surrogate");
    ps->p += 2;
    if (!hex4(ps, &low)) return false;
    if (low < 0xDC00 || low > 0xDFFF) return malformed(ps, "a low surrogate");
    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
  } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
    return malformed(ps, "a high surrogate before this one");
  }
  if (cp == 0) return bad(ps, "a string in the header holds \\u0000");
  *o = put_utf8(*o, cp);
  return true;
}

/* A JSON string into *out (in the arena). Its unescaped form is never longer than its
 * quoted one, so an arena the header's size holds all of them. */
static bool string(Parser *ps, char **out) {
  if (!expect(ps, '"')) return false;
  char *o = ps->arena;
  while (ps->p < ps->end && *ps->p != '"') {
    char c = *ps->p++;
    if ((unsigned char)c < 0x20) return bad(ps, "malformed header: a control character inside a string at byte %td", ps->p - 1 - ps->start);
    if (c != '\\') {
      *o++ = c;
      continue;
    }
    if (ps->p >= ps->end) break;
    c = *ps->p++;
    switch (c) {
    case '"': case '\\': case '/': *o++ = c; break;
    case 'b': *o++ = '\b'; break;
    case 'f': *o++ = '\f'; break;
    case 'n': *o++ = '\n'; break;
    case 'r': *o++ = '\r'; break;
    case 't': *o++ = '\t'; break;
    case 'u':
      if (!unicode_escape(ps, &o)) return false;
      break;
    default: return malformed(ps, "a valid escape");
    }
  }
  if (!expect(ps, '"')) return false;
  *o++ = 0;
  *out = ps->arena;
  ps->arena = o;
  return true;
}

/* ---- numbers ---- */

/* A whole number, no sign, fraction, exponent or leading zero (safetensors writes none). */
static bool integer(Parser *ps, int64_t *v) {
  skip_ws(ps);
  const char *start = ps->p;
  int64_t x = 0;
  while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
    if (x > (INT64_MAX - 9) / 10) return bad(ps, "malformed header: a number too large at byte %td", start - ps->start);
    x = x * 10 + (*ps->p++ - '0');
  }
  if (ps->p == start) return malformed(ps, "a whole number");
  if (*start == '0' && ps->p - start > 1) return malformed(ps, "a number without a leading zero");
  *v = x;
  return true;
}

/* [int, ...]: the first max into v, all of them counted in *count. */
static bool int_array(Parser *ps, int64_t *v, int max, int *count) {
  *count = 0;
  if (!expect(ps, '[')) return false;
  if (accept(ps, ']')) return true;
  do {
    int64_t x = 0;
    if (!integer(ps, &x)) return false;
    if (*count < max) v[*count] = x;
    ++*count;
  } while (accept(ps, ','));
  return expect(ps, ']');
}

/* ---- entries ---- */

typedef struct Entry {
  CkptTensor t;
  int64_t begin, end;
  int order; /* in the header: ties sort as they were written */
} Entry;

typedef struct Entries {
  Entry *e;
  int n, cap;
} Entries;

static bool metadata(Parser *ps, Ckpt *c, int *mcap) {
  if (!expect(ps, '{')) return false;
  if (accept(ps, '}')) return true;
  do {
    char *k, *v;
    if (!string(ps, &k) || !expect(ps, ':')) return false;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p != '"') return bad(ps, "metadata key '%s' holds something other than a string", k);
    if (!string(ps, &v)) return false;
    if (c->n_meta == *mcap) {
      CkptMeta *m = realloc(c->meta, sizeof *m * (size_t)(*mcap = *mcap ? *mcap * 2 : 16));
      if (!m) return bad(ps, "out of memory");
      c->meta = m;
    }
    c->meta[c->n_meta++] = (CkptMeta){k, v};
  } while (accept(ps, ','));
  return expect(ps, '}');
}

/* One field of a tensor entry; seen counts dtype, shape, data_offsets to catch repeats. */
static bool tensor_field(Parser *ps, Entry *en, int seen[3]) {
  const char *name = en->t.name;
  char *field;
  if (!string(ps, &field) || !expect(ps, ':')) return false;
  int which = strcmp(field, "dtype") == 0 ? 0 : strcmp(field, "shape") == 0 ? 1 : strcmp(field, "data_offsets") == 0 ? 2 : -1;
  if (which < 0) return bad(ps, "tensor '%s' has an unknown field '%s'", name, field);
  if (seen[which]++) return bad(ps, "tensor '%s' has its %s twice", name, field);
  if (which == 0) {
    char *dtype;
    if (!string(ps, &dtype)) return false;
    if (strcmp(dtype, "F32") != 0) return bad(ps, "tensor '%s' has dtype %s; dlc reads F32 only", name, dtype);
  } else if (which == 1) {
    if (!int_array(ps, en->t.dim, CKPT_MAX_DIMS, &en->t.rank)) return false;
    if (en->t.rank > CKPT_MAX_DIMS)
      return bad(ps, "tensor '%s' has %d dimensions; dlc reads at most %d", name, en->t.rank, CKPT_MAX_DIMS);
  } else {
    int64_t off[2];
    int k;
    if (!int_array(ps, off, 2, &k)) return false;
    if (k != 2) return bad(ps, "tensor '%s' has %d data_offsets, not 2", name, k);
    en->begin = off[0];
    en->end = off[1];
  }
  return true;
}

/* A tensor entry: its fields, then whether its byte range fits its shape and the file. */
static bool tensor(Parser *ps, char *name, Entries *es, int64_t data_bytes) {
  Entry en = {{name, 0, {0}, NULL}, 0, 0, es->n};
  int seen[3] = {0};
  if (!expect(ps, '{')) return false;
  if (!accept(ps, '}')) {
    do
      if (!tensor_field(ps, &en, seen)) return false;
    while (accept(ps, ','));
    if (!expect(ps, '}')) return false;
  }
  static const char *const fields[3] = {"dtype", "shape", "data_offsets"};
  for (int i = 0; i < 3; i++)
    if (!seen[i]) return bad(ps, "tensor '%s' lacks its %s", name, fields[i]);
  int64_t bytes = ckpt_tensor_bytes(en.t.rank, en.t.dim);
  if (bytes < 0) return bad(ps, "tensor '%s' is too large to address", name);
  if (en.end < en.begin)
    return bad(ps, "tensor '%s' has data_offsets [%lld, %lld], which run backwards", name, (long long)en.begin, (long long)en.end);
  if (en.end - en.begin != bytes)
    return bad(ps, "tensor '%s' has data_offsets [%lld, %lld] (%lld bytes) for a shape of %lld bytes", name,
               (long long)en.begin, (long long)en.end, (long long)(en.end - en.begin), (long long)bytes);
  if (en.end > data_bytes)
    return bad(ps, "tensor '%s' ends at byte %lld of the data, past the end of the file (%lld bytes of data): is it truncated?",
               name, (long long)en.end, (long long)data_bytes);
  if (es->n == es->cap) {
    Entry *m = realloc(es->e, sizeof *m * (size_t)(es->cap = es->cap ? es->cap * 2 : 16));
    if (!m) return bad(ps, "out of memory");
    es->e = m;
  }
  es->e[es->n++] = en;
  return true;
}

/* The top-level object: tensor entries and at most one "__metadata__", in any order. */
static bool header(Parser *ps, Ckpt *c, Entries *es, int64_t data_bytes) {
  int mcap = 0;
  bool have_meta = false;
  if (!expect(ps, '{')) return false;
  if (!accept(ps, '}')) {
    do {
      char *key;
      if (!string(ps, &key) || !expect(ps, ':')) return false;
      if (strcmp(key, "__metadata__") == 0) {
        if (have_meta) return bad(ps, "__metadata__ appears twice");
        have_meta = true;
        if (!metadata(ps, c, &mcap)) return false;
      } else if (!tensor(ps, key, es, data_bytes)) {
        return false;
      }
    } while (accept(ps, ','));
    if (!expect(ps, '}')) return false;
  }
  skip_ws(ps); /* safetensors pads the header with spaces */
  if (ps->p != ps->end) return bad(ps, "the header has bytes after its JSON object (at byte %td)", ps->p - ps->start);
  return true;
}

/* ---- whole-header checks ---- */

typedef struct Named {
  const char *name;
} Named;

static int by_name(const void *a, const void *b) { return strcmp(((const Named *)a)->name, ((const Named *)b)->name); }

/* The first string that occurs twice among n, or NULL. */
static const char *first_repeat(const char *const *names, int n, bool *oom) {
  Named *s = malloc(sizeof *s * (size_t)(n ? n : 1));
  if (!s) return *oom = true, NULL;
  for (int i = 0; i < n; i++) s[i].name = names[i];
  qsort(s, (size_t)n, sizeof *s, by_name);
  const char *twice = NULL;
  for (int i = 1; i < n && !twice; i++)
    if (strcmp(s[i - 1].name, s[i].name) == 0) twice = s[i].name;
  free(s);
  return twice;
}

static int by_offsets(const void *a, const void *b) {
  const Entry *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return x->order - y->order;
}

/* In offset order, each tensor must start where the previous one ended, the first at 0 and
 * the last ending at the end of the file (the safetensors rule: no byte is in two tensors
 * or in none). Sorting, not header order: other writers list tensors in their own order. */
static bool layout(Parser *ps, Entries *es, int64_t data_bytes) {
  Entry *s = malloc(sizeof *s * (size_t)(es->n ? es->n : 1));
  if (!s) return bad(ps, "out of memory");
  if (es->n) memcpy(s, es->e, sizeof *s * (size_t)es->n);
  qsort(s, (size_t)es->n, sizeof *s, by_offsets);
  int64_t at = 0;
  for (int i = 0; i < es->n && !ps->failed; i++) {
    if (s[i].begin < at)
      bad(ps, "tensors '%s' and '%s' overlap (bytes %lld to %lld of the data)", s[i - 1].t.name, s[i].t.name,
          (long long)s[i].begin, (long long)(s[i].end < at ? s[i].end : at));
    else if (s[i].begin > at)
      bad(ps, "bytes %lld to %lld of the data belong to no tensor (a gap before tensor '%s')", (long long)at,
          (long long)s[i].begin, s[i].t.name);
    at = s[i].end;
  }
  free(s);
  if (!ps->failed && at < data_bytes)
    bad(ps, "the last %lld bytes of the file belong to no tensor (trailing data after the last one)", (long long)(data_bytes - at));
  return !ps->failed;
}

static bool unique_names(Parser *ps, const Ckpt *c, const Entries *es) {
  int n = es->n > c->n_meta ? es->n : c->n_meta;
  const char **names = malloc(sizeof *names * (size_t)(n ? n : 1));
  if (!names) return bad(ps, "out of memory");
  bool oom = false;
  for (int i = 0; i < es->n; i++) names[i] = es->e[i].t.name;
  const char *twice = first_repeat(names, es->n, &oom);
  if (twice) bad(ps, "tensor '%s' appears twice", twice);
  for (int i = 0; i < c->n_meta; i++) names[i] = c->meta[i].key;
  twice = ps->failed ? NULL : first_repeat(names, c->n_meta, &oom);
  if (twice) bad(ps, "metadata key '%s' appears twice", twice);
  free(names);
  if (oom) bad(ps, "out of memory");
  return !ps->failed;
}

int ckpt_parse_header(Ckpt *c, const char *json, size_t len, char *arena, char *data, int64_t data_bytes,
                      char *why, size_t whylen) {
  Parser ps = {json, json, json + len, arena, why, whylen, false};
  Entries es = {NULL, 0, 0};
  bool ok = header(&ps, c, &es, data_bytes) && unique_names(&ps, c, &es) && layout(&ps, &es, data_bytes);
  if (ok && es.n > 0) {
    c->tensors = malloc(sizeof *c->tensors * (size_t)es.n);
    if (!c->tensors) ok = bad(&ps, "out of memory");
  }
  for (int i = 0; ok && i < es.n; i++) {
    c->tensors[i] = es.e[i].t;
    c->tensors[i].data = data + es.e[i].begin;
  }
  if (ok) c->n = es.n;
  free(es.e);
  return ok ? 0 : -1;
}
