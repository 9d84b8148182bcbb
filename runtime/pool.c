/* pool.c — see pool.h. A generation counter announces each task; a count of finished
 * workers ends it. Both are spun on for a while before sleeping on a condition variable:
 * a LeNet-5 step takes a few milliseconds, a wake-up from sleep tens of microseconds. */
#include "pool.h"
#include <pthread.h>
#include <sched.h>
#include "dlrt.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

/* Polling rounds before sleeping: some 50 microseconds. Every 64th round yields the core,
 * so that more workers than cores (or a helper thread beside them) still make progress. */
enum { SPIN_ROUNDS = 1 << 12, YIELD_EVERY = 64 };

struct DlrtPool {
  int workers;
  pthread_t *threads;
  pthread_mutex_t lock;
  pthread_cond_t wake, done_cv;
  atomic_uint generation; /* incremented per task (and once more to stop) */
  atomic_int finished;    /* workers done with the current task */
  bool stop;
  DlrtTask task;
  void *ctx;
};

typedef struct WorkerArg {
  DlrtPool *pool;
  int index;
} WorkerArg;

static inline void cpu_relax(int round) {
  if (round % YIELD_EVERY == YIELD_EVERY - 1) {
    sched_yield();
    return;
  }
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* Waits until *value differs from `seen` (spin, then sleep on cv). */
static unsigned wait_generation(DlrtPool *p, unsigned seen) {
  for (int i = 0; i < SPIN_ROUNDS; i++) {
    unsigned g = atomic_load_explicit(&p->generation, memory_order_acquire);
    if (g != seen) return g;
    cpu_relax(i);
  }
  pthread_mutex_lock(&p->lock);
  unsigned g;
  while ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen) pthread_cond_wait(&p->wake, &p->lock);
  pthread_mutex_unlock(&p->lock);
  return g;
}

static void finish_one(DlrtPool *p) {
  if (atomic_fetch_add_explicit(&p->finished, 1, memory_order_acq_rel) + 1 == p->workers) {
    pthread_mutex_lock(&p->lock);
    pthread_cond_signal(&p->done_cv);
    pthread_mutex_unlock(&p->lock);
  }
}

static void *worker_main(void *arg) {
  WorkerArg *a = arg;
  DlrtPool *p = a->pool;
  unsigned seen = 0;
  dlrt_flush_denormals(); /* as the caller's thread: generated code runs here */
  for (;;) {
    seen = wait_generation(p, seen);
    if (p->stop) break;
    p->task(p->ctx, a->index);
    finish_one(p);
  }
  free(a);
  return NULL;
}

DlrtPool *dlrt_pool_new(int workers) {
  DlrtPool *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->workers = workers < 1 ? 1 : workers;
  p->threads = calloc((size_t)p->workers, sizeof *p->threads);
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done_cv, NULL);
  if (!p->threads) {
    dlrt_pool_free(p);
    return NULL;
  }
  for (int w = 1; w < p->workers; w++) {
    WorkerArg *a = malloc(sizeof *a);
    if (a) *a = (WorkerArg){p, w};
    if (!a || pthread_create(&p->threads[w], NULL, worker_main, a) != 0) {
      free(a);
      p->workers = w; /* stop the ones already running */
      dlrt_pool_free(p);
      return NULL;
    }
  }
  return p;
}

int dlrt_pool_workers(const DlrtPool *p) { return p->workers; }

void dlrt_pool_run(DlrtPool *p, DlrtTask task, void *ctx) {
  p->task = task;
  p->ctx = ctx;
  atomic_store_explicit(&p->finished, 0, memory_order_relaxed);
  pthread_mutex_lock(&p->lock);
  atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  task(ctx, 0);
  finish_one(p);
  for (int i = 0; i < SPIN_ROUNDS; i++) {
    if (atomic_load_explicit(&p->finished, memory_order_acquire) == p->workers) return;
    cpu_relax(i);
  }
  pthread_mutex_lock(&p->lock);
  while (atomic_load_explicit(&p->finished, memory_order_acquire) != p->workers) pthread_cond_wait(&p->done_cv, &p->lock);
  pthread_mutex_unlock(&p->lock);
}

void dlrt_pool_free(DlrtPool *p) {
  if (!p) return;
  if (p->threads) {
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int w = 1; w < p->workers; w++) pthread_join(p->threads[w], NULL);
  }
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done_cv);
  free(p->threads);
  free(p);
}
