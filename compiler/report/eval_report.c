/* eval_report.c — an Evaluation as a table, CSV, JSON and an image grid; see eval_report.h. */
#include "eval_report.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "font.h"
#include "outfile.h"
#include "png.h"

bool classes_named(const DlrtDataset *d) {
  for (int c = 0; d->class_names && c < d->classes; c++) {
    char index[16];
    snprintf(index, sizeof index, "%d", c);
    if (strcmp(d->class_names[c], index) != 0) return true;
  }
  return false;
}

const char *class_label(const DlrtDataset *d, int c, char *buf, size_t len) {
  if (d->class_names && c >= 0 && c < d->classes) snprintf(buf, len, "%s", d->class_names[c]);
  else snprintf(buf, len, "%d", c);
  return buf;
}

/* ---- the confusion matrix as text ---- */

static int digits(int64_t v) {
  int n = 1;
  while (v >= 10) v /= 10, n++;
  return n;
}

void eval_print_confusion(const Evaluation *e, const DlrtDataset *d, const char *what, FILE *out) {
  int k = e->classes, cell = 3, label_w = 4;
  bool named = classes_named(d);
  char name[64];
  for (int i = 0; i < k * k; i++) cell = digits(e->confusion[i]) > cell ? digits(e->confusion[i]) : cell;
  for (int c = 0; c < k; c++) {
    char row[80];
    snprintf(row, sizeof row, "%d%s%s", c, named ? " " : "", named ? class_label(d, c, name, sizeof name) : "");
    label_w = (int)strlen(row) > label_w ? (int)strlen(row) : label_w;
  }
  fprintf(out, "confusion matrix of %d %s images (rows: true class, columns: predicted class)\n", e->count, what);
  fprintf(out, "  %-*s", label_w, "");
  for (int c = 0; c < k; c++) fprintf(out, " %*d", cell, c);
  fprintf(out, " %8s %7s\n", "images", "error");
  for (int c = 0; c < k; c++) {
    char row[80];
    snprintf(row, sizeof row, "%d%s%s", c, named ? " " : "", named ? class_label(d, c, name, sizeof name) : "");
    fprintf(out, "  %-*s", label_w, row);
    for (int p = 0; p < k; p++) fprintf(out, " %*lld", cell, (long long)e->confusion[(size_t)c * (size_t)k + (size_t)p]);
    int64_t images;
    double err = evaluation_class_error(e, c, &images);
    if (isnan(err)) fprintf(out, " %8lld %7s\n", (long long)images, "-");
    else fprintf(out, " %8lld %6.2f%%\n", (long long)images, 100 * err);
  }
  fprintf(out, "  %-*s %*s %8d %6.2f%%\n", label_w, "all", k * (cell + 1) - 1, "", e->count, 100 * e->error);
}

/* ---- files ---- */

int eval_write_predictions(const Evaluation *e, const char *path, char *err, size_t errlen) {
  DlrtOutFile f;
  if (dlrt_outfile_open(&f, path, "predictions", err, errlen) != 0) return -1;
  fprintf(f.f, "index,label,prediction,%s\n", score_word(e->kind));
  for (int k = 0; k < e->count; k++) fprintf(f.f, "%d,%d,%d,%.6g\n", k, e->label[k], e->pred[k], e->score[k]);
  return dlrt_outfile_commit(&f, err, errlen);
}

static json_t *confusion_json(const Evaluation *e) {
  json_t *rows = json_array();
  for (int c = 0; c < e->classes; c++) {
    json_t *row = json_array();
    for (int p = 0; p < e->classes; p++)
      json_array_append_new(row, json_integer(e->confusion[(size_t)c * (size_t)e->classes + (size_t)p]));
    json_array_append_new(rows, row);
  }
  return rows;
}

int eval_write_metrics(const Evaluation *e, const DlrtDataset *d, const char *model, const char *checkpoint,
                       const char *path, char *err, size_t errlen) {
  json_t *o = json_object(), *class_error = json_array();
  json_object_set_new(o, "model", json_string(model));
  json_object_set_new(o, "checkpoint", json_string(checkpoint));
  json_object_set_new(o, "images", json_integer(e->count));
  json_object_set_new(o, "wrong", json_integer(e->wrong));
  json_object_set_new(o, "test_error", json_real(e->error));
  json_object_set_new(o, "scores", json_string(score_name(e->kind)));
  json_object_set_new(o, "probabilities", json_boolean(score_is_probability(e->kind)));
  if (classes_named(d)) {
    json_t *names = json_array();
    for (int c = 0; c < e->classes; c++) {
      char buf[64];
      json_array_append_new(names, json_string(class_label(d, c, buf, sizeof buf)));
    }
    json_object_set_new(o, "class_names", names);
  }
  json_object_set_new(o, "confusion", confusion_json(e));
  for (int c = 0; c < e->classes; c++) {
    double x = evaluation_class_error(e, c, NULL);
    json_array_append_new(class_error, isnan(x) ? json_null() : json_real(x));
  }
  json_object_set_new(o, "class_error", class_error);
  char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
  json_decref(o);
  if (!text) dlc_fatal("out of memory");
  size_t len = strlen(text);
  text[len] = '\n'; /* (one line, as dlc train's metrics) */
  int rc = dlrt_outfile_write(path, "metrics", text, len + 1, err, errlen);
  free(text);
  return rc;
}

/* ---- images ---- */

static unsigned char byte_of(const DlrtDataset *d, size_t at) {
  if (d->pixel_type == DLRT_PIXELS_U8) return d->pixels[at];
  float v = 255 * d->pixels_f32[at];
  return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : lrintf(v));
}

