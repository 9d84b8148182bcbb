/* check_mpi.c — training one model on several processes (`mpirun -np N dlc train`) computes
 * what one process computes: the same parameters after the same steps, up to the order of
 * float sums, and the same test error; on batches that do not split evenly, with batch norm,
 * resumed across process counts; a killed process ends the job; a run without mpirun never
 * loads MPI; the all-reduce overlapped with the backward pass sums what the whole one does. Trains briefly on a subset of real MNIST (DLC_TEST_DATA) written to a temporary
 * data directory. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include "checkpoint.h"
#include "comm.h"
#include "helpers.h"
#include "shards.h"
#include "trainer.h"

static char *subset_dir; /* a subset of MNIST: TRAIN_IMAGES training and TEST_IMAGES test images */
enum { TRAIN_IMAGES = 600, TEST_IMAGES = 500 };

/* The first n records of the IDX file DLC_TEST_DATA/mnist/name, into subset_dir/mnist/name. */
static void write_subset(const char *name, int n) {
  char src[1024], dst[1024];
  snprintf(src, sizeof src, "%s/mnist/%s", DLC_TEST_DATA, name);
  snprintf(dst, sizeof dst, "%s/mnist/%s", subset_dir, name);
  FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
  ck_assert_msg(in && out, "%s: cannot read (scripts/fetch-mnist.sh)", src);
  unsigned char head[16];
  ck_assert_int_eq(fread(head, 1, 4, in), 4);
  int dims = head[3];
  ck_assert_int_eq(fread(head + 4, 4, (size_t)dims, in), (size_t)dims);
  size_t record = 1;
  for (int d = 1; d < dims; d++)
    record *= (size_t)head[4 + 4 * d] << 24 | (size_t)head[5 + 4 * d] << 16 | (size_t)head[6 + 4 * d] << 8 | head[7 + 4 * d];
  head[4] = (unsigned char)(n >> 24), head[5] = (unsigned char)(n >> 16), head[6] = (unsigned char)(n >> 8),
  head[7] = (unsigned char)n;
  fwrite(head, 4, (size_t)dims + 1, out);
  char *buf = malloc(record * (size_t)n);
  ck_assert_int_eq(fread(buf, record, (size_t)n, in), (size_t)n);
  fwrite(buf, record, (size_t)n, out);
  free(buf);
  fclose(in);
  ck_assert_int_eq(fclose(out), 0);
}

static void setup(void) {
  subset_dir = make_temp_dir();
  char *mnist = path_join(subset_dir, "mnist");
  ck_assert_int_eq(mkdir(mnist, 0755), 0);
  free(mnist);
  write_subset("train-images-idx3-ubyte", TRAIN_IMAGES);
  write_subset("train-labels-idx1-ubyte", TRAIN_IMAGES);
  write_subset("t10k-images-idx3-ubyte", TEST_IMAGES);
  write_subset("t10k-labels-idx1-ubyte", TEST_IMAGES);
}

static void teardown(void) {
  remove_tree(subset_dir);
  free(subset_dir);
}

/* `dlc train MODEL --data DIR ARGS...` on `procs` processes (0: without mpirun). */
static RunResult train(int procs, const char *model, const char *const *args) {
  char *argv[64], np[16];
  int n = 0;
  if (procs > 0) {
    snprintf(np, sizeof np, "%d", procs);
    argv[n++] = DLC_MPIRUN;
    argv[n++] = "--allow-run-as-root";
    argv[n++] = "--oversubscribe";
    argv[n++] = "-np";
    argv[n++] = np;
  }
  argv[n++] = DLC_BINARY;
  argv[n++] = "train";
  argv[n++] = (char *)model;
  argv[n++] = "--data";
  argv[n++] = subset_dir;
  for (; *args; args++) argv[n++] = (char *)*args;
  argv[n] = NULL;
  return run_program(NULL, argv, 300);
}

static void assert_ran_on(RunResult r, int procs) {
  if (r.status != 0) ck_abort_msg("%d processes: status %d, expected 0; stderr:\n%s", procs, r.status, r.err);
}

/* The "test_error N%" of stdout's last epoch line. */
static double test_error(const char *out) {
  const char *at = NULL, *p = out;
  while ((p = strstr(p, "test_error "))) at = p++;
  ck_assert_msg(at, "no test_error in:\n%s", out);
  return atof(at + strlen("test_error "));
}

