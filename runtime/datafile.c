/* datafile.c — see datafile.h: errors, mapped regular files, the raw-or-gzip byte source and
 * label conversion that every loader shares. */
#define _GNU_SOURCE /* MADV_WILLNEED, O_CLOEXEC */
#include "datafile.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIRST_CHUNK ((size_t)1 << 20)


char *data_join(const char *dir, const char *name) {
  size_t ld = strlen(dir), ln = strlen(name);
  bool slash = ld > 0 && dir[ld - 1] != '/';
  char *s = malloc(ld + slash + ln + 1);
  if (!s) return NULL;
  memcpy(s, dir, ld);
  if (slash) s[ld] = '/';
  memcpy(s + ld + slash, name, ln + 1);
  return s;
}

/* ---- mapped files ---- */

static const char *file_kind(mode_t mode) {
  return S_ISFIFO(mode) ? "a FIFO" : S_ISSOCK(mode) ? "a socket" : S_ISCHR(mode) || S_ISBLK(mode) ? "a device" : "special";
}

/* O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever; fstat then says
 * what it is and it is refused before any read. */
static int map_file(const char *path, DataMap *m, bool readahead, char *err, size_t errlen) {
  *m = (DataMap){NULL, 0};
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return dlrt_fail(err, errlen, path, "file not found"), DATA_MISSING;
    return dlrt_fail(err, errlen, path, "cannot open: %s", strerror(errno));
  }
  struct stat st;
  int rc = -1;
  if (fstat(fd, &st) != 0) {
    dlrt_fail(err, errlen, path, "cannot open: %s", strerror(errno));
  } else if (S_ISDIR(st.st_mode)) {
    dlrt_fail(err, errlen, path, "cannot open: %s", strerror(EISDIR));
  } else if (!S_ISREG(st.st_mode)) {
    dlrt_fail(err, errlen, path, "not a regular file (%s): data must be in ordinary files", file_kind(st.st_mode));
  } else if ((uint64_t)st.st_size > SIZE_MAX) {
    dlrt_fail(err, errlen, path, "too large to map");
  } else if (st.st_size == 0) {
    rc = 0;
  } else {
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      dlrt_fail(err, errlen, path, "cannot map: %s", strerror(errno));
    } else {
      if (readahead) madvise(p, (size_t)st.st_size, MADV_WILLNEED); /* now, not page by page in epoch 1 */
      *m = (DataMap){p, (size_t)st.st_size};
      rc = 0;
    }
  }
  close(fd);
  return rc;
}

int data_map(const char *path, DataMap *m, char *err, size_t errlen) { return map_file(path, m, true, err, errlen); }

int data_map_lazy(const char *path, DataMap *m, char *err, size_t errlen) {
  return map_file(path, m, false, err, errlen);
}

void data_unmap(DataMap *m) {
  if (m->data) munmap(m->data, m->size);
  *m = (DataMap){NULL, 0};
}

/* ---- the raw-or-gzip source ---- */

int source_open(DataSource *s, const char *path, bool lazy, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  s->path = path, s->err = err, s->errlen = errlen;
  int rc = map_file(path, &s->map, !lazy, err, errlen);
  if (rc != 0) return rc;
  s->gz = s->map.size >= 2 && s->map.data[0] == 0x1f && s->map.data[1] == 0x8b;
  if (!s->gz) return 0;
  if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK) { /* 16: gzip wrapper only */
    data_unmap(&s->map);
    return dlrt_fail(err, errlen, path, "out of memory");
  }
  s->z.next_in = s->map.data;
  return 0;
}

void source_close(DataSource *s) {
  if (s->gz) inflateEnd(&s->z);
  data_unmap(&s->map);
  s->gz = false;
}

static size_t gz_left(const DataSource *s) { return s->map.size - (size_t)(s->z.next_in - s->map.data); }

/* At the end of a gzip member: the data ends exactly with the file, or another member
 * follows; anything else is garbage that gzip -d would only warn about. */
static int gz_member_end(DataSource *s) {
  size_t left = gz_left(s);
  if (left == 0) return s->gz_ended = true, 0;
  if (left >= 2 && s->z.next_in[0] == 0x1f && s->z.next_in[1] == 0x8b) return inflateReset(&s->z) == Z_OK ? 0 : -1;
  return dlrt_fail(s->err, s->errlen, s->path, "%zu bytes of garbage after the gzip data", left);
}

static long long gz_read(DataSource *s, unsigned char *buf, size_t n) {
  size_t got = 0;
  while (got < n && !s->gz_ended) {
    if (s->z.avail_in == 0) s->z.avail_in = (uInt)(gz_left(s) < UINT_MAX ? gz_left(s) : UINT_MAX);
    size_t want = n - got < UINT_MAX ? n - got : UINT_MAX;
    s->z.next_out = buf + got;
    s->z.avail_out = (uInt)want;
    int rc = inflate(&s->z, Z_NO_FLUSH);
    got += want - s->z.avail_out;
    if (rc == Z_STREAM_END) {
      if (gz_member_end(s) != 0) return -1;
    } else if (rc == Z_BUF_ERROR && gz_left(s) == 0) {
      return dlrt_fail(s->err, s->errlen, s->path, "corrupt or truncated gzip data: unexpected end of file");
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return dlrt_fail(s->err, s->errlen, s->path, "corrupt or truncated gzip data: %s",
                       s->z.msg ? s->z.msg : zError(rc));
    }
  }
  return (long long)got;
}

