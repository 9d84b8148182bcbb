/* helpers.c — what the test suites share; see helpers.h. */
#define _GNU_SOURCE /* asprintf */
#include "helpers.h"
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "checkpoint.h"

/* Appends to a buffer that grows geometrically: a program printing megabytes is read in
 * linear time (growing by each 4 KiB read made it quadratic, minutes under ASan). */
static void append(char **buf, size_t *len, size_t *cap, const char *data, size_t n) {
  if (*len + n + 1 > *cap) {
    *cap = 2 * (*len + n + 1);
    *buf = realloc(*buf, *cap);
    ck_assert_ptr_nonnull(*buf);
  }
  memcpy(*buf + *len, data, n);
  *len += n;
  (*buf)[*len] = 0;
}

RunResult run_program(const char *cwd, char *const argv[], int timeout_s) {
  /* the sanitizer build runs everything several times slower: its tests set Check's own
   * multiplier (tests/CMakeLists.txt), which scales the programs' time limits too */
  const char *scale = getenv("CK_TIMEOUT_MULTIPLIER");
  if (scale && atoi(scale) > 1) timeout_s *= atoi(scale);
  int out_pipe[2], err_pipe[2];
  ck_assert(pipe(out_pipe) == 0 && pipe(err_pipe) == 0);
  pid_t pid = fork();
  ck_assert(pid >= 0);
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    close(out_pipe[0]);
    close(err_pipe[0]);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    if (cwd && chdir(cwd) != 0) _exit(127);
    execv(argv[0], argv);
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  RunResult r = {0, calloc(1, 1), calloc(1, 1)};
  size_t out_len = 0, err_len = 0, out_cap = 1, err_cap = 1;
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  time_t deadline = time(NULL) + timeout_s;
  int open_fds = 2;
  while (open_fds > 0) {
    int left = (int)(deadline - time(NULL));
    if (left <= 0) {
      kill(pid, SIGKILL);
      break;
    }
    if (poll(fds, 2, left * 1000) <= 0) continue;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_fds--;
      } else if (i == 0) {
        append(&r.out, &out_len, &out_cap, buf, (size_t)n);
      } else {
        append(&r.err, &err_len, &err_cap, buf, (size_t)n);
      }
    }
  }
  for (int i = 0; i < 2; i++)
    if (fds[i].fd >= 0) close(fds[i].fd);
  int status;
  waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

enum { MAX_ARGS = 62 };

RunResult run_command(const char *cwd, int timeout_s, const char *program, ...) {
  char *argv[MAX_ARGS + 2] = {(char *)program};
  int n = 1;
  va_list ap;
  va_start(ap, program);
  for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
    ck_assert_int_lt(n, MAX_ARGS);
    argv[n++] = (char *)a;
  }
  va_end(ap);
  argv[n] = NULL;
  return run_program(cwd, argv, timeout_s);
}

void run_result_free(RunResult *r) {
  free(r->out);
  free(r->err);
}

void assert_run_at(RunResult r, int status, const char *needle, const char *file, int line) {
  if (r.status != status)
    ck_abort_msg("%s:%d: status %d, expected %d; stdout:\n%.4000s\nstderr:\n%.4000s", file, line, r.status, status,
                 r.out, r.err);
  if (needle && !strstr(r.err, needle))
    ck_abort_msg("%s:%d: stderr does not contain \"%s\"; it is:\n%.4000s", file, line, needle, r.err);
}

void assert_contains(const char *what, const char *text, const char *needle) {
  if (!strstr(text, needle)) ck_abort_msg("%s does not contain \"%s\"; it is:\n%.4000s", what, needle, text);
}

int count_of(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

bool starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

void *read_bytes(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  size_t got = fread(buf, 1, (size_t)n, f);
  buf[got] = 0;
  fclose(f);
  if (len) *len = got;
  return buf;
}

char *read_file(const char *path) { return read_bytes(path, NULL); }

bool file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

void write_bytes(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot write %s", path);
  ck_assert_uint_eq(fwrite(data, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
}

void write_text(const char *path, const char *text) { write_bytes(path, text, strlen(text)); }

void make_dir(const char *path) { ck_assert_msg(mkdir(path, 0755) == 0, "mkdir %s", path); }

double seconds_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

bool same_tensors(const char *a, const char *b, char *why, size_t len) {
  Ckpt x, y;
  char err[1024];
  ck_assert_msg(dlrt_ckpt_load(a, &x, err, sizeof err) == 0, "%s", err);
  ck_assert_msg(dlrt_ckpt_load(b, &y, err, sizeof err) == 0, "%s", err);
  bool same = x.n == y.n;
  snprintf(why, len, "%d tensors against %d", x.n, y.n);
  for (int i = 0; same && i < x.n; i++) {
    const CkptTensor *t = &x.tensors[i], *u = dlrt_ckpt_tensor(&y, t->name);
    int64_t numel = 1;
    for (int d = 0; d < t->rank; d++) numel *= t->dim[d];
    same = u && u->rank == t->rank && memcmp(u->dim, t->dim, sizeof t->dim) == 0 &&
           memcmp(t->data, u->data, sizeof(float) * (size_t)numel) == 0;
    if (!same) snprintf(why, len, "tensor '%s' differs", t->name);
  }
  dlrt_ckpt_free(&x);
  dlrt_ckpt_free(&y);
  return same;
}

static FILE *capture_stream;
static char *capture_buf;
static size_t capture_len;

void capture_begin(void) {
  capture_buf = NULL;
  capture_len = 0;
  capture_stream = open_memstream(&capture_buf, &capture_len);
  ck_assert_ptr_nonnull(capture_stream);
  diag_set_stream(capture_stream);
  diag_reset();
}

char *capture_end(void) {
  diag_set_stream(NULL);
  fclose(capture_stream);
  capture_stream = NULL;
  return capture_buf;
}

char *write_temp_file(const char *name, const char *text) {
  char dir[] = "/tmp/dlc-test-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char *path = path_join(dir, name);
  write_text(path, text);
  return path;
}

Model *load_model_text(const char *text, char **diagnostics) { return load_model_text_config(text, NULL, diagnostics); }

Model *load_model_text_config(const char *text, const ModelConfig *cfg, char **diagnostics) {
  char *path = write_temp_file("model.net", text);
  capture_begin();
  Model *m = model_load(path, cfg);
  char *buf = capture_end();
  if (diagnostics) *diagnostics = buf;
  else free(buf);
  remove_temp_file(path);
  return m;
}

void remove_temp_file(char *path) {
  unlink(path);
  char *slash = strrchr(path, '/');
  if (slash) *slash = 0;
  rmdir(path);
  free(path);
}

TCase *add_tcase(Suite *s, const char *name, int timeout_s) {
  TCase *tc = tcase_create(name);
  if (timeout_s > 0) tcase_set_timeout(tc, timeout_s);
  suite_add_tcase(s, tc);
  return tc;
}

int run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

char *make_temp_dir(void) {
  char tmpl[] = "/tmp/dlc-test-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(tmpl));
  return strdup(tmpl);
}

char *path_join(const char *dir, const char *name) {
  char *p = NULL;
  ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
  return p;
}

void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char *p = path_join(dir, e->d_name);
    struct stat st;
    if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(p);
    else unlink(p);
    free(p);
  }
  closedir(d);
  rmdir(dir);
}
