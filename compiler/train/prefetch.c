/* prefetch.c — the helper thread of prefetch.h: it sleeps on a condition variable until a
 * job is handed over, runs it, and signals its end. One thread for the whole run, rather
 * than one per batch (a thread start costs tens of microseconds, a batch of the MLP a few
 * hundred). */
#include "prefetch.h"

static void *helper(void *arg) {
  Prefetch *p = arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->pending && !p->quit) pthread_cond_wait(&p->cv, &p->mu);
    if (p->pending) {
      p->running = true;
      pthread_mutex_unlock(&p->mu);
      p->job(p->arg);
      pthread_mutex_lock(&p->mu);
      p->pending = p->running = false;
      pthread_cond_broadcast(&p->cv);
    } else {
      break; /* quit, nothing pending */
    }
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

void prefetch_init(Prefetch *p) {
  *p = (Prefetch){0};
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  p->started = pthread_create(&p->thread, NULL, helper, p) == 0;
}

void prefetch_start(Prefetch *p, PrefetchJob *job, void *arg) {
  pthread_mutex_lock(&p->mu);
  p->job = job;
  p->arg = arg;
  p->pending = true;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

void prefetch_wait(Prefetch *p) {
  if (!p->started) { /* no thread: the job runs now, on the caller */
    if (p->pending) p->job(p->arg);
    p->pending = false;
    return;
  }
  pthread_mutex_lock(&p->mu);
  while (p->pending) pthread_cond_wait(&p->cv, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

bool prefetch_idle(Prefetch *p) {
  if (!p->started) return false;
  pthread_mutex_lock(&p->mu);
  bool idle = !p->pending;
  pthread_mutex_unlock(&p->mu);
  return idle;
}

void prefetch_finish(Prefetch *p) {
  if (!p->started) {
    p->pending = false;
    return;
  }
  pthread_mutex_lock(&p->mu);
  if (!p->running) p->pending = false; /* (not begun: withdrawn) */
  while (p->pending) pthread_cond_wait(&p->cv, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

void prefetch_free(Prefetch *p) {
  if (p->started) {
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    p->started = false;
  }
  /* (a zeroed mutex and condition variable are the static initialisers' values) */
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
}
