/* trainer.c — the loops around the JIT'd functions. Nothing here knows the model's layers:
 * it fills feeds, calls dlc_train_step / dlc_forward per batch, and reads results. */
#include "trainer.h"
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "distort.h"

static void *aligned_floats(int64_t n) {
  size_t bytes = ((size_t)n * sizeof(float) + 63) / 64 * 64;
  void *p = aligned_alloc(64, bytes ? bytes : 64);
  if (!p) dlc_fatal("out of memory (%zu bytes)", bytes);
  memset(p, 0, bytes);
  return p;
}

/* Parameters in declaration order, each from the one seeded stream: the same seed gives
 * the same network. Optimiser state starts at zero. */
static void init_params(Trainer *t) {
  const Graph *g = t->m->g;
  const int64_t *off = model_state_offsets(t->m);
  for (int i = 0; i < g->len; i++) {
    const Node *p = g->nodes[i];
    if (p->op != OP_PARAM && p->op != OP_STATE) continue;
    dlrt_init_fill(&p->init, t->arena + off[i], shape_numel(p->shape), &t->rng);
  }
}

static int64_t round_up(int64_t n, int64_t k) { return (n + k - 1) / k * k; }

/* Data-parallel: each worker's gradient block, and where each parameter's gradient is in it. */
static void plan_gradients(Trainer *t) {
  const Model *m = t->m;
  t->grad_at = malloc(sizeof(int64_t) * (size_t)m->n_forward);
  t->grad_src = calloc((size_t)t->workers, sizeof *t->grad_src);
  t->grad_weight = calloc((size_t)t->workers, sizeof *t->grad_weight);
  if (!t->grad_at || !t->grad_src || !t->grad_weight) dlc_fatal("out of memory");
  for (int i = 0; i < m->n_forward; i++) {
    t->grad_at[i] = -1;
    if (!m->grad_out[i]) continue;
    t->grad_at[i] = t->grad_floats;
    t->grad_floats += round_up(shape_numel(m->g->nodes[i]->shape), ARENA_ALIGN_FLOATS);
  }
}

static void new_shards(Trainer *t) {
  const Model *m = t->m;
  /* Workers other than 0 run only dlc_forward and, data-parallel, dlc_train_grad, both on
   * their share of the rows; worker 0 also runs the whole step, in the arena's scratch. */
  int64_t scratch_floats = m->fns[FN_FORWARD].plan.total_floats;
  if (m->data_parallel && m->par_fns[PAR_GRAD].plan.total_floats > scratch_floats)
    scratch_floats = m->par_fns[PAR_GRAD].plan.total_floats;
  scratch_floats -= m->state_floats;
  t->shards = calloc((size_t)t->workers, sizeof *t->shards);
  if (!t->shards) dlc_fatal("out of memory");
  for (int w = 0; w < t->workers; w++) {
    Shard *s = &t->shards[w];
    s->feeds = calloc((size_t)m->g->n_feeds + 1, sizeof *s->feeds);
    s->results = calloc((size_t)m->g->n_results + 1, sizeof *s->results);
    if (!s->feeds || !s->results) dlc_fatal("out of memory");
    s->scratch = w == 0 ? t->arena + m->state_floats : aligned_floats(scratch_floats);
    if (m->data_parallel) {
      s->grads = aligned_floats(t->grad_floats);
      for (int i = 0; i < m->n_forward; i++)
        if (m->grad_out[i]) s->results[m->grad_out[i]->attr.slot] = s->grads + t->grad_at[i];
    }
  }
  if (m->data_parallel) /* the update reads the sum, which is made in worker 0's block */
    for (int i = 0; i < m->n_forward; i++)
      if (m->grad_in[i]) t->shards[0].feeds[m->grad_in[i]->attr.slot] = t->shards[0].grads + t->grad_at[i];
}