/* Every tensor of checkpoint b equals a's within tol relative to the tensor's largest value. */
static void assert_same_tensors(const char *a, const char *b, double tol) {
  Ckpt ca, cb;
  char err[1024];
  ck_assert_msg(dlrt_ckpt_load(a, &ca, err, sizeof err) == 0, "%s", err);
  ck_assert_msg(dlrt_ckpt_load(b, &cb, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(ca.n, cb.n);
  double worst = 0;
  const char *worst_name = "";
  for (int i = 0; i < ca.n; i++) {
    const CkptTensor *ta = &ca.tensors[i], *tb = dlrt_ckpt_tensor(&cb, ta->name);
    ck_assert_msg(tb && tb->rank == ta->rank, "%s: %s missing or of another shape", b, ta->name);
    int64_t numel = 1;
    for (int d = 0; d < ta->rank; d++) numel *= ta->dim[d];
    double scale = 1e-6, diff = 0;
    for (int64_t k = 0; k < numel; k++) {
      float x, y;
      memcpy(&x, (char *)ta->data + 4 * k, 4);
      memcpy(&y, (char *)tb->data + 4 * k, 4);
      scale = fmax(scale, fabs(x));
      diff = fmax(diff, fabs((double)x - y));
    }
    if (diff / scale > worst) worst = diff / scale, worst_name = ta->name;
  }
  ck_assert_msg(worst <= tol, "%s and %s: %s differs by %g of its largest value (tolerance %g)", a, b, worst_name, worst,
                tol);
  dlrt_ckpt_free(&ca);
  dlrt_ckpt_free(&cb);
}

/* Trains model on 1, 2 and 3 processes with extra args and checks the checkpoints and the
 * test errors agree. */
static void check_processes(const char *model, const char *const *extra, double tol) {
  char *paths[4];
  char *first_out = NULL;
  for (int procs = 0; procs <= 3; procs += procs ? 1 : 2) { /* 0 (alone), 2, 3 */
    char name[32];
    snprintf(name, sizeof name, "p%d.ck", procs);
    paths[procs] = path_join(subset_dir, name);
    const char *args[32] = {"--epochs", "1", "--save", paths[procs]};
    int n = 4;
    for (int k = 0; extra[k]; k++) args[n++] = extra[k];
    args[n] = NULL;
    RunResult r = train(procs, model, args);
    assert_ran_on(r, procs);
    if (procs) {
      char want[64];
      snprintf(want, sizeof want, "dlc: %d processes of ", procs);
      ck_assert_msg(strstr(r.err, want), "no \"%s\" in:\n%s", want, r.err);
      /* process 0 alone prints: one epoch line */
      const char *line = strstr(r.out, "epoch 1/1 ");
      ck_assert_msg(line && !strstr(line + 1, "epoch 1/1 "), "not one epoch line:\n%s", r.out);
      assert_same_tensors(paths[0], paths[procs], tol);
      ck_assert_msg(test_error(r.out) == test_error(first_out), "%d processes: test error %g%%, alone %g%%", procs,
                    test_error(r.out), test_error(first_out));
      free(r.out);
    } else {
      first_out = r.out;
    }
    free(r.err);
  }
  free(first_out);
  for (int procs = 0; procs <= 3; procs += procs ? 1 : 2) free(paths[procs]);
}

/* batch 37: 18 + 19 rows on 2 processes, 12 + 12 + 13 on 3; the epoch's last batch, 8 rows
 * of 600 - 16 x 37, leaves 3 processes 2, 3 and 3 */
static const char *const odd_batch[] = {"--batch", "37", NULL};

START_TEST(mlp_on_processes) { check_processes(DLC_SOURCE_DIR "/examples/mlp_relu.net", odd_batch, 1e-4); }
END_TEST

START_TEST(lenet_on_processes) { check_processes(DLC_SOURCE_DIR "/examples/lenet.net", odd_batch, 1e-4); }
END_TEST

/* With threads inside the processes: 2 processes x 2 threads, 8 workers on the odd batch. */
START_TEST(lenet_on_processes_and_threads) {
  static const char *const args[] = {"--batch", "37", "--threads", "2", NULL};
  check_processes(DLC_SOURCE_DIR "/examples/lenet.net", args, 1e-4);
}
END_TEST

/* A batch-norm CNN (its statistics, their gradients and the running statistics summed over
 * the workers at the sync points). Smooth (tanh, average pooling), so that the float-order
 * differences stay at float level over the steps: with ReLU and max pooling a difference in
 * the last bit can move a window's maximum, and the runs drift apart by more than any tight
 * tolerance could tell from a bug (bench/scaling.sh trains such a model). */
static const char bn_cnn[] = "input x : [784]\n"
                             "target y : onehot(10)\n"
                             "img = reshape(x, [1, 28, 28])\n"
                             "c1 = avgpool(tanh(batchnorm(conv(img, 6, 5, bias: false))), 2)\n"
                             "c2 = avgpool(tanh(batchnorm(conv(c1, 12, 5, bias: false))), 2)\n"
                             "h = tanh(batchnorm(dense(flatten(c2), 32, bias: false)))\n"
                             "out = dense(h, 10)\n"
                             "loss = cross_entropy(out, y)\n"
                             "train { data = mnist; optimizer = sgd(lr: 0.05, momentum: 0.9); batch = 37; epochs = 1; seed = 1 }\n";

START_TEST(batch_norm_on_processes) {
  char *model = write_temp_file("bn_cnn.net", bn_cnn);
  static const char *const none[] = {NULL};
  check_processes(model, none, 1e-4);
  remove_temp_file(model);
}
END_TEST

/* The epoch's last batch of 2 rows (600 images in batches of 46) on 3 processes: process 0
 * has no row, and still takes its part in every sync point and sum (with zeros). */
START_TEST(batch_norm_with_a_process_without_rows) {
  char *model = write_temp_file("bn_cnn.net", bn_cnn);
  static const char *const args[] = {"--batch", "46", NULL};
  check_processes(model, args, 1e-4);
  remove_temp_file(model);
}
END_TEST

/* Threads alone: batch norm splits over them too (and says nothing of one thread). And 2
 * processes of 1 thread split each batch as 1 process of 2 threads does, and add the same
 * two partial sums: their parameters are the same bit for bit (so what differs from one
 * worker is the split's float order, not the processes). */
static void threads_against_processes(const char *model, const char *const *extra) {
  char *one = path_join(subset_dir, "t1.ck"), *two = path_join(subset_dir, "t2.ck"), *procs = path_join(subset_dir, "p2.ck");
  const char *a1[12] = {"--epochs", "1", "--save", one}, *a2[12] = {"--epochs", "1", "--save", two, "--threads", "2"},
             *a3[12] = {"--epochs", "1", "--save", procs};
  for (int k = 0; extra[k]; k++) a1[4 + k] = a2[6 + k] = a3[4 + k] = extra[k];
  RunResult r1 = train(0, model, a1), r2 = train(0, model, a2), r3 = train(2, model, a3);
  assert_ran_on(r1, 1);
  assert_ran_on(r2, 1);
  assert_ran_on(r3, 2);
  ck_assert_msg(!strstr(r2.err, "one thread"), "%s", r2.err);
  ck_assert_msg(test_error(r1.out) == test_error(r2.out), "%s\n%s", r1.out, r2.out);
  assert_same_tensors(one, two, 1e-4);
  assert_same_tensors(two, procs, 0);
  run_result_free(&r1);
  run_result_free(&r2);
  run_result_free(&r3);
  free(one);
  free(two);
  free(procs);
}

START_TEST(batch_norm_on_threads) {
  char *model = write_temp_file("bn_cnn.net", bn_cnn);
  static const char *const none[] = {NULL};
  threads_against_processes(model, none);
  remove_temp_file(model);
}
END_TEST

START_TEST(lenet_threads_against_processes) {
  threads_against_processes(DLC_SOURCE_DIR "/examples/lenet.net", odd_batch);
}
END_TEST

/* The parameters' moving averages (average = ema(d)) are updated by every worker from the
 * same parameters: 2 processes and 2 threads give the same averages bit for bit too. */
START_TEST(average_threads_against_processes) {
  static const char *const args[] = {"--batch", "37", "--set", "average = ema(0.99)", NULL};
  threads_against_processes(DLC_SOURCE_DIR "/examples/lenet.net", args);
  char *procs = path_join(subset_dir, "p2.ck"), err[1024];
  Ckpt c;
  ck_assert_msg(dlrt_ckpt_load(procs, &c, err, sizeof err) == 0, "%s", err);
  ck_assert_msg(dlrt_ckpt_tensor(&c, "c1.W.average") && dlrt_ckpt_tensor(&c, "out.b.average"), "no averages in %s", procs);
  dlrt_ckpt_free(&c);
  free(procs);
}
END_TEST

/* --resume with another process count: the checkpoint knows nothing of processes. One epoch
 * alone then one on 2 processes, and one on 2 then one alone, against two epochs alone (at a
 * constant rate: lenet.net's cosine schedule would decay over the first run's one epoch). */
START_TEST(resume_across_process_counts) {
  const char *model = DLC_SOURCE_DIR "/examples/lenet.net";
  char *both = path_join(subset_dir, "both.ck"), *half = path_join(subset_dir, "half.ck"),
       *rest = path_join(subset_dir, "rest.ck");
  const char *whole[] = {"--epochs", "2", "--batch", "37", "--set", "schedule = constant", "--save", both, NULL};
  RunResult r = train(0, model, whole);
  assert_ran_on(r, 1);
  double alone = test_error(r.out);
  run_result_free(&r);
  for (int first = 0; first <= 2; first += 2) { /* first alone then 2, or 2 then alone */
    int second = first ? 0 : 2;
    const char *one[] = {"--epochs", "1", "--batch", "37", "--set", "schedule = constant", "--save", half, NULL};
    r = train(first, model, one);
    assert_ran_on(r, first);
    run_result_free(&r);
    const char *two[] = {"--epochs", "2", "--batch", "37", "--set", "schedule = constant", "--resume", half, "--save",
                         rest, NULL};
    r = train(second, model, two);
    assert_ran_on(r, second);
    ck_assert_msg(strstr(r.err, "resuming from"), "%s", r.err);
    ck_assert_msg(test_error(r.out) == alone, "resumed: test error %g%%, alone %g%%", test_error(r.out), alone);
    run_result_free(&r);
    assert_same_tensors(both, rest, 1e-4);
  }
  free(both);
  free(half);
  free(rest);
}
END_TEST

/* The pid of the process whose command line holds `needle` and whose environment says it is
 * rank `rank` of an Open MPI job, or 0. */
static pid_t find_rank(const char *needle, int rank) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  pid_t found = 0;
  char want[64];
  snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
  while (!found && d && (e = readdir(d))) {
    char path[300], buf[65536];
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
    int fd = open(path, O_RDONLY);
    if (fd < 0) continue;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) continue;
    for (ssize_t i = 0; i < n; i++) buf[i] = buf[i] ? buf[i] : ' ';
    buf[n] = 0;
    if (!strstr(buf, needle) || !strstr(buf, DLC_BINARY " train")) continue;
    snprintf(path, sizeof path, "/proc/%s/environ", e->d_name);
    if ((fd = open(path, O_RDONLY)) < 0) continue;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    for (ssize_t i = 0; i + (ssize_t)strlen(want) <= n; i++)
      if ((i == 0 || buf[i - 1] == 0) && memcmp(buf + i, want, strlen(want)) == 0 && !buf[i + strlen(want)])
        found = atoi(e->d_name);
  }
  if (d) closedir(d);
  return found;
}


