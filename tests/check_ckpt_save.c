/* check_ckpt_save.c — saving checkpoints and holding their paths (runtime/checkpoint*.c):
 * saving never writes over what is not a regular file (a device, a FIFO, a directory, a link
 * to one), goes through a link to its file, refuses what would not load, and leaves no
 * temporary behind, even when the write fails; stale temporaries are removed; two runs cannot
 * hold one checkpoint path, a killed holder does not block the next run, and a link shares
 * the lock of its file. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ckpt_files.h"

/* ---- saving -------------------------------------------------------------------------- */

static int save_sample_to(const char *path) {
  CkptTensor t[3];
  CkptMeta m[2];
  int n = sample(t, m);
  err[0] = 0;
  return dlrt_ckpt_save(path, t, n, m, 2, err, sizeof err);
}

/* Over a device, a FIFO, a directory or a link to one: refused before anything is written,
 * and the thing is left as it was. The same paths cannot be locked either. */
START_TEST(saving_over_what_is_not_a_regular_file_is_refused) {
  char *dir = fresh_dir();
  struct stat st;
  pid_t me = getpid();
  char tmp_of_null[64];
  snprintf(tmp_of_null, sizeof tmp_of_null, "/dev/null.tmp.%ld", (long)me);
  ck_assert_int_eq(save_sample_to("/dev/null"), -1);
  ck_assert_says(err, "/dev/null: is a character device, not a regular file: refusing to write a checkpoint over it");
  ck_assert(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
  ck_assert_int_ne(access(tmp_of_null, F_OK), 0);
  CkptLock lock;
  ck_assert_int_eq(dlrt_ckpt_lock("/dev/null", &lock, err, sizeof err), -1);
  ck_assert_says(err, "/dev/null: is a character device, not a regular file");
  ck_assert_int_eq(lock.fd, -1);
  dlrt_ckpt_unlock(&lock); /* harmless on a lock not held */

  char *fifo = path_join(dir, "fifo"), *sub = path_join(dir, "sub"), *link_fifo = path_join(dir, "to-fifo"),
       *dangling = path_join(dir, "dangling");
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  ck_assert_int_eq(mkdir(sub, 0700), 0);
  ck_assert_int_eq(symlink("fifo", link_fifo), 0);
  ck_assert_int_eq(symlink("nowhere", dangling), 0);
  struct {
    const char *path, *says;
  } cases[] = {{fifo, ": is a FIFO, not a regular file: refusing to write a checkpoint over it"},
               {sub, ": is a directory, not a regular file"},
               {link_fifo, ": is a symbolic link to a FIFO, not to a regular file: refusing to write a checkpoint over it"},
               {dangling, ": is a symbolic link to nothing (No such file or directory): refusing to write a checkpoint through it"}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    ck_assert_int_eq(save_sample_to(cases[i].path), -1);
    ck_assert_says(err, cases[i].says);
    ck_assert(strncmp(err, cases[i].path, strlen(cases[i].path)) == 0);
    ck_assert_int_eq(dlrt_ckpt_lock(cases[i].path, &lock, err, sizeof err), -1);
    ck_assert_says(err, cases[i].says);
  }
  ck_assert_str_eq(listing(dir), "dangling fifo sub to-fifo");
  ck_assert(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
  ck_assert(lstat(link_fifo, &st) == 0 && S_ISLNK(st.st_mode));
  ck_assert_str_eq(listing(sub), "");
  free(fifo);
  free(sub);
  free(link_fifo);
  free(dangling);
  free(dir);
}
END_TEST

/* A link to a regular file is followed: the file is replaced, the link stays a link. */
START_TEST(saving_through_a_link_replaces_its_file) {
  char *dir = fresh_dir(), *real = path_join(dir, "real.ck"), *link = path_join(dir, "latest.ck");
  write_bytes(real, "old", 3);
  ck_assert_int_eq(symlink("real.ck", link), 0);
  ck_assert_msg(save_sample_to(link) == 0, "%s", err);
  struct stat st;
  ck_assert(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
  Ckpt c;
  load_ok(real, &c);
  ck_assert_int_eq(c.n, 3);
  dlrt_ckpt_free(&c);
  ck_assert_str_eq(listing(dir), "latest.ck real.ck");
  free(real);
  free(link);
  free(dir);
}
END_TEST

START_TEST(saving_refuses_what_would_not_load) {
  char *dir = fresh_dir(), *path = path_join(dir, "x.ck");
  float v[2] = {0};
  CkptTensor twice[2] = {{"a", 1, {1}, v}, {"a", 1, {1}, v + 1}};
  ck_assert_int_eq(dlrt_ckpt_save(path, twice, 2, NULL, 0, err, sizeof err), -1);
  ck_assert_says(err, ": cannot save: tensor 'a' is given twice");
  CkptTensor one[1] = {{"a", 1, {2}, v}};
  CkptMeta reserved[1] = {{"dlc.crc32.a", "00000000"}};
  ck_assert_int_eq(dlrt_ckpt_save(path, one, 1, reserved, 1, err, sizeof err), -1);
  ck_assert_says(err, ": cannot save: metadata key 'dlc.crc32.a' is reserved for the checksums");
  CkptMeta dup[2] = {{"k", "1"}, {"k", "2"}};
  ck_assert_int_eq(dlrt_ckpt_save(path, one, 1, dup, 2, err, sizeof err), -1);
  ck_assert_says(err, ": cannot save: metadata key 'k' is given twice");
  CkptTensor deep[1] = {{"a", 5, {1, 1, 1, 1}, v}};
  ck_assert_int_eq(dlrt_ckpt_save(path, deep, 1, NULL, 0, err, sizeof err), -1);
  ck_assert_says(err, ": cannot save: tensor 'a' has no data or an invalid shape");
  ck_assert_str_eq(listing(dir), "");
  /* an empty tensor is a shape like any other (safetensors allows them) */
  CkptTensor empty[2] = {{"e", 2, {0, 5}, NULL}, {"a", 1, {2}, v}};
  ck_assert_msg(dlrt_ckpt_save(path, empty, 2, NULL, 0, err, sizeof err) == 0, "%s", err);
  Ckpt c;
  load_ok(path, &c);
  ck_assert(c.checksummed && c.n == 2 && c.tensors[0].dim[0] == 0 && dlrt_ckpt_tensor_nonfinite(&c.tensors[0]) == -1);
  dlrt_ckpt_free(&c);
  free(path);
  free(dir);
}
END_TEST

/* A write that fails (here: past RLIMIT_FSIZE, in a child) is an error, leaves the previous
 * checkpoint as it was and removes the temporary. */
START_TEST(failed_write_removes_the_temporary) {
  char *dir = fresh_dir(), *path = path_join(dir, "run.ck");
  save_sample(path);
  size_t before_len;
  unsigned char *before = read_all(path, &before_len);
  enum { BIG = 1 << 16 };
  float *big = calloc(BIG, sizeof *big);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN); /* so write(2) fails with EFBIG instead of killing us */
    struct rlimit lim = {4096, 4096};
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(2);
    CkptTensor t[1] = {{"big", 1, {BIG}, big}};
    char e[512];
    int rc = dlrt_ckpt_save(path, t, 1, NULL, 0, e, sizeof e);
    _exit(rc == -1 && strstr(e, ": cannot write: File too large (nothing was changed)") ? 0 : 1);
  }
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the failed save was not reported (status %d)", status);
  ck_assert_str_eq(listing(dir), "run.ck");
  size_t after_len;
  unsigned char *after = read_all(path, &after_len);
  ck_assert_uint_eq(after_len, before_len);
  ck_assert_mem_eq(after, before, before_len);
  free(before);
  free(after);
  free(big);
  free(path);
  free(dir);
}
END_TEST

/* A PID that is no live process: a child's, reaped. */
static pid_t dead_pid(void) {
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) _exit(0);
  ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
  return pid;
}

