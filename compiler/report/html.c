/* html.c — see html.h. */
#include "html.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diag.h"

static void reserve(Text *t, size_t more) {
  if (t->len + more + 1 <= t->cap) return;
  t->cap = 2 * (t->len + more + 1) + 256;
  t->s = realloc(t->s, t->cap);
  if (!t->s) dlc_fatal("out of memory");
}

void text_add(Text *t, const char *s, size_t n) {
  reserve(t, n);
  memcpy(t->s + t->len, s, n);
  t->len += n;
  t->s[t->len] = 0;
}

void text_puts(Text *t, const char *s) { text_add(t, s, strlen(s)); }

void text_printf(Text *t, const char *fmt, ...) {
  va_list ap, again;
  va_start(ap, fmt);
  va_copy(again, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) dlc_fatal("text_printf: bad format");
  reserve(t, (size_t)n);
  vsnprintf(t->s + t->len, (size_t)n + 1, fmt, again);
  va_end(again);
  t->len += (size_t)n;
}

void text_escaped(Text *t, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&': text_puts(t, "&amp;"); break;
    case '<': text_puts(t, "&lt;"); break;
    case '>': text_puts(t, "&gt;"); break;
    case '"': text_puts(t, "&quot;"); break;
    case '\'': text_puts(t, "&#39;"); break;
    default: text_add(t, s, 1);
    }
  }
}

void text_base64(Text *t, const unsigned char *data, size_t n) {
  static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  reserve(t, (n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)data[i] << 16 | (i + 1 < n ? (unsigned)data[i + 1] << 8 : 0) | (i + 2 < n ? data[i + 2] : 0);
    char quad[4] = {digits[v >> 18 & 63], digits[v >> 12 & 63], i + 1 < n ? digits[v >> 6 & 63] : '=',
                    i + 2 < n ? digits[v & 63] : '='};
    text_add(t, quad, 4);
  }
}

void text_free(Text *t) {
  free(t->s);
  *t = (Text){0};
}