Trainer *trainer_new(Model *m) {
  DlcJit *jit = model_compile(m);
  if (!jit) return NULL;
  Trainer *t = calloc(1, sizeof *t);
  if (!t) dlc_fatal("out of memory");
  t->m = m;
  t->jit = jit;
  t->best_val_error = 1;
  t->forward = (DlrtModelFn)jit_lookup(jit, model_fn_names[FN_FORWARD]);
  if (m->data_parallel) { /* else dlc_train_step runs on worker 0, all rows */
    t->train_grad = (DlrtModelFn)jit_lookup(jit, model_par_fn_names[PAR_GRAD]);
    t->train_update = (DlrtModelFn)jit_lookup(jit, model_par_fn_names[PAR_UPDATE]);
  } else {
    t->train_step = (DlrtModelFn)jit_lookup(jit, model_fn_names[FN_TRAIN]);
  }
  t->workers = m->threads > 1 ? m->threads : 1;
  if (t->workers > 1 && !(t->pool = dlrt_pool_new(t->workers))) dlc_fatal("cannot start %d threads", t->workers);
  t->in_features = (int)shape_numel(m->sema.input->shape);
  t->classes = (int)shape_numel(m->sema.target->shape);
  int batch = m->train.batch;
  t->arena = aligned_floats(m->arena_floats);
  if (m->data_parallel) plan_gradients(t);
  new_shards(t);
  t->x = aligned_floats((int64_t)batch * t->in_features);
  t->y = aligned_floats((int64_t)batch * t->classes);
  t->out = aligned_floats((int64_t)batch * t->classes);
  if (m->train.distort.affine || m->train.distort.elastic) {
    t->x_next = aligned_floats((int64_t)batch * t->in_features);
    t->y_next = aligned_floats((int64_t)batch * t->classes);
  }
  for (int i = 0; i < m->g->len; i++) t->n_noise += m->g->nodes[i]->op == OP_NOISE;
  t->noise = calloc((size_t)t->n_noise + 1, sizeof *t->noise);
  t->noise_buf = calloc((size_t)t->n_noise + 1, sizeof *t->noise_buf);
  for (int i = 0, k = 0; i < m->g->len; i++)
    if (m->g->nodes[i]->op == OP_NOISE) {
      t->noise[k] = m->g->nodes[i];
      t->noise_buf[k++] = aligned_floats((int64_t)batch * shape_numel(m->g->nodes[i]->shape));
    }
  dlrt_rng_seed(&t->rng, m->train.seed);
  init_params(t);
  dlrt_flush_denormals();
  return t;
}

void trainer_free(Trainer *t) {
  if (!t) return;
  dlrt_pool_free(t->pool);
  for (int w = 0; w < t->workers; w++) {
    free(t->shards[w].feeds);
    free(t->shards[w].results);
    if (w > 0) free(t->shards[w].scratch);
    free(t->shards[w].grads);
  }
  free(t->shards);
  free(t->grad_at);
  free(t->grad_src);
  free(t->grad_weight);
  jit_free(t->jit);
  free(t->arena);
  free(t->x);
  free(t->y);
  free(t->out);
  free(t->x_next);
  free(t->y_next);
  free(t->perm);
  for (int k = 0; k < t->n_noise; k++) free(t->noise_buf[k]);
  free(t->noise_buf);
  free(t->noise);
  free(t);
}

/* Splits n rows over `parts` workers (at most) and points each one's per-row feeds at its
 * rows: inputs x, one-hot targets y (or NULL), outputs out (or NULL), dropout's noise;
 * `training` is the flag models with dropout or batch norm read. */
static void split_batch(Trainer *t, int parts, const float *x, const float *y, float *out, int n, const float *training) {
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
    for (int k = 0; k < t->n_noise; k++)
      s->feeds[t->noise[k]->attr.slot] = t->noise_buf[k] + (int64_t)s->first * shape_numel(t->noise[k]->shape);
  }
}

static void forward_task(void *ctx, int w) {
  Trainer *t = ctx;
  Shard *s = &t->shards[w];
  if (s->n > 0) t->forward(t->arena, s->scratch, s->feeds, s->results, s->n);
}

static void grad_task(void *ctx, int w) {
  Trainer *t = ctx;
  Shard *s = &t->shards[w];
  s->loss_sum = 0;
  if (s->n > 0) t->train_grad(t->arena, s->scratch, s->feeds, s->results, s->n);
}

/* Worker 0's gradients become the batch's: each worker's gradient is the mean over its
 * rows, so the batch's is their mean weighted by rows. Each worker sums a slice. */
static void sum_grads_task(void *ctx, int w) {
  Trainer *t = ctx;
  int64_t lo = round_up(t->grad_floats * w / t->workers, ARENA_ALIGN_FLOATS);
  int64_t hi = w + 1 == t->workers ? t->grad_floats : round_up(t->grad_floats * (w + 1) / t->workers, ARENA_ALIGN_FLOATS);
  dlrt_weighted_sum(t->shards[0].grads, t->grad_src, t->grad_weight, t->n_grad_src, lo, hi);
}

/* Runs task on every worker, or on this thread alone if it is worker 0's only (parts 1). */
static void run(Trainer *t, DlrtTask task, int parts) {
  if (t->pool && parts > 1) dlrt_pool_run(t->pool, task, t);
  else task(t, 0);
}