/* A process killed (SIGKILL) in the middle of training ends the whole job within seconds,
 * with a non-zero status and a message naming what happened; the checkpoint saved before it
 * stays valid. */
START_TEST(killed_process_ends_the_job) {
  char *ck = path_join(subset_dir, "kill.ck"), *out = path_join(subset_dir, "out.txt"), *err = path_join(subset_dir, "err.txt");
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fo, 1);
    dup2(fe, 2);
    execl(DLC_MPIRUN, DLC_MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", "2", DLC_BINARY, "train",
          DLC_SOURCE_DIR "/examples/lenet.net", "--data", subset_dir, "--epochs", "1000", "--save", ck, (char *)NULL);
    _exit(127);
  }
  /* wait for the first checkpoint (the job is training), then kill process 1 */
  double t0 = seconds_now();
  struct stat st;
  while (stat(ck, &st) != 0 && seconds_now() - t0 < 120) usleep(50000);
  ck_assert_msg(stat(ck, &st) == 0, "no checkpoint after 120 s");
  pid_t victim = find_rank(subset_dir, 1);
  ck_assert_msg(victim > 0, "process 1 not found");
  ck_assert_int_eq(kill(victim, SIGKILL), 0);
  double killed = seconds_now();
  int status = 0;
  pid_t done = 0;
  while ((done = waitpid(pid, &status, WNOHANG)) == 0 && seconds_now() - killed < 30) usleep(20000);
  if (done == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ck_abort_msg("the job still ran 30 s after process 1 was killed");
  }
  double took = seconds_now() - killed;
  char *text = read_file(err);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0, "status %d; stderr:\n%s", status, text);
  ck_assert_msg(took < 10, "the job took %.1f s to end", took);
  ck_assert_msg(strstr(text, "signal 9") || strstr(text, "Killed"), "no readable reason in stderr:\n%s", text);
  /* no process of the job is left */
  ck_assert_int_eq(find_rank(subset_dir, 0), 0);
  /* the last checkpoint is whole */
  Ckpt c;
  char why[1024];
  ck_assert_msg(dlrt_ckpt_load(ck, &c, why, sizeof why) == 0, "%s", why);
  dlrt_ckpt_free(&c);
  free(text);
  free(ck);
  free(out);
  free(err);
}
END_TEST

