/* ahead.c — training batches made ahead of the steps (ahead.h). The helper thread takes the
 * epoch's batches a group at a time (consecutive ones, up to AHEAD_ROWS rows) and converts
 * their rows in order, AHEAD_CHUNK rows at a time, into one of two buffers, while the steps
 * use the other; it is handed the next group as soon as it is idle, so it runs up to two
 * groups ahead. One wake per group, not per batch: waking a sleeping thread costs the waker
 * some 6 us here, as much as converting 16 MNIST images (mlp.net at batch 10 lost 3.5% of
 * its epoch to assembly in groups of 8 batches, 0.6-1% in groups of 512 rows).
 *
 * A step takes its batch from the group: the chunks it needs that the helper has not taken,
 * it converts itself (both threads take chunks from one counter); a chunk the helper has in
 * hand it waits for, briefly. A helper that has lost its core (a busy machine) would keep it
 * waiting for a time slice, so after AHEAD_PATIENCE seconds the step makes its batch apart, in
 * t->x: the ready chunks copied, the others converted anew. With no group at hand (the first
 * batch of an epoch, or a helper still busy) the step converts its batch itself. So the steps
 * never wait long for a helper that does not run, and a busy machine costs them at most what
 * assembling on the stepping thread would. */
#define _GNU_SOURCE /* sched_getaffinity */
#include "ahead.h"
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "workers.h"

enum {
  AHEAD_CHUNK = 4,
  AHEAD_ROWS = 512,     /* a group's most rows, in whole batches ... */
  AHEAD_BYTES = 8 << 20 /* ... and both groups' buffers at most; but a batch at least */
};
static const double AHEAD_PATIENCE = 20e-6; /* a chunk of 4 CIFAR-sized rows converts in about 10 us */

typedef struct BatchGroup {
  int first_batch, batches; /* the epoch's batches first_batch .. first_batch + batches - 1 */
  int *row0;                /* [batches + 1]: batch i is rows row0[i] .. row0[i + 1] - 1 */
  int *idx;                 /* the example of each row (this process's rows of each batch) */
  int chunks;               /* ceil(rows / AHEAD_CHUNK) */
  float *x, *y;             /* the rows' inputs and one-hot targets */
  atomic_int claimed;       /* chunks taken so far, by either thread */
  atomic_uchar *ready;      /* [chunk]: converted */
  const Trainer *t;         /* (read-only on the helper) */
  const DlrtDataset *d;
} BatchGroup;

struct BatchAhead {
  int batches;          /* a group's most batches */
  BatchGroup group[2];
  BatchGroup *using;    /* the group the steps take their batches from (NULL: none) */
  BatchGroup *next;     /* the group handed to the helper after it (NULL: none yet) */
};

/* When a core is free for the helper: the threads the step keeps busy (--threads if the step
 * is split over them, else one: a step too small to split runs on one) times the job's
 * processes (as though they all shared this machine) are fewer than the cores this process
 * may run on. Measured on this project's 2-core machine, idle: fashion_mlp.net's step split
 * over --threads 2 took 0.62-0.67 s an epoch with the batches assembled between steps (split
 * over the workers, 16 ms of it) and 0.69-0.91 s with the helper taking turns with a worker;
 * LeNet-5 on two threads 1.65-1.85 s either way; mlp.net's step, unsplit, 0.27-0.31 s with
 * the helper and 0.29-0.32 s without. (On the same machine loaded by other work the helper
 * won even with the step split: more threads, more turns.) */
bool ahead_wanted(const Model *m) {
  const ParallelPlan *par = &m->par;
  int threads = par->data_parallel && !par->unsplittable && m->cfg.threads > 1 ? m->cfg.threads : 1;
  int procs = m->cfg.processes > 1 ? m->cfg.processes : 1;
  cpu_set_t cores;
  return !m->cfg.inference_only && sched_getaffinity(0, sizeof cores, &cores) == 0 &&
         (int64_t)threads * procs < CPU_COUNT(&cores);
}

