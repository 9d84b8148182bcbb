/* overlap.c — of a job of several processes, the gradient all-reduce in buckets
 * (opt/buckets.h) that start while dlc_train_grad still runs.
 *
 * The gradient block is laid out in the order the gradients become final (workers.c), so
 * each bucket is one range of it. Every worker calls bucket k's hook (dlrt_sync on the fed
 * ReadyHook) once its gradients of the bucket are written, and counts itself there. Worker 0,
 * at each of its hooks and sync points, starts in order every bucket that all the workers with
 * rows have passed: it adds up that range of their blocks into its own (the same weighted sum,
 * and the same zeroing of what is counted once, as the whole block's after the function: the
 * sums are the same bit for bit), and starts its all-reduce (MPI_Iallreduce); it never waits
 * for the others; at the progress hooks after the first bucket's (before each kernel) it only
 * lets the started all-reduces move on. Only worker 0, the thread that joined MPI, calls it (MPI_THREAD_FUNNELED).
 * After the function, the buckets left are summed by all the workers, their all-reduces
 * started (the last with the loss) and all awaited. Every process starts every bucket in the
 * same order, a process without rows too (with zeros): collectives must match. */
#include "overlap.h"
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "comm.h"
#include "workers.h"

/* A worker's DlrtSync for the bucket hooks. */
typedef struct ReadyHook {
  DlrtSync base; /* first: dlrt_sync passes its address */
  Trainer *t;
  int worker;
} ReadyHook;

struct Overlap {
  bool on;             /* buckets (else DLC_ALLREDUCE=whole) */
  int n;               /* buckets */
  int64_t *lo;         /* [n + 1]: bucket k is floats [lo[k], lo[k + 1]) of the block */
  atomic_int *arrived; /* [n]: this step's workers past bucket k's hook */
  int started;         /* this step's buckets started (worker 0's) */
  ReadyHook *hooks;    /* [workers] */
  int64_t steps, early, buckets; /* DLC_ALLREDUCE_STATS: steps, buckets started inside the */
  double grad_seconds, seconds;  /* function and in all, its time, and the time after it until
                                    the sums were in; */
  double first_start, window;    /* this step's first start, and the time from it to the
                                    function's end, summed: what the overlap can hide behind */
};

static void ready_at(DlrtSync *self, float *scratch, int32_t k);

void overlap_init(Trainer *t) {
  const ParallelPlan *par = &t->m->par;
  if (t->procs < 2 || !par->data_parallel || par->buckets.n_buckets == 0) return;
  struct Overlap *o = t->overlap = calloc(1, sizeof *t->overlap);
  if (!o) dlc_fatal("out of memory");
  o->on = t->m->cfg.allreduce == ALLREDUCE_OVERLAP;
  o->n = par->buckets.n_buckets;
  o->lo = calloc((size_t)o->n + 1, sizeof *o->lo);
  o->arrived = calloc((size_t)o->n, sizeof *o->arrived);
  o->hooks = calloc((size_t)t->workers, sizeof *o->hooks);
  if (!o->lo || !o->arrived || !o->hooks) dlc_fatal("out of memory");
  for (int k = 0; k < o->n; k++) o->lo[k + 1] = o->lo[k] + par->buckets.buckets[k].floats;
  if (o->lo[o->n] != t->grad_floats) dlc_fatal("overlap_init: the buckets do not cover the gradient block");
  for (int w = 0; w < t->workers; w++) {
    o->hooks[w] = (ReadyHook){{ready_at}, t, w};
    t->shards[w].feeds[par->ready_slot] = o->on ? (const float *)(void *)&o->hooks[w] : NULL;
  }
}

