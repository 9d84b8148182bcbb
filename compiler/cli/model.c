/* model.c — the model a command works on: loaded with the command's options (threads,
 * processes, profile) and built, with what the build decided told on stderr (how a batch is
 * split, why it is not). Shared by train, eval and predict. */
#define _GNU_SOURCE /* sched_getaffinity */
#include <sched.h>
#include <stdio.h>
#include "cli.h"
#include "comm.h"
#include "dlrt.h"

Model *cli_load_model(const Options *o, bool inference_only) {
  ModelConfig cfg = options_model_config(o);
  cfg.profile = o->profile;
  cfg.inference_only = inference_only;
  cfg.processes = dlrt_comm_size(); /* 1 but under mpirun */
  if (o->profile) cfg.threads = 1;
  return model_load(o->file, &cfg);
}

/* Builds m's functions: data-parallel steps where the model allows it (then OpenBLAS keeps
 * one thread: never both, or the two oversubscribe the cores); otherwise one thread runs the
 * step and OpenBLAS may use them for large products. False after reporting. */
bool cli_build_model(Model *m, const Options *o, bool training) {
  bool says = dlrt_comm_rank() == 0; /* of a job of several processes, process 0 speaks */
  if (o->profile && o->threads > 1 && says) fprintf(stderr, "dlc: note: --profile times the step on one thread\n");
  if (!model_build_training(m)) return false;
  int threads = m->cfg.threads, procs = m->cfg.processes;
  if (training && procs > 1 && m->par.unsplittable) {
    diag_error(m->par.unsplittable->loc, "this value depends on the whole batch in a way dlc cannot split over processes");
    return false;
  }
  if (training && procs > 1 && says)
    fprintf(stderr, "dlc: %d processes of %d thread%s: each batch of %d split over %d workers\n", procs, threads,
            threads > 1 ? "s" : "", m->train.batch, m->par.data_parallel ? procs * threads : procs);
  cpu_set_t cores;
  if (training && says && threads > 1 && sched_getaffinity(0, sizeof cores, &cores) == 0 && CPU_COUNT(&cores) < threads)
    fprintf(stderr, "dlc: note: this process may run on %d core%s only, and --threads asks for %d (under mpirun, "
                    "which binds each process to a core when there are two: --bind-to none)\n",
            CPU_COUNT(&cores), CPU_COUNT(&cores) > 1 ? "s" : "", threads);
  if (training && says && m->par.synced && !m->par.unsplittable)
    fprintf(stderr, "dlc: batch norm: the workers add up their sums over the batch at %d points of each step\n",
            m->par.shards.n_points);
  if (!says) {
  } else if (training && m->par.unsplittable)
    diag_note(m->par.unsplittable->loc, "this value depends on the whole batch in a way dlc cannot split, so one thread runs each step");
  else if (training && threads > 1 && !m->par.data_parallel)
    fprintf(stderr, "dlc: note: a step of %.1f MFLOP is too small to split over %d threads (dlc splits from %.0f MFLOP per thread); one thread runs it\n",
            m->par.step_flops / 1e6, threads, MIN_SPLIT_FLOPS / 1e6);
  /* inference (eval, predict) splits its batches over the workers whatever the model, so
   * OpenBLAS keeps one thread there too */
  dlrt_set_threads(m->par.data_parallel || !training ? 1 : o->threads);
  return true;
}
