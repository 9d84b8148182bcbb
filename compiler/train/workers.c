/* workers.c — a trainer's threads and each one's share of a batch: its rows of the feeds,
 * its scratch block and (data-parallel) its gradient block; the steps run on them:
 * data-parallel training (forward and backward per worker, gradients summed by rows, one
 * update), inference split by rows, and batch assembly split by rows. Worker 0 is the
 * calling thread; with one worker no thread is started. Of a job of several processes
 * (runtime/comm.h), the gradients are summed over the processes too.
 *
 * Synced (batch norm: the driver's ParallelPlan.synced), the workers of all processes stop
 * at each sync point of dlc_train_grad: worker 0 of each process adds up its workers' sums,
 * then the processes' (MPI_Allreduce), and writes the result into every worker's buffer.
 *
 * Of several processes, the gradient block is laid out in the order the gradients become
 * final, and its all-reduce goes in buckets started during dlc_train_grad (overlap.c). */
#include "workers.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "comm.h"
#include "overlap.h"

/* A worker's DlrtSync, as fed to dlrt_sync. */
typedef struct WorkerSync {
  DlrtSync base; /* first: dlrt_sync passes its address */
  Trainer *t;
  int worker;
} WorkerSync;

struct SyncState {
  WorkerSync *workers;
  float *buf;                /* a sync point's sums, packed for one all-reduce */
  int64_t floats;            /* ... its size: the largest point's */
  atomic_int arrived;        /* the barrier: workers at it, */
  atomic_uint generation;    /* ... how many times it has opened, */
  pthread_mutex_t lock;      /* ... and where workers that stopped spinning sleep */
  pthread_cond_t opened;
};

enum { SYNC_SPINS = 1 << 12 }; /* polling rounds at a barrier before sleeping */

/* The buffer of node y in worker w's scratch (dlc_train_grad's plan). */
static float *worker_buffer(const Trainer *t, int w, const Node *y) {
  const MemPlan *plan = &t->m->par_fns[PAR_GRAD].plan;
  return t->shards[w].scratch + (plan->offset[y->id] - plan->persist_floats);
}

/* Waits until all t->active workers are here: spinning for a while (a sync point of a
 * balanced step is reached within microseconds of each other), then sleeping, so that more
 * workers than cores (threads of several processes on one machine) do not spin on a core the
 * worker they wait for needs. */
static void barrier(Trainer *t) {
  struct SyncState *s = t->sync;
  unsigned gen = atomic_load_explicit(&s->generation, memory_order_acquire);
  if (atomic_fetch_add_explicit(&s->arrived, 1, memory_order_acq_rel) + 1 == t->active) {
    atomic_store_explicit(&s->arrived, 0, memory_order_relaxed);
    pthread_mutex_lock(&s->lock);
    atomic_fetch_add_explicit(&s->generation, 1, memory_order_release);
    pthread_cond_broadcast(&s->opened);
    pthread_mutex_unlock(&s->lock);
    return;
  }
  for (int i = 0; i < SYNC_SPINS; i++) {
    if (atomic_load_explicit(&s->generation, memory_order_acquire) != gen) return;
    if (i % 64 == 63) sched_yield();
  }
  pthread_mutex_lock(&s->lock);
  while (atomic_load_explicit(&s->generation, memory_order_acquire) == gen) pthread_cond_wait(&s->opened, &s->lock);
  pthread_mutex_unlock(&s->lock);
}

/* Sync point k's sums over this process's active workers, packed into buf, summed over the
 * processes (a process without rows adds zeros), then unpacked into every active worker's
 * buffers. Called by worker 0 only. */
static void sum_point(Trainer *t, int k) {
  const SyncPoint *pt = &t->m->par.shards.points[k];
  float *buf = t->sync->buf;
  int64_t at = 0;
  for (int i = 0; i < pt->n; i++) {
    int64_t len = shape_numel(pt->nodes[i]->shape);
    if (t->active == 0) memset(buf + at, 0, sizeof(float) * (size_t)len);
    for (int w = 0; w < t->active; w++) {
      const float *src = worker_buffer(t, w, pt->nodes[i]);
      for (int64_t j = 0; j < len; j++) buf[at + j] = w ? buf[at + j] + src[j] : src[j];
    }
    at += len;
  }
  if (t->procs > 1) dlrt_comm_sum_floats(buf, at);
  at = 0;
  for (int i = 0; i < pt->n; i++) {
    int64_t len = shape_numel(pt->nodes[i]->shape);
    for (int w = 0; w < t->active; w++) memcpy(worker_buffer(t, w, pt->nodes[i]), buf + at, sizeof(float) * (size_t)len);
    at += len;
  }
}

