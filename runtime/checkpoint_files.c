/* checkpoint_files.c — the filesystem side of saving a checkpoint: which file a path may be
 * saved to (a regular file or nothing, never a device, FIFO, directory or socket, since the
 * final rename would put a regular file in its place), the temporary it is written through
 * (DEST.tmp.PID) and the stale ones that killed runs leave, checked writes, and syncing the
 * directory that makes the rename durable. */
#define _GNU_SOURCE /* asprintf, realpath */
#include "checkpoint_internal.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *ckpt_file_kind(mode_t m) {
  return S_ISDIR(m)    ? "a directory"
         : S_ISCHR(m)  ? "a character device"
         : S_ISBLK(m)  ? "a block device"
         : S_ISFIFO(m) ? "a FIFO"
         : S_ISSOCK(m) ? "a socket"
                       : "not a regular file";
}

int ckpt_destination(const char *path, char **dest, char *err, size_t errlen) {
  struct stat st;
  *dest = NULL;
  bool absent = lstat(path, &st) != 0;
  if (absent && errno != ENOENT) return ckpt_fail(err, errlen, path, "cannot save here: %s", strerror(errno));
  if (absent || S_ISREG(st.st_mode)) {
    *dest = strdup(path);
  } else if (!S_ISLNK(st.st_mode)) {
    return ckpt_fail(err, errlen, path, "is %s, not a regular file: refusing to write a checkpoint over it", ckpt_file_kind(st.st_mode));
  } else if (stat(path, &st) != 0) {
    return ckpt_fail(err, errlen, path, "is a symbolic link to nothing (%s): refusing to write a checkpoint through it",
                     strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    return ckpt_fail(err, errlen, path, "is a symbolic link to %s, not to a regular file: refusing to write a checkpoint over it",
                     ckpt_file_kind(st.st_mode));
  } else {
    *dest = realpath(path, NULL); /* save into the file the link names; the link stays */
    if (!*dest) return ckpt_fail(err, errlen, path, "cannot follow the symbolic link: %s", strerror(errno));
  }
  if (!*dest) return ckpt_fail(err, errlen, path, "out of memory");
  return 0;
}

char *ckpt_temporary(const char *dest) {
  char *tmp;
  return asprintf(&tmp, "%s.tmp.%ld", dest, (long)getpid()) < 0 ? NULL : tmp;
}

/* The directory part of path ("." for a bare name), malloc'd; *base points at the name. */
static char *directory_of(const char *path, const char **base) {
  const char *slash = strrchr(path, '/');
  *base = slash ? slash + 1 : path;
  return slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
}

/* The PID in a name "BASE.tmp.PID", or 0 if name is not a temporary of BASE. */
static pid_t temporary_pid(const char *name, const char *base) {
  size_t n = strlen(base);
  if (strncmp(name, base, n) != 0 || strncmp(name + n, ".tmp.", 5) != 0) return 0;
  const char *digits = name + n + 5;
  long pid = 0;
  for (const char *d = digits; *d; d++) {
    if (*d < '0' || *d > '9' || d - digits >= 10) return 0;
    pid = pid * 10 + (*d - '0');
  }
  return pid > 0 && pid <= INT_MAX ? (pid_t)pid : 0;
}

/* kill(pid, 0) fails with ESRCH only if no such process exists (EPERM: it exists, another
 * user's). A PID reused since is taken for alive: its temporary waits for a later save. */
static bool process_gone(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

void ckpt_remove_stale_temporaries(const char *dest) {
  const char *base;
  char *dir = directory_of(dest, &base);
  DIR *d = dir ? opendir(dir) : NULL;
  free(dir);
  if (!d) return; /* then the save itself will report what is wrong with the directory */
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    pid_t pid = temporary_pid(e->d_name, base);
    /* Our own PID's is ours to overwrite; a live process's may be being written now. */
    if (pid && pid != getpid() && process_gone(pid)) unlinkat(dirfd(d), e->d_name, 0);
  }
  closedir(d);
}

int ckpt_write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n < ((size_t)1 << 30) ? n : (size_t)1 << 30);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    if (w == 0) return errno = ENOSPC, -1;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

int ckpt_sync_directory(const char *dest) {
  const char *base;
  char *dir = directory_of(dest, &base);
  if (!dir) return errno = ENOMEM, -1;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(dir);
  /* A directory one may write but not read cannot be opened to sync; the rename is done. */
  if (fd < 0) return errno == EACCES ? 0 : -1;
  int rc = fsync(fd), e = errno;
  close(fd);
  if (rc != 0 && (e == EINVAL || e == ENOTSUP)) rc = 0; /* filesystems that cannot sync a directory */
  errno = e;
  return rc;
}