BatchAhead *ahead_new(Trainer *t) {
  if (!ahead_wanted(t->m)) return NULL;
  int batch = t->m->train.batch;
  int64_t per_batch = (int64_t)batch * (t->in_features + t->classes) * (int64_t)sizeof(float);
  int64_t fit = AHEAD_BYTES / (2 * per_batch);
  if (fit > AHEAD_ROWS / batch) fit = AHEAD_ROWS / batch;
  BatchAhead *a = calloc(1, sizeof *a);
  if (!a) dlc_fatal("out of memory");
  a->batches = fit < 1 ? 1 : (int)fit;
  int64_t rows = (int64_t)a->batches * batch;
  for (int k = 0; k < 2; k++) {
    BatchGroup *g = &a->group[k];
    g->t = t;
    g->row0 = malloc(sizeof(int) * (size_t)(a->batches + 1));
    g->idx = malloc(sizeof(int) * (size_t)rows);
    g->ready = malloc(sizeof *g->ready * (size_t)((rows + AHEAD_CHUNK - 1) / AHEAD_CHUNK));
    if (!g->row0 || !g->idx || !g->ready) dlc_fatal("out of memory");
    g->x = floats_alloc(rows * t->in_features);
    g->y = floats_alloc(rows * t->classes);
  }
  return a;
}

void ahead_free(BatchAhead *a) {
  for (int k = 0; a && k < 2; k++) {
    BatchGroup *g = &a->group[k];
    free(g->row0), free(g->idx), free(g->ready), free(g->x), free(g->y);
  }
  free(a);
}

/* g: the epoch's batches first_batch .. first_batch + batches - 1 (of `batch` examples, the
 * last maybe fewer, of total), this process's rows of each; no chunk taken. */
static void group_set(BatchGroup *g, const DlrtDataset *d, int first_batch, int batches, int total) {
  const Trainer *t = g->t;
  int batch = t->m->train.batch, rows = 0;
  g->d = d;
  g->first_batch = first_batch, g->batches = batches;
  for (int i = 0; i < batches; i++) {
    int first = (first_batch + i) * batch, n = total - first < batch ? total - first : batch, lo, count;
    trainer_rows(t, n, &lo, &count);
    g->row0[i] = rows;
    memcpy(g->idx + rows, t->perm + first + lo, sizeof(int) * (size_t)count);
    rows += count;
  }
  g->row0[batches] = rows;
  g->chunks = (rows + AHEAD_CHUNK - 1) / AHEAD_CHUNK;
  for (int c = 0; c < g->chunks; c++) atomic_store_explicit(&g->ready[c], 0, memory_order_relaxed);
  atomic_store_explicit(&g->claimed, 0, memory_order_relaxed); /* (prefetch_start publishes them) */
}

/* Rows [r, end) of g, converted into x and y (rows of in_features and classes floats). */
static void convert_rows(const BatchGroup *g, int r, int end, float *x, float *y) {
  const Trainer *t = g->t;
  dlrt_fill_batch_mapped(g->d, g->idx + r, end - r, t->classes, &t->pixels, x, y);
}

static int chunk_end(const BatchGroup *g, int c) {
  int end = (c + 1) * AHEAD_CHUNK;
  return end < g->row0[g->batches] ? end : g->row0[g->batches];
}

static void convert_chunk(BatchGroup *g, int c) {
  const Trainer *t = g->t;
  int r = c * AHEAD_CHUNK;
  convert_rows(g, r, chunk_end(g, c), g->x + (int64_t)r * t->in_features, g->y + (int64_t)r * t->classes);
  atomic_store_explicit(&g->ready[c], 1, memory_order_release);
}

static bool chunk_ready(BatchGroup *g, int c) { return atomic_load_explicit(&g->ready[c], memory_order_acquire); }

/* The helper thread's job: every chunk of the group not yet taken, in order. */
static void make_group(void *group) {
  BatchGroup *g = group;
  for (int c; (c = atomic_fetch_add(&g->claimed, 1)) < g->chunks;) convert_chunk(g, c);
}

/* Batch i of g made apart, in t->x and t->y: the chunks that are ready copied, the others
 * (in the hands of a helper that has lost its core) converted anew. */