RgbImage dataset_image(const DlrtDataset *d, int k) {
  RgbImage img = {d->cols, d->rows, malloc((size_t)d->rows * (size_t)d->cols * 3)};
  if (!img.pixels) dlc_fatal("out of memory");
  size_t plane = (size_t)d->rows * (size_t)d->cols, base = (size_t)k * dlrt_example_size(d);
  for (size_t i = 0; i < plane; i++)
    for (int ch = 0; ch < 3; ch++) /* CHW planes to interleaved RGB */
      img.pixels[3 * i + (size_t)ch] = byte_of(d, base + (d->channels == 3 ? (size_t)ch * plane : 0) + i);
  return img;
}

enum { MARGIN = 8, GAP = 10, MAX_LABEL = 20 };
static const unsigned char INK[3] = {40, 40, 40}, GREEN[3] = {0, 128, 0}, RED[3] = {200, 0, 0};

/* Pastes src at (x, y) into dst (dst_w wide), each pixel a scale x scale block. */
static void paste(RgbImage *dst, const RgbImage *src, int x, int y, int scale) {
  for (int sy = 0; sy < src->h * scale; sy++)
    for (int sx = 0; sx < src->w * scale; sx++)
      memcpy(dst->pixels + 3 * ((size_t)(y + sy) * (size_t)dst->w + (size_t)(x + sx)),
             src->pixels + 3 * ((size_t)(sy / scale) * (size_t)src->w + (size_t)(sx / scale)), 3);
}

RgbImage errors_grid(const Evaluation *e, const DlrtDataset *d) {
  int idx[ERRORS_SHOWN], n = evaluation_worst(e, ERRORS_SHOWN, idx);
  int side = d->rows > d->cols ? d->rows : d->cols, scale = (72 + side - 1) / side;
  scale = scale < 1 ? 1 : scale > 4 ? 4 : scale;
  char truth[ERRORS_SHOWN][MAX_LABEL + 1], guess[ERRORS_SHOWN][MAX_LABEL + 12], name[64]; /* (a raw score may be long) */
  int widest = 0;
  for (int i = 0; i < n; i++) {
    snprintf(truth[i], sizeof truth[i], "%.*s", MAX_LABEL, class_label(d, e->label[idx[i]], name, sizeof name));
    snprintf(guess[i], sizeof guess[i], "%.*s %.2f", MAX_LABEL - 5, class_label(d, e->pred[idx[i]], name, sizeof name),
             e->score[idx[i]]);
    for (int k = 0; k < 2; k++) {
      int w = font_width(k ? guess[i] : truth[i], 1);
      widest = w > widest ? w : widest;
    }
  }
  /* labels at twice the font's size where they fit under the image (digits do) */
  int text = 2 * widest <= d->cols * scale ? 2 : 1, line = FONT_H * text + 3;
  int cell_w = d->cols * scale > widest * text ? d->cols * scale : widest * text, cell_h = d->rows * scale + 2 * line + 2;
  int columns = n < 8 ? (n ? n : 1) : 8, rows = (n + columns - 1) / columns;
  char head[128];
  if (n)
    snprintf(head, sizeof head, "%d of %d images misclassified; the %d worst (lowest %s of the true class):",
             e->wrong, e->count, n, score_word(e->kind));
  else
    snprintf(head, sizeof head, "no image of the %d misclassified", e->count);
  int head_w = font_width(head, 1), head_h = 2 * (FONT_H + 4);
  RgbImage g = {2 * MARGIN + columns * cell_w + (columns - 1) * GAP, 0, NULL};
  g.w = g.w > head_w + 2 * MARGIN ? g.w : head_w + 2 * MARGIN;
  g.h = 2 * MARGIN + head_h + rows * (cell_h + GAP);
  g.pixels = malloc((size_t)g.w * (size_t)g.h * 3);
  if (!g.pixels) dlc_fatal("out of memory");
  memset(g.pixels, 255, (size_t)g.w * (size_t)g.h * 3);
  font_draw(g.pixels, g.w, g.h, MARGIN, MARGIN, head, 1, INK);
  if (n) { /* the legend: the colours of the two lines */
    int x = MARGIN + font_draw(g.pixels, g.w, g.h, MARGIN, MARGIN + FONT_H + 4, "true class", 1, GREEN);
    x += font_draw(g.pixels, g.w, g.h, x, MARGIN + FONT_H + 4, ", ", 1, INK);
    char legend[64];
    snprintf(legend, sizeof legend, "predicted class and its %s", score_word(e->kind));
    font_draw(g.pixels, g.w, g.h, x, MARGIN + FONT_H + 4, legend, 1, RED);
  }
  for (int i = 0; i < n; i++) {
    int x = MARGIN + (i % columns) * (cell_w + GAP), y = MARGIN + head_h + (i / columns) * (cell_h + GAP);
    RgbImage img = dataset_image(d, idx[i]);
    paste(&g, &img, x, y, scale);
    free(img.pixels);
    font_draw(g.pixels, g.w, g.h, x, y + d->rows * scale + 3, truth[i], text, GREEN);
    font_draw(g.pixels, g.w, g.h, x, y + d->rows * scale + 3 + line, guess[i], text, RED);
  }
  return g;
}

int eval_write_errors_png(const Evaluation *e, const DlrtDataset *d, const char *path, char *err, size_t errlen) {
  RgbImage g = errors_grid(e, d);
  int rc = dlrt_png_write(path, g.pixels, g.w, g.h, 3, err, errlen);
  free(g.pixels);
  return rc;
}
