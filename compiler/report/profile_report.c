/* profile_report.c — what `dlc profile` and `dlc train --profile` print: the training step's
 * time per layer (source line) and pass (forward, backward, update), the FLOPs each does and
 * so the GFLOP/s it reaches and its share of this core's measured multiply-add peak; then
 * the nodes that took the most.
 *
 * Time is measured per node that runs code; a node fused into another's loop costs time
 * there, so its FLOPs are counted where its loop runs (the fused node's site) too. What a
 * user function's body makes counts on the line of its call (the outermost), so each call
 * of the function has its own row. */
#include "profile_report.h"
#include <stdlib.h>
#include <string.h>
#include "dlrt.h"

typedef enum Pass { PASS_FORWARD, PASS_BACKWARD, PASS_UPDATE, PASS_COUNT } Pass;
static const char *const pass_names[PASS_COUNT] = {"forward", "backward", "update"};

static Pass pass_of(const Model *m, const Node *n) {
  /* the loss summed over the batch, for the progress line, belongs to the forward pass */
  if (n == m->loss_sum || n == m->loss_sum->in[0]) return PASS_FORWARD;
  if (n->id < m->n_forward) return PASS_FORWARD;
  if (n->id < m->n_before_update) return PASS_BACKWARD; /* autodiff's nodes */
  if (n->id < m->n_before_passes) return PASS_UPDATE;   /* the optimiser's */
  /* made by the passes: work once per step whatever the batch is the update's */
  return node_once_per_step(n) ? PASS_UPDATE : PASS_BACKWARD;
}

typedef struct Cell {
  double seconds, flops; /* per step */
} Cell;

static int by_time_desc(const void *a, const void *b) {
  double x = ((const double *)a)[0], y = ((const double *)b)[0];
  return (x < y) - (x > y);
}

static void print_row(FILE *out, const char *layer, const char *pass, Cell c, double step_seconds, double peak) {
  double gflops = c.seconds > 0 ? c.flops / c.seconds / 1e9 : 0;
  fprintf(out, "  %-40s %-9s %8.3f %5.1f%% %10.2f %8.1f", layer, pass, 1e3 * c.seconds, 100 * c.seconds / step_seconds,
          c.flops / 1e6, gflops);
  if (peak > 0) fprintf(out, " %6.1f%%", 100 * gflops / peak);
  fputc('\n', out);
}

/* The line of top-level code a node comes from (0: none). */
static int row_of(const Node *n) {
  SrcLoc at = srcloc_outermost(n->loc);
  return at.line > 0 ? at.line : 0;
}

/* "mlp.net:7  h = sigmoid(W1 @ x + b1)", cut to fit a column. */
static void layer_label(const Model *m, int line, char *buf, size_t len) {
  if (line <= 0) {
    snprintf(buf, len, "(no source line)");
    return;
  }
  const char *text;
  int n = srcfile_line(m->file, line, &text);
  while (n > 0 && (*text == ' ' || *text == '\t')) text++, n--;
  const char *base = strrchr(m->file->name, '/');
  snprintf(buf, len, "%s:%d  %.*s", base ? base + 1 : m->file->name, line, n, text);
  if (strlen(buf) > 40) strcpy(buf + 37, "...");
}

/* The heaviest nodes, each with the FLOPs of every node computed in its loop (fused into it,
 * or its epilogue) per second, and their share of the peak. */
static void print_heaviest(const Model *m, const double *seconds, int64_t steps, double total, double rows, double peak,
                           FILE *out) {
  const Graph *g = m->g;
  const Schedule *s = &m->fns[FN_TRAIN].sched;
  double (*order)[2] = calloc((size_t)g->len, sizeof *order), *flops = calloc((size_t)g->len, sizeof *flops);
  if (!order || !flops) dlc_fatal("out of memory");
  for (int i = 0; i < s->len; i++) {
    const Node *n = s->order[i];
    flops[schedule_site(s, n)->id] += (double)node_flops(n) * (node_once_per_step(n) ? 1 : rows);
  }
  for (int i = 0; i < g->len; i++) order[i][0] = seconds[i], order[i][1] = i;
  qsort(order, (size_t)g->len, sizeof *order, by_time_desc);
  fprintf(out, "\nthe nodes that took the most:\n");
  fprintf(out, "  %8s %6s %8s %7s  %-6s %-14s %-24s %s\n", "ms/step", "share", "GFLOP/s", "% peak", "node", "op", "shape",
          "source");
  char buf[SHAPE_STR_MAX];
  for (int r = 0; r < g->len && r < 20 && order[r][0] > 0; r++) {
    const Node *n = g->nodes[(int)order[r][1]];
    char call[64] = ""; /* a user function's body: which call of it */
    if (n->loc.site) snprintf(call, sizeof call, " (called on line %d)", srcloc_outermost(n->loc).line);
    double gflops = flops[n->id] / (order[r][0] / (double)steps) / 1e9;
    fprintf(out, "  %8.3f %5.1f%% %8.1f %6.1f%%  %%%-5d %-14s %-24s %s:%d%s%s%s\n", 1e3 * order[r][0] / (double)steps,
            100 * order[r][0] / total, gflops, peak > 0 ? 100 * gflops / peak : 0, n->id, op_name(n->op),
            shape_str(n->shape, buf, sizeof buf), n->loc.file ? n->loc.file->name : "?", n->loc.line, call, n->name ? " " : "",
            n->name ? n->name : "");
  }
  free(order);
  free(flops);
}

