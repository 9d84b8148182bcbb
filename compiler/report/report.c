/* report.c — the HTML report page; see report.h. Sections in the order people look for them:
 * the run's figures, the charts, the evaluation (confusion matrix, mistakes), then the model
 * and the profile. */
#include "report.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "chart.h"
#include "eval_report.h"
#include "html.h"
#include "outfile.h"
#include "png.h"

static const char STYLE[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:24px;color:#222;"
    "max-width:1180px}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}"
    ".status{color:#555;margin:0 0 12px}"
    "table.figures td{padding:2px 14px 2px 0}table.figures td.v{font-weight:bold}"
    ".charts{display:flex;flex-wrap:wrap;gap:12px}"
    "table.confusion{border-collapse:collapse;font-size:12px;font-variant-numeric:tabular-nums}"
    "table.confusion td,table.confusion th{border:1px solid #ddd;padding:3px 6px;text-align:right}"
    "table.confusion th{background:#f4f4f4}table.confusion th.row{text-align:left}"
    ".errors{display:flex;flex-wrap:wrap;gap:10px}"
    ".errors figure{margin:0;font-size:12px;text-align:center}"
    ".errors img{image-rendering:pixelated;display:block;margin:0 auto 2px}"
    ".true{color:#080}.pred{color:#c00}"
    "pre{background:#f8f8f8;border:1px solid #e3e3e3;padding:10px;font-size:12px;overflow-x:auto}";

/* ---- the run's figures ---- */

static void figure_row(Text *t, const char *name, const char *value) {
  text_puts(t, "<tr><td>");
  text_escaped(t, name);
  text_puts(t, "</td><td class=\"v\">");
  text_escaped(t, value);
  text_puts(t, "</td></tr>");
}

static void figures(Text *t, const ReportPage *p) {
  const RunMetrics *r = p->metrics;
  if (!r || r->n == 0) return;
  const EpochMetrics *last = &r->epochs[r->n - 1];
  int best = 0, best_val = -1;
  double seconds = 0;
  for (int i = 0; i < r->n; i++) {
    if (r->epochs[i].test_error < r->epochs[best].test_error) best = i;
    if (isfinite(r->epochs[i].val_error) && (best_val < 0 || r->epochs[i].val_error < r->epochs[best_val].val_error))
      best_val = i;
    seconds += r->epochs[i].seconds;
  }
  char v[96];
  text_puts(t, "<table class=\"figures\">");
  if (p->epochs_planned) snprintf(v, sizeof v, "%d of %d", last->epoch, p->epochs_planned);
  else snprintf(v, sizeof v, "%d", last->epoch);
  figure_row(t, "epochs", v);
  snprintf(v, sizeof v, "%.2f%% after epoch %d", 100 * last->test_error, last->epoch);
  figure_row(t, "test error", v);
  snprintf(v, sizeof v, "%.2f%% after epoch %d", 100 * r->epochs[best].test_error, r->epochs[best].epoch);
  figure_row(t, "lowest test error", v);
  if (best_val >= 0) {
    snprintf(v, sizeof v, "%.2f%% after epoch %d", 100 * r->epochs[best_val].val_error, r->epochs[best_val].epoch);
    figure_row(t, "lowest validation error", v);
  }
  snprintf(v, sizeof v, "%.4f", last->train_loss);
  figure_row(t, "training loss (last epoch)", v);
  snprintf(v, sizeof v, "%.1f s over %d epochs; %.0f images/s in the last epoch", seconds, r->n, last->images_per_s);
  figure_row(t, "training time", v);
  text_puts(t, "</table>");
}

/* ---- charts ---- */

static void charts(Text *t, const RunMetrics *r) {
  int n = r ? r->n : 0;
  double *col = calloc((size_t)(n ? n : 1) * 7, sizeof *col);
  if (!col) dlc_fatal("out of memory");
  double *x = col, *loss = col + n, *test = col + 2 * n, *val = col + 3 * n, *lr = col + 4 * n, *rate = col + 5 * n;
  for (int i = 0; i < n; i++) {
    const EpochMetrics *e = &r->epochs[i];
    x[i] = e->epoch, loss[i] = e->train_loss, test[i] = e->test_error, val[i] = e->val_error, lr[i] = e->lr;
    rate[i] = e->images_per_s;
  }
  const Chart all[] = {
      {"chart-loss", "Training loss", "mean loss per image", false, n, x, {{"training loss", "#1f77b4", loss}}, 1},
      {"chart-error", "Test and validation error", "misclassified", true, n, x,
       {{"test error", "#d62728", test}, {"validation error", "#2ca02c", val}}, 2},
      {"chart-lr", "Learning rate (each epoch's first step)", "learning rate", false, n, x,
       {{"learning rate", "#9467bd", lr}}, 1},
      {"chart-speed", "Training speed", "images per second", false, n, x, {{"images/s", "#ff7f0e", rate}}, 1},
  };
  text_puts(t, "<h2>Per epoch</h2><div class=\"charts\">");
  for (size_t k = 0; k < sizeof all / sizeof *all; k++) chart_svg(t, &all[k]);
  text_puts(t, "</div>");
  free(col);
}

/* ---- the evaluation ---- */

/* A cell's background: the share of its row, green on the diagonal and red off it (the
 * square root, so that a few mistakes among a thousand still show). */
static void shaded_cell(Text *t, int64_t count, int64_t row_total, bool diagonal) {
  double share = row_total ? (double)count / (double)row_total : 0, alpha = sqrt(share) * (diagonal ? 0.55 : 0.8);
  if (count == 0) text_puts(t, "<td>0</td>");
  else
    text_printf(t, "<td style=\"background:rgba(%s,%.3f)\">%lld</td>", diagonal ? "40,160,40" : "214,39,40", alpha,
                (long long)count);
}

static void confusion(Text *t, const Evaluation *e, const DlrtDataset *d) {
  char name[64];
  text_puts(t, "<p>Rows: the true class; columns: the predicted class. Each row's error is the share of its "
               "images predicted as another class.</p><table class=\"confusion\"><tr><th></th>");
  for (int c = 0; c < e->classes; c++) {
    text_puts(t, "<th>");
    text_escaped(t, class_label(d, c, name, sizeof name));
    text_puts(t, "</th>");
  }
  text_puts(t, "<th>images</th><th>error</th></tr>");
  for (int c = 0; c < e->classes; c++) {
    int64_t images;
    double err = evaluation_class_error(e, c, &images);
    text_puts(t, "<tr><th class=\"row\">");
    text_escaped(t, class_label(d, c, name, sizeof name));
    text_puts(t, "</th>");
    for (int p = 0; p < e->classes; p++) shaded_cell(t, e->confusion[(size_t)c * (size_t)e->classes + (size_t)p], images, c == p);
    if (isnan(err)) text_printf(t, "<td>%lld</td><td>-</td></tr>", (long long)images);
    else text_printf(t, "<td>%lld</td><td>%.2f%%</td></tr>", (long long)images, 100 * err);
  }
  text_printf(t, "<tr><th class=\"row\">all</th><td colspan=\"%d\"></td><td>%d</td><td>%.2f%%</td></tr></table>",
              e->classes, e->count, 100 * e->error);
}

static void mistakes(Text *t, const Evaluation *e, const DlrtDataset *d) {
  int idx[ERRORS_SHOWN], n = evaluation_worst(e, ERRORS_SHOWN, idx);
  if (n == 0) {
    text_puts(t, "<p>No image is misclassified.</p>");
    return;
  }
  const char *word = score_word(e->kind);
  text_printf(t, "<p>%d of %d images are misclassified; the %d the model was surest about wrongly (the lowest "
                 "%s of the true class) first, each with its true class and the predicted class with its "
                 "%s.</p><div class=\"errors\">", e->wrong, e->count, n, word, word);
  int side = d->rows > d->cols ? d->rows : d->cols, scale = side >= 64 ? 1 : 84 / side;
  for (int i = 0; i < n; i++) {
    RgbImage img = dataset_image(d, idx[i]);
    unsigned char *png;
    size_t len;
    char err[256], truth[64], guess[64];
    int encoded = dlrt_png_encode(img.pixels, img.w, img.h, 3, &png, &len, err, sizeof err);
    free(img.pixels);
    if (encoded != 0) { /* (out of memory: the page says so in the image's place) */
      text_printf(t, "<figure><figcaption>#%d: ", idx[i]);
      text_escaped(t, err);
      text_puts(t, "</figcaption></figure>");
      continue;
    }
    text_printf(t, "<figure><img width=\"%d\" height=\"%d\" alt=\"test image %d\" src=\"data:image/png;base64,",
                img.w * scale, img.h * scale, idx[i]);
    text_base64(t, png, len);
    free(png);
    text_printf(t, "\"><figcaption>#%d<br><span class=\"true\">", idx[i]);
    text_escaped(t, class_label(d, e->label[idx[i]], truth, sizeof truth));
    text_puts(t, "</span> &rarr; <span class=\"pred\">");
    text_escaped(t, class_label(d, e->pred[idx[i]], guess, sizeof guess));
    text_printf(t, " %.2f</span></figcaption></figure>", e->score[idx[i]]);
  }
  text_puts(t, "</div>");
}

static void evaluation(Text *t, const ReportPage *p) {
  if (!p->eval) return;
  text_puts(t, "<h2>Confusion matrix</h2><p>");
  text_escaped(t, p->eval_what ? p->eval_what : "");
  text_printf(t, ": %d images, %.2f%% misclassified (%s).</p>", p->eval->count, 100 * p->eval->error,
              score_text(p->eval->kind));
  confusion(t, p->eval, p->eval_set);
  text_puts(t, "<h2>Misclassified images</h2>");
  mistakes(t, p->eval, p->eval_set);
}

static void preformatted(Text *t, const char *heading, const char *text) {
  if (!text) return;
  text_printf(t, "<h2>%s</h2><pre>", heading);
  text_escaped(t, text);
  text_puts(t, "</pre>");
}

char *report_html(const ReportPage *p) {
  Text t = {0};
  text_puts(&t, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
  if (p->live) text_printf(&t, "<meta http-equiv=\"refresh\" content=\"%d\">\n", REPORT_REFRESH_SECONDS);
  text_puts(&t, "<title>dlc: ");
  text_escaped(&t, p->title);
  text_printf(&t, "</title>\n<style>%s</style></head>\n<body>\n<h1>", STYLE);
  text_escaped(&t, p->title);
  text_puts(&t, "</h1>\n<p class=\"status\">");
  text_escaped(&t, p->status ? p->status : "");
  if (p->live) text_printf(&t, " (this page reloads every %d s while training runs)", REPORT_REFRESH_SECONDS);
  text_puts(&t, "</p>\n");
  figures(&t, p);
  charts(&t, p->metrics);
  text_puts(&t, "\n");
  evaluation(&t, p);
  preformatted(&t, "Model", p->summary);
  preformatted(&t, "Profile of the training step", p->profile);
  text_puts(&t, "\n</body></html>\n");
  return t.s;
}

int report_write(const ReportPage *p, const char *path, char *err, size_t errlen) {
  char *html = report_html(p);
  int rc = dlrt_outfile_write(path, "a report", html, strlen(html), err, errlen);
  free(html);
  return rc;
}