/* A diverged step under mpirun: every process replays it (the steps are collective), process
 * 0 alone tells what went wrong first, from the whole batch as one process would run it. */
START_TEST(divergence_is_told_once) {
  char *net = path_join(subset_dir, "div.net");
  FILE *f = fopen(net, "w");
  ck_assert_ptr_nonnull(f);
  fputs(DIVERGING_NET, f);
  fclose(f);
  RunResult r = train(2, net, (const char *const[]){"--epochs", "1", NULL});
  ck_assert_msg(r.status == 1, "status %d; stderr:\n%s", r.status, r.err);
  /* (every process leaves the job with status 1: no MPI_Abort, whose message could cut in) */
  ck_assert_msg(!strstr(r.err, "MPI_ABORT") && count_of(r.err, "training diverged") == 1 && count_of(r.err, "div.net:3:5: error: step ") == 1 &&
                    strstr(r.err, "this value (exp) is infinite"),
                "stderr:\n%s", r.err);
  run_result_free(&r);
  free(net);
}
END_TEST

/* Without mpirun nothing of MPI is loaded: dlc does not link it, and a process outside a job
 * never maps it; under a job's environment the library is loaded. */
START_TEST(plain_run_does_not_load_mpi) {
  char err[512];
  unsetenv("OMPI_COMM_WORLD_SIZE");
  ck_assert_int_eq(dlrt_comm_init(err, sizeof err), 0);
  ck_assert(!dlrt_comm_loaded());
  ck_assert_int_eq(dlrt_comm_size(), 1);
  ck_assert_int_eq(dlrt_comm_rank(), 0);
  float x[2] = {1, 2};
  dlrt_comm_sum_floats(x, 2); /* alone: the sum over one process */
  ck_assert(x[0] == 1 && x[1] == 2);
  char *maps = read_file("/proc/self/maps");
  ck_assert_ptr_null(strstr(maps, "libmpi"));
  free(maps);
  char *argv[] = {"/usr/bin/readelf", "-d", DLC_BINARY, NULL};
  RunResult r = run_program(NULL, argv, 60);
  ck_assert_int_eq(r.status, 0);
  ck_assert_msg(strstr(r.out, "libopenblas") && !strstr(r.out, "libmpi"), "dlc's dynamic section:\n%s", r.out);
  run_result_free(&r);
  /* and a real run alone: trains without the library (the environment names no job) */
  const char *args[] = {"--epochs", "1", NULL};
  r = train(0, DLC_SOURCE_DIR "/examples/mlp_relu.net", args);
  assert_ran_on(r, 1);
  run_result_free(&r);
}
END_TEST