/* dlrt_sync's callback: every worker waits for the others' sums, worker 0 adds them up and
 * hands them out, and all go on once it has. */
static void sync_at(DlrtSync *self, float *scratch, int32_t point) {
  WorkerSync *ws = (WorkerSync *)self;
  Trainer *t = ws->t;
  (void)scratch; /* (the buffers are found from each worker's scratch block) */
  barrier(t);
  if (ws->worker == 0) {
    overlap_progress(t); /* (every worker is past the bucket hooks before this point) */
    sum_point(t, point);
  }
  barrier(t);
}

static void sync_init(Trainer *t) {
  const ParallelPlan *par = &t->m->par;
  struct SyncState *s = t->sync = calloc(1, sizeof *t->sync);
  if (!s || !(s->workers = calloc((size_t)t->workers, sizeof *s->workers))) dlc_fatal("out of memory");
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->opened, NULL);
  for (int k = 0; k < par->shards.n_points; k++) {
    int64_t floats = 0;
    for (int i = 0; i < par->shards.points[k].n; i++) floats += shape_numel(par->shards.points[k].nodes[i]->shape);
    if (floats > s->floats) s->floats = floats;
  }
  s->buf = floats_alloc(s->floats);
  for (int w = 0; w < t->workers; w++) {
    s->workers[w] = (WorkerSync){{sync_at}, t, w};
    t->shards[w].feeds[par->sync_slot] = (const float *)(void *)&s->workers[w];
    t->shards[w].feeds[par->batch_slot] = &t->batch_rows;
  }
}

static void sync_free(Trainer *t) {
  if (!t->sync) return;
  pthread_mutex_destroy(&t->sync->lock);
  pthread_cond_destroy(&t->sync->opened);
  free(t->sync->workers);
  free(t->sync->buf);
  free(t->sync);
}

void *floats_try_alloc(int64_t n) {
  size_t bytes = ((size_t)n * sizeof(float) + 63) / 64 * 64;
  void *p = aligned_alloc(64, bytes ? bytes : 64);
  if (p) memset(p, 0, bytes);
  return p;
}

void *floats_alloc(int64_t n) {
  void *p = floats_try_alloc(n);
  if (!p) dlc_fatal("out of memory (%lld floats)", (long long)n);
  return p;
}

/* The OUTPUT of dlc_train_grad that node i (of the forward graph) leaves through: its
 * gradient (a PARAM), or synced, its new value (a running statistic); or NULL. */
static const Node *block_output(const Model *m, int i) {
  if (m->par.grad_out[i]) return m->par.grad_out[i];
  return m->par.synced ? m->par.state_out[i] : NULL;
}

/* Data-parallel: each worker's gradient block, and where each parameter's gradient (synced:
 * each running statistic's new value too) is in it. */
static void plan_gradients(Trainer *t) {
  const Model *m = t->m;
  t->grad_at = malloc(sizeof(int64_t) * (size_t)m->n_forward);
  t->grad_src = calloc((size_t)t->workers, sizeof *t->grad_src);
  t->grad_weight = calloc((size_t)t->workers, sizeof *t->grad_weight);
  t->once = calloc(2 * (size_t)m->n_forward + 2, sizeof *t->once);
  if (!t->grad_at || !t->grad_src || !t->grad_weight || !t->once) dlc_fatal("out of memory");
  /* in forward order; of several processes, in the order the gradients become final (each
   * bucket of the all-reduce one range) */
  const BucketPlan *b = &m->par.buckets;
  int *order = malloc(sizeof(int) * (size_t)(m->n_forward + 1)), n = 0;
  if (!order) dlc_fatal("out of memory");
  for (int i = 0; i < m->n_forward; i++) {
    t->grad_at[i] = -1;
    if (block_output(m, i) && b->n_buckets == 0) order[n++] = i;
  }
  for (int k = 0; k < b->n_outputs; k++)
    for (int i = 0; i < m->n_forward; i++)
      if (block_output(m, i) == b->outputs[k]) order[n++] = i;
  for (int k = 0; k < n; k++) {
    int i = order[k];
    const Node *out = block_output(m, i);
    t->grad_at[i] = t->grad_floats;
    int64_t floats = shape_numel(m->g->nodes[i]->shape);
    if (m->par.synced && !m->par.unsplittable && m->par.shards.once[out->id])
      t->once[2 * t->n_once] = t->grad_floats, t->once[2 * t->n_once++ + 1] = floats;
    t->grad_floats += arena_align(floats);
  }
  free(order);
}

