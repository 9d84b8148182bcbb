/* comm.h — the processes of one training job (`mpirun -np N dlc train ...`): who this
 * process is among them and the few collectives data-parallel training needs, over Open MPI.
 *
 * dlc does not link MPI. dlrt_comm_init loads Open MPI's libmpi.so.40 with dlopen only when
 * the environment says this process was started by mpirun (OMPI_COMM_WORLD_SIZE), and calls
 * it through a table of function pointers; a process started any other way is a job of one,
 * never loads the library, and every collective below is then a no-op (or a copy). The
 * state is per process, as MPI's is: one job, one caller (the thread that called init). */
#ifndef DLRT_COMM_H
#define DLRT_COMM_H
#include <stdbool.h>
#include <stdint.h>

/* The library dlrt_comm_init loads (Open MPI 3 and 4: Debian 12's libopenmpi3). */
#define DLRT_MPI_LIBRARY "libmpi.so.40"

/* Joins the job if this process was started by mpirun (loads libmpi, MPI_Init_thread);
 * otherwise does nothing. 0, or -1 with a message in err: the environment names a job, but
 * the library cannot be loaded or initialised. Call once, before any thread is started. */
int dlrt_comm_init(char *err, int errlen);
/* The job's size as mpirun announced it in the environment (OMPI_COMM_WORLD_SIZE), before
 * any init: 1 for a process started any other way. */
int dlrt_comm_launched_size(void);
/* Whether this process is one of a job of several (size > 1) over MPI. */
bool dlrt_comm_active(void);
/* Whether libmpi was loaded into this process (only under mpirun). */
bool dlrt_comm_loaded(void);
int dlrt_comm_rank(void); /* 0 .. size-1; 0 alone */
int dlrt_comm_size(void); /* processes in the job; 1 alone */

/* buf[0..n) becomes the sum over the processes of their buf[0..n) (MPI_Allreduce, in place);
 * every process gets the same result. */
void dlrt_comm_sum_floats(float *buf, int64_t n);
void dlrt_comm_sum_doubles(double *buf, int n);
/* The same sum, started and left to run in the background (MPI_Iallreduce, in place, on a
 * communicator of its own): buf must stay untouched until dlrt_comm_wait_sums. Every process
 * must start the same sums, of the same sizes, in the same order. */
void dlrt_comm_start_sum(float *buf, int64_t n);
/* Whether every sum started has finished (MPI_Testall: Open MPI moves messages on only
 * inside its calls, so call this now and then meanwhile). True alone. */
bool dlrt_comm_test_sums(void);
/* Waits until every sum started has finished (MPI_Waitall). */
void dlrt_comm_wait_sums(void);
/* bytes of buf, as process `root` has them, on every process. */
void dlrt_comm_broadcast(void *buf, int64_t bytes, int root);
/* Every process's value, in rank order, into all[0..size) on process 0 (unused elsewhere). */
void dlrt_comm_gather_u64(uint64_t value, uint64_t *all);
void dlrt_comm_barrier(void);
/* Ends the whole job with this exit status (MPI_Abort); alone, exit(code). Never returns. */
_Noreturn void dlrt_comm_abort(int code);
/* Leaves the job (MPI_Finalize) at a normal end; nothing alone. */
void dlrt_comm_finish(void);
#endif
