/* html.h — a growing text buffer with what an HTML page needs written into it: escaped text,
 * base64 (for data: URIs). */
#ifndef DLC_HTML_H
#define DLC_HTML_H
#include <stddef.h>

typedef struct Text {
  char *s; /* NUL-terminated; malloc'd */
  size_t len, cap;
} Text;

void text_add(Text *t, const char *s, size_t n);
void text_puts(Text *t, const char *s);
void text_printf(Text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s with &, <, >, " and ' escaped (for element text and quoted attributes). */
void text_escaped(Text *t, const char *s);
/* data (n bytes) in base64 (RFC 4648, with padding). */
void text_base64(Text *t, const unsigned char *data, size_t n);
void text_free(Text *t);
#endif