/* shards_plan on graphs made by hand: batch norm's centring (a mean over the batch read back
 * by every row) is synced before its first reader, and the gradient-like sum after it stays a
 * partial sum; a state write of a sum over the batch cannot be split so. */
static Schedule plan_of(Graph *g, Node **roots, int n, Arena *a) {
  Schedule s = schedule_build(g, roots, n, a);
  schedule_fuse(g, &s, a);
  return s;
}

START_TEST(shards_plan_syncs_and_refuses) {
  Arena a;
  arena_init(&a);
  Graph *g = graph_new();
  SrcLoc at = {0};
  int d[1] = {4};
  Node *x = g_input(g, "x", shape_make(true, 1, d), at);
  Node *total = g_sum_to(g, x, shape_make(false, 1, d), at);
  Node *mean = g_binary(g, OP_MUL, total, g_inv_batch(g, at), at);
  Node *centred = g_binary(g, OP_SUB, x, mean, at);
  Node *spread = g_sum_to(g, g_binary(g, OP_MUL, centred, centred, at), shape_make(false, 1, d), at);
  Node *out = g_output(g, spread, at);
  Schedule s = plan_of(g, &out, 1, &a);
  bool *summed = ARENA_ARRAY(&a, bool, g->len + 1);
  summed[out->id] = true;
  ShardPlan p = shards_plan(g, &s, summed, &a);
  ck_assert_ptr_null(p.unsplittable);
  ck_assert_int_eq(p.n_points, 1);
  ck_assert_int_eq(p.points[0].n, 1);
  /* the mean (linear in the sum, stored: the rows read it broadcast), before its first reader */
  ck_assert_ptr_eq(p.points[0].nodes[0], mean);
  for (int i = 0; i < s.len; i++) {
    if (s.order[i] == mean) ck_assert_int_gt(p.points[0].before, i);
    if (s.order[i] == centred) ck_assert_int_le(p.points[0].before, i);
  }
  ck_assert(!p.once[out->id]); /* the output stays a sum over each worker's rows */
  /* the same output required whole (a running statistic): synced too, then counted once */
  summed[out->id] = false;
  p = shards_plan(g, &s, summed, &a);
  ck_assert_int_eq(p.n_points, 2);
  ck_assert(p.once[out->id]);
  /* a state written from a sum over the batch inside the function: refused */
  Node *st = g_state(g, "running", shape_make(false, 1, d), at);
  Node *write = g_assign(g, st, total, at);
  s = plan_of(g, &write, 1, &a);
  p = shards_plan(g, &s, summed, &a);
  ck_assert_ptr_eq(p.unsplittable, write);
  graph_free(g);
  arena_free(&a);
}
END_TEST