/* Workers other than 0 run only dlc_forward and, data-parallel, dlc_train_grad, both on their
 * share of the rows; worker 0 also runs the whole step, in the arena's scratch. */
static int64_t worker_scratch_floats(const Model *m) {
  int64_t scratch_floats = m->fns[FN_FORWARD].plan.total_floats;
  if (m->par.data_parallel && m->par_fns[PAR_GRAD].plan.total_floats > scratch_floats)
    scratch_floats = m->par_fns[PAR_GRAD].plan.total_floats;
  return scratch_floats - m->state_floats;
}

int64_t workers_floats(const Model *m) {
  int workers = m->cfg.threads > 1 ? m->cfg.threads : 1;
  int64_t grads = 0;
  for (int i = 0; m->par.data_parallel && i < m->n_forward; i++)
    if (m->par.grad_out[i]) grads += arena_align(shape_numel(m->g->nodes[i]->shape));
  return (int64_t)(workers - 1) * worker_scratch_floats(m) + workers * grads;
}

static void new_shards(Trainer *t) {
  const Model *m = t->m;
  int64_t scratch_floats = worker_scratch_floats(m);
  t->shards = calloc((size_t)t->workers, sizeof *t->shards);
  if (!t->shards) dlc_fatal("out of memory");
  for (int w = 0; w < t->workers; w++) {
    Shard *s = &t->shards[w];
    s->feeds = calloc((size_t)m->g->n_feeds + 1, sizeof *s->feeds);
    s->results = calloc((size_t)m->g->n_results + 1, sizeof *s->results);
    if (!s->feeds || !s->results) dlc_fatal("out of memory");
    s->scratch = w == 0 ? t->arena + m->state_floats : floats_alloc(scratch_floats);
    if (m->par.data_parallel) { /* (worker 0's with a float more: the loss, summed with them) */
      s->grads = floats_alloc(t->grad_floats + (w == 0));
      for (int i = 0; i < m->n_forward; i++)
        if (block_output(m, i)) s->results[block_output(m, i)->attr.slot] = s->grads + t->grad_at[i];
    }
  }
  if (m->par.data_parallel) /* the update reads the sum, which is made in worker 0's block */
    for (int i = 0; i < m->n_forward; i++) {
      const Node *in = m->par.grad_in[i] ? m->par.grad_in[i] : m->par.synced ? m->par.state_in[i] : NULL;
      if (in) t->shards[0].feeds[in->attr.slot] = t->shards[0].grads + t->grad_at[i];
    }
  if (m->par.synced) sync_init(t);
  overlap_init(t);
}

void workers_init(Trainer *t) {
  const Model *m = t->m;
  t->workers = m->cfg.threads > 1 ? m->cfg.threads : 1;
  if (t->workers > 1 && !(t->pool = dlrt_pool_new(t->workers))) dlc_fatal("cannot start %d threads", t->workers);
  if (m->par.data_parallel) plan_gradients(t);
  new_shards(t);
}

void workers_free(Trainer *t) {
  dlrt_pool_free(t->pool);
  sync_free(t);
  overlap_free(t);
  for (int w = 0; w < t->workers && t->shards; w++) {
    free(t->shards[w].feeds);
    free(t->shards[w].results);
    if (w > 0) free(t->shards[w].scratch);
    free(t->shards[w].grads);
  }
  free(t->shards);
  free(t->grad_at);
  free(t->grad_src);
  free(t->grad_weight);
  free(t->once);
}

