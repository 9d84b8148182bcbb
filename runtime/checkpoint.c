/* checkpoint.c — safetensors files as checkpoint.h promises them: saving (the header with its
 * checksums, then the atomic write through a temporary), loading (read, parse and validate
 * the header, verify the checksums), and the lookups and finiteness checks callers use. The
 * header reader is checkpoint_header.c, the checksums checkpoint_crc.c, the filesystem side
 * of saving outfile.c and the lock checkpoint_lock.c. */
#define _GNU_SOURCE /* asprintf */
#include "checkpoint.h"
#include "checkpoint_internal.h"
#include "outfile.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


int64_t ckpt_tensor_bytes(int rank, const int64_t *dim) {
  int64_t n = 4; /* F32 */
  for (int i = 0; i < rank; i++) {
    if (dim[i] < 0 || (dim[i] > 0 && n > INT64_MAX / dim[i])) return -1;
    n *= dim[i];
  }
  return n;
}

/* ---- the header ---- */

typedef struct Buf {
  char *data;
  size_t len, cap;
} Buf;

static void put(Buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    char *d = realloc(b->data, b->cap);
    if (!d) abort(); /* out of memory writing a header of a few kilobytes */
    b->data = d;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = 0;
}

static void putf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(Buf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  put(b, tmp, (size_t)n);
}

static void put_string(Buf *b, const char *s) {
  put(b, "\"", 1);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') put(b, "\\", 1);
    if ((unsigned char)*s < 0x20) putf(b, "\\u%04x", (unsigned)*s);
    else put(b, s, 1);
  }
  put(b, "\"", 1);
}

/* What a caller passes must make a file that loads: checked before anything is written. */
static int check_input(const char *path, const CkptTensor *t, int n, const CkptMeta *meta, int n_meta, char *err,
                       size_t errlen) {
  for (int i = 0; i < n; i++) {
    if (!t[i].name || strcmp(t[i].name, "__metadata__") == 0)
      return dlrt_fail(err, errlen, path, "cannot save: tensor %d has no name or the header's own", i);
    if (t[i].rank < 0 || t[i].rank > CKPT_MAX_DIMS || ckpt_tensor_bytes(t[i].rank, t[i].dim) < 0 ||
        (!t[i].data && ckpt_tensor_bytes(t[i].rank, t[i].dim) > 0))
      return dlrt_fail(err, errlen, path, "cannot save: tensor '%s' has no data or an invalid shape", t[i].name);
    for (int j = 0; j < i; j++)
      if (strcmp(t[i].name, t[j].name) == 0) return dlrt_fail(err, errlen, path, "cannot save: tensor '%s' is given twice", t[i].name);
  }
  for (int i = 0; i < n_meta; i++) {
    if (!meta[i].key || !meta[i].value) return dlrt_fail(err, errlen, path, "cannot save: metadata entry %d lacks its key or value", i);
    if (ckpt_reserved_key(meta[i].key))
      return dlrt_fail(err, errlen, path, "cannot save: metadata key '%s' is reserved for the checksums", meta[i].key);
    for (int j = 0; j < i; j++)
      if (strcmp(meta[i].key, meta[j].key) == 0)
        return dlrt_fail(err, errlen, path, "cannot save: metadata key '%s' is given twice", meta[i].key);
  }
  return 0;
}

/* The caller's metadata, then a checksum per tensor, then the header's over all of that. */
typedef struct Checksums {
  CkptMeta *meta;
  int n_meta;
  char *keys, (*hex)[9];
} Checksums;

static void checksums(Checksums *cs, const CkptTensor *t, const int64_t *begin, int n, const CkptMeta *meta, int n_meta) {
  size_t keys_len = 0, prefix = strlen(CKPT_CRC_PREFIX);
  for (int i = 0; i < n; i++) keys_len += prefix + strlen(t[i].name) + 1;
  cs->meta = malloc(sizeof *cs->meta * (size_t)(n_meta + n + 1));
  cs->keys = malloc(keys_len + 1);
  cs->hex = malloc(sizeof *cs->hex * (size_t)(n + 1));
  if (!cs->meta || !cs->keys || !cs->hex) abort(); /* out of memory for a few names */
  if (n_meta) memcpy(cs->meta, meta, sizeof *meta * (size_t)n_meta);
  char *k = cs->keys;
  for (int i = 0; i < n; i++) {
    snprintf(cs->hex[i], 9, "%08x", (unsigned)ckpt_crc32(t[i].data, (size_t)ckpt_tensor_bytes(t[i].rank, t[i].dim)));
    char *key = k;
    k += sprintf(k, "%s%s", CKPT_CRC_PREFIX, t[i].name) + 1;
    cs->meta[n_meta + i] = (CkptMeta){key, cs->hex[i]};
  }
  snprintf(cs->hex[n], 9, "%08x", (unsigned)ckpt_header_crc32(t, begin, n, cs->meta, n_meta + n));
  cs->meta[n_meta + n] = (CkptMeta){CKPT_HEADER_CRC, cs->hex[n]};
  cs->n_meta = n_meta + n + 1;
}