/* One training step on the batch split_batch set up (n rows, hypers fed); the summed loss. */
static float train_step(Trainer *t, int n) {
  Shard *s0 = &t->shards[0];
  if (!t->m->data_parallel) {
    s0->results[t->m->loss_sum->attr.slot] = &s0->loss_sum;
    t->train_step(t->arena, s0->scratch, s0->feeds, s0->results, n);
    return s0->loss_sum;
  }
  for (int w = 0; w < t->workers; w++) t->shards[w].results[t->m->loss_sum->attr.slot] = &t->shards[w].loss_sum;
  run(t, grad_task, t->active);
  t->n_grad_src = 0;
  for (int w = 0; w < t->workers; w++)
    if (t->shards[w].n > 0) { /* (a worker without rows computed nothing) */
      t->grad_src[t->n_grad_src] = t->shards[w].grads;
      t->grad_weight[t->n_grad_src++] = (float)t->shards[w].n / (float)n;
    }
  run(t, sum_grads_task, t->workers);
  t->train_update(t->arena, s0->scratch, s0->feeds, s0->results, n);
  float loss = 0;
  for (int w = 0; w < t->active; w++) loss += t->shards[w].loss_sum; /* the others did not run */
  return loss;
}

bool trainer_check_data(const Trainer *t, const DlrtDataset *d, const char *what) {
  const Node *in = t->m->sema.input;
  if ((int64_t)d->rows * d->cols != t->in_features) {
    diag_error(in->loc, "the %s images are %dx%d (%d values), but '%s' has %d", what, d->rows, d->cols,
               d->rows * d->cols, in->name, t->in_features);
    return false;
  }
  return true;
}

double trainer_lr(const TrainSettings *ts, double epochs_done) {
  double lr = ts->lr, progress = epochs_done / ts->epochs, whole = floor(epochs_done);
  switch (ts->schedule) {
  case SCHEDULE_CONSTANT: break;
  case SCHEDULE_COSINE: lr *= 0.5 * (1 + cos(M_PI * (progress < 1 ? progress : 1))); break;
  case SCHEDULE_STEP: lr *= pow(ts->gamma, floor(whole / ts->every)); break;
  case SCHEDULE_EXPONENTIAL: lr *= pow(ts->gamma, whole); break;
  }
  if (ts->warmup > 0 && epochs_done < ts->warmup) lr *= epochs_done / ts->warmup; /* linear, step by step */
  return lr;
}


/* One training batch to assemble: the examples perm[first .. first + n) of the epoch. */
typedef struct BatchJob {
  Trainer *t;
  const DlrtDataset *d;
  int epoch, first, n;
  float *x, *y;
  double seconds; /* what distorting it took */
} BatchJob;

/* Rows [w n / workers, (w + 1) n / workers) of the batch t->filling describes. */
static void fill_rows_task(void *ctx, int w) {
  Trainer *t = ctx;
  const BatchFill *f = &t->filling;
  if (w >= f->parts) return;
  int lo = (int)((int64_t)f->n * w / f->parts), hi = (int)((int64_t)f->n * (w + 1) / f->parts);
  dlrt_fill_batch(f->d, f->idx + lo, hi - lo, t->classes, t->m->train.pixel_lo, t->m->train.pixel_hi,
                  f->x + (int64_t)lo * t->in_features, f->y ? f->y + (int64_t)lo * t->classes : NULL);
}

/* Converts examples idx[0..n) of d into x (and one-hot y, unless NULL), the rows split over
 * the workers. */
static void fill_batch(Trainer *t, const DlrtDataset *d, const int *idx, int n, float *x, float *y) {
  t->filling = (BatchFill){d, idx, n, n >= 8 * t->workers ? t->workers : 1, x, y};
  run(t, fill_rows_task, t->filling.parts);
}

static void fill_job(BatchJob *j) {
  const TrainSettings *ts = &j->t->m->train;
  const int *idx = j->t->perm + j->first;
  if (ts->distort.affine || ts->distort.elastic) {
    double t0 = now_seconds();
    dlrt_fill_batch_distorted(j->d, idx, j->n, &ts->distort, ts->seed, j->epoch, j->first, ts->pixel_lo, ts->pixel_hi,
                              j->x);
    dlrt_fill_labels(j->d, idx, j->n, j->t->classes, j->y);
    j->seconds = now_seconds() - t0;
  } else { /* (only ever on the stepping thread: the helper thread distorts) */
    fill_batch(j->t, j->d, idx, j->n, j->x, j->y);
  }
}

static void *fill_job_thread(void *job) {
  fill_job(job);
  return NULL;
}