/* Dropout's noise for a shard's rows from its row `row` on (the batch's rows are the
 * buffer's from row0). */
static void feed_noise(Trainer *t, Shard *s, int row) {
  for (int k = 0; k < t->n_noise; k++)
    s->feeds[t->noise[k]->attr.slot] =
        t->noise_buf[k] + (int64_t)(t->row0 + s->first + row) * shape_numel(t->noise[k]->shape);
}

void workers_split(Trainer *t, int parts, const float *x, const float *y, float *out, int n, const float *training) {
  const Model *m = t->m;
  t->active = n < parts ? n : parts; /* a batch of 1 is not worth waking a thread */
  for (int w = 0; w < t->workers; w++) {
    Shard *s = &t->shards[w];
    s->first = w < t->active ? (int)((int64_t)n * w / t->active) : n;
    s->n = w < t->active ? (int)((int64_t)n * (w + 1) / t->active) - s->first : 0;
    s->feeds[m->sema.input->attr.slot] = x + (int64_t)s->first * t->in_features;
    if (y) s->feeds[m->sema.target->attr.slot] = y + (int64_t)s->first * t->classes;
    if (out) s->results[m->out_result->attr.slot] = out + (int64_t)s->first * t->classes;
    if (m->sema.training) s->feeds[m->sema.training->attr.slot] = training;
    feed_noise(t, s, 0);
  }
}

/* A worker's rows in slices of t->forward_rows (trainer_forward_rows), each call on that
 * slice's rows of the input, the noise and the output: rows are independent in inference. */
static void forward_task(void *ctx, int w) {
  Trainer *t = ctx;
  Shard *s = &t->shards[w];
  const Model *m = t->m;
  int x_slot = m->sema.input->attr.slot, out_slot = m->out_result->attr.slot;
  const float *x = s->feeds[x_slot];
  float *out = s->results[out_slot];
  int step = t->forward_rows > 0 ? t->forward_rows : s->n;
  for (int done = 0; done < s->n; done += step) {
    int n = s->n - done < step ? s->n - done : step;
    s->feeds[x_slot] = x + (int64_t)done * t->in_features;
    s->results[out_slot] = out + (int64_t)done * t->classes;
    feed_noise(t, s, done);
    t->forward(t->arena, s->scratch, s->feeds, s->results, n);
  }
  s->feeds[x_slot] = x; /* (the shard's rows as workers_split left them) */
  s->results[out_slot] = out;
  feed_noise(t, s, 0);
}

static void grad_task(void *ctx, int w) {
  Trainer *t = ctx;
  Shard *s = &t->shards[w];
  s->loss_sum = 0;
  if (s->n > 0) t->train_grad(t->arena, s->scratch, s->feeds, s->results, s->n);
}

/* Worker 0's gradients become the batch's: each worker's gradient is the mean over its
 * rows, so the batch's is their mean weighted by rows. Each worker sums a slice of a range. */
typedef struct SumRange {
  Trainer *t;
  int64_t lo, hi;
} SumRange;

static void sum_grads_task(void *ctx, int w) {
  const SumRange *r = ctx;
  Trainer *t = r->t;
  int64_t lo = r->lo + arena_align((r->hi - r->lo) * w / t->workers);
  int64_t hi = w + 1 == t->workers ? r->hi : r->lo + arena_align((r->hi - r->lo) * (w + 1) / t->workers);
  if (hi > r->hi) hi = r->hi;
  if (lo < hi) dlrt_weighted_sum(t->shards[0].grads, t->grad_src, t->grad_weight, t->n_grad_src, lo, hi);
}

void workers_sum_grads(Trainer *t, int64_t lo, int64_t hi) {
  SumRange r = {t, lo, hi};
  if (t->pool) dlrt_pool_run(t->pool, sum_grads_task, &r);
  else sum_grads_task(&r, 0);
}

void workers_zero_once(Trainer *t, int64_t lo, int64_t hi) {
  for (int w = 0; w < t->workers; w++)
    for (int k = 0; t->shards[w].n > 0 && k < t->n_once && (w > 0 || t->rank != t->procs - 1); k++)
      if (t->once[2 * k] >= lo && t->once[2 * k] < hi)
        memset(t->shards[w].grads + t->once[2 * k], 0, sizeof(float) * (size_t)t->once[2 * k + 1]);
}

