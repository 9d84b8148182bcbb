/* helpers.c — process running, temporary files and inline models for the test suites. */
#define _GNU_SOURCE /* asprintf */
#include "helpers.h"
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

void run_result_free(RunResult *r) {
  free(r->out);
  free(r->err);
}

char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  size_t got = fread(buf, 1, (size_t)n, f);
  buf[got] = 0;
  fclose(f);
  return buf;
}

char *write_temp_file(const char *name, const char *text) {
  char dir[] = "/tmp/dlc-test-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  size_t len = strlen(dir) + strlen(name) + 2;
  char *path = malloc(len);
  snprintf(path, len, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
  return path;
}

Model *load_model_text(const char *text, char **diagnostics) { return load_model_text_config(text, NULL, diagnostics); }

Model *load_model_text_config(const char *text, const ModelConfig *cfg, char **diagnostics) {
  char *path = write_temp_file("model.net", text);
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&buf, &len);
  diag_set_stream(mem);
  diag_reset();
  Model *m = model_load(path, cfg);
  diag_set_stream(NULL);
  fclose(mem);
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
