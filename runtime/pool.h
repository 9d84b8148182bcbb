/* pool.h — a fixed team of threads that run one task together, for data-parallel training
 * and inference: the caller is worker 0, and dlrt_pool_run returns when every worker has
 * finished (a barrier). Workers wait for the next task by spinning briefly, then sleeping,
 * so that the back-to-back calls of a training step cost microseconds, and an idle pool
 * costs nothing. */
#ifndef DLRT_POOL_H
#define DLRT_POOL_H

typedef struct DlrtPool DlrtPool;
typedef void (*DlrtTask)(void *ctx, int worker);

/* A pool of `workers` (>= 1; workers - 1 threads are started). NULL if a thread cannot be
 * created. */
DlrtPool *dlrt_pool_new(int workers);
int dlrt_pool_workers(const DlrtPool *p);
/* Runs task(ctx, w) for w = 0 .. workers-1 at once (0 on the calling thread); returns when
 * all are done. Not reentrant: one caller at a time. */
void dlrt_pool_run(DlrtPool *p, DlrtTask task, void *ctx);
void dlrt_pool_free(DlrtPool *p);
#endif
