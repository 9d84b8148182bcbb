/* checkpoint.c — safetensors files: writing atomically, reading with validation. The JSON
 * reader understands what a safetensors header holds (objects, strings, arrays of whole
 * numbers) and rejects everything else with a message, never a crash. */
#include "checkpoint.h"
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(char *err, size_t errlen, const char *path, const char *fmt, ...) {
  if (err && errlen) {
    int k = snprintf(err, errlen, "%s: ", path);
    va_list ap;
    va_start(ap, fmt);
    if (k >= 0 && (size_t)k < errlen) vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* ---- writing ---- */

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
    if ((unsigned char)*s < 0x20) putf(b, "\\u%04x", *s);
    else put(b, s, 1);
  }
  put(b, "\"", 1);
}

static int64_t numel(const CkptTensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) n *= t->dim[i];
  return n;
}

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

int dlrt_ckpt_save(const char *path, const CkptTensor *t, int n, const CkptMeta *meta, int n_meta, char *err,
                   size_t errlen) {
  Buf h = {0};
  put(&h, "{", 1);
  int64_t offset = 0;
  for (int i = 0; i < n; i++) {
    put_string(&h, t[i].name);
    put(&h, ":{\"dtype\":\"F32\",\"shape\":[", 25);
    for (int d = 0; d < t[i].rank; d++) putf(&h, d ? ",%lld" : "%lld", (long long)t[i].dim[d]);
    int64_t bytes = numel(&t[i]) * 4;
    putf(&h, "],\"data_offsets\":[%lld,%lld]},", (long long)offset, (long long)(offset + bytes));
    offset += bytes;
  }
  put(&h, "\"__metadata__\":{", 16);
  for (int i = 0; i < n_meta; i++) {
    if (i) put(&h, ",", 1);
    put_string(&h, meta[i].key);
    put(&h, ":", 1);
    put_string(&h, meta[i].value);
  }
  put(&h, "}}", 2);
  while (h.len % 8) put(&h, " ", 1); /* data starts 8-byte aligned */

  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    free(h.data);
    return fail(err, errlen, path, "cannot write: %s", strerror(errno));
  }
  uint64_t len = h.len;
  unsigned char le[8];
  for (int i = 0; i < 8; i++) le[i] = (unsigned char)(len >> (8 * i));
  int bad = write_all(fd, le, 8) || write_all(fd, h.data, h.len);
  for (int i = 0; i < n && !bad; i++) bad = write_all(fd, t[i].data, (size_t)numel(&t[i]) * 4);
  bad = bad || fsync(fd) != 0;
  bad = close(fd) != 0 || bad;
  free(h.data);
  if (bad || rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return fail(err, errlen, path, "cannot write: %s", strerror(e));
  }
  /* The rename is durable once the directory is synced. */
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = 0;
  int dfd = open(slash ? dir : ".", O_RDONLY);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return 0;
}

/* ---- reading ---- */

typedef struct Parser {
  const char *p, *end;
  char *arena; /* strings are unescaped in place into here */
  bool bad;
} Parser;

static void skip_ws(Parser *ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\t' || *ps->p == '\r')) ps->p++;
}

static bool expect(Parser *ps, char c) {
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == c) {
    ps->p++;
    return true;
  }
  ps->bad = true;
  return false;
}

static bool peek(Parser *ps, char c) {
  skip_ws(ps);
  return ps->p < ps->end && *ps->p == c;
}

/* A JSON string, unescaped into ps->arena (NUL-terminated), or NULL. */
static char *string(Parser *ps) {
  if (!expect(ps, '"')) return NULL;
  char *out = ps->arena, *o = out;
  while (ps->p < ps->end && *ps->p != '"') {
    char c = *ps->p++;
    if (c == '\\') {
      if (ps->p >= ps->end) break;
      c = *ps->p++;
      switch (c) {
      case 'n': c = '\n'; break;
      case 't': c = '\t'; break;
      case 'r': c = '\r'; break;
      case 'b': c = '\b'; break;
      case 'f': c = '\f'; break;
      case 'u': {
        unsigned v = 0;
        for (int i = 0; i < 4; i++) {
          if (ps->p >= ps->end) return ps->bad = true, NULL;
          char h = *ps->p++;
          v = v * 16 + (unsigned)(h >= 'a' ? h - 'a' + 10 : h >= 'A' ? h - 'A' + 10 : h - '0');
        }
        c = v < 0x80 ? (char)v : '?';
        break;
      }
      default: break; /* \" \\ \/ */
      }
    }
    *o++ = c;
  }
  if (!expect(ps, '"')) return NULL;
  *o++ = 0;
  ps->arena = o;
  return out;
}

static bool integer(Parser *ps, int64_t *v) {
  skip_ws(ps);
  int64_t x = 0;
  const char *start = ps->p;
  while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9' && x < ((int64_t)1 << 50)) x = x * 10 + (*ps->p++ - '0');
  if (ps->p == start) return !(ps->bad = true);
  *v = x;
  return true;
}

