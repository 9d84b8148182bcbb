/* trainer.c — the loops around the JIT'd functions. Nothing here knows the model's layers:
 * it assembles batches, has the workers (workers.c) run a step or the inference on each, and
 * reads results. Inference runs with the parameters' moving averages where the model keeps
 * them (average = ema(d)). */
#include "trainer.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ahead.h"
#include "comm.h"
#include "distort.h"
#include "workers.h"

/* With average = ema(d): each parameter's moving average set to the parameter. */
static void sync_averages(Trainer *t) {
  const Model *m = t->m;
  const int64_t *off = model_state_offsets(m);
  for (int i = 0; m->hyper.average && i < m->n_forward; i++) {
    const Node *a = m->hyper.average[i];
    if (a) memcpy(t->arena + off[a->id], t->arena + off[i], sizeof(float) * (size_t)shape_numel(a->shape));
  }
}

/* Parameters and state in declaration order, each from the one seeded stream (the same seed
 * gives the same network, graph_fill_initial), at their places in the arena. */
static void init_params(Trainer *t) {
  const Graph *g = t->m->g;
  const int64_t *off = model_state_offsets(t->m);
  float **dest = calloc((size_t)g->len + 1, sizeof *dest);
  if (!dest) dlc_fatal("out of memory");
  for (int i = 0; i < g->len; i++)
    if (g->nodes[i]->op == OP_PARAM || g->nodes[i]->op == OP_STATE) dest[i] = t->arena + off[i];
  graph_fill_initial(g, &t->rng, dest);
  free(dest);
  /* each moving average starts as its parameter (the first step overwrites it: update.c),
   * so inference before any step uses the parameters themselves */
  sync_averages(t);
}

/* Each parameter trades places with its moving average (average = ema(d)), so that inference
 * runs with the averages; a second call puts them back, bit for bit. */
static void swap_averages(Trainer *t) {
  const Model *m = t->m;
  const int64_t *off = model_state_offsets(m);
  for (int i = 0; m->hyper.average && i < m->n_forward; i++) {
    const Node *a = m->hyper.average[i];
    if (!a) continue;
    float *p = t->arena + off[i], *q = t->arena + off[a->id];
    for (int64_t k = 0, n = shape_numel(a->shape); k < n; k++) {
      float v = p[k];
      p[k] = q[k], q[k] = v;
    }
  }
}

/* The training functions (dlc eval has none): the data-parallel pair, or dlc_train_step
 * on worker 0 with all rows. dlc_forward is looked up when first needed (trainer_forward):
 * it may still be compiling. */
static bool find_functions(Trainer *t) {
  Model *m = t->m;
  if (m->cfg.inference_only) return true;
  if (m->par.data_parallel)
    return (t->train_grad = (DlrtModelFn)model_function(m, model_par_fn_names[PAR_GRAD])) &&
           (t->train_update = (DlrtModelFn)model_function(m, model_par_fn_names[PAR_UPDATE]));
  return (t->train_step = (DlrtModelFn)model_function(m, model_fn_names[FN_TRAIN]));
}

