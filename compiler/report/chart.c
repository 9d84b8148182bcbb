/* chart.c — SVG line charts over epochs; see chart.h. */
#include "chart.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

/* The picture and its plot area, in SVG user units (pixels at 100%). */
enum { W = 560, H = 300, LEFT = 70, RIGHT = 18, TOP = 52, BOTTOM = 46 };

/* A round step (1, 2 or 5 times a power of ten) near span / parts. */
static double nice_step(double span, int parts) {
  double raw = span / parts, e = pow(10, floor(log10(raw))), f = raw / e;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * e;
}

/* A tick's label, with as many decimals as the step needs. */
static void tick_label(char *buf, size_t len, double v, double step, bool percent) {
  int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
  snprintf(buf, len, "%.*f%s", decimals, fabs(v) < step / 1e6 ? 0.0 : v, percent ? "%" : "");
}

typedef struct Frame {
  double x_lo, x_hi, y_lo, y_hi, y_step, x_step;
} Frame;

static double px(const Frame *f, double x) { return LEFT + (x - f->x_lo) / (f->x_hi - f->x_lo) * (W - LEFT - RIGHT); }
static double py(const Frame *f, double y) { return TOP + (f->y_hi - y) / (f->y_hi - f->y_lo) * (H - TOP - BOTTOM); }

static double value(const Chart *c, int s, int i) { return c->series[s].y[i] * (c->percent ? 100 : 1); }

static bool has_values(const Chart *c, int s) {
  for (int i = 0; i < c->n; i++)
    if (isfinite(c->series[s].y[i])) return true;
  return false;
}

/* The axes' ranges from the values: round ticks around the values (not from 0: an error that
 * goes from 1.2% to 0.9% should fill the chart). False when there is no value. */
static bool frame_of(const Chart *c, Frame *f) {
  double lo = INFINITY, hi = -INFINITY;
  for (int s = 0; s < c->n_series; s++)
    for (int i = 0; i < c->n; i++)
      if (isfinite(c->series[s].y[i])) lo = fmin(lo, value(c, s, i)), hi = fmax(hi, value(c, s, i));
  if (!(lo <= hi)) return false;
  if (hi - lo < 1e-9 * fmax(1, fabs(hi))) { /* one value: a band around it */
    double pad = lo != 0 ? fabs(lo) / 2 : 1;
    lo = lo >= 0 && lo - pad < 0 ? 0 : lo - pad;
    hi += pad;
  }
  f->y_step = nice_step(hi - lo, 5);
  f->y_lo = floor(lo / f->y_step) * f->y_step;
  f->y_hi = ceil(hi / f->y_step) * f->y_step;
  f->x_lo = c->x[0];
  f->x_hi = c->x[c->n - 1];
  if (f->x_hi - f->x_lo < 1) f->x_lo -= 0.5, f->x_hi += 0.5;
  f->x_step = fmax(1, nice_step(f->x_hi - f->x_lo, 8));
  return true;
}

static void axes(Text *t, const Chart *c, const Frame *f) {
  char label[32];
  text_puts(t, "<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">");
  for (double y = f->y_lo; y <= f->y_hi + f->y_step / 2; y += f->y_step)
    text_printf(t, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", LEFT, py(f, y), W - RIGHT, py(f, y));
  text_puts(t, "</g><g class=\"axis\" font-size=\"11\" fill=\"#444\">");
  for (double y = f->y_lo; y <= f->y_hi + f->y_step / 2; y += f->y_step) {
    tick_label(label, sizeof label, y, f->y_step, c->percent);
    text_printf(t, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>", LEFT - 6, py(f, y) + 4, label);
  }
  for (double x = ceil(f->x_lo / f->x_step) * f->x_step; x <= f->x_hi + 1e-9; x += f->x_step)
    text_printf(t, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#888\"/><text x=\"%.1f\" y=\"%d\" "
                   "text-anchor=\"middle\">%.0f</text>",
                px(f, x), H - BOTTOM, px(f, x), H - BOTTOM + 4, px(f, x), H - BOTTOM + 17, x);
  text_printf(t, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">epoch</text>", (LEFT + W - RIGHT) / 2, H - 8);
  text_printf(t, "<text transform=\"translate(14 %d) rotate(-90)\" text-anchor=\"middle\">", (TOP + H - BOTTOM) / 2);
  text_escaped(t, c->y_label);
  text_puts(t, "</text></g>");
}

static void series(Text *t, const Chart *c, const Frame *f, int s) {
  const ChartSeries *cs = &c->series[s];
  text_puts(t, "<polyline class=\"series\" data-series=\"");
  text_escaped(t, cs->name);
  text_printf(t, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"", cs->colour);
  bool first = true;
  for (int i = 0; i < c->n; i++) {
    if (!isfinite(cs->y[i])) continue;
    text_printf(t, "%s%.1f,%.1f", first ? "" : " ", px(f, c->x[i]), py(f, value(c, s, i)));
    first = false;
  }
  text_printf(t, "\"/><g class=\"dots\" fill=\"%s\">", cs->colour);
  for (int i = 0; i < c->n; i++)
    if (isfinite(cs->y[i])) text_printf(t, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/>", px(f, c->x[i]), py(f, value(c, s, i)));
  text_puts(t, "</g>");
}

/* The series' names and colours along the top, right of the title. */
static void legend(Text *t, const Chart *c) {
  int x = W - RIGHT;
  for (int s = c->n_series - 1; s >= 0; s--) {
    if (!has_values(c, s)) continue;
    int width = 7 * (int)strlen(c->series[s].name) + 24;
    x -= width;
    text_printf(t, "<g class=\"legend\" font-size=\"12\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
                   "stroke-width=\"3\"/><text x=\"%d\" y=\"%d\" fill=\"#333\">",
                x, TOP - 16, x + 16, TOP - 16, c->series[s].colour, x + 20, TOP - 12);
    text_escaped(t, c->series[s].name);
    text_puts(t, "</text></g>");
  }
}

void chart_svg(Text *t, const Chart *c) {
  text_printf(t, "<svg id=\"%s\" class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
                 "aria-label=\"", c->id, W, H, W, H);
  text_escaped(t, c->title);
  text_puts(t, "\"><title>");
  text_escaped(t, c->title);
  text_printf(t, "</title><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fff\" stroke=\"#bbb\"/>", LEFT, TOP,
              W - LEFT - RIGHT, H - TOP - BOTTOM);
  text_printf(t, "<text x=\"%d\" y=\"20\" font-size=\"15\" font-weight=\"bold\" fill=\"#222\">", LEFT);
  text_escaped(t, c->title);
  text_puts(t, "</text>");
  Frame f;
  if (c->n < 1 || !frame_of(c, &f)) {
    text_printf(t, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#888\">no values yet</text></svg>",
                (LEFT + W - RIGHT) / 2, (TOP + H - BOTTOM) / 2);
    return;
  }
  axes(t, c, &f);
  for (int s = 0; s < c->n_series; s++)
    if (has_values(c, s)) series(t, c, &f, s);
  legend(t, c);
  text_puts(t, "</svg>");
}