/* [int, int, ...] into v (at most max); the count, or -1. */
static int int_array(Parser *ps, int64_t *v, int max) {
  int n = 0;
  if (!expect(ps, '[')) return -1;
  if (peek(ps, ']')) return ps->p++, 0;
  do {
    int64_t x;
    if (!integer(ps, &x) || n == max) return ps->bad = true, -1;
    v[n++] = x;
  } while (peek(ps, ',') && ps->p++);
  return expect(ps, ']') ? n : -1;
}

static const char *parse_header(Parser *ps, Ckpt *c, int64_t data_bytes) {
  int cap = 16, mcap = 8;
  c->tensors = calloc((size_t)cap, sizeof *c->tensors);
  c->meta = calloc((size_t)mcap, sizeof *c->meta);
  if (!c->tensors || !c->meta) return "out of memory";
  if (!expect(ps, '{')) return "the header is not a JSON object";
  if (peek(ps, '}')) return NULL;
  do {
    char *key = string(ps);
    if (!key || !expect(ps, ':')) return "malformed header";
    if (strcmp(key, "__metadata__") == 0) {
      if (!expect(ps, '{')) return "__metadata__ is not an object";
      if (!peek(ps, '}')) do {
          char *k = string(ps), *v = (k && expect(ps, ':')) ? string(ps) : NULL;
          if (!v) return "malformed __metadata__ (strings only)";
          if (c->n_meta == mcap) {
            CkptMeta *m = realloc(c->meta, sizeof *m * (size_t)(mcap *= 2));
            if (!m) return "out of memory";
            c->meta = m;
          }
          c->meta[c->n_meta++] = (CkptMeta){k, v};
        } while (peek(ps, ',') && ps->p++);
      if (!expect(ps, '}')) return "malformed __metadata__";
      continue;
    }
    CkptTensor t = {key, -1, {0}, NULL};
    int64_t off[2] = {-1, -1};
    bool f32 = false;
    if (!expect(ps, '{')) return "a tensor entry is not an object";
    do {
      char *field = string(ps);
      if (!field || !expect(ps, ':')) return "malformed tensor entry";
      if (strcmp(field, "dtype") == 0) {
        char *d = string(ps);
        if (!d) return "malformed dtype";
        f32 = strcmp(d, "F32") == 0;
      } else if (strcmp(field, "shape") == 0) {
        t.rank = int_array(ps, t.dim, CKPT_MAX_DIMS);
        if (t.rank < 0) return "malformed shape (at most 4 dimensions)";
      } else if (strcmp(field, "data_offsets") == 0) {
        if (int_array(ps, off, 2) != 2) return "malformed data_offsets";
      } else {
        return "unknown field in a tensor entry";
      }
    } while (peek(ps, ',') && ps->p++);
    if (!expect(ps, '}')) return "malformed tensor entry";
    if (!f32) return "a tensor is not F32";
    if (t.rank < 0 || off[0] < 0) return "a tensor lacks its shape or data_offsets";
    int64_t n = 1;
    for (int i = 0; i < t.rank; i++) n = t.dim[i] > 0 && n < ((int64_t)1 << 40) / t.dim[i] ? n * t.dim[i] : -1;
    if (n < 0 || off[1] - off[0] != 4 * n || off[1] > data_bytes || off[0] > off[1])
      return "a tensor's data_offsets do not fit its shape or the file";
    if (c->n == cap) {
      CkptTensor *m = realloc(c->tensors, sizeof *m * (size_t)(cap *= 2));
      if (!m) return "out of memory";
      c->tensors = m;
    }
    t.data = (void *)(ps->end + off[0]); /* data starts right after the header */
    c->tensors[c->n++] = t;
  } while (peek(ps, ',') && ps->p++);
  if (!expect(ps, '}')) return "malformed header";
  return NULL;
}

int dlrt_ckpt_load(const char *path, Ckpt *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f) return fail(err, errlen, path, "cannot open: %s", strerror(errno));
  if (fseek(f, 0, SEEK_END) != 0) {
    fclose(f);
    return fail(err, errlen, path, "cannot read (is it a directory?)");
  }
  long size = ftell(f);
  rewind(f);
  if (size < 8) {
    fclose(f);
    return fail(err, errlen, path, "not a checkpoint: %ld bytes, too short for a safetensors header", size < 0 ? 0 : size);
  }
  /* The file, then room to unescape the header's strings into. */
  char *blob = malloc((size_t)size * 2 + 16);
  if (!blob) {
    fclose(f);
    return fail(err, errlen, path, "out of memory reading %ld bytes", size);
  }
  size_t got = fread(blob, 1, (size_t)size, f);
  fclose(f);
  if (got != (size_t)size) {
    free(blob);
    return fail(err, errlen, path, "cannot read");
  }
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = hlen << 8 | (unsigned char)blob[i];
  if (hlen > (uint64_t)size - 8) {
    free(blob);
    return fail(err, errlen, path, "truncated or not a checkpoint: header of %llu bytes in a file of %ld", (unsigned long long)hlen, size);
  }
  out->blob = blob;
  Parser ps = {blob + 8, blob + 8 + hlen, blob + size, false};
  const char *why = parse_header(&ps, out, (int64_t)((uint64_t)size - 8 - hlen));
  if (why || ps.bad) {
    dlrt_ckpt_free(out);
    return fail(err, errlen, path, "not a valid checkpoint: %s", why ? why : "malformed header");
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