/* Run as `mpirun -np 2 check_mpi --replicas` (by replicas_differ_is_caught): a trainer on
 * each process, the same state on both, then process 1's first parameter moved; process 0
 * says what trainer_check_replicas found each time. */
static int replicas_probe(void) {
  char err[512];
  if (dlrt_comm_init(err, sizeof err) != 0 || dlrt_comm_size() != 2) return 3;
  ModelConfig cfg = model_config();
  cfg.processes = dlrt_comm_size();
  Model *m = model_load(DLC_SOURCE_DIR "/examples/mlp_relu.net", &cfg);
  Trainer *t = m && model_build_training(m) ? trainer_new(m) : NULL;
  if (!t) return 4;
  bool same = trainer_check_replicas(t);
  if (dlrt_comm_rank() == 1) t->arena[0] += 1e-7f; /* one parameter, in its last bits */
  bool caught = !trainer_check_replicas(t);
  if (dlrt_comm_rank() == 0) printf("equal replicas pass: %s; a moved parameter caught: %s\n", same ? "yes" : "no", caught ? "yes" : "no");
  trainer_free(t);
  model_free(m);
  dlrt_comm_finish();
  return 0;
}

/* The check process 0 makes after every epoch catches a process whose parameters differ. */
START_TEST(replicas_differ_is_caught) {
  char *argv[] = {DLC_MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", "2", "/proc/self/exe", "--replicas", NULL};
  char exe[1024];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  ck_assert_int_gt(n, 0);
  exe[n] = 0;
  argv[5] = exe;
  RunResult r = run_program(NULL, argv, 120);
  ck_assert_msg(r.status == 0, "status %d; stderr:\n%s", r.status, r.err);
  ck_assert_msg(strstr(r.out, "equal replicas pass: yes; a moved parameter caught: yes"), "%s\n%s", r.out, r.err);
  ck_assert_msg(strstr(r.err, "the parameters of process 1 differ from process 0's"), "%s", r.err);
  run_result_free(&r);
}
END_TEST

/* The gradient all-reduce overlapped with the backward pass (buckets started at its hooks)
 * against one all-reduce of the whole block after it (DLC_ALLREDUCE=whole): on 2 processes
 * the same parameters bit for bit (each float is a + b either way, and the local sums are
 * the same), on 3 within float order (Open MPI's algorithms add in an order that depends on
 * the message's size). Small buckets (DLC_ALLREDUCE_BUCKET) make several of them in every
 * model, between batch norm's sync points too. Batch 46: the epoch's last batch of 2 rows
 * leaves a process of 3 without rows, which still takes part in every bucket. A process of
 * one thread starts every bucket but the last during the backward pass (the stats say so). */
static void overlap_against_whole(const char *model, int procs, const char *threads) {
  char *paths[2];
  setenv("DLC_ALLREDUCE_BUCKET", "500", 1);
  setenv("DLC_ALLREDUCE_STATS", "1", 1);
  for (int mode = 0; mode < 2; mode++) {
    char name[32];
    snprintf(name, sizeof name, "ar%d.ck", mode);
    paths[mode] = path_join(subset_dir, name);
    setenv("DLC_ALLREDUCE", mode ? "overlap" : "whole", 1);
    const char *args[] = {"--epochs", "1", "--batch", "46", "--threads", threads, "--save", paths[mode], NULL};
    RunResult r = train(procs, model, args);
    assert_ran_on(r, procs);
    const char *stats = strstr(r.err, mode ? "all-reduce overlap: " : "all-reduce whole: ");
    ck_assert_msg(stats, "no all-reduce statistics in:\n%s", r.err);
    if (mode && !strcmp(threads, "1")) { /* "N of M buckets started during the backward pass" */
      const char *of = strstr(stats, " buckets started");
      ck_assert_ptr_nonnull(of);
      while (of > stats && of[-1] != ',') of--;
      long early = 0, all = 0;
      ck_assert_int_eq(sscanf(of, " %ld of %ld", &early, &all), 2);
      ck_assert_msg(early > 0 && early < all, "%s", r.err);
    }
    run_result_free(&r);
  }
  assert_same_tensors(paths[0], paths[1], procs == 2 ? 0 : 1e-4);
  free(paths[0]);
  free(paths[1]);
}

START_TEST(overlap_mlp_and_lenet) {
  overlap_against_whole(DLC_SOURCE_DIR "/examples/mlp_relu.net", 2, "1");
  overlap_against_whole(DLC_SOURCE_DIR "/examples/lenet.net", 2, "1");
  overlap_against_whole(DLC_SOURCE_DIR "/examples/lenet.net", 3, "1");
  overlap_against_whole(DLC_SOURCE_DIR "/examples/lenet.net", 2, "2");
}
END_TEST

START_TEST(overlap_batch_norm) {
  char *model = write_temp_file("bn_cnn.net", bn_cnn);
  overlap_against_whole(model, 2, "1");
  overlap_against_whole(model, 3, "1");
  overlap_against_whole(model, 2, "2");
  remove_temp_file(model);
}
END_TEST

/* A value DLC_ALLREDUCE or DLC_ALLREDUCE_BUCKET cannot take is an error before any work. */
START_TEST(allreduce_variables_checked) {
  const char *args[] = {"--epochs", "1", NULL};
  setenv("DLC_ALLREDUCE", "ring", 1);
  RunResult r = train(0, DLC_SOURCE_DIR "/examples/mlp_relu.net", args);
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.err, "DLC_ALLREDUCE: error: 'ring' is not a way"), "%s", r.err);
  run_result_free(&r);
  setenv("DLC_ALLREDUCE", "whole", 1);
  setenv("DLC_ALLREDUCE_BUCKET", "0", 1);
  r = train(0, DLC_SOURCE_DIR "/examples/mlp_relu.net", args);
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.err, "DLC_ALLREDUCE_BUCKET: error: '0' is not a number of floats"), "%s", r.err);
  run_result_free(&r);
}
END_TEST