Trainer *trainer_new(Model *m) {
  if (!model_compile(m)) return NULL;
  Trainer *t = calloc(1, sizeof *t);
  if (!t) dlc_fatal("out of memory");
  t->m = m;
  t->procs = m->cfg.processes > 1 ? m->cfg.processes : 1;
  t->rank = t->procs > 1 ? dlrt_comm_rank() : 0;
  DLC_ASSERT(t->procs == 1 || t->procs == dlrt_comm_size());
  t->best_val_error = 1;
  t->training_on = 1;
  t->training_off = 0;
  if (!find_functions(t)) {
    free(t);
    return NULL;
  }
  t->stop_before = -1;
  t->epoch_state = floats_alloc(m->state_floats);
  t->in_features = (int)shape_numel(m->sema.input->shape);
  t->classes = (int)shape_numel(m->sema.target->shape);
  t->pixels = data_pixel_map(&m->train);
  int batch = m->train.batch;
  if (!(t->arena = floats_try_alloc(m->arena_floats))) { /* the one allocation that can be huge */
    int64_t batches = (int64_t)batch * (3 * t->in_features + 3 * t->classes), all = m->arena_floats + workers_floats(m) + batches;
    diag_error_plain(m->file->name, "needs %.2f GiB of memory to train at batch %d (its arena %.2f GiB), and the system "
                                    "refused it; try a smaller --batch",
                     4.0 * (double)all / (1 << 30), batch, 4.0 * (double)m->arena_floats / (1 << 30));
    free(t->epoch_state);
    free(t);
    return NULL;
  }
  workers_init(t);
  t->x = floats_alloc((int64_t)batch * t->in_features);
  t->y = floats_alloc((int64_t)batch * t->classes);
  t->out = floats_alloc((int64_t)batch * t->classes);
  if (m->train.distort.affine || m->train.distort.elastic) {
    t->x_next = floats_alloc((int64_t)batch * t->in_features);
    t->y_next = floats_alloc((int64_t)batch * t->classes);
  } else {
    t->ahead = ahead_new(t);
  }
  if (t->x_next || t->ahead) prefetch_init(&t->prefetch);
  for (int i = 0; i < m->g->len; i++) t->n_noise += m->g->nodes[i]->op == OP_NOISE;
  t->noise = calloc((size_t)t->n_noise + 1, sizeof *t->noise);
  t->noise_buf = calloc((size_t)t->n_noise + 1, sizeof *t->noise_buf);
  for (int i = 0, k = 0; i < m->g->len; i++)
    if (m->g->nodes[i]->op == OP_NOISE) {
      t->noise[k] = m->g->nodes[i];
      t->noise_buf[k++] = floats_alloc((int64_t)batch * shape_numel(m->g->nodes[i]->shape));
    }
  dlrt_rng_seed(&t->rng, m->train.seed);
  init_params(t);
  dlrt_flush_denormals();
  return t;
}

