/* checkpoint_lock.c — one training run's claim on a checkpoint path, so that two runs saving
 * to one file fail at the start instead of silently overwriting each other's epochs. It is
 * an exclusive, non-blocking flock(2) on the sidecar file "DEST.lock" beside the checkpoint
 * (DEST: the path with a final symbolic link followed, as saving follows it), which holds
 * the owner's PID for the second run's message. The kernel drops a flock with the process
 * that holds it, so a killed run leaves at most an unlocked lock file, which the next run
 * takes over; unlocking removes the file. */
#define _GNU_SOURCE /* asprintf */
#include "checkpoint_internal.h"
#include "outfile.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The PID in a held lock file, or 0 if there is none yet (its holder may be about to write
 * it) or it names no live process (a killed holder's, not yet overwritten). */
static long holder_pid(int fd) {
  char buf[32];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *end;
  long pid = strtol(buf, &end, 10);
  if (pid <= 0 || *end != '\n') return 0;
  return kill((pid_t)pid, 0) != 0 && errno == ESRCH ? 0 : pid;
}

/* Whether fd is still the file at path. Unlocking unlinks the file before releasing it, so a
 * lock won on a file that is no longer linked guards nothing: take the new one instead. */
static bool still_linked(int fd, const char *path) {
  struct stat a, b;
  return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int held_elsewhere(const char *path, const char *lock_path, long pid, char *err, size_t errlen) {
  if (pid == (long)getpid()) return dlrt_fail(err, errlen, path, "this run already saves another checkpoint to this file");
  if (pid)
    return dlrt_fail(err, errlen, path,
                     "another run (pid %ld) is saving to this checkpoint; two runs writing one file would overwrite each other's work", pid);
  return dlrt_fail(err, errlen, path,
                   "another run is saving to this checkpoint (it holds %s); two runs writing one file would overwrite each other's work",
                   lock_path);
}

/* Records our PID in the lock file we hold. */
static int write_pid(int fd) {
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  return ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) == n ? 0 : -1;
}

/* One attempt: 1 if the lock file was replaced under us (try again), else 0 or -1. */
static int try_lock(const char *path, const char *lock_path, CkptLock *lock, char *err, size_t errlen) {
  int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return dlrt_fail(err, errlen, path, "cannot create its lock file %s: %s", lock_path, strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    long pid = e == EWOULDBLOCK ? holder_pid(fd) : 0;
    close(fd);
    if (e == EWOULDBLOCK) return held_elsewhere(path, lock_path, pid, err, errlen);
    return dlrt_fail(err, errlen, path, "cannot lock %s: %s", lock_path, strerror(e));
  }
  if (!still_linked(fd, lock_path)) {
    close(fd);
    return 1;
  }
  if (write_pid(fd) != 0) {
    int e = errno;
    unlink(lock_path);
    close(fd);
    return dlrt_fail(err, errlen, path, "cannot write its lock file %s: %s", lock_path, strerror(e));
  }
  lock->fd = fd;
  return 0;
}

int dlrt_ckpt_lock(const char *path, CkptLock *lock, char *err, size_t errlen) {
  *lock = (CkptLock){-1, NULL};
  char *dest, *lock_path;
  if (dlrt_out_destination(path, "a checkpoint", &dest, err, errlen) != 0) return -1;
  int n = asprintf(&lock_path, "%s.lock", dest);
  free(dest);
  if (n < 0) return dlrt_fail(err, errlen, path, "out of memory");
  /* Each retry means another run unlocked in between; a handful settle any real race. */
  int rc = 1;
  for (int attempt = 0; attempt < 100 && rc == 1; attempt++) rc = try_lock(path, lock_path, lock, err, errlen);
  if (rc == 1) rc = dlrt_fail(err, errlen, path, "cannot lock: its lock file %s keeps being replaced", lock_path);
  if (rc == 0) lock->path = lock_path;
  else free(lock_path);
  return rc;
}

void dlrt_ckpt_unlock(CkptLock *lock) {
  if (!lock->path || lock->fd < 0) return;
  unlink(lock->path); /* while still holding it: see still_linked */
  close(lock->fd);
  free(lock->path);
  *lock = (CkptLock){-1, NULL};
}
