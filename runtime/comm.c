/* comm.c — see comm.h. Open MPI is loaded at run time, so that dlc starts on a machine
 * without it and a run outside mpirun never maps it: mpi.h gives the types and constants at
 * build time (libopenmpi-dev), and the functions and predefined handles (MPI_COMM_WORLD is
 * the address of ompi_mpi_comm_world, and so on) are looked up in the loaded library.
 *
 * Errors inside MPI keep Open MPI's default handler, MPI_ERRORS_ARE_FATAL: a failed call ends
 * the job. A peer that dies is noticed by mpirun, which ends every other process of the job
 * (its collectives would otherwise wait for it forever): tests/check_mpi.c kills one. */
#include "comm.h"
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>

/* Open MPI leaks at MPI_Finalize what its components allocated and unloads the components,
 * so LeakSanitizer's check at exit reports them from "<unknown module>", where no suppression
 * can name them. In sanitized builds, then, what MPI allocates inside the calls made from
 * here is not checked (the calling thread's allocations meanwhile are MPI's alone), and the
 * leak check runs before MPI_Finalize, when dlc has freed everything of its own and Open
 * MPI's modules are still there to be named (tests/lsan-mpi.supp suppresses those). */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define MPI_CALL(call) (__lsan_disable(), call, __lsan_enable())
#define LEAK_CHECK_NOW() __lsan_do_leak_check()
#else
#define MPI_CALL(call) ((void)(call))
#define LEAK_CHECK_NOW() ((void)0)
#endif

/* The MPI functions dlc calls, with their signatures from mpi.h. */
typedef struct MpiTable {
  int (*Init_thread)(int *, char ***, int, int *);
  int (*Comm_rank)(MPI_Comm, int *);
  int (*Comm_size)(MPI_Comm, int *);
  int (*Allreduce)(const void *, void *, int, MPI_Datatype, MPI_Op, MPI_Comm);
  int (*Bcast)(void *, int, MPI_Datatype, int, MPI_Comm);
  int (*Gather)(const void *, int, MPI_Datatype, void *, int, MPI_Datatype, int, MPI_Comm);
  int (*Barrier)(MPI_Comm);
  int (*Abort)(MPI_Comm, int);
  int (*Finalize)(void);
  int (*Comm_dup)(MPI_Comm, MPI_Comm *);
  int (*Comm_free)(MPI_Comm *);
  int (*Iallreduce)(const void *, void *, int, MPI_Datatype, MPI_Op, MPI_Comm, MPI_Request *);
  int (*Testall)(int, MPI_Request *, int *, MPI_Status *);
  int (*Waitall)(int, MPI_Request *, MPI_Status *);
  MPI_Comm world;
  MPI_Datatype f32, f64, u64, byte;
  MPI_Op sum;
} MpiTable;

static struct {
  void *lib; /* the dlopen handle: NULL alone */
  MpiTable mpi;
  int rank, size;
  bool finished;
  MPI_Comm background;   /* the world's copy the background sums run on (see below) */
  MPI_Request *requests; /* the background sums started and not yet waited for */
  int n_requests, cap_requests;
  bool *yield_when_idle; /* Open MPI's own switch (opal_progress_yield_when_idle), or NULL */
} comm = {NULL, {0}, 0, 1, false, NULL, NULL, 0, 0, NULL};

/* A symbol of the loaded library, or NULL with err set. */
static void *lookup(const char *name, char *err, int errlen) {
  void *p = dlsym(comm.lib, name);
  if (!p) snprintf(err, (size_t)errlen, "%s: no symbol %s (is it Open MPI 3 or 4?)", DLRT_MPI_LIBRARY, name);
  return p;
}

