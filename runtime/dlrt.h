/* dlrt.h — the ABI between generated code and the dlc runtime. Generated functions call only
 * what is declared here (lower/ declares the same prototypes in IR and binds these symbols
 * in the JIT), so this header is the whole contract.
 *
 * A compiled model is a set of functions of one signature:
 *
 *   void fn(float *state, float *scratch, const float *const *feeds, float *const *results,
 *           int64_t n);
 *
 *   state    a 64-byte-aligned block holding every parameter and optimiser state at offsets
 *            fixed at compile time (the plan); shared by all functions and all threads
 *   scratch  a 64-byte-aligned block for this call's intermediate buffers (the plan's
 *            scratch size for this function); each thread running a function concurrently
 *            passes its own. One allocation may hold both: scratch = state + persistent size.
 *   feeds    per-call inputs, in the order of the plan's feeds: data (n x features),
 *            targets (n x classes), and scalar hyper-parameters (a pointer to one float)
 *   results  per-call outputs, in the plan's result order (e.g. the batch's summed loss)
 *   n        rows in this batch, 1 <= n <= the batch size the model was compiled for
 *
 * Functions: "dlc_forward" (inference; results[0] = the network output, n x outputs) and
 * "dlc_train_step" (forward, backward and update; results[0] = the sum of the per-example
 * losses over the batch). */
#ifndef DLRT_H
#define DLRT_H
#include <stdint.h>

typedef void (*DlrtModelFn)(float *state, float *scratch, const float *const *feeds,
                            float *const *results, int64_t n);

/* C = op(A) op(B) + beta C, row-major, op(X) = X or X^T; a thin wrapper of cblas_sgemm so
 * that generated code does not depend on CBLAS's enum values. */
void dlrt_gemm(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k,
               const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
               int64_t ldc);

/* Patches of n images [c, h, w] for a k x k window with a stride and zero padding:
 * cols[n][ho*wo][c*k*k], the patch of output cell (oy, ox) in row oy*wo + ox, its elements
 * in (channel, ky, kx) order. col2im is its adjoint: x = the sum of every patch element
 * back at its pixel (x is overwritten). */
void dlrt_im2col(const float *x, float *cols, int64_t n, int32_t c, int32_t h, int32_t w, int32_t k,
                 int32_t stride, int32_t pad);
void dlrt_col2im(const float *cols, float *x, int64_t n, int32_t c, int32_t h, int32_t w, int32_t k,
                 int32_t stride, int32_t pad);

/* A 3x3 stride-1 convolution by Winograd's F(4x4, 3x3) (winograd.c): y [n, cout, ho, wo] =
 * conv(x [n, cin, h, w] padded by pad (0..2), W), ho = h + 2 pad - 2. W is [cout, cin, 3, 3],
 * or with flip [cin, cout, 3, 3] read turned by 180 degrees (conv_dx: dy as x, the forward
 * kernels). ws: dlrt_winograd_workspace(batch >= n, ...) floats of scratch. Each output
 * value v is stored as v + bias[co] (bias not NULL), then as v > 0 ? v : 0 (relu). */
void dlrt_winograd_conv(const float *x, const float *W, float *y, float *ws, int64_t n, int32_t cin, int32_t h,
                        int32_t w, int32_t cout, int32_t pad, int32_t flip, const float *bias, int32_t relu);
/* conv_dw by the same tiles: dW [cout, cin, 3, 3] from dy [n, cout, ho, wo] and x; n >= 1. */
void dlrt_winograd_dw(const float *dy, const float *x, float *dW, float *ws, int64_t n, int32_t cin, int32_t h, int32_t w,
                      int32_t cout, int32_t pad);
int64_t dlrt_winograd_workspace(int64_t batch, int32_t cin, int32_t h, int32_t w, int32_t cout, int32_t pad);

/* Flushes denormal floats to zero on this thread (x86 FTZ and DAZ). Values below 1e-38
 * do not change training, but each one costs a hundred cycles: tanh and exp saturate into
 * them, and a LeNet-5 epoch took 30% longer without this. */
void dlrt_flush_denormals(void);

/* Profiling (code compiled with profiling on calls these around every node): time spent
 * in each node id, accumulated until reset. */
void dlrt_prof_enter(int32_t node);
void dlrt_prof_leave(int32_t node);
/* Seconds accumulated by node id (0 for ids never seen); count = how many ids fit in out. */
void dlrt_prof_read(double *out, int32_t count);
/* Forgets every node's time (after a warm-up). */
void dlrt_prof_reset(void);
/* Seconds on a monotonic clock (for differences: compile stages, epochs, profiles). */
double dlrt_seconds(void);
/* CPU seconds of the calling thread: what it computed, however many other processes share the
 * cores (a share of an epoch measured so stays what it is on a loaded machine). */
double dlrt_thread_seconds(void);
/* This core's float multiply-add peak in GFLOP/s, measured (some 30 ms); 0 without FMA. */
double dlrt_fma_peak_gflops(void);

/* Threads OpenBLAS may use (--threads, for models that run each step on one thread). */
void dlrt_set_threads(int threads);
int dlrt_threads(void);

/* dst[i] = sum over k of weight[k] * src[k][i], for i in [lo, hi): the gradient of a batch
 * from its threads' gradients (each a mean over that thread's rows, weighted by its rows). */
void dlrt_weighted_sum(float *dst, const float *const *src, const float *weight, int n_src, int64_t lo, int64_t hi);

/* A sync point of a training function split over workers whose examples are coupled (batch
 * norm): the generated code calls dlrt_sync(sync, scratch, k) at its k-th point, sync being
 * the DlrtSync the trainer fed for this worker, scratch the worker's scratch block; it returns
 * once the workers' partial sums there have been added up into every worker's buffers. The
 * same call marks the hooks of a process's gradient buckets (dlrt_sync(ready, scratch, k):
 * bucket k's gradients are final, its all-reduce may start; it returns at once). A NULL sync
 * does nothing (a hook nobody listens to: the gradients summed all at once). */
typedef struct DlrtSync DlrtSync;
struct DlrtSync {
  void (*at)(DlrtSync *self, float *scratch, int32_t point);
};
void dlrt_sync(const float *sync, float *scratch, int32_t point);
#endif