/* Runs task on every worker, or on this thread alone if it is worker 0's only (parts 1). */
static void run(Trainer *t, DlrtTask task, int parts) {
  if (t->pool && parts > 1) dlrt_pool_run(t->pool, task, t);
  else task(t, 0);
}

/* One training step on the batch workers_split set up (n rows here, of a batch of n_all over
 * the job's processes; hypers fed); the batch's summed loss. */
float workers_train_step(Trainer *t, int n, int n_all) {
  Shard *s0 = &t->shards[0];
  if (!t->m->par.data_parallel) {
    s0->results[t->m->loss_sum->attr.slot] = &s0->loss_sum;
    t->train_step(t->arena, s0->scratch, s0->feeds, s0->results, n);
    return s0->loss_sum;
  }
  const ParallelPlan *par = &t->m->par;
  for (int w = 0; w < t->workers; w++) t->shards[w].results[t->m->loss_sum->attr.slot] = &t->shards[w].loss_sum;
  t->batch_rows = (float)n_all;
  /* Synced, each worker's gradient is a sum over its rows times the batch's 1/n (the others'
   * a mean over its rows): weighted by 1 (by rows over the batch's); what every worker
   * computes whole comes from one worker of the job, the last process's first (which always
   * has rows), and is zero elsewhere (workers_zero_once). */
  t->n_grad_src = 0;
  for (int w = 0; w < t->workers; w++)
    if (t->shards[w].n > 0) { /* (a worker without rows computes nothing) */
      t->grad_src[t->n_grad_src] = t->shards[w].grads;
      t->grad_weight[t->n_grad_src++] = par->synced ? 1.0f : (float)t->shards[w].n / (float)n_all;
    }
  if (overlap_on(t)) overlap_begin(t);
  double start = dlrt_seconds();
  run(t, grad_task, t->active);
  if (t->active == 0 && t->sync) /* rows elsewhere: this process adds zeros at every sync point */
    for (int k = 0; k < par->shards.n_points; k++) sum_point(t, k);
  double summing = dlrt_seconds();
  float loss = 0;
  for (int w = 0; w < t->active; w++) loss += t->shards[w].loss_sum; /* the others did not run */
  if (overlap_on(t)) {
    loss = overlap_finish(t, loss);
  } else {
    workers_zero_once(t, 0, t->grad_floats);
    if (t->n_grad_src > 0) workers_sum_grads(t, 0, t->grad_floats);
    else memset(s0->grads, 0, sizeof(float) * (size_t)t->grad_floats); /* a process without rows adds nothing */
    if (t->procs > 1) { /* every process's weighted gradients and loss, summed: the batch's */
      s0->grads[t->grad_floats] = loss;
      dlrt_comm_sum_floats(s0->grads, t->grad_floats + 1);
      loss = s0->grads[t->grad_floats];
    }
  }
  overlap_count(t, summing - start, dlrt_seconds() - summing);
  t->train_update(t->arena, s0->scratch, s0->feeds, s0->results, n_all);
  return loss;
}

/* Rows [w n / workers, (w + 1) n / workers) of the batch t->filling describes. */
static void fill_rows_task(void *ctx, int w) {
  Trainer *t = ctx;
  const BatchFill *f = &t->filling;
  if (w >= f->parts) return;
  int lo = (int)((int64_t)f->n * w / f->parts), hi = (int)((int64_t)f->n * (w + 1) / f->parts);
  dlrt_fill_batch_mapped(f->d, f->idx + lo, hi - lo, t->classes, &t->pixels, f->x + (int64_t)lo * t->in_features,
                         f->y ? f->y + (int64_t)lo * t->classes : NULL);
}

/* Converts examples idx[0..n) of d into x (and one-hot y, unless NULL), the rows split over
 * the workers. */
void workers_fill(Trainer *t, const DlrtDataset *d, const int *idx, int n, float *x, float *y) {
  t->filling = (BatchFill){d, idx, n, n >= 8 * t->workers ? t->workers : 1, x, y};
  run(t, fill_rows_task, t->filling.parts);
}

void workers_forward(Trainer *t) { run(t, forward_task, t->active); }
