/* profile.c — the clock, and per-node timing for `dlc train --profile`: generated code compiled with
 * profiling calls enter/leave around each node; the time between them is added to the
 * node's total. One thread at a time (the step is single-threaded apart from OpenBLAS). */
#include <time.h>
#include "dlrt.h"

enum { MAX_PROFILED = 262144 }; /* above sema's node limit */
static double total[MAX_PROFILED];
static struct timespec started;

double dlrt_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

double dlrt_thread_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void dlrt_prof_enter(int32_t node) {
  (void)node;
  clock_gettime(CLOCK_MONOTONIC, &started);
}

void dlrt_prof_leave(int32_t node) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (node >= 0 && node < MAX_PROFILED)
    total[node] += (double)(now.tv_sec - started.tv_sec) + 1e-9 * (double)(now.tv_nsec - started.tv_nsec);
}

void dlrt_prof_reset(void) {
  for (int32_t i = 0; i < MAX_PROFILED; i++) total[i] = 0;
}

void dlrt_prof_read(double *out, int32_t count) {
  for (int32_t i = 0; i < count; i++) out[i] = i < MAX_PROFILED ? total[i] : 0;
}