/* Temporaries of the same checkpoint whose process is gone are removed by the next save;
 * a live process's, another checkpoint's and look-alikes stay. */
START_TEST(stale_temporaries_are_removed) {
  char *dir = fresh_dir(), *path = path_join(dir, "run.ck");
  pid_t dead = dead_pid(), live = fork();
  ck_assert_int_ge(live, 0);
  if (live == 0) {
    pause();
    _exit(0);
  }
  char name[64];
  const char *fmt[] = {"run.ck.tmp.%ld", "other.ck.tmp.%ld", "run.ck.tmp.%ldx", "run.ck.tmp.%ld.bak"};
  for (size_t i = 0; i < sizeof fmt / sizeof *fmt; i++) {
    snprintf(name, sizeof name, fmt[i], (long)dead);
    char *p = path_join(dir, name);
    write_bytes(p, "partial", 7);
    free(p);
  }
  snprintf(name, sizeof name, "run.ck.tmp.%ld", (long)live);
  char *live_tmp = path_join(dir, name);
  write_bytes(live_tmp, "partial", 7);
  save_sample(path);
  bool live_kept = access(live_tmp, F_OK) == 0;
  kill(live, SIGKILL);
  waitpid(live, NULL, 0);
  ck_assert_msg(live_kept, "a live process's temporary was removed");
  for (size_t i = 0; i < sizeof fmt / sizeof *fmt; i++) {
    snprintf(name, sizeof name, fmt[i], (long)dead);
    char *p = path_join(dir, name);
    ck_assert_msg((access(p, F_OK) == 0) == (i != 0), "%s should %s", name, i ? "stay" : "be gone");
    free(p);
  }
  save_sample(path); /* now that one's process is gone too */
  ck_assert_int_ne(access(live_tmp, F_OK), 0);
  const char *got = listing(dir); /* the checkpoint and the three that are not its temporaries */
  int entries = 1;
  for (const char *c = got; *c; c++) entries += *c == ' ';
  ck_assert_msg(entries == 4, "left: %s", got);
  free(live_tmp);
  free(path);
  free(dir);
}
END_TEST

/* ---- locks --------------------------------------------------------------------------- */

static long pid_in(const char *lock_file) {
  size_t n;
  unsigned char *p = read_all(lock_file, &n);
  long pid = strtol((char *)p, NULL, 10);
  free(p);
  return pid;
}