/* The core's peak, measured once per run (some 0.1 s): dlc train --profile --report prints the
 * table after every epoch. */
static double measured_peak(void) {
  static double peak = -1;
  if (peak < 0) peak = dlrt_fma_peak_gflops();
  return peak;
}

void profile_print(const Model *m, int64_t steps, int64_t examples, FILE *out) {
  const Graph *g = m->g;
  const Schedule *s = &m->fns[FN_TRAIN].sched;
  double *seconds = calloc((size_t)g->len, sizeof *seconds), total = 0;
  int lines = 1;
  for (int i = 0; i < g->len; i++)
    if (row_of(g->nodes[i]) >= lines) lines = row_of(g->nodes[i]) + 1;
  Cell (*cells)[PASS_COUNT] = calloc((size_t)lines, sizeof *cells), sums[PASS_COUNT] = {{0}};
  if (!seconds || !cells) dlc_fatal("out of memory");
  dlrt_prof_read(seconds, g->len);
  for (int i = 0; i < s->len; i++) total += seconds[s->order[i]->id];
  if (steps <= 0 || total <= 0) { /* e.g. resumed after the last epoch, or stopped early */
    fprintf(out, "\nprofile: no training steps ran, nothing to show\n");
    free(cells);
    free(seconds);
    return;
  }
  double rows = (double)examples / (double)steps; /* per step, on average */
  for (int i = 0; i < s->len; i++) {
    const Node *n = s->order[i], *site = schedule_site(s, n);
    int line = row_of(site);
    Pass p = pass_of(m, site);
    double f = (double)node_flops(n) * (node_once_per_step(n) ? 1 : rows);
    cells[line][p].flops += f;
    cells[line][p].seconds += seconds[n->id] / (double)steps;
  }
  double step = total / (double)steps, peak = measured_peak();
  fprintf(out, "\nprofile: %lld steps of %.0f images on average, %.3f ms per step (%.0f images/s), one thread\n",
          (long long)steps, rows, 1e3 * step, rows / step);
  if (peak > 0) fprintf(out, "peak: %.1f GFLOP/s on this core (measured: vector FMA throughput)\n", peak);
  else fprintf(out, "peak: unknown (no FMA instructions on this CPU)\n");
  fprintf(out, "\n  %-40s %-9s %8s %6s %10s %8s %7s\n", "layer (source line)", "pass", "ms/step", "share", "MFLOP/step",
          "GFLOP/s", "% peak");
  char label[64];
  for (int line = 0; line < lines; line++) {
    bool first = true;
    for (int p = 0; p < PASS_COUNT; p++) {
      Cell c = cells[line][p];
      sums[p].seconds += c.seconds;
      sums[p].flops += c.flops;
      if (c.seconds <= 0 && c.flops <= 0) continue;
      if (first) layer_label(m, line, label, sizeof label);
      print_row(out, first ? label : "", pass_names[p], c, step, peak);
      first = false;
    }
  }
  Cell all = {0};
  for (int p = 0; p < PASS_COUNT; p++) {
    print_row(out, p == 0 ? "all layers" : "", pass_names[p], sums[p], step, peak);
    all.seconds += sums[p].seconds;
    all.flops += sums[p].flops;
  }
  print_row(out, "the whole step", "", all, step, peak);
  print_heaviest(m, seconds, steps, total, rows, peak, out);
  free(cells);
  free(seconds);
}

char *profile_text(const Model *m, int64_t steps, int64_t examples) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) dlc_fatal("out of memory");
  profile_print(m, steps, examples, f);
  if (fclose(f) != 0) dlc_fatal("out of memory");
  return text;
}
