/* outfile.c — writing files whole and only where a file belongs (outfile.h): which file a path
 * may be written as, the temporary it is written through (DEST.tmp.PID) and the stale ones
 * that killed runs leave, checked writes, syncing the directory that makes the rename
 * durable, and the checks of a command's outputs against its inputs and each other. */
#define _GNU_SOURCE /* asprintf, realpath */
#include "outfile.h"
#include "errors.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


const char *dlrt_file_kind(mode_t m) {
  return S_ISDIR(m)    ? "a directory"
         : S_ISCHR(m)  ? "a character device"
         : S_ISBLK(m)  ? "a block device"
         : S_ISFIFO(m) ? "a FIFO"
         : S_ISSOCK(m) ? "a socket"
                       : "not a regular file";
}

int dlrt_out_destination(const char *path, const char *what, char **dest, char *err, size_t errlen) {
  struct stat st;
  *dest = NULL;
  what = what ? what : "anything";
  bool absent = lstat(path, &st) != 0;
  if (absent && errno != ENOENT) return dlrt_fail(err, errlen, path, "cannot write %s here: %s", what, strerror(errno));
  if (absent || S_ISREG(st.st_mode)) {
    *dest = strdup(path);
  } else if (!S_ISLNK(st.st_mode)) {
    return dlrt_fail(err, errlen, path, "is %s, not a regular file: refusing to write %s over it", dlrt_file_kind(st.st_mode), what);
  } else if (stat(path, &st) != 0) {
    return dlrt_fail(err, errlen, path, "is a symbolic link to nothing (%s): refusing to write %s through it", strerror(errno), what);
  } else if (!S_ISREG(st.st_mode)) {
    return dlrt_fail(err, errlen, path, "is a symbolic link to %s, not to a regular file: refusing to write %s over it",
                dlrt_file_kind(st.st_mode), what);
  } else {
    *dest = realpath(path, NULL); /* write into the file the link names; the link stays */
    if (!*dest) return dlrt_fail(err, errlen, path, "cannot follow the symbolic link: %s", strerror(errno));
  }
  if (!*dest) return dlrt_fail(err, errlen, path, "out of memory");
  return 0;
}