static void batch_apart(Trainer *t, BatchGroup *g, int i) {
  int r0 = g->row0[i], r1 = g->row0[i + 1];
  for (int r = r0, end; r < r1; r = end) {
    int c = r / AHEAD_CHUNK;
    end = chunk_end(g, c) < r1 ? chunk_end(g, c) : r1;
    float *x = t->x + (int64_t)(r - r0) * t->in_features, *y = t->y + (int64_t)(r - r0) * t->classes;
    if (chunk_ready(g, c)) {
      memcpy(x, g->x + (int64_t)r * t->in_features, sizeof(float) * (size_t)(end - r) * (size_t)t->in_features);
      memcpy(y, g->y + (int64_t)r * t->classes, sizeof(float) * (size_t)(end - r) * (size_t)t->classes);
    } else {
      convert_rows(g, r, end, x, y);
    }
  }
}

/* Batch i of g for its step: the chunks it needs that nobody has taken are converted here,
 * those the helper has in hand waited for, for AHEAD_PATIENCE at most (then batch_apart). */
static void group_batch(Trainer *t, BatchGroup *g, int i, const float **x, const float **y) {
  int from = g->row0[i] / AHEAD_CHUNK, to = (g->row0[i + 1] + AHEAD_CHUNK - 1) / AHEAD_CHUNK;
  if (atomic_load(&g->claimed) < to) {
    double cpu0 = dlrt_thread_seconds();
    while (atomic_load(&g->claimed) < to) {
      int c = atomic_fetch_add(&g->claimed, 1);
      if (c < g->chunks) convert_chunk(g, c);
    }
    t->assemble_seconds += dlrt_thread_seconds() - cpu0;
  }
  *x = g->x + (int64_t)g->row0[i] * t->in_features, *y = g->y + (int64_t)g->row0[i] * t->classes;
  for (int c = from; c < to; c++) {
    if (chunk_ready(g, c)) continue;
    double t0 = dlrt_seconds();
    while (!chunk_ready(g, c) && dlrt_seconds() - t0 < AHEAD_PATIENCE) continue;
    bool apart = !chunk_ready(g, c);
    if (apart) batch_apart(t, g, i), *x = t->x, *y = t->y;
    t->assemble_seconds += dlrt_seconds() - t0; /* (wall time: the wait, and a batch made apart) */
    if (apart) return;
  }
}

/* Batch b made here, not ahead, in t->x and t->y (split over the workers). */
static void batch_here(Trainer *t, const DlrtDataset *d, int b, int total, const float **x, const float **y) {
  double cpu0 = dlrt_thread_seconds();
  int batch = t->m->train.batch, first = b * batch, n = total - first < batch ? total - first : batch, lo, count;
  trainer_rows(t, n, &lo, &count);
  workers_fill(t, d, t->perm + first + lo, count, t->x, t->y);
  *x = t->x, *y = t->y;
  t->assemble_seconds += dlrt_thread_seconds() - cpu0;
}

void ahead_batch(Trainer *t, const DlrtDataset *d, int b, int total, const float **x, const float **y) {
  BatchAhead *a = t->ahead;
  int batch = t->m->train.batch, n_batches = (total + batch - 1) / batch;
  if (a->using && b >= a->using->first_batch + a->using->batches) a->using = NULL;
  if (!a->using && a->next && a->next->first_batch == b) a->using = a->next, a->next = NULL;
  if (a->using) group_batch(t, a->using, b - a->using->first_batch, x, y);
  else batch_here(t, d, b, total, x, y);
  /* the batches after those at hand, to the helper if it is idle (it never is long) */
  int from = a->using ? a->using->first_batch + a->using->batches : b + 1;
  if (!a->next && from < n_batches && prefetch_idle(&t->prefetch)) {
    double cpu0 = dlrt_thread_seconds();
    BatchGroup *g = a->using == &a->group[0] ? &a->group[1] : &a->group[0];
    group_set(g, d, from, n_batches - from < a->batches ? n_batches - from : a->batches, total);
    prefetch_start(&t->prefetch, make_group, g);
    a->next = g;
    t->assemble_seconds += dlrt_thread_seconds() - cpu0;
  }
}

void ahead_end(Trainer *t) {
  double t0 = dlrt_seconds();
  prefetch_finish(&t->prefetch);
  t->ahead->using = t->ahead->next = NULL;
  t->assemble_seconds += dlrt_seconds() - t0;
}
