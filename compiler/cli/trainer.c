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
  const int64_t *off = t->m->fns[FN_TRAIN].plan.offset;
  for (int i = 0; i < g->len; i++) {
    const Node *p = g->nodes[i];
    if (p->op != OP_PARAM && p->op != OP_STATE) continue;
    dlrt_init_fill(&p->init, t->arena + off[i], shape_numel(p->shape), &t->rng);
  }
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
  t->train_step = (DlrtModelFn)jit_lookup(jit, model_fn_names[FN_TRAIN]);
  t->in_features = (int)shape_numel(m->sema.input->shape);
  t->classes = (int)shape_numel(m->sema.target->shape);
  int batch = m->train.batch;
  t->arena = aligned_floats(m->arena_floats);
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

/* The feeds every function shares: the training flag and the noise buffers of dropout. */
static void feed_common(const Trainer *t, const float **feeds, const float *training) {
  if (t->m->sema.training) feeds[t->m->sema.training->attr.slot] = training;
  for (int k = 0; k < t->n_noise; k++) feeds[t->noise[k]->attr.slot] = t->noise_buf[k];
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
  const Trainer *t;
  const DlrtDataset *d;
  int epoch, first, n;
  float *x, *y;
  double seconds; /* what distorting it took */
} BatchJob;

static void fill_job(BatchJob *j) {
  const TrainSettings *ts = &j->t->m->train;
  const int *idx = j->t->perm + j->first;
  if (ts->distort.affine || ts->distort.elastic) {
    double t0 = now_seconds();
    dlrt_fill_batch_distorted(j->d, idx, j->n, &ts->distort, ts->seed, j->epoch, j->first, ts->pixel_lo, ts->pixel_hi,
                              j->x);
    dlrt_fill_labels(j->d, idx, j->n, j->t->classes, j->y);
    j->seconds = now_seconds() - t0;
  } else {
    dlrt_fill_batch(j->d, idx, j->n, j->t->classes, ts->pixel_lo, ts->pixel_hi, j->x, j->y);
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

  const Graph *g = t->m->g;
  const float **feeds = calloc((size_t)g->n_feeds, sizeof *feeds);
  const TrainSettings *ts = &t->m->train;
  float hyper[HYPER_COUNT] = {0}, loss_sum = 0;
  static const float one = 1;
  feed_common(t, feeds, &one);
  for (int k = 0; k < HYPER_COUNT; k++)
    if (t->m->hyper.node[k]) feeds[t->m->hyper.node[k]->attr.slot] = &hyper[k];
  float **results = calloc((size_t)g->n_results, sizeof *results);
  results[t->m->loss_sum->attr.slot] = &loss_sum;
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
    feeds[t->m->sema.input->attr.slot] = job->x;
    feeds[t->m->sema.target->attr.slot] = job->y;
    for (int k = 0; k < t->n_noise; k++) /* dropout's draws, from the one seeded stream */
      for (int64_t i = 0; i < (int64_t)n * shape_numel(t->noise[k]->shape); i++)
        t->noise_buf[k][i] = (float)dlrt_rng_uniform(&t->rng);
    t->step++;
    double lr = trainer_lr(ts, epoch + (double)done / total);
    for (int k = 0; k < HYPER_COUNT; k++) hyper[k] = (float)update_hyper_value((HyperKind)k, &ts->opt, lr, t->step);
    t->train_step(t->arena, feeds, results, n);
    total_loss += loss_sum;
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
  free(feeds);
  free(results);
  return total_loss / total;
}

double trainer_error(Trainer *t, const DlrtDataset *d, int limit) {
  int total = limit > 0 && limit < d->count ? limit : d->count;
  int batch = t->m->train.batch, wrong = 0;
  int *idx = malloc(sizeof(int) * (size_t)batch);
  if (!idx) dlc_fatal("out of memory");
  const float **feeds = calloc((size_t)t->m->g->n_feeds, sizeof *feeds);
  static const float zero = 0;
  feed_common(t, feeds, &zero); /* inference: no dropout */
  feeds[t->m->sema.input->attr.slot] = t->x;
  float **results = calloc((size_t)t->m->g->n_results, sizeof *results);
  results[t->m->out_result->attr.slot] = t->out;
  for (int done = 0; done < total; done += batch) {
    int n = total - done < batch ? total - done : batch;
    for (int i = 0; i < n; i++) idx[i] = done + i;
    dlrt_fill_batch(d, idx, n, t->classes, t->m->train.pixel_lo, t->m->train.pixel_hi, t->x, NULL);
    t->forward(t->arena, feeds, results, n);
    for (int i = 0; i < n; i++)
      wrong += dlrt_argmax(t->out + (size_t)i * (size_t)t->classes, t->classes) != d->labels[done + i];
  }
  free(idx);
  free(feeds);
  free(results);
  return (double)wrong / total;
}