long long source_read(DataSource *s, unsigned char *buf, size_t n) {
  if (s->gz) return gz_read(s, buf, n);
  size_t k = s->map.size - s->pos < n ? s->map.size - s->pos : n;
  if (k) memcpy(buf, s->map.data + s->pos, k);
  s->pos += k;
  return (long long)k;
}

static int gz_take(DataSource *s, size_t n, unsigned char **heap, size_t *got) {
  size_t cap = n < FIRST_CHUNK ? n : FIRST_CHUNK, have = 0;
  unsigned char *buf = malloc(cap ? cap : 1);
  if (!buf) return dlrt_fail(s->err, s->errlen, s->path, "out of memory");
  for (;;) {
    long long k = gz_read(s, buf + have, cap - have);
    if (k < 0) break;
    have += (size_t)k;
    if (have < cap) { /* the data ended */
      *got = have;
      free(buf);
      return 1;
    }
    if (have == n) return *heap = buf, 0;
    cap = cap > n / 2 ? n : cap * 2;
    unsigned char *grown = realloc(buf, cap);
    if (!grown) {
      dlrt_fail(s->err, s->errlen, s->path, "out of memory reading %zu bytes", n);
      break;
    }
    buf = grown;
  }
  free(buf);
  return -1;
}

int source_take(DataSource *s, size_t n, const unsigned char **data, unsigned char **heap, size_t *got) {
  *heap = NULL;
  *got = 0;
  if (s->gz) {
    int rc = gz_take(s, n, heap, got);
    *data = *heap;
    return rc;
  }
  if (s->map.size - s->pos < n) return *got = s->map.size - s->pos, 1;
  *data = s->map.data + s->pos;
  s->pos += n;
  return 0;
}

long long source_rest(DataSource *s) {
  if (!s->gz) {
    size_t left = s->map.size - s->pos;
    s->pos = s->map.size;
    return (long long)left;
  }
  unsigned char scratch[1 << 16];
  long long extra = 0, k;
  while ((k = gz_read(s, scratch, sizeof scratch)) > 0) extra += k;
  return k < 0 ? -1 : extra;
}

void source_give_map(DataSource *s, DlrtDataset *d) {
  d->mem.map = s->map.data;
  d->mem.map_size = s->map.size;
  s->map = (DataMap){NULL, 0};
}

/* ---- labels ---- */

static int64_t label_at(const unsigned char *p, LabelType t) {
  uint64_t v = 0;
  for (int b = 0; b < t.size; b++) v |= (uint64_t)p[t.big_endian ? t.size - 1 - b : b] << (8 * b);
  if (t.is_signed && t.size < 8 && (v >> (8 * t.size - 1)) & 1) v |= ~(uint64_t)0 << (8 * t.size); /* sign-extend */
  if (!t.is_signed && v > INT64_MAX) return INT64_MAX; /* out of every range anyway */
  return (int64_t)v;
}

int data_labels(const unsigned char *src, size_t n, LabelType t, const char *path, int *classes, int32_t **out,
                char *err, size_t errlen) {
  *out = NULL;
  int32_t *lab = malloc(n ? n * sizeof *lab : 1);
  if (!lab) return dlrt_fail(err, errlen, path, "out of memory");
  int64_t limit = *classes > 0 ? *classes : DLRT_MAX_CLASSES, top = -1;
  for (size_t i = 0; i < n; i++) {
    int64_t v = label_at(src + i * (size_t)t.size, t);
    if (v < 0 || v >= limit) {
      free(lab);
      if (v < 0) return dlrt_fail(err, errlen, path, "label %lld at index %zu is negative", (long long)v, i);
      if (*classes > 0)
        return dlrt_fail(err, errlen, path, "label %lld at index %zu is out of range for %d classes (0..%d)",
                         (long long)v, i, *classes, *classes - 1);
      return dlrt_fail(err, errlen, path, "label %lld at index %zu is beyond the %d classes dlc allows",
                       (long long)v, i, DLRT_MAX_CLASSES);
    }
    lab[i] = (int32_t)v;
    if (v > top) top = v;
  }
  if (*classes <= 0) *classes = (int)top + 1;
  *out = lab;
  return 0;
}

int data_set_names(DlrtDataset *d, const char *const *names, int n) {
  char **copy = calloc((size_t)(n > 0 ? n : 1), sizeof *copy);
  if (!copy) return -1;
  d->mem.names = copy, d->mem.n_names = n, d->class_names = copy;
  for (int i = 0; i < n; i++)
    if (!(copy[i] = strdup(names[i]))) return -1;
  return 0;
}

void data_probe_result(DlrtDataset *d) {
  if (d->mem.map) munmap(d->mem.map, d->mem.map_size);
  free(d->mem.pixels);
  free(d->mem.labels);
  d->mem.map = d->mem.pixels = NULL, d->mem.map_size = 0, d->mem.labels = NULL;
  d->pixels = NULL, d->labels = NULL;
}