static void free_checksums(Checksums *cs) {
  free(cs->meta);
  free(cs->keys);
  free(cs->hex);
}

/* The JSON header, padded with spaces so the data starts 8-byte aligned. */
static Buf header(const CkptTensor *t, int n, const CkptMeta *meta, int n_meta) {
  Buf h = {0};
  int64_t *begin = malloc(sizeof *begin * (size_t)(n ? n : 1));
  if (!begin) abort();
  int64_t offset = 0;
  for (int i = 0; i < n; i++) {
    begin[i] = offset;
    offset += ckpt_tensor_bytes(t[i].rank, t[i].dim);
  }
  Checksums cs;
  checksums(&cs, t, begin, n, meta, n_meta);
  put(&h, "{", 1);
  for (int i = 0; i < n; i++) {
    put_string(&h, t[i].name);
    put(&h, ":{\"dtype\":\"F32\",\"shape\":[", 25);
    for (int d = 0; d < t[i].rank; d++) putf(&h, d ? ",%lld" : "%lld", (long long)t[i].dim[d]);
    putf(&h, "],\"data_offsets\":[%lld,%lld]},", (long long)begin[i],
         (long long)(begin[i] + ckpt_tensor_bytes(t[i].rank, t[i].dim)));
  }
  put(&h, "\"__metadata__\":{", 16);
  for (int i = 0; i < cs.n_meta; i++) {
    if (i) put(&h, ",", 1);
    put_string(&h, cs.meta[i].key);
    put(&h, ":", 1);
    put_string(&h, cs.meta[i].value);
  }
  put(&h, "}}", 2);
  while (h.len % 8) put(&h, " ", 1);
  free_checksums(&cs);
  free(begin);
  return h;
}

/* ---- saving ---- */

/* Length, header and data into a new file tmp, flushed to disk; 0, or -1 with errno set. */
static int write_temporary(const char *tmp, const Buf *h, const CkptTensor *t, int n) {
  unlink(tmp); /* an earlier process's of our PID, which cannot be running */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return -1;
  unsigned char le[8];
  for (int i = 0; i < 8; i++) le[i] = (unsigned char)((uint64_t)h->len >> (8 * i));
  bool ok = dlrt_write_all(fd, le, 8) == 0 && dlrt_write_all(fd, h->data, h->len) == 0;
  for (int i = 0; i < n && ok; i++) ok = dlrt_write_all(fd, t[i].data, (size_t)ckpt_tensor_bytes(t[i].rank, t[i].dim)) == 0;
  ok = ok && fsync(fd) == 0;
  int e = errno;
  if (close(fd) != 0 && ok) ok = false, e = errno;
  errno = e;
  return ok ? 0 : -1;
}

/* The destination must still be what it was when the save began: a regular file (or none)
 * at the same place. Anything else put there meanwhile is not ours to replace. */
static int still_destination(const char *path, const char *dest, char *err, size_t errlen) {
  char *again;
  if (dlrt_out_destination(path, "a checkpoint", &again, err, errlen) != 0) return -1;
  int same = strcmp(again, dest) == 0;
  free(again);
  return same ? 0 : dlrt_fail(err, errlen, path, "changed while the checkpoint was written; not replacing it");
}

int dlrt_ckpt_save(const char *path, const CkptTensor *t, int n, const CkptMeta *meta, int n_meta, char *err,
                   size_t errlen) {
  char *dest, *tmp;
  if (check_input(path, t, n, meta, n_meta, err, errlen) != 0 || dlrt_out_destination(path, "a checkpoint", &dest, err, errlen) != 0) return -1;
  dlrt_out_remove_stale(dest);
  if (!(tmp = dlrt_out_temporary(dest))) {
    free(dest);
    return dlrt_fail(err, errlen, path, "out of memory");
  }
  Buf h = header(t, n, meta, n_meta);
  int rc = 0;
  if (write_temporary(tmp, &h, t, n) != 0) rc = dlrt_fail(err, errlen, path, "cannot write: %s (nothing was changed)", strerror(errno));
  else if (still_destination(path, dest, err, errlen) != 0) rc = -1;
  else if (rename(tmp, dest) != 0) rc = dlrt_fail(err, errlen, path, "cannot write: %s (nothing was changed)", strerror(errno));
  if (rc != 0) {
    unlink(tmp);
  } else if (dlrt_sync_directory(dest) != 0) { /* which makes the rename durable */
    rc = dlrt_fail(err, errlen, path, "written, but its directory could not be synced to disk: %s", strerror(errno));
  }
  free(h.data);
  free(tmp);
  free(dest);
  return rc;
}

/* ---- loading ---- */

