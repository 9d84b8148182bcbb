/* prefetch.h — one helper thread, started once, that runs a job while the caller goes on:
 * the trainer makes the next distorted batch on it while the current step runs, or
 * undistorted batches ahead of the steps (trainer.c). */
#ifndef DLC_PREFETCH_H
#define DLC_PREFETCH_H
#include <pthread.h>
#include <stdbool.h>

typedef void PrefetchJob(void *arg);

typedef struct Prefetch {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool started;       /* the thread exists; without one, jobs run in prefetch_wait */
  bool pending;       /* a job is handed over and not yet finished */
  bool running;       /* ... and the thread has begun it */
  bool quit;
  PrefetchJob *job;
  void *arg;
} Prefetch;

/* Starts the thread (if none can be had, jobs run on the caller, in prefetch_wait). */
void prefetch_init(Prefetch *p);
/* Hands job(arg) to the thread; at most one job at a time (prefetch_wait first). */
void prefetch_start(Prefetch *p, PrefetchJob *job, void *arg);
/* Returns once the job handed over is done. */
void prefetch_wait(Prefetch *p);
/* Whether the thread exists and has no job in hand (prefetch_start may be called at once). */
bool prefetch_idle(Prefetch *p);
/* Returns once the job handed over is done or withdrawn: a job the thread has not begun is
 * withdrawn (it never runs: for a caller that has done its work itself), one it has begun is
 * waited for. */
void prefetch_finish(Prefetch *p);
/* Stops and joins the thread (after the job in hand). Safe on a zeroed Prefetch. */
void prefetch_free(Prefetch *p);
#endif