static bool load_table(char *err, int errlen) {
  MpiTable *t = &comm.mpi;
  struct {
    void **slot;
    const char *name;
  } syms[] = {
      {(void **)&t->Init_thread, "MPI_Init_thread"}, {(void **)&t->Comm_rank, "MPI_Comm_rank"},
      {(void **)&t->Comm_size, "MPI_Comm_size"},     {(void **)&t->Allreduce, "MPI_Allreduce"},
      {(void **)&t->Bcast, "MPI_Bcast"},             {(void **)&t->Gather, "MPI_Gather"},
      {(void **)&t->Barrier, "MPI_Barrier"},         {(void **)&t->Abort, "MPI_Abort"},
      {(void **)&t->Finalize, "MPI_Finalize"},       {(void **)&t->world, "ompi_mpi_comm_world"},
      {(void **)&t->Comm_dup, "MPI_Comm_dup"},       {(void **)&t->Comm_free, "MPI_Comm_free"},
      {(void **)&t->Iallreduce, "MPI_Iallreduce"},   {(void **)&t->Testall, "MPI_Testall"},
      {(void **)&t->Waitall, "MPI_Waitall"},
      {(void **)&t->f32, "ompi_mpi_float"},          {(void **)&t->f64, "ompi_mpi_double"},
      {(void **)&t->u64, "ompi_mpi_uint64_t"},       {(void **)&t->byte, "ompi_mpi_byte"},
      {(void **)&t->sum, "ompi_mpi_op_sum"},
  };
  for (size_t i = 0; i < sizeof syms / sizeof *syms; i++)
    if (!(*syms[i].slot = lookup(syms[i].name, err, errlen))) return false;
  return true;
}

int dlrt_comm_launched_size(void) {
  const char *world = getenv("OMPI_COMM_WORLD_SIZE");
  int n = world ? atoi(world) : 1;
  return n > 1 ? n : 1;
}

int dlrt_comm_init(char *err, int errlen) {
  const char *world = getenv("OMPI_COMM_WORLD_SIZE");
  if (comm.lib || !world) return 0; /* alone (or joined already) */
  /* mpirun forwards each process's output as it reads it, beside its own messages: a line
   * written whole (line-buffered, not a write per fprintf) is not cut by another's */
  setvbuf(stderr, NULL, _IOLBF, BUFSIZ);
  /* A process waiting in a collective yields its core instead of polling it: a step takes
   * milliseconds and a wake-up microseconds, and polling took the core from the very
   * process being waited for wherever the cores were shared (LeNet-5 on 2 processes ran 2.5x
   * slower beside other work). A user's own setting (or mpirun's) wins. */
  setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
  /* RTLD_GLOBAL: Open MPI's own components (mca_*.so), which it loads in turn, resolve
   * their symbols against libmpi's */
  MPI_CALL(comm.lib = dlopen(DLRT_MPI_LIBRARY, RTLD_NOW | RTLD_GLOBAL)); /* (its constructors allocate) */
  if (!comm.lib) {
    snprintf(err, (size_t)errlen, "started by mpirun (OMPI_COMM_WORLD_SIZE=%s), but %s cannot be loaded: %s "
             "(install Open MPI: apt-get install openmpi-bin)", world, DLRT_MPI_LIBRARY, dlerror());
    return -1;
  }
  if (!load_table(err, errlen)) {
    dlclose(comm.lib);
    comm.lib = NULL;
    return -1;
  }
  /* only the thread that calls init calls MPI; the others compute */
  int provided = 0;
  int rc = MPI_SUCCESS;
  MPI_CALL(rc = comm.mpi.Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided));
  if (rc != MPI_SUCCESS) {
    snprintf(err, (size_t)errlen, "MPI_Init_thread failed");
    return -1;
  }
  MPI_CALL(comm.mpi.Comm_rank(comm.mpi.world, &comm.rank));
  MPI_CALL(comm.mpi.Comm_size(comm.mpi.world, &comm.size));
  MPI_CALL(comm.mpi.Comm_dup(comm.mpi.world, &comm.background));
  comm.yield_when_idle = dlsym(comm.lib, "opal_progress_yield_when_idle"); /* (libopen-pal's, Open MPI 3 and 4) */
  return 0;
}

bool dlrt_comm_loaded(void) { return comm.lib != NULL; }
bool dlrt_comm_active(void) { return comm.lib && comm.size > 1 && !comm.finished; }
int dlrt_comm_rank(void) { return comm.rank; }
int dlrt_comm_size(void) { return comm.size; }

/* MPI counts are ints: longer buffers go in slices of at most 2^30 elements. */
enum { MAX_SLICE = 1 << 30 };

void dlrt_comm_sum_floats(float *buf, int64_t n) {
  if (!dlrt_comm_active()) return;
  for (int64_t at = 0; at < n; at += MAX_SLICE) {
    int len = (int)(n - at < MAX_SLICE ? n - at : MAX_SLICE);
    MPI_CALL(comm.mpi.Allreduce(MPI_IN_PLACE, buf + at, len, comm.mpi.f32, comm.mpi.sum, comm.mpi.world));
  }
}