void overlap_free(Trainer *t) {
  struct Overlap *o = t->overlap;
  if (!o) return;
  const char *stats = getenv("DLC_ALLREDUCE_STATS");
  if (stats && *stats && strcmp(stats, "0") && o->steps > 0) {
    char buckets[128] = "";
    if (o->on) snprintf(buckets, sizeof buckets, ", %lld of %lld buckets started during the backward pass, %.1f us before its end",
                        (long long)o->early, (long long)o->buckets, 1e6 * o->window / (double)o->steps);
    fprintf(stderr, "dlc: process %d: all-reduce %s: %lld steps, %.1f us per step in dlc_train_grad, %.1f us from its end to "
            "the summed gradients%s\n", t->rank, o->on ? "overlap" : "whole", (long long)o->steps,
            1e6 * o->grad_seconds / (double)o->steps, 1e6 * o->seconds / (double)o->steps, buckets);
  }
  free(o->lo);
  free(o->arrived);
  free(o->hooks);
  free(o);
  t->overlap = NULL;
}

bool overlap_on(const Trainer *t) { return t->overlap && t->overlap->on; }

void overlap_count(Trainer *t, double grad_seconds, double seconds) {
  if (!t->overlap) return;
  t->overlap->steps++;
  t->overlap->grad_seconds += grad_seconds;
  t->overlap->seconds += seconds;
}

/* Bucket k of the workers' blocks, summed into worker 0's, and its all-reduce started. */
static void start_bucket(Trainer *t, int k) {
  struct Overlap *o = t->overlap;
  float *sum = t->shards[0].grads;
  workers_zero_once(t, o->lo[k], o->lo[k + 1]);
  if (t->n_grad_src > 0) dlrt_weighted_sum(sum, t->grad_src, t->grad_weight, t->n_grad_src, o->lo[k], o->lo[k + 1]);
  dlrt_comm_start_sum(sum + o->lo[k], o->lo[k + 1] - o->lo[k]);
}

/* dlrt_sync's callback at a bucket's hook (k < n - 1), or at a progress hook (the rest). */
static void ready_at(DlrtSync *self, float *scratch, int32_t k) {
  ReadyHook *h = (ReadyHook *)self;
  (void)scratch;
  /* (release: the bucket's gradients, written before, are seen by worker 0 once it counts us) */
  if (k < h->t->overlap->n - 1) atomic_fetch_add_explicit(&h->t->overlap->arrived[k], 1, memory_order_acq_rel);
  if (h->worker == 0) overlap_progress(h->t);
}

void overlap_begin(Trainer *t) {
  struct Overlap *o = t->overlap;
  for (int k = 0; k < o->n; k++) atomic_store_explicit(&o->arrived[k], 0, memory_order_relaxed);
  o->started = 0;
}

void overlap_progress(Trainer *t) {
  struct Overlap *o = t->overlap;
  if (!o || !o->on) return;
  /* (the last bucket waits for the loss, after the function) */
  while (o->started < o->n - 1 && atomic_load_explicit(&o->arrived[o->started], memory_order_acquire) == t->active) {
    if (o->started == 0) o->first_start = dlrt_seconds();
    start_bucket(t, o->started++);
  }
  if (o->started > 0) dlrt_comm_test_sums();
}

float overlap_finish(Trainer *t, float loss) {
  struct Overlap *o = t->overlap;
  float *sum = t->shards[0].grads;
  int first = o->started;
  if (first > 0) o->window += dlrt_seconds() - o->first_start;
  workers_zero_once(t, o->lo[first], t->grad_floats);
  if (t->n_grad_src > 0) workers_sum_grads(t, o->lo[first], t->grad_floats);
  else memset(sum + o->lo[first], 0, sizeof(float) * (size_t)(t->grad_floats - o->lo[first])); /* no rows: adds nothing */
  sum[t->grad_floats] = loss;
  for (int k = first; k < o->n; k++) dlrt_comm_start_sum(sum + o->lo[k], o->lo[k + 1] - o->lo[k] + (k == o->n - 1));
  dlrt_comm_wait_sums();
  o->early += first;
  o->buckets += o->n;
  o->started = o->n; /* (a hook outside a step, were there one, starts nothing) */
  return sum[t->grad_floats];
}