char *dlrt_out_temporary(const char *dest) {
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
 * user's). A PID reused since is taken for alive: its temporary waits for a later write. */
static bool process_gone(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

void dlrt_out_remove_stale(const char *dest) {
  const char *base;
  char *dir = directory_of(dest, &base);
  DIR *d = dir ? opendir(dir) : NULL;
  free(dir);
  if (!d) return; /* then the write itself will report what is wrong with the directory */
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    pid_t pid = temporary_pid(e->d_name, base);
    /* Our own PID's is ours to overwrite; a live process's may be being written now. */
    if (pid && pid != getpid() && process_gone(pid)) unlinkat(dirfd(d), e->d_name, 0);
  }
  closedir(d);
}

int dlrt_write_all(int fd, const void *p, size_t n) {
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

int dlrt_sync_directory(const char *dest) {
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

/* ---- writing whole ---- */

int dlrt_outfile_open(DlrtOutFile *o, const char *path, const char *what, char *err, size_t errlen) {
  *o = (DlrtOutFile){0};
  if (dlrt_out_destination(path, what, &o->dest, err, errlen) != 0) return -1;
  dlrt_out_remove_stale(o->dest);
  o->path = strdup(path);
  o->tmp = dlrt_out_temporary(o->dest);
  if (!o->path || !o->tmp) {
    dlrt_outfile_abort(o);
    return dlrt_fail(err, errlen, path, "out of memory");
  }
  unlink(o->tmp); /* an earlier process's of our PID, which cannot be running */
  int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
  if (fd < 0 || !(o->f = fdopen(fd, "wb"))) {
    int e = errno;
    if (fd >= 0) close(fd);
    dlrt_outfile_abort(o);
    return dlrt_fail(err, errlen, path, "cannot write: %s", strerror(e));
  }
  return 0;
}

void dlrt_outfile_abort(DlrtOutFile *o) {
  if (o->f) fclose(o->f);
  if (o->tmp) unlink(o->tmp);
  free(o->path);
  free(o->dest);
  free(o->tmp);
  *o = (DlrtOutFile){0};
}

int dlrt_outfile_commit(DlrtOutFile *o, char *err, size_t errlen) {
  char *again = NULL;
  errno = 0; /* (what fails below sets it; an earlier call's value would name the wrong cause) */
  bool written = fflush(o->f) == 0 && !ferror(o->f) && fsync(fileno(o->f)) == 0;
  int e = errno;
  written = fclose(o->f) == 0 && written;
  if (!written && !e) e = errno;
  o->f = NULL;
  int rc = 0;
  if (!written) {
    rc = dlrt_fail(err, errlen, o->path, "cannot write: %s (nothing was changed)", strerror(e ? e : EIO));
  } else if (dlrt_out_destination(o->path, "a file", &again, err, errlen) != 0) {
    rc = -1; /* something else was put there meanwhile: not ours to replace */
  } else if (strcmp(again, o->dest) != 0) {
    rc = dlrt_fail(err, errlen, o->path, "changed while it was written; not replacing it");
  } else if (rename(o->tmp, o->dest) != 0) {
    rc = dlrt_fail(err, errlen, o->path, "cannot write: %s (nothing was changed)", strerror(errno));
  } else {
    free(o->tmp);
    o->tmp = NULL; /* renamed: nothing to remove */
    if (dlrt_sync_directory(o->dest) != 0)
      rc = dlrt_fail(err, errlen, o->path, "written, but its directory could not be synced to disk: %s", strerror(errno));
  }
  free(again);
  dlrt_outfile_abort(o);
  return rc;
}

int dlrt_outfile_write(const char *path, const char *what, const void *data, size_t len, char *err, size_t errlen) {
  DlrtOutFile o;
  if (dlrt_outfile_open(&o, path, what, err, errlen) != 0) return -1;
  if (len) fwrite(data, 1, len, o.f); /* a short write is the stream's error, which commit reports */
  return dlrt_outfile_commit(&o, err, errlen);
}

/* ---- a command's outputs ---- */

/* A file's identity: device and inode if it exists, else its directory's and its name. */
typedef struct FileId {
  bool exists;
  dev_t dev;
  ino_t ino;
  char *name; /* absent: the real path of its directory, '/', its name (malloc'd) */
} FileId;

static bool file_id(const char *path, FileId *id) {
  struct stat st;
  *id = (FileId){0};
  if (stat(path, &st) == 0) {
    *id = (FileId){true, st.st_dev, st.st_ino, NULL};
    return true;
  }
  const char *base;
  char *dir = directory_of(path, &base), *real = dir ? realpath(dir, NULL) : NULL;
  bool ok = real && asprintf(&id->name, "%s/%s", real, base) >= 0;
  free(dir);
  free(real);
  return ok;
}

static bool same_id(const FileId *a, const FileId *b) {
  if (a->exists != b->exists) return false;
  return a->exists ? a->dev == b->dev && a->ino == b->ino : strcmp(a->name, b->name) == 0;
}

/* The output's directory exists and may be written in. */
static int check_directory(const DlrtNamedPath *o, char *err, size_t errlen) {
  const char *base;
  char *dir = directory_of(o->path, &base);
  struct stat st;
  int rc = 0;
  if (!dir) rc = dlrt_fail(err, errlen, o->path, "out of memory");
  else if (stat(dir, &st) != 0) rc = dlrt_fail(err, errlen, o->path, "(%s): no directory %s: %s", o->role, dir, strerror(errno));
  else if (!S_ISDIR(st.st_mode)) rc = dlrt_fail(err, errlen, o->path, "(%s): %s is not a directory", o->role, dir);
  else if (access(dir, W_OK | X_OK) != 0) rc = dlrt_fail(err, errlen, o->path, "(%s): cannot write in %s: %s", o->role, dir, strerror(errno));
  free(dir);
  return rc;
}

int dlrt_outputs_check(const DlrtNamedPath *outputs, int n_outputs, const DlrtNamedPath *inputs, int n_inputs,
                       char *err, size_t errlen) {
  int rc = 0;
  FileId *out = calloc((size_t)n_outputs + 1, sizeof *out);
  if (!out) return dlrt_fail(err, errlen, "dlc", "out of memory");
  for (int i = 0; i < n_outputs && rc == 0; i++) {
    const DlrtNamedPath *o = &outputs[i];
    char *dest = NULL;
    if (!o->path) continue;
    if (!*o->path) rc = dlrt_fail(err, errlen, o->role, "needs a file name");
    else if (dlrt_out_destination(o->path, o->role, &dest, err, errlen) != 0 || check_directory(o, err, errlen) != 0) rc = -1;
    else if (!file_id(o->path, &out[i])) rc = dlrt_fail(err, errlen, o->path, "(%s): cannot resolve its directory: %s", o->role, strerror(errno));
    free(dest);
    for (int j = 0; j < n_inputs && rc == 0; j++) {
      FileId in;
      if (!inputs[j].path || !file_id(inputs[j].path, &in)) continue;
      bool may = inputs[j].kind && o->kind && strcmp(inputs[j].kind, o->kind) == 0;
      if (same_id(&out[i], &in) && !may)
        rc = dlrt_fail(err, errlen, o->path, "is %s, an input of this command; %s would write over it", inputs[j].role, o->role);
      free(in.name);
    }
    for (int j = 0; j < i && rc == 0; j++)
      if (outputs[j].path && same_id(&out[i], &out[j]))
        rc = dlrt_fail(err, errlen, o->path, "is given to both %s and %s; each output needs a file of its own", outputs[j].role, o->role);
  }
  for (int i = 0; i < n_outputs; i++) free(out[i].name);
  free(out);
  return rc;
}