double trainer_epoch(Trainer *t, const DlrtDataset *d, int limit, int epoch, ProgressFn progress, void *ctx) {
  int total = limit > 0 && limit < d->count ? limit : d->count;
  if (t->perm_len != total) {
    free(t->perm);
    t->perm = malloc(sizeof(int) * (size_t)total);
    if (!t->perm) dlc_fatal("out of memory");
    t->perm_len = total;
  }
  for (int i = 0; i < total; i++) t->perm[i] = i;
  dlrt_rng_shuffle(&t->rng, t->perm, total);

  const TrainSettings *ts = &t->m->train;
  float hyper[HYPER_COUNT] = {0};
  static const float one = 1;
  for (int k = 0; k < HYPER_COUNT; k++) /* the update runs with worker 0's feeds */
    if (t->m->hyper.node[k]) t->shards[0].feeds[t->m->hyper.node[k]->attr.slot] = &hyper[k];
  double total_loss = 0;
  int batch = t->m->train.batch;
  /* With distortions, the next batch is made on a second thread while the step runs (a
   * distorted image costs about as much as the MLP's step on it); each image's distortion
   * depends only on the seed, the epoch and its position, so the thread changes no number. */
  bool prefetch = t->x_next != NULL;
  /* without a helper thread the next batch is made after the step, in the same buffers */
  BatchJob jobs[2] = {{t, d, epoch, 0, total < batch ? total : batch, t->x, t->y, 0},
                      {t, d, epoch, 0, 0, prefetch ? t->x_next : t->x, prefetch ? t->y_next : t->y, 0}};
  t->augment_seconds = t->augment_wait = 0;
  if (total > 0) {
    double t0 = now_seconds();
    fill_job(&jobs[0]);
    t->augment_wait += prefetch ? now_seconds() - t0 : 0;
    t->augment_seconds += jobs[0].seconds;
  }
  for (int done = 0, cur = 0; done < total; cur ^= 1) {
    BatchJob *job = &jobs[cur], *next = &jobs[cur ^ 1];
    int n = job->n;
    next->first = done + n;
    next->n = total - next->first < batch ? total - next->first : batch;
    pthread_t helper;
    bool threaded = prefetch && next->n > 0 && pthread_create(&helper, NULL, fill_job_thread, next) == 0;
    /* the step is split over the workers if it is data-parallel, else worker 0 runs it */
    split_batch(t, t->m->data_parallel ? t->workers : 1, job->x, job->y, NULL, n, &one);
    for (int k = 0; k < t->n_noise; k++) /* dropout's draws, from the one seeded stream */
      for (int64_t i = 0; i < (int64_t)n * shape_numel(t->noise[k]->shape); i++)
        t->noise_buf[k][i] = (float)dlrt_rng_uniform(&t->rng);
    t->step++;
    double lr = trainer_lr(ts, epoch + (double)done / total);
    for (int k = 0; k < HYPER_COUNT; k++) hyper[k] = (float)update_hyper_value((HyperKind)k, &ts->opt, lr, t->step);
    total_loss += train_step(t, n);
    t->run_steps++;
    t->run_examples += n;
    done += n;
    if (next->n > 0) {
      double t0 = now_seconds();
      if (threaded) pthread_join(helper, NULL);
      else fill_job(next);
      t->augment_wait += prefetch ? now_seconds() - t0 : 0;
      t->augment_seconds += next->seconds;
    }
    if (progress && (done % (batch * 50) < batch || done == total)) progress(ctx, done, total);
  }
  return total_loss / total;
}

double trainer_error(Trainer *t, const DlrtDataset *d, int limit) {
  int total = limit > 0 && limit < d->count ? limit : d->count;
  int batch = t->m->train.batch, wrong = 0;
  t->forward_seconds = 0;
  int *idx = malloc(sizeof(int) * (size_t)batch);
  if (!idx) dlc_fatal("out of memory");
  static const float zero = 0; /* inference: no dropout, batch norm's running statistics */
  /* Inference splits batches over the workers: OpenBLAS keeps to one thread meanwhile (a
   * model trained on one thread may have given it more), or the two oversubscribe the cores. */
  int blas_threads = dlrt_threads();
  if (t->workers > 1) dlrt_set_threads(1);
  for (int done = 0; done < total; done += batch) {
    int n = total - done < batch ? total - done : batch;
    for (int i = 0; i < n; i++) idx[i] = done + i;
    fill_batch(t, d, idx, n, t->x, NULL);
    split_batch(t, t->workers, t->x, NULL, t->out, n, &zero); /* rows are independent in inference */
    double t0 = now_seconds();
    run(t, forward_task, t->active);
    t->forward_seconds += now_seconds() - t0;
    for (int i = 0; i < n; i++)
      wrong += dlrt_argmax(t->out + (size_t)i * (size_t)t->classes, t->classes) != d->labels[done + i];
  }
  dlrt_set_threads(blas_threads);
  free(idx);
  return (double)wrong / total;
}
