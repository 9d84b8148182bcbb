/* cmd_predict.c — `dlc predict FILE.net --load CKPT INPUT...`: what train/predict.c answers,
 * printed: per input a line with its most likely classes and their scores, after a
 * first line that says what the numbers are; or, with --json, one JSON document (its schema
 * is in docs/cli.md). Class names are the model's (train/data.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "predict.h"
#include "snapshot.h"

typedef struct Printer {
  const Options *o;
  ClassNames names;
  ScoreKind kind;
  int top;
  int *order;  /* class indices, for sorting by score */
  int printed; /* predictions so far */
} Printer;

/* A JSON string literal of s (UTF-8 passed through; quotes, backslashes and control
 * characters escaped). */
static void json_string(const char *s, FILE *out) {
  fputc('"', out);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\') fprintf(out, "\\%c", *c);
    else if (*c < 0x20) fprintf(out, "\\u%04x", *c);
    else fputc(*c, out);
  }
  fputc('"', out);
}

static const float *sort_scores; /* (qsort has no context argument) */

/* Higher score first; on a tie, the lower class. */
static int by_score(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  float sx = sort_scores[x], sy = sort_scores[y];
  return sx > sy ? -1 : sx < sy ? 1 : x - y;
}

static void print_text(Printer *p, const Prediction *pr) {
  if (pr->index >= 0) printf("%s[%d]:", pr->file, pr->index);
  else printf("%s:", pr->file);
  for (int k = 0; k < p->top; k++) {
    int c = p->order[k];
    if (score_is_probability(p->kind)) printf("%s %s %.1f%%", k ? "," : "", p->names.name[c], 100.0 * pr->scores[c]);
    else printf("%s %s %.3f", k ? "," : "", p->names.name[c], pr->scores[c]);
  }
  printf("\n");
}

static void print_json(Printer *p, const Prediction *pr) {
  printf("%s\n    {\"input\": ", p->printed ? "," : "");
  json_string(pr->file, stdout);
  if (pr->index >= 0) printf(", \"index\": %d", pr->index);
  printf(", \"top\": [");
  for (int k = 0; k < p->top; k++) {
    int c = p->order[k];
    printf("%s{\"class\": %d, \"name\": ", k ? ", " : "", c);
    json_string(p->names.name[c], stdout);
    printf(", \"score\": %.6g}", (double)pr->scores[c]);
  }
  printf("]}");
}

static void print_prediction(void *ctx, const Prediction *pr) {
  Printer *p = ctx;
  for (int c = 0; c < p->names.n; c++) p->order[c] = c;
  sort_scores = pr->scores;
  qsort(p->order, (size_t)p->names.n, sizeof *p->order, by_score);
  if (p->o->json) print_json(p, pr);
  else print_text(p, pr);
  p->printed++;
}

static void print_head(const Printer *p, const Model *m) {
  if (!p->o->json) {
    printf("# %s with %s: %s\n", m->file->name, p->o->load, score_text(p->kind));
    return;
  }
  printf("{\n  \"model\": ");
  json_string(m->file->name, stdout);
  printf(",\n  \"checkpoint\": ");
  json_string(p->o->load, stdout);
  printf(",\n  \"scores\": ");
  json_string(score_name(p->kind), stdout);
  printf(",\n  \"probabilities\": %s,\n  \"classes\": [", score_is_probability(p->kind) ? "true" : "false");
  for (int c = 0; c < p->names.n; c++) {
    printf(c ? ", " : "");
    json_string(p->names.name[c], stdout);
  }
  printf("],\n  \"predictions\": [");
}

int cmd_predict(const Options *o) {
  if (!o->load) {
    diag_error_plain("dlc", "'predict' needs --load CKPT (a checkpoint written by dlc train --save)");
    return EXIT_USER;
  }
  if (o->n_inputs == 0) {
    diag_error_plain("dlc", "'predict' needs at least one INPUT: a PNG file, a folder of them or a .npy file");
    return EXIT_USER;
  }
  Model *m = cli_load_model(o, true); /* dlc_forward alone */
  if (!m) return EXIT_USER;
  Trainer *t = NULL;
  int rc = EXIT_USER;
  char err[1024];
  Printer p = {.o = o, .names = class_names_new(m, NULL), .kind = score_kind(m)};
  p.top = o->top < p.names.n ? o->top : p.names.n;
  p.order = malloc(sizeof(int) * (size_t)p.names.n);
  if (!p.order) dlc_fatal("out of memory");
  /* the inputs first: a bad one costs no compile, and nothing is printed before all are read */
  PredictInputs *in = predict_read(m, o->inputs, o->n_inputs);
  if (!in || !cli_build_model(m, o, false) || !(t = trainer_new(m))) goto done;
  if (snapshot_load_for_inference(t, o->load, err, sizeof err) != 0) {
    diag_path_error(err);
    goto done;
  }
  if (!trainer_forward(t)) goto done; /* compiled before a line is printed: no half a JSON document */
  print_head(&p, m);
  if (!predict_run(t, in, print_prediction, &p)) goto done;
  if (o->json) printf("\n  ]\n}\n");
  rc = EXIT_OK;
done:
  predict_free(in);
  free(p.order);
  class_names_free(&p.names);
  trainer_free(t);
  model_free(m);
  return rc;
}