static int read_at(int fd, char *p, size_t n, off_t at) {
  while (n > 0) {
    ssize_t r = pread(fd, p, n < ((size_t)1 << 30) ? n : (size_t)1 << 30, at);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) errno = 0; /* the file ended early */
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
    at += r;
  }
  return 0;
}

/* The whole file into out->blob, with room after it for the header's unescaped strings;
 * *hlen is the header's length, checked against the file's. */
static int read_file(const char *path, Ckpt *out, size_t *size, uint64_t *hlen, char *err, size_t errlen) {
  /* O_NONBLOCK: opening a FIFO would otherwise wait for a writer; for a regular file it
   * changes nothing. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return dlrt_fail(err, errlen, path, "cannot open: %s", strerror(errno));
  struct stat st;
  unsigned char le[8];
  int rc = -1;
  if (fstat(fd, &st) != 0) dlrt_fail(err, errlen, path, "cannot read: %s", strerror(errno));
  else if (!S_ISREG(st.st_mode)) dlrt_fail(err, errlen, path, "is %s, not a checkpoint file", dlrt_file_kind(st.st_mode));
  else if (st.st_size < 8)
    dlrt_fail(err, errlen, path, "not a checkpoint: %lld bytes, too short for a safetensors header", (long long)st.st_size);
  else if (read_at(fd, (char *)le, 8, 0) != 0) dlrt_fail(err, errlen, path, "cannot read: %s", errno ? strerror(errno) : "cut short");
  else rc = 0;
  if (rc == 0) {
    *size = (size_t)st.st_size;
    *hlen = 0;
    for (int i = 7; i >= 0; i--) *hlen = *hlen << 8 | le[i];
    if (*hlen > *size - 8)
      rc = dlrt_fail(err, errlen, path, "truncated or not a checkpoint: header of %llu bytes in a file of %zu",
                     (unsigned long long)*hlen, *size);
    else if (!(out->blob = malloc(*size + *hlen + 1)))
      rc = dlrt_fail(err, errlen, path, "out of memory reading %zu bytes", *size);
    else if (read_at(fd, out->blob, *size, 0) != 0)
      rc = dlrt_fail(err, errlen, path, "cannot read: %s", errno ? strerror(errno) : "the file shrank while it was read");
  }
  close(fd);
  return rc;
}

int dlrt_ckpt_load(const char *path, Ckpt *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  size_t size = 0;
  uint64_t hlen = 0;
  char why[512];
  if (read_file(path, out, &size, &hlen, err, errlen) != 0) {
    dlrt_ckpt_free(out);
    return -1;
  }
  char *json = out->blob + 8, *data = json + hlen;
  if (ckpt_parse_header(out, json, hlen, out->blob + size, data, (int64_t)(size - 8 - hlen), why, sizeof why) != 0) {
    dlrt_ckpt_free(out);
    return dlrt_fail(err, errlen, path, "not a valid checkpoint: %s", why);
  }
  if (ckpt_verify(out, data, why, sizeof why) != 0) {
    dlrt_ckpt_free(out);
    return dlrt_fail(err, errlen, path, "%s", why);
  }
  return 0;
}

void dlrt_ckpt_free(Ckpt *c) {
  free(c->tensors);
  free(c->meta);
  free(c->blob);
  memset(c, 0, sizeof *c);
}

const CkptTensor *dlrt_ckpt_tensor(const Ckpt *c, const char *name) {
  for (int i = 0; i < c->n; i++)
    if (strcmp(c->tensors[i].name, name) == 0) return &c->tensors[i];
  return NULL;
}

const char *dlrt_ckpt_meta(const Ckpt *c, const char *key) {
  for (int i = 0; i < c->n_meta; i++)
    if (strcmp(c->meta[i].key, key) == 0) return c->meta[i].value;
  return NULL;
}

/* ---- finiteness ---- */

int64_t dlrt_ckpt_tensor_nonfinite(const CkptTensor *t) {
  int64_t n = ckpt_tensor_bytes(t->rank, t->dim) / 4;
  const char *p = t->data;
  for (int64_t i = 0; i < n; i++) {
    float v;
    memcpy(&v, p + 4 * i, 4); /* the data need not be aligned in another tool's file */
    if (!isfinite(v)) return i;
  }
  return -1;
}

int dlrt_ckpt_check_finite(const Ckpt *c, const char *path, char *msg, size_t msglen) {
  for (int i = 0; i < c->n; i++) {
    const CkptTensor *t = &c->tensors[i];
    int64_t at = dlrt_ckpt_tensor_nonfinite(t);
    if (at < 0) continue;
    float v;
    memcpy(&v, (const char *)t->data + 4 * at, 4);
    return dlrt_fail(msg, msglen, path, "tensor '%s' holds %s at element %lld of %lld", t->name,
                     isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf", (long long)at, (long long)(ckpt_tensor_bytes(t->rank, t->dim) / 4));
  }
  return 0;
}
