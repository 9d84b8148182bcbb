/* chart.h — line charts over epochs as inline SVG, drawn by dlc (no script, no library): axes
 * with round ticks, a polyline per series with one point per epoch that has a value, a dot at
 * each point, a legend. The report's tests count the points of each polyline. */
#ifndef DLC_CHART_H
#define DLC_CHART_H
#include <stdbool.h>
#include "html.h"

enum { CHART_MAX_SERIES = 4 };

typedef struct ChartSeries {
  const char *name;   /* in the legend, and the polyline's data-series attribute */
  const char *colour; /* CSS colour */
  const double *y;    /* one value per x; NAN: none at that epoch (no point) */
} ChartSeries;

typedef struct Chart {
  const char *id;      /* the svg element's id */
  const char *title;
  const char *y_label; /* the unit of the y axis */
  bool percent;        /* y values are fractions, shown as percentages */
  int n;               /* points: epochs */
  const double *x;     /* the epochs */
  ChartSeries series[CHART_MAX_SERIES];
  int n_series;
} Chart;

/* Appends the chart's <svg> element to t. A series without any value is left out (no
 * polyline); a chart without any value says so in its plot area. */
void chart_svg(Text *t, const Chart *c);
#endif
