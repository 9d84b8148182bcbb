/* suggest.c — nearest names for "did you mean ...?" and name lists for messages; see
 * suggest.h. Names are short (identifiers, option names), so the distance table is small. */
#include "suggest.h"
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

enum { MAX_NAME = 64 }; /* longer words are not compared: nothing valid is that long */

static bool same_letter(char a, char b) { return tolower((unsigned char)a) == tolower((unsigned char)b); }

static int min3(int a, int b, int c) { return a < b ? (a < c ? a : c) : (b < c ? b : c); }

int suggest_distance(const char *a, const char *b) {
  int n = (int)strlen(a), m = (int)strlen(b);
  if (n > MAX_NAME || m > MAX_NAME) return n > m ? n : m;
  int d[MAX_NAME + 1][MAX_NAME + 1];
  for (int i = 0; i <= n; i++) d[i][0] = i;
  for (int j = 0; j <= m; j++) d[0][j] = j;
  for (int i = 1; i <= n; i++)
    for (int j = 1; j <= m; j++) {
      int cost = same_letter(a[i - 1], b[j - 1]) ? 0 : 1;
      d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && same_letter(a[i - 1], b[j - 2]) && same_letter(a[i - 2], b[j - 1]) &&
          d[i - 2][j - 2] + 1 < d[i][j])
        d[i][j] = d[i - 2][j - 2] + 1; /* two letters swapped */
    }
  return d[n][m];
}

/* Whether the shorter of a and b (at least three letters) starts or is inside the longer. */
static bool contains_other(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  const char *longer = la >= lb ? a : b, *shorter = la >= lb ? b : a;
  size_t ls = la >= lb ? lb : la, ll = la >= lb ? la : lb;
  if (ls < 3) return false;
  for (size_t i = 0; i + ls <= ll; i++) {
    size_t k = 0;
    while (k < ls && same_letter(longer[i + k], shorter[k])) k++;
    if (k == ls) return true;
  }
  return false;
}

const char *suggest_nearest(const char *word, const char *const *names, int n) {
  const char *best = NULL;
  int best_score = 0;
  size_t lw = strlen(word);
  for (int i = 0; i < n; i++) {
    if (!names[i]) continue;
    size_t ln = strlen(names[i]), longer = lw > ln ? lw : ln;
    int d = suggest_distance(word, names[i]), allowed = (int)(longer / 3), score;
    if (d <= allowed) score = d;
    else if (contains_other(word, names[i])) score = MAX_NAME + d; /* after every near spelling */
    else continue;
    if (!best || score < best_score) best = names[i], best_score = score;
  }
  return best;
}

const char *suggest_hint(const char *word, const char *const *names, int n, const char *suffix, char *buf,
                         size_t len) {
  const char *near = suggest_nearest(word, names, n);
  if (near) snprintf(buf, len, "; did you mean '%s%s'?", near, suffix);
  else if (len) buf[0] = 0;
  return buf;
}

const char *suggest_list(const char *const *names, int n, const char *suffix, const char *last, char *buf,
                         size_t len) {
  int total = 0, k = 0;
  for (int i = 0; i < n; i++) total += names[i] != NULL;
  buf[0] = 0;
  for (int i = 0; i < n; i++) {
    if (!names[i]) continue;
    size_t at = strlen(buf);
    const char *sep = k == 0 ? "" : k == total - 1 ? " " : ", ";
    snprintf(buf + at, len - at, "%s%s%s%s%s", sep, k > 0 && k == total - 1 ? last : "",
             k > 0 && k == total - 1 ? " " : "", names[i], suffix);
    k++;
  }
  return buf;
}