START_TEST(a_second_lock_fails_while_the_first_is_held) {
  char *dir = fresh_dir(), *path = path_join(dir, "run.ck"), *lock_file = path_join(dir, "run.ck.lock");
  int ready[2], release[2];
  ck_assert(pipe(ready) == 0 && pipe(release) == 0);
  pid_t child = fork();
  ck_assert_int_ge(child, 0);
  if (child == 0) {
    close(release[1]); /* or the read below would wait for itself */
    CkptLock l;
    char e[512];
    if (dlrt_ckpt_lock(path, &l, e, sizeof e) != 0) _exit(1);
    char c = 1;
    if (write(ready[1], &c, 1) != 1) _exit(2);
    if (read(release[0], &c, 1) < 0) _exit(3); /* until the parent closes its end */
    dlrt_ckpt_unlock(&l);
    _exit(0);
  }
  close(ready[1]);
  close(release[0]);
  char c;
  ck_assert_int_eq(read(ready[0], &c, 1), 1);
  ck_assert_int_eq(pid_in(lock_file), child);
  CkptLock lock;
  ck_assert_int_eq(dlrt_ckpt_lock(path, &lock, err, sizeof err), -1);
  char want[256];
  snprintf(want, sizeof want, ": another run (pid %ld) is saving to this checkpoint; two runs writing one file would overwrite each other's work",
           (long)child);
  ck_assert_says(err, want);
  close(release[1]);
  int status;
  ck_assert_int_eq(waitpid(child, &status, 0), child);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ck_assert_int_ne(access(lock_file, F_OK), 0); /* unlocking removed it */
  ck_assert_msg(dlrt_ckpt_lock(path, &lock, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(pid_in(lock_file), getpid());
  /* in one process too: --save and --save-best naming one file */
  CkptLock again;
  ck_assert_int_eq(dlrt_ckpt_lock(path, &again, err, sizeof err), -1);
  ck_assert_says(err, ": this run already saves another checkpoint to this file");
  save_sample(path); /* the holder saves as usual */
  dlrt_ckpt_unlock(&lock);
  dlrt_ckpt_unlock(&lock); /* twice is harmless */
  ck_assert_str_eq(listing(dir), "run.ck");
  close(ready[0]);
  free(lock_file);
  free(path);
  free(dir);
}
END_TEST

/* A holder killed with SIGKILL leaves its lock file, but not the lock: the next run takes it. */
START_TEST(a_killed_holder_does_not_block_the_next_run) {
  char *dir = fresh_dir(), *path = path_join(dir, "run.ck"), *lock_file = path_join(dir, "run.ck.lock");
  pid_t child = fork();
  ck_assert_int_ge(child, 0);
  if (child == 0) {
    CkptLock l;
    char e[512];
    if (dlrt_ckpt_lock(path, &l, e, sizeof e) != 0) _exit(1);
    raise(SIGKILL);
  }
  int status;
  ck_assert_int_eq(waitpid(child, &status, 0), child);
  ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  ck_assert_int_eq(pid_in(lock_file), child);
  CkptLock lock;
  ck_assert_msg(dlrt_ckpt_lock(path, &lock, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(pid_in(lock_file), getpid());
  dlrt_ckpt_unlock(&lock);
  ck_assert_str_eq(listing(dir), "");
  free(lock_file);
  free(path);
  free(dir);
}
END_TEST

/* A link and the file it names are one checkpoint, so one lock. */
START_TEST(a_link_shares_the_lock_of_its_file) {
  char *dir = fresh_dir(), *real = path_join(dir, "real.ck"), *link = path_join(dir, "latest.ck");
  save_sample(real);
  ck_assert_int_eq(symlink("real.ck", link), 0);
  CkptLock a, b;
  ck_assert_msg(dlrt_ckpt_lock(link, &a, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(dlrt_ckpt_lock(real, &b, err, sizeof err), -1);
  ck_assert_says(err, "this run already saves another checkpoint to this file");
  dlrt_ckpt_unlock(&a);
  free(real);
  free(link);
  free(dir);
}
END_TEST

/* ---- suite --------------------------------------------------------------------------- */

static Suite *ckpt_save_suite(void) {
  Suite *s = suite_create("ckpt_save");
  TCase *files = tcase_create("files");
  tcase_set_timeout(files, 60);
  tcase_add_unchecked_fixture(files, make_top, remove_top);
  tcase_add_test(files, saving_over_what_is_not_a_regular_file_is_refused);
  tcase_add_test(files, saving_through_a_link_replaces_its_file);
  tcase_add_test(files, saving_refuses_what_would_not_load);
  tcase_add_test(files, failed_write_removes_the_temporary);
  tcase_add_test(files, stale_temporaries_are_removed);
  tcase_add_test(files, a_second_lock_fails_while_the_first_is_held);
  tcase_add_test(files, a_killed_holder_does_not_block_the_next_run);
  tcase_add_test(files, a_link_shares_the_lock_of_its_file);
  suite_add_tcase(s, files);
  return s;
}

int main(void) { return run_suite(ckpt_save_suite()); }
