/* trainer.c — the loops around the JIT'd functions. Nothing here knows the model's layers:
 * it assembles batches, has the workers (workers.c) run a step or the inference on each, and
 * reads results. */
#include "trainer.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "comm.h"
#include "distort.h"
#include "workers.h"

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
  t->in_features = (int)shape_numel(m->sema.input->shape);
  t->classes = (int)shape_numel(m->sema.target->shape);
  int batch = m->train.batch;
  t->arena = floats_alloc(m->arena_floats);
  workers_init(t);
  t->x = floats_alloc((int64_t)batch * t->in_features);
  t->y = floats_alloc((int64_t)batch * t->classes);
  t->out = floats_alloc((int64_t)batch * t->classes);
  if (m->train.distort.affine || m->train.distort.elastic) {
    t->x_next = floats_alloc((int64_t)batch * t->in_features);
    t->y_next = floats_alloc((int64_t)batch * t->classes);
    prefetch_init(&t->prefetch);
  }
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
  if (t->x_next) prefetch_free(&t->prefetch);
  workers_free(t);
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
  const Node *in = t->m->sema.input;
  if ((int64_t)d->rows * d->cols != t->in_features) {
    diag_error(in->loc, "the %s images are %dx%d (%d values), but '%s' has %d", what, d->rows, d->cols,
               d->rows * d->cols, in->name, t->in_features);
    return false;
  }
  return true;
}



/* This process's rows of a training batch of n: [*lo, *lo + *count). Each process of a job
 * takes a contiguous share, the first ones the smaller where n does not divide. */
static void process_rows(const Trainer *t, int n, int *lo, int *count) {
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
  process_rows(j->t, j->n, &lo, &count);
  const int *idx = j->t->perm + j->first + lo;
  if (ts->distort.affine || ts->distort.elastic) {
    double t0 = dlrt_seconds();
    dlrt_fill_batch_distorted(j->d, idx, count, &ts->distort, ts->seed, j->epoch, j->first + lo, ts->pixel_lo,
                              ts->pixel_hi, j->x);
    dlrt_fill_labels(j->d, idx, count, j->t->classes, j->y);
    j->seconds = dlrt_seconds() - t0;
  } else { /* (only ever on the stepping thread: the helper thread distorts) */
    workers_fill(j->t, j->d, idx, count, j->x, j->y);
  }
}

static void fill_job_on_helper(void *job) { fill_job(job); }

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
  for (int k = 0; k < HYPER_COUNT; k++) /* the update runs with worker 0's feeds */
    if (t->m->hyper.node[k]) t->shards[0].feeds[t->m->hyper.node[k]->attr.slot] = &t->hyper[k];
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
    double t0 = dlrt_seconds();
    fill_job(&jobs[0]);
    t->augment_wait += prefetch ? dlrt_seconds() - t0 : 0;
    t->augment_seconds += jobs[0].seconds;
  }
  for (int done = 0, cur = 0; done < total; cur ^= 1) {
    BatchJob *job = &jobs[cur], *next = &jobs[cur ^ 1];
    int n = job->n;
    next->first = done + n;
    next->n = total - next->first < batch ? total - next->first : batch;
    bool threaded = prefetch && next->n > 0;
    if (threaded) prefetch_start(&t->prefetch, fill_job_on_helper, next);
    /* the step is split over the workers if it is data-parallel, else worker 0 runs it; of
     * a job of several processes, this one's rows */
    int count;
    process_rows(t, n, &t->row0, &count);
    const ParallelPlan *par = &t->m->par;
    workers_split(t, par->data_parallel && !par->unsplittable ? t->workers : 1, job->x, job->y, NULL, count,
                  &t->training_on);
    for (int k = 0; k < t->n_noise; k++) /* dropout's draws, from the one seeded stream (all rows') */
      for (int64_t i = 0; i < (int64_t)n * shape_numel(t->noise[k]->shape); i++)
        t->noise_buf[k][i] = (float)dlrt_rng_uniform(&t->rng);
    t->step++;
    double lr = settings_lr(ts, epoch + (double)done / total);
    for (int k = 0; k < HYPER_COUNT; k++) t->hyper[k] = (float)update_hyper_value((HyperKind)k, &ts->opt, lr, t->step);
    total_loss += workers_train_step(t, count, n);
    t->run_steps++;
    t->run_examples += n;
    done += n;
    if (next->n > 0) {
      double t0 = dlrt_seconds();
      if (threaded) prefetch_wait(&t->prefetch);
      else fill_job(next);
      t->augment_wait += prefetch ? dlrt_seconds() - t0 : 0;
      t->augment_seconds += next->seconds;
    }
    if (progress && (done % (batch * 50) < batch || done == total)) progress(ctx, done, total);
  }
  return total_loss / total;
}

DlrtModelFn trainer_forward(Trainer *t) {
  if (!t->forward) t->forward = (DlrtModelFn)model_function(t->m, model_fn_names[FN_FORWARD]);
  return t->forward;
}

/* The error of a job of several processes: each scores a contiguous share of the examples,
 * and the counts are summed. */
double trainer_error(Trainer *t, const DlrtDataset *d, int limit) {
  if (!trainer_forward(t)) return -1;
  int all = limit > 0 && limit < d->count ? limit : d->count;
  int first = (int)((int64_t)all * t->rank / t->procs);
  int total = (int)((int64_t)all * (t->rank + 1) / t->procs);
  int batch = t->m->train.batch, wrong = 0;
  t->forward_seconds = 0;
  int *idx = malloc(sizeof(int) * (size_t)batch);
  if (!idx) dlc_fatal("out of memory");
  /* inference: no dropout, batch norm's running statistics (the training flag off) */
  /* Inference splits batches over the workers: OpenBLAS keeps to one thread meanwhile (a
   * model trained on one thread may have given it more), or the two oversubscribe the cores. */
  int blas_threads = dlrt_threads();
  if (t->workers > 1) dlrt_set_threads(1);
  t->row0 = 0; /* (dropout's noise, which inference multiplies by 0, from the buffer's start) */
  for (int done = first; done < total; done += batch) {
    int n = total - done < batch ? total - done : batch;
    for (int i = 0; i < n; i++) idx[i] = done + i;
    workers_fill(t, d, idx, n, t->x, NULL);
    workers_split(t, t->workers, t->x, NULL, t->out, n, &t->training_off); /* rows are independent in inference */
    double t0 = dlrt_seconds();
    workers_forward(t);
    t->forward_seconds += dlrt_seconds() - t0;
    for (int i = 0; i < n; i++)
      wrong += dlrt_argmax(t->out + (size_t)i * (size_t)t->classes, t->classes) != d->labels[done + i];
  }
  dlrt_set_threads(blas_threads);
  free(idx);
  double counts[2] = {wrong, t->forward_seconds};
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