/* The background sums run on a communicator of their own: every process starts them in the
 * same order, but not in the same order relative to the blocking collectives (batch norm's
 * sync points start them between two), and MPI matches collectives per communicator. */
void dlrt_comm_start_sum(float *buf, int64_t n) {
  if (!dlrt_comm_active()) return;
  for (int64_t at = 0; at < n; at += MAX_SLICE) {
    int len = (int)(n - at < MAX_SLICE ? n - at : MAX_SLICE);
    if (comm.n_requests == comm.cap_requests) {
      comm.cap_requests = comm.cap_requests ? 2 * comm.cap_requests : 16;
      comm.requests = realloc(comm.requests, sizeof *comm.requests * (size_t)comm.cap_requests);
      if (!comm.requests) {
        fprintf(stderr, "dlc: out of memory\n");
        dlrt_comm_abort(1);
      }
    }
    MPI_CALL(comm.mpi.Iallreduce(MPI_IN_PLACE, buf + at, len, comm.mpi.f32, comm.mpi.sum, comm.background,
                                 &comm.requests[comm.n_requests++]));
  }
}

/* A test that finds nothing to move on yields the core (sched_yield) when mpi_yield_when_idle
 * is set, as init sets it for the blocking waits; called from the middle of a backward pass,
 * on a machine whose cores other work shares, that gave the core away at every hook (LeNet-5's
 * dlc_train_grad took 2.2 ms a step on 2 processes instead of 1.0). So the test itself does
 * not yield: Open MPI's switch (a variable of libopen-pal) is off around it. */
bool dlrt_comm_test_sums(void) {
  int done = 1;
  bool yield = comm.yield_when_idle && *comm.yield_when_idle;
  if (yield) *comm.yield_when_idle = false;
  if (comm.n_requests > 0) MPI_CALL(comm.mpi.Testall(comm.n_requests, comm.requests, &done, MPI_STATUSES_IGNORE));
  if (yield) *comm.yield_when_idle = true;
  if (done) comm.n_requests = 0; /* (Testall has freed them) */
  return done != 0;
}

void dlrt_comm_wait_sums(void) {
  if (comm.n_requests > 0) MPI_CALL(comm.mpi.Waitall(comm.n_requests, comm.requests, MPI_STATUSES_IGNORE));
  comm.n_requests = 0;
}

void dlrt_comm_sum_doubles(double *buf, int n) {
  if (dlrt_comm_active()) MPI_CALL(comm.mpi.Allreduce(MPI_IN_PLACE, buf, n, comm.mpi.f64, comm.mpi.sum, comm.mpi.world));
}

void dlrt_comm_broadcast(void *buf, int64_t bytes, int root) {
  if (!dlrt_comm_active()) return;
  for (int64_t at = 0; at < bytes; at += MAX_SLICE) {
    int len = (int)(bytes - at < MAX_SLICE ? bytes - at : MAX_SLICE);
    MPI_CALL(comm.mpi.Bcast((char *)buf + at, len, comm.mpi.byte, root, comm.mpi.world));
  }
}

void dlrt_comm_gather_u64(uint64_t value, uint64_t *all) {
  if (!dlrt_comm_active()) {
    all[0] = value;
    return;
  }
  MPI_CALL(comm.mpi.Gather(&value, 1, comm.mpi.u64, all, 1, comm.mpi.u64, 0, comm.mpi.world));
}

void dlrt_comm_barrier(void) {
  if (dlrt_comm_active()) MPI_CALL(comm.mpi.Barrier(comm.mpi.world));
}

_Noreturn void dlrt_comm_abort(int code) {
  fflush(stdout);
  fflush(stderr);
  if (dlrt_comm_active()) comm.mpi.Abort(comm.mpi.world, code);
  exit(code);
}

void dlrt_comm_finish(void) {
  if (!comm.lib || comm.finished) return;
  dlrt_comm_wait_sums();
  free(comm.requests);
  comm.requests = NULL;
  MPI_CALL(comm.mpi.Comm_free(&comm.background));
  LEAK_CHECK_NOW();
  MPI_CALL(comm.mpi.Finalize());
  comm.finished = true;
  /* the library stays mapped: Open MPI's components and atexit handlers may still refer to it */
}