void trainer_free(Trainer *t) {
  if (!t) return;
  if (t->x_next || t->ahead) prefetch_free(&t->prefetch);
  ahead_free(t->ahead);
  workers_free(t);
  free(t->epoch_state);
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

bool trainer_check_data(const Trainer *t, const DlrtDataset *d, const char *what) {
  const Node *in = t->m->sema.input, *target = t->m->sema.target;
  char shape[64];
  if (dlrt_example_size(d) != (size_t)t->in_features) {
    diag_error(in->loc, "the %s examples are %s (%zu values), but '%s' has %d", what,
               dlrt_dataset_shape_str(d, shape, sizeof shape), dlrt_example_size(d), in->name, t->in_features);
    return false;
  }
  if (d->classes > t->classes) {
    diag_error(target->loc, "the %s set has %d classes, but '%s' has %d", what, d->classes, target->name, t->classes);
    return false;
  }
  if (t->pixels.mean && t->m->train.n_norm != d->channels) {
    diag_error(t->m->train.normalize_loc, "normalize has %d means, but the %s examples have %d channels",
               t->m->train.n_norm, what, d->channels);
    return false;
  }
  return true;
}

/* Each process of a job takes a contiguous share, the first ones the smaller where n does not
 * divide. */
void trainer_rows(const Trainer *t, int n, int *lo, int *count) {
  *lo = (int)((int64_t)n * t->rank / t->procs);
  *count = (int)((int64_t)n * (t->rank + 1) / t->procs) - *lo;
}

/* One training batch to assemble: the examples perm[first .. first + n) of the epoch, of
 * which this process makes only its own rows. */
typedef struct BatchJob {
  Trainer *t;
  const DlrtDataset *d;
  int epoch, first, n;
  float *x, *y;
  double seconds; /* what distorting it took */
} BatchJob;

static void fill_job(BatchJob *j) {
  const TrainSettings *ts = &j->t->m->train;
  int lo, count;
  trainer_rows(j->t, j->n, &lo, &count);
  const int *idx = j->t->perm + j->first + lo;
  double t0 = dlrt_seconds(), cpu0 = dlrt_thread_seconds();
  if (ts->distort.affine || ts->distort.elastic) {
    if (dlrt_fill_batch_distorted_mapped(j->d, idx, count, &ts->distort, ts->seed, j->epoch, j->first + lo, &j->t->pixels,
                                         j->x) != 0)
      dlc_fatal("out of memory distorting a batch");
    dlrt_fill_labels(j->d, idx, count, j->t->classes, j->y);
    j->seconds = dlrt_seconds() - t0;
  } else { /* (only ever on the stepping thread: the helper thread distorts) */
    workers_fill(j->t, j->d, idx, count, j->x, j->y);
    j->t->assemble_seconds += dlrt_thread_seconds() - cpu0; /* (CPU time: the share holds on a loaded machine) */
  }
}

static void fill_job_on_helper(void *job) { fill_job(job); }

double trainer_epoch(Trainer *t, const DlrtDataset *d, int limit, int epoch, ProgressFn progress, void *ctx) {
  int total = trainer_examples(d, limit);
  if (t->perm_len != total) {
    free(t->perm);
    t->perm = malloc(sizeof(int) * (size_t)total);
    if (!t->perm) dlc_fatal("out of memory");
    t->perm_len = total;
  }
  /* what a replay of this epoch starts from (diverge.c) */
  memcpy(t->epoch_state, t->arena, sizeof(float) * (size_t)t->m->state_floats);
  t->epoch_rng = t->rng;
  t->epoch_step = t->step;
  t->divergence.diverged = false;
  for (int i = 0; i < total; i++) t->perm[i] = i;
  dlrt_rng_shuffle(&t->rng, t->perm, total);

  const TrainSettings *ts = &t->m->train;
  for (int k = 0; k < HYPER_COUNT; k++) /* the update runs with worker 0's feeds */
    if (t->m->hyper.node[k]) t->shards[0].feeds[t->m->hyper.node[k]->attr.slot] = &t->hyper[k];
  double total_loss = 0;
  int batch = t->m->train.batch;
  /* With distortions, the next batch is made on the helper thread while the step runs (a
   * distorted image costs about as much as the MLP's step on it); each image's distortion
   * depends only on the seed, the epoch and its position, so the thread changes no number.
   * Undistorted, when a core is free for it, the helper makes batches ahead (ahead.c). */
  bool prefetch = t->x_next != NULL;
  /* without a helper thread the next batch is made after the step, in the same buffers */
  BatchJob jobs[2] = {{t, d, epoch, 0, total < batch ? total : batch, t->x, t->y, 0},
                      {t, d, epoch, 0, 0, prefetch ? t->x_next : t->x, prefetch ? t->y_next : t->y, 0}};
  t->augment_seconds = t->augment_wait = t->assemble_seconds = 0;
  double cpu_start = dlrt_thread_seconds();
  if (total > 0 && !t->ahead) {
    double t0 = dlrt_seconds();
    fill_job(&jobs[0]);
    t->augment_wait += prefetch ? dlrt_seconds() - t0 : 0;
    t->augment_seconds += jobs[0].seconds;
  }
  for (int done = 0, cur = 0, b = 0; done < total && !t->divergence.diverged; cur ^= 1, b++) {
    BatchJob *job = &jobs[cur], *next = &jobs[cur ^ 1];
    int n = job->n;
    next->first = done + n;
    next->n = total - next->first < batch ? total - next->first : batch;
    bool threaded = prefetch && next->n > 0;
    const float *x = job->x, *y = job->y;
    if (t->ahead) ahead_batch(t, d, b, total, &x, &y);
    else if (threaded) prefetch_start(&t->prefetch, fill_job_on_helper, next);
    else if (next->n > 0) { /* the next batch's examples (this process's) come into the cache while the step runs */
      double cpu0 = dlrt_thread_seconds();
      int lo, count;
      trainer_rows(t, next->n, &lo, &count);
      dlrt_prefetch_batch(d, t->perm + next->first + lo, count);
      t->assemble_seconds += dlrt_thread_seconds() - cpu0;
    }
    /* the step is split over the workers if it is data-parallel, else worker 0 runs it; of
     * a job of several processes, this one's rows */
    int count;
    trainer_rows(t, n, &t->row0, &count);
    const ParallelPlan *par = &t->m->par;
    workers_split(t, par->data_parallel && !par->unsplittable ? t->workers : 1, x, y, NULL, count, &t->training_on);
    for (int k = 0; k < t->n_noise; k++) /* dropout's draws, from the one seeded stream (all rows') */
      for (int64_t i = 0; i < (int64_t)n * shape_numel(t->noise[k]->shape); i++)
        t->noise_buf[k][i] = (float)dlrt_rng_uniform(&t->rng);
    t->step++;
    double lr = settings_lr(ts, epoch + (double)done / total);
    for (int k = 0; k < HYPER_COUNT; k++) t->hyper[k] = (float)update_hyper_value((HyperKind)k, &ts->opt, lr, t->step);
    if (b == t->stop_before) { /* the step to re-run, ready: its batch, noise and hypers */
      if (threaded) prefetch_finish(&t->prefetch);
      if (t->ahead) ahead_end(t);
      if (t->procs > 1) { /* the whole batch, as one process runs it, not only this one's rows */
        BatchJob whole = *job;
        int rank = t->rank, procs = t->procs;
        t->rank = 0, t->procs = 1;
        fill_job(&whole);
        t->rank = rank, t->procs = procs;
        t->row0 = 0;
        count = n, x = job->x, y = job->y;
      }
      t->held_x = x, t->held_y = y, t->held_n = count;
      return NAN;
    }
    float loss = workers_train_step(t, count, n);
    total_loss += loss;
    if (!isfinite(loss)) /* the cheap check, every step: the epoch ends after this one */
      t->divergence = (typeof(t->divergence)){true, epoch, b, t->step, loss};
    t->run_steps++;
    t->run_examples += n;
    done += n;
    if (next->n > 0 && !t->ahead) {
      double t0 = dlrt_seconds();
      if (threaded) prefetch_wait(&t->prefetch);
      else fill_job(next);
      t->augment_wait += prefetch ? dlrt_seconds() - t0 : 0;
      t->augment_seconds += next->seconds;
    }
    if (progress && (done % (batch * 50) < batch || done == total)) progress(ctx, done, total, total_loss);
  }
  if (t->ahead) ahead_end(t); /* (the helper idle between epochs: the next draws a new order) */
  t->epoch_cpu_seconds = dlrt_thread_seconds() - cpu_start;
  return t->divergence.diverged ? NAN : total_loss / total;
}

/* A batch of inference runs through dlc_forward in slices whose activations take about
 * FORWARD_SLICE_BYTES (estimated from the forward plan's scratch per row): a whole batch of
 * 1000 convolutional images is tens of MB, so each layer's output left the caches before
 * the next layer read it, and the memory-bound passes (batch norm, pooling, ReLU) ran at
 * memory speed. Measured here (CPU time of `dlc eval --batch 1000`, one thread): resnet
 * 3.1 -> 2.1 s, cnn_bn 3.9 -> 2.4, cnn 2.2 -> 1.7, VGG and LeNet-5 unchanged; smaller slices
 * than FORWARD_SLICE_MIN rows cost the products more than the caches give back (the
 * 20-layer MLP at 16 rows: 1.4 -> 2.1 s; its rows are small, so it runs whole). */
enum { FORWARD_SLICE_BYTES = 2 << 20, FORWARD_SLICE_MIN = 16 };

int trainer_forward_rows(const Model *m) {
  int batch = m->train.batch;
  double row_bytes = 4.0 * (double)(m->fns[FN_FORWARD].plan.total_floats - m->state_floats) / (batch > 0 ? batch : 1);
  if (row_bytes * batch <= FORWARD_SLICE_BYTES) return 0;
  int rows = (int)(FORWARD_SLICE_BYTES / row_bytes);
  if (rows < FORWARD_SLICE_MIN) rows = FORWARD_SLICE_MIN;
  return rows < batch ? rows : 0;
}

DlrtModelFn trainer_forward(Trainer *t) {
  if (!t->forward && (t->forward = (DlrtModelFn)model_function(t->m, model_fn_names[FN_FORWARD])))
    t->forward_rows = trainer_forward_rows(t->m);
  return t->forward;
}

/* One batch of inference (the caller has compiled dlc_forward and set OpenBLAS's threads). */
static void infer(Trainer *t, const DlrtDataset *d, int first, int n, int *idx) {
  t->row0 = 0; /* (dropout's noise, which inference multiplies by 0, from the buffer's start) */
  for (int i = 0; i < n; i++) idx[i] = first + i;
  workers_fill(t, d, idx, n, t->x, NULL);
  workers_split(t, t->workers, t->x, NULL, t->out, n, &t->training_off); /* rows are independent in inference */
  double t0 = dlrt_seconds();
  workers_forward(t);
  t->forward_seconds += dlrt_seconds() - t0;
}

/* Inference splits batches over the workers: OpenBLAS keeps to one thread meanwhile (a model
 * trained on one thread may have given it more), or the two oversubscribe the cores. Returns
 * the threads it had. */
static int blas_for_inference(const Trainer *t) {
  int blas_threads = dlrt_threads();
  if (t->workers > 1) dlrt_set_threads(1);
  return blas_threads;
}

bool trainer_outputs(Trainer *t, const DlrtDataset *d, int first, int n) {
  if (!trainer_forward(t)) return false;
  int *idx = malloc(sizeof(int) * (size_t)n + 1);
  if (!idx) dlc_fatal("out of memory");
  int blas_threads = blas_for_inference(t);
  swap_averages(t);
  infer(t, d, first, n, idx);
  swap_averages(t);
  dlrt_set_threads(blas_threads);
  free(idx);
  return true;
}

/* trainer_infer over examples [first, total) of d. */
static bool infer_range(Trainer *t, const DlrtDataset *d, int first, int total, InferFn visit, void *ctx) {
  if (!trainer_forward(t)) return false;
  int batch = t->m->train.batch;
  t->forward_seconds = 0;
  int *idx = malloc(sizeof(int) * (size_t)batch);
  if (!idx) dlc_fatal("out of memory");
  /* inference: no dropout, batch norm's running statistics (the training flag off) */
  int blas_threads = blas_for_inference(t);
  swap_averages(t);
  for (int done = first; done < total; done += batch) {
    int n = total - done < batch ? total - done : batch;
    infer(t, d, done, n, idx);
    visit(ctx, done, n, t->out);
  }
  swap_averages(t);
  dlrt_set_threads(blas_threads);
  free(idx);
  return true;
}

int trainer_examples(const DlrtDataset *d, int limit) { return limit > 0 && limit < d->count ? limit : d->count; }

bool trainer_infer(Trainer *t, const DlrtDataset *d, int limit, InferFn visit, void *ctx) {
  return infer_range(t, d, 0, trainer_examples(d, limit), visit, ctx);
}

typedef struct ErrorCount {
  const Trainer *t;
  const DlrtDataset *d;
  int wrong;
} ErrorCount;

static void count_errors(void *ctx, int first, int n, const float *out) {
  ErrorCount *c = ctx;
  int classes = c->t->classes;
  for (int i = 0; i < n; i++)
    c->wrong += dlrt_argmax(out + (size_t)i * (size_t)classes, classes) != c->d->labels[first + i];
}

/* Of a job of several processes, each scores a contiguous share of the examples, and the
 * counts are summed. */
double trainer_error(Trainer *t, const DlrtDataset *d, int limit) {
  int all = trainer_examples(d, limit);
  ErrorCount c = {t, d, 0};
  if (!infer_range(t, d, (int)((int64_t)all * t->rank / t->procs), (int)((int64_t)all * (t->rank + 1) / t->procs),
                   count_errors, &c))
    return -1;
  double counts[2] = {c.wrong, t->forward_seconds};
  if (t->procs > 1) dlrt_comm_sum_doubles(counts, 2);
  t->forward_seconds = counts[1] / t->procs; /* (the processes ran at once) */
  return counts[0] / all;
}

/* FNV-1a over the bytes of the state block. */
static uint64_t state_hash(const Trainer *t) {
  const unsigned char *p = (const unsigned char *)t->arena;
  uint64_t h = 14695981039346656037ull;
  for (int64_t i = 0; i < t->m->state_floats * (int64_t)sizeof(float); i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

bool trainer_check_replicas(const Trainer *t) {
  if (t->procs == 1) return true;
  uint64_t *all = calloc((size_t)t->procs, sizeof *all);
  if (!all) dlc_fatal("out of memory");
  dlrt_comm_gather_u64(state_hash(t), all);
  int differs = 0;
  for (int r = 1; r < t->procs && t->rank == 0; r++)
    if (all[r] != all[0] && !differs) differs = r;
  free(all);
  if (differs) diag_error_plain("dlc", "the parameters of process %d differ from process 0's (a bug of dlc: the "
                                       "processes must apply the same update)", differs);
  return !differs;
}