/* The position of node y in schedule s, or -1. */
static int position(const Schedule *s, const Node *y) {
  for (int i = 0; i < s->len; i++)
    if (s->order[i] == y) return i;
  return -1;
}

/* The bucket plan of LeNet-5's dlc_train_grad on 2 processes: every gradient in exactly one
 * bucket, each gradient's OUTPUT right after the node that computes its value (before, the
 * autodiff left them all at the end), the buckets in the order the function finishes them,
 * each but the last at least BUCKET_MIN_FLOATS, each hook after its gradients, and the
 * convolutions' backward pass still to run after the first hook (what the overlap hides the
 * all-reduce behind), with progress hooks before its kernels. Alone: no buckets and no hooks. */
START_TEST(bucket_plan_follows_the_backward_pass) {
  ModelConfig cfg = model_config();
  cfg.processes = 2;
  Model *m = model_load(DLC_SOURCE_DIR "/examples/lenet.net", &cfg);
  ck_assert(m && model_build_training(m));
  const ParallelPlan *par = &m->par;
  const BucketPlan *b = &par->buckets;
  const LowerFn *f = &m->par_fns[PAR_GRAD];
  const Schedule *s = &f->sched;
  int grads = 0;
  for (int i = 0; i < m->n_forward; i++) {
    if (!par->grad_out[i]) continue;
    grads++;
    int found = 0;
    for (int k = 0; k < b->n_outputs; k++) found += b->outputs[k] == par->grad_out[i];
    ck_assert_int_eq(found, 1);
  }
  ck_assert_int_eq(b->n_outputs, grads);
  ck_assert_int_ge(b->n_buckets, 2);
  ck_assert_int_eq(f->ready.n, b->n_buckets - 1 + b->n_progress);
  ck_assert_int_gt(b->n_progress, 0); /* the convolutions' kernels, after the first hook */
  for (int k = 0; k < b->n_progress; k++) {
    ck_assert_int_ge(b->progress_before[k], b->buckets[0].hook_before);
    if (k) ck_assert_int_gt(b->progress_before[k], b->progress_before[k - 1]);
    ck_assert_int_eq(f->ready.before[b->n_buckets - 1 + k], b->progress_before[k]);
  }
  ck_assert_int_eq(f->ready.feed, par->ready_slot + 1);
  int next = 0, last_at = -1, last_hook = -1;
  for (int k = 0; k < b->n_buckets; k++) {
    const GradBucket *g = &b->buckets[k];
    ck_assert_int_eq(g->first, next);
    next += g->n;
    int64_t floats = 0;
    for (int j = g->first; j < g->first + g->n; j++) {
      const Node *o = b->outputs[j];
      int at = position(s, o);
      ck_assert_int_gt(at, last_at); /* in the order they run */
      last_at = at;
      const Node *maker = schedule_site(s, o->in[0]);
      ck_assert_int_eq(at, position(s, maker) + 1); /* right after its value is made */
      if (k + 1 < b->n_buckets) ck_assert_int_lt(at, g->hook_before);
      floats += arena_align(shape_numel(o->shape));
    }
    ck_assert_int_eq(floats, g->floats);
    if (k + 1 < b->n_buckets) {
      ck_assert_int_ge(g->floats, BUCKET_MIN_FLOATS);
      ck_assert_int_gt(g->hook_before, last_hook);
      ck_assert_int_eq(f->ready.before[k], g->hook_before);
      last_hook = g->hook_before;
    } else {
      ck_assert_int_eq(g->hook_before, -1);
    }
  }
  ck_assert_int_eq(next, b->n_outputs);
  bool conv_after = false;
  for (int i = b->buckets[0].hook_before; i < s->len; i++) conv_after |= s->order[i]->op == OP_CONV_DW;
  ck_assert_msg(conv_after, "no convolution's backward pass after the first bucket's hook");
  model_free(m);
  cfg.processes = 1;
  cfg.threads = 2;
  m = model_load(DLC_SOURCE_DIR "/examples/lenet.net", &cfg);
  ck_assert(m && model_build_training(m));
  ck_assert(m->par.data_parallel);
  ck_assert_int_eq(m->par.buckets.n_buckets, 0);
  ck_assert_int_eq(m->par_fns[PAR_GRAD].ready.n, 0);
  ck_assert_int_eq(m->par_fns[PAR_GRAD].ready.feed, 0);
  model_free(m);
}
END_TEST

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--replicas") == 0) return replicas_probe();
  /* In sanitized builds, Open MPI's own leaks are suppressed for mpirun's processes (only
   * its libraries' allocations: see the file and runtime/comm.c) */
  const char *lsan = getenv("LSAN_OPTIONS");
  char *options = NULL;
  if (asprintf(&options, "%s%ssuppressions=%s/tests/lsan-mpi.supp:print_suppressions=0", lsan ? lsan : "",
               lsan && *lsan ? ":" : "", DLC_SOURCE_DIR) < 0)
    return 1;
  setenv("LSAN_OPTIONS", options, 1);
  free(options);
  Suite *s = suite_create("mpi");
  TCase *tc = tcase_create("processes");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, plain_run_does_not_load_mpi);
  tcase_add_test(tc, shards_plan_syncs_and_refuses);
  tcase_add_test(tc, replicas_differ_is_caught);
  tcase_add_test(tc, mlp_on_processes);
  tcase_add_test(tc, lenet_on_processes);
  tcase_add_test(tc, lenet_on_processes_and_threads);
  tcase_add_test(tc, lenet_threads_against_processes);
  tcase_add_test(tc, average_threads_against_processes);
  tcase_add_test(tc, batch_norm_on_processes);
  tcase_add_test(tc, batch_norm_with_a_process_without_rows);
  tcase_add_test(tc, batch_norm_on_threads);
  tcase_add_test(tc, resume_across_process_counts);
  tcase_add_test(tc, killed_process_ends_the_job);
  tcase_add_test(tc, divergence_is_told_once);
  tcase_add_test(tc, bucket_plan_follows_the_backward_pass);
  tcase_add_test(tc, allreduce_variables_checked);
  tcase_add_test(tc, overlap_mlp_and_lenet);
  tcase_add_test(tc, overlap_batch_norm);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
