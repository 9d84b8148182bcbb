/* report_checks.h — what the report's suites (check_report.c, check_report_cli.c) both look
 * for in a report page (helpers.h has assert_contains and count_of). */
#ifndef DLC_REPORT_CHECKS_H
#define DLC_REPORT_CHECKS_H
#include <check.h>
#include <stdio.h>
#include <string.h>

/* The points of the polyline whose data-series is `series` in html (-1: none). */
static inline int polyline_points(const char *html, const char *series) {
  char key[96];
  snprintf(key, sizeof key, "data-series=\"%s\"", series);
  const char *p = strstr(html, key);
  if (!p) return -1;
  const char *start = strstr(p, "points=\"");
  ck_assert_ptr_nonnull(start);
  start += strlen("points=\"");
  int n = 0;
  for (const char *q = start; *q && *q != '"'; q++)
    if ((q == start || q[-1] == ' ') && *q != ' ') n++;
  return n;
}

/* Self-contained: nothing loaded from anywhere, no script; refreshing only while live. */
static inline void assert_self_contained(const char *html) {
  ck_assert_msg(!strstr(html, "<script"), "the page has a script");
  ck_assert_msg(!strstr(html, "http://") && !strstr(html, "https://"), "the page names a URL");
  ck_assert_msg(!strstr(html, "<link"), "the page links a resource");
  for (const char *p = strstr(html, "src=\""); p; p = strstr(p + 1, "src=\""))
    ck_assert_msg(strncmp(p + 5, "data:", 5) == 0, "a src that is not a data: URI: %.60s", p);
  ck_assert_msg(!strstr(html, "url("), "the style loads something");
}
#endif
