/* check_checkpoint.c — checkpoint files (runtime/checkpoint*.c, docs/runtime.md): a round trip
 * of tensors and metadata, the header's checksum in its documented canonical form (and a
 * reformatted header still verifying), and every kind of damage an error naming what is
 * damaged: each flipped data and header bit, truncated and trailing bytes, broken headers,
 * partial checksums; a file without checksums loads flagged; non-finite values are found.
 * check_ckpt_save.c has saving and locks. */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "ckpt_files.h"

/* ---- files made by hand -------------------------------------------------------------- */

/* Overwrites one byte of path in place (no truncation: ext4 flushes a file rewritten from
 * empty when it is closed, which would make the bit-flip tests slow). */
static void poke(const char *path, size_t at, unsigned char byte) {
  int fd = open(path, O_WRONLY);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(pwrite(fd, &byte, 1, (off_t)at), 1);
  ck_assert_int_eq(close(fd), 0);
}

/* A safetensors file as another tool might write it: the header text exactly as given (no
 * padding), then n bytes of data. */
static void write_raw(const char *path, const char *json, const void *data, size_t n) {
  size_t hl = strlen(json);
  unsigned char *p = malloc(8 + hl + n + 1);
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)((uint64_t)hl >> (8 * i));
  memcpy(p + 8, json, hl);
  if (n) memcpy(p + 8 + hl, data, n);
  write_bytes(path, p, 8 + hl + n);
  free(p);
}

/* Loads path, which must fail: the message (starting with the path), *out left empty. */
static const char *load_error(const char *path) {
  Ckpt c;
  err[0] = 0;
  ck_assert_msg(dlrt_ckpt_load(path, &c, err, sizeof err) == -1, "%s loaded but is damaged", path);
  ck_assert(c.n == 0 && c.n_meta == 0 && !c.tensors && !c.meta && !c.blob);
  ck_assert_msg(strncmp(err, path, strlen(path)) == 0 && err[strlen(path)] == ':', "no path in \"%s\"", err);
  return err;
}

static uint64_t header_len(const unsigned char *p) {
  uint64_t h = 0;
  for (int i = 7; i >= 0; i--) h = h << 8 | p[i];
  return h;
}

/* ---- round trip ---------------------------------------------------------------------- */

START_TEST(round_trip) {
  char *dir = fresh_dir(), *path = path_join(dir, "run.ck");
  save_sample(path);
  save_sample(path); /* over an existing checkpoint */
  Ckpt c;
  load_ok(path, &c);
  ck_assert(c.checksummed);
  ck_assert_int_eq(c.n, 3);
  const CkptTensor *tw = dlrt_ckpt_tensor(&c, "c1.W"), *tb = dlrt_ckpt_tensor(&c, "c1.b"), *ts = dlrt_ckpt_tensor(&c, "s");
  ck_assert(tw && tb && ts && !dlrt_ckpt_tensor(&c, "c1"));
  ck_assert(tw->rank == 2 && tw->dim[0] == 2 && tw->dim[1] == 3 && tb->rank == 1 && tb->dim[0] == 3 && ts->rank == 0);
  ck_assert_mem_eq(tw->data, sample_w, sizeof sample_w);
  ck_assert_mem_eq(tb->data, sample_b, sizeof sample_b);
  ck_assert_mem_eq(ts->data, sample_s, sizeof sample_s);
  ck_assert_str_eq(dlrt_ckpt_meta(&c, "format"), "dlc");
  ck_assert_str_eq(dlrt_ckpt_meta(&c, "epochs_done"), "3");
  char want[9];
  snprintf(want, sizeof want, "%08lx", crc32(0, (const Bytef *)sample_w, sizeof sample_w));
  ck_assert_str_eq(dlrt_ckpt_meta(&c, "dlc.crc32.c1.W"), want);
  ck_assert_ptr_nonnull(dlrt_ckpt_meta(&c, "dlc.header_crc32"));
  dlrt_ckpt_free(&c);
  /* safetensors layout: data 8-byte aligned right after the header, nothing else left */
  size_t len;
  unsigned char *p = read_all(path, &len);
  uint64_t hl = header_len(p);
  ck_assert_uint_eq(hl % 8, 0);
  ck_assert_uint_eq(len, 8 + hl + sizeof sample_w + sizeof sample_b + sizeof sample_s);
  ck_assert_mem_eq(p + 8 + hl, sample_w, sizeof sample_w);
  free(p);
  ck_assert_str_eq(listing(dir), "run.ck"); /* no temporary, no lock file */
  free(path);
  free(dir);
}
END_TEST

/* The canonical form as docs/runtime.md and checkpoint_crc.c define it, computed here from
 * the loaded entries independently, so a change to the form fails this test. */
static uint32_t canonical_crc(const Ckpt *c) {
  uLong crc = crc32(0, NULL, 0);
  const char *data = NULL;
  for (int i = 0; i < c->n; i++)
    if (!data || (const char *)c->tensors[i].data < data) data = c->tensors[i].data;
  char buf[512];
  for (int i = 0; i < c->n; i++) {
    const CkptTensor *t = &c->tensors[i];
    int k = snprintf(buf, sizeof buf, "tensor%c%s%cF32%c", 0, t->name, 0, 0);
    int64_t n = 1;
    for (int d = 0; d < t->rank; d++) {
      k += snprintf(buf + k, sizeof buf - (size_t)k, d ? ",%lld" : "%lld", (long long)t->dim[d]);
      n *= t->dim[d];
    }
    long long begin = (const char *)t->data - data;
    k += snprintf(buf + k, sizeof buf - (size_t)k, "%c%lld,%lld%c", 0, begin, begin + 4 * n, 0);
    crc = crc32(crc, (const Bytef *)buf, (uInt)k);
  }
  for (int i = 0; i < c->n_meta; i++) {
    if (strcmp(c->meta[i].key, "dlc.header_crc32") == 0) continue;
    int k = snprintf(buf, sizeof buf, "meta%c%s%c%s%c", 0, c->meta[i].key, 0, c->meta[i].value, 0);
    crc = crc32(crc, (const Bytef *)buf, (uInt)k);
  }
  return (uint32_t)crc;
}

START_TEST(header_checksum_is_the_documented_canonical_form) {
  char *dir = fresh_dir(), *path = path_join(dir, "run.ck");
  save_sample(path);
  Ckpt c;
  load_ok(path, &c);
  char want[9];
  snprintf(want, sizeof want, "%08x", (unsigned)canonical_crc(&c));
  ck_assert_str_eq(dlrt_ckpt_meta(&c, "dlc.header_crc32"), want);
  dlrt_ckpt_free(&c);
  free(path);
  free(dir);
}
END_TEST

/* Spacing is not part of the canonical form: a header reformatted with spaces after every
 * ':' and ',' (as json.dumps writes it) still verifies. */
START_TEST(reformatted_header_still_verifies) {
  char *dir = fresh_dir(), *path = path_join(dir, "run.ck"), *spaced = path_join(dir, "spaced.ck");
  save_sample(path);
  size_t len;
  unsigned char *p = read_all(path, &len);
  uint64_t hl = header_len(p);
  char *json = malloc(2 * hl + 1), *o = json;
  for (uint64_t i = 0; i < hl; i++) {
    *o++ = (char)p[8 + i];
    if (p[8 + i] == ':' || p[8 + i] == ',') *o++ = ' ';
  }
  *o = 0;
  write_raw(spaced, json, p + 8 + hl, len - 8 - hl);
  Ckpt c;
  load_ok(spaced, &c);
  ck_assert(c.checksummed);
  ck_assert_mem_eq(dlrt_ckpt_tensor(&c, "c1.b")->data, sample_b, sizeof sample_b);
  dlrt_ckpt_free(&c);
  free(json);
  free(p);
  free(path);
  free(spaced);
  free(dir);
}
END_TEST

/* ---- damage -------------------------------------------------------------------------- */

/* Every single flipped bit of the data is caught, and the message names its tensor. */
START_TEST(every_flipped_data_bit_names_its_tensor) {
  char *dir = fresh_dir(), *path = path_join(dir, "run.ck"), *bad = path_join(dir, "bad.ck");
  save_sample(path);
  size_t len;
  unsigned char *p = read_all(path, &len);
  size_t data = 8 + header_len(p);
  write_bytes(bad, p, len);
  for (size_t at = data; at < len; at++)
    for (int bit = 0; bit < 8; bit++) {
      poke(bad, at, p[at] ^ (unsigned char)(1 << bit));
      size_t off = at - data;
      const char *name = off < sizeof sample_w ? "c1.W" : off < sizeof sample_w + sizeof sample_b ? "c1.b" : "s";
      char want[64];
      snprintf(want, sizeof want, ": tensor '%s' fails its checksum: the file is damaged", name);
      ck_assert_says(load_error(bad), want);
      poke(bad, at, p[at]);
    }
  free(p);
  free(path);
  free(bad);
  free(dir);
}
END_TEST

/* Every single flipped bit of the length or the header makes the file fail to load. */
START_TEST(every_flipped_header_bit_is_caught) {
  char *dir = fresh_dir(), *path = path_join(dir, "run.ck"), *bad = path_join(dir, "bad.ck");
  save_sample(path);
  size_t len;
  unsigned char *p = read_all(path, &len);
  size_t end = 8 + header_len(p);
  write_bytes(bad, p, len);
  for (size_t at = 0; at < end; at++) {
    for (int bit = 0; bit < 8; bit++) {
      poke(bad, at, p[at] ^ (unsigned char)(1 << bit));
      load_error(bad);
    }
    poke(bad, at, p[at]);
  }
  /* A change only the header checksum can see: epochs_done "3" -> "2" (one bit). */
  char *three = memmem(p, end, "\"epochs_done\":\"3\"", 17);
  ck_assert_ptr_nonnull(three);
  three[15] = '2';
  write_bytes(bad, p, len);
  ck_assert_says(load_error(bad), ": the header fails its checksum: the file is damaged");
  free(p);
  free(path);
  free(bad);
  free(dir);
}
END_TEST

START_TEST(truncated_and_trailing_bytes) {
  char *dir = fresh_dir(), *path = path_join(dir, "run.ck"), *bad = path_join(dir, "bad.ck");
  save_sample(path);
  size_t len;
  unsigned char *p = read_all(path, &len);
  write_bytes(bad, p, len - 1);
  ck_assert_says(load_error(bad), ": not a valid checkpoint: tensor 's' ends at byte 40 of the data, past the end of the file (39 bytes of data)");
  write_bytes(bad, p, 20);
  ck_assert_says(load_error(bad), ": truncated or not a checkpoint: header of");
  write_bytes(bad, p, 5);
  ck_assert_says(load_error(bad), ": not a checkpoint: 5 bytes, too short for a safetensors header");
  unsigned char *longer = malloc(len + 3);
  memcpy(longer, p, len);
  memset(longer + len, 0, 3);
  write_bytes(bad, longer, len + 3);
  ck_assert_says(load_error(bad), ": not a valid checkpoint: the last 3 bytes of the file belong to no tensor");
  free(longer);
  free(p);
  ck_assert_says(load_error(dir), ": is a directory, not a checkpoint file");
  char *fifo = path_join(dir, "fifo");
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  ck_assert_says(load_error(fifo), ": is a FIFO, not a checkpoint file"); /* at once: no writer is waited for */
  free(fifo);
  char *none = path_join(dir, "none.ck");
  ck_assert_says(load_error(none), ": cannot open: No such file or directory");
  free(none);
  free(path);
  free(bad);
  free(dir);
}
END_TEST

/* Headers as another tool could write them, each wrong in one way: the message to expect. */
static const struct {
  const char *json;
  size_t data;
  const char *says;
} broken[] = {
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
     16, "tensor 'a' appears twice"},
    {"{\"__metadata__\":{\"k\":\"1\",\"j\":\"2\",\"k\":\"3\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
     "metadata key 'k' appears twice"},
    {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__ appears twice"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
     12, "tensors 'a' and 'b' overlap (bytes 4 to 8 of the data)"},
    {"{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
     8, "tensors 'b' and 'a' overlap"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}",
     20, "bytes 8 to 12 of the data belong to no tensor (a gap before tensor 'b')"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "bytes 0 to 4 of the data belong to no tensor"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8, "tensor 'a' has data_offsets [8, 0], which run backwards"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
     "tensor 'a' has data_offsets [0, 8] (8 bytes) for a shape of 12 bytes"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "tensor 'a' ends at byte 8 of the data, past the end"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, "the last 4 bytes of the file belong to no tensor"},
    {"{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "tensor 'a' has dtype F16; dlc reads F32 only"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,2],\"data_offsets\":[0,8]}}", 8, "tensor 'a' has 5 dimensions; dlc reads at most 4"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "tensor 'a' lacks its data_offsets"},
    {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'a' has its dtype twice"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8, "tensor 'a' has an unknown field 'x'"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,16]}}", 8, "tensor 'a' has 3 data_offsets, not 2"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,08]}}", 8, "a number without a leading zero expected"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "a whole number expected"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8, "malformed header: ']' expected"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}}", 8, "a number too large"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", 8, "tensor 'a' is too large"},
    {"{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "a string in the header holds \\u0000"},
    {"{\"\\ud800\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "a low surrogate expected"},
    {"{\"a\\q\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "a valid escape expected"},
    {"{\"a\tb\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "a control character inside a string"},
    {"{\"__metadata__\":{\"k\":1}}", 0, "metadata key 'k' holds something other than a string"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} x", 8, "the header has bytes after its JSON object"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, "malformed header: '}' expected"},
    {"[]", 0, "malformed header: '{' expected at byte 0"},
    {"", 0, "malformed header: '{' expected at byte 0"},
};

START_TEST(each_broken_header_names_its_problem) {
  char *dir = fresh_dir(), *path = path_join(dir, "raw.ck");
  static const unsigned char zeros[64];
  for (size_t i = 0; i < sizeof broken / sizeof *broken; i++) {
    write_raw(path, broken[i].json, zeros, broken[i].data);
    const char *msg = load_error(path);
    ck_assert_msg(strstr(msg, ": not a valid checkpoint: ") && strstr(msg, broken[i].says), "case %zu: expected \"%s\" in \"%s\"",
                  i, broken[i].says, msg);
  }
  free(path);
  free(dir);
}
END_TEST

/* Checksum keys that are incomplete or name what is not there: damage, not "unchecked". */
START_TEST(partial_checksums_are_errors) {
  char *dir = fresh_dir(), *path = path_join(dir, "raw.ck");
  float v[2] = {1, 2};
  char json[512];
  snprintf(json, sizeof json,
           "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"__metadata__\":{\"dlc.crc32.a\":\"%08lx\"}}",
           crc32(0, (const Bytef *)v, 8));
  write_raw(path, json, v, 8);
  ck_assert_says(load_error(path), ": the tensors have checksums but the header has none: the file is damaged");

  write_raw(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"__metadata__\":{\"dlc.crc32.z\":\"00000000\"}}", v, 8);
  ck_assert_says(load_error(path), ": a checksum names tensor 'z', which the file does not hold: the file is damaged");

  /* A header checksum that matches, but tensor b has none. */
  const char *two = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                    "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},\"__metadata__\":{\"dlc.crc32.a\":\"%08lx\",\"dlc.header_crc32\":\"%08x\"}}";
  snprintf(json, sizeof json, two, crc32(0, (const Bytef *)v, 4), 0u);
  write_raw(path, json, v, 8);
  Ckpt shape = {0};
  CkptTensor ts[2] = {{"a", 1, {1}, v}, {"b", 1, {1}, v + 1}};
  char key[32];
  snprintf(key, sizeof key, "%08lx", crc32(0, (const Bytef *)v, 4));
  CkptMeta ms[1] = {{"dlc.crc32.a", key}};
  shape.n = 2, shape.tensors = ts, shape.n_meta = 1, shape.meta = ms;
  snprintf(json, sizeof json, two, crc32(0, (const Bytef *)v, 4), (unsigned)canonical_crc(&shape));
  write_raw(path, json, v, 8);
  ck_assert_says(load_error(path), ": tensor 'b' has no checksum though the file has others: the file is damaged");

  /* The header checksum does not cover its own entry, so its spelling must be exact: one
   * character more is refused even though the first eight match. */
  char *saved = path_join(dir, "saved.ck");
  save_sample(saved);
  size_t len;
  unsigned char *p = read_all(saved, &len);
  uint64_t hl = header_len(p);
  char *hdr = strndup((char *)p + 8, hl), *at = strstr(hdr, "\"dlc.header_crc32\":\"") + 20;
  char *longer = malloc(hl + 2);
  snprintf(longer, hl + 2, "%.*s0%s", (int)(at + 8 - hdr), hdr, at + 8);
  write_raw(path, longer, p + 8 + hl, len - 8 - hl);
  ck_assert_says(load_error(path), "' is not 8 lowercase hex digits: the file is damaged");
  free(longer);
  free(hdr);
  free(p);
  free(saved);

  /* Upper-case hex is another spelling: refused, so a flipped case bit cannot pass. */
  write_raw(path, "{\"__metadata__\":{\"dlc.header_crc32\":\"0000000A\"}}", NULL, 0);
  ck_assert_says(load_error(path), ": the header checksum '0000000A' is not 8 lowercase hex digits");
  free(path);
  free(dir);
}
END_TEST

/* A file with no dlc checksums (as Python's safetensors writes: metadata first, tensors in
 * its own order, no padding, unaligned data) loads, flagged as unverified. */
START_TEST(file_without_checksums_loads_flagged) {
  char *dir = fresh_dir(), *path = path_join(dir, "py.ck");
  float v[4] = {1, 2, 3, 4};
  write_raw(path,
            "{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
            "\"\\u00e9\\ud83d\\ude00\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}",
            v, sizeof v);
  Ckpt c;
  load_ok(path, &c);
  ck_assert(!c.checksummed);
  ck_assert_int_eq(c.n, 2);
  const CkptTensor *a = dlrt_ckpt_tensor(&c, "\xc3\xa9\xf0\x9f\x98\x80"), *bb = dlrt_ckpt_tensor(&c, "b");
  ck_assert(a && bb);
  ck_assert_mem_eq(a->data, v, 8);
  ck_assert_mem_eq(bb->data, v + 2, 8);
  ck_assert_int_eq(dlrt_ckpt_check_finite(&c, path, err, sizeof err), 0);
  ck_assert_str_eq(dlrt_ckpt_meta(&c, "format"), "pt");
  dlrt_ckpt_free(&c);
  write_raw(path, "{}", NULL, 0); /* no tensors at all */
  load_ok(path, &c);
  ck_assert(c.n == 0 && !c.checksummed);
  dlrt_ckpt_free(&c);
  free(path);
  free(dir);
}
END_TEST

/* ---- non-finite values --------------------------------------------------------------- */

START_TEST(nonfinite_values_are_found) {
  char *dir = fresh_dir(), *path = path_join(dir, "nan.ck");
  float x[6] = {1, 2, 3, 4, 5, 6}, y[3] = {0, 0, 0};
  CkptTensor t[2] = {{"x", 2, {2, 3}, x}, {"y", 1, {3}, y}};
  ck_assert_int_eq(dlrt_ckpt_tensor_nonfinite(&t[0]), -1);
  struct {
    float value;
    int tensor, at;
    const char *says;
  } cases[] = {{NAN, 0, 4, ": tensor 'x' holds NaN at element 4 of 6"},
               {INFINITY, 1, 2, ": tensor 'y' holds inf at element 2 of 3"},
               {-INFINITY, 0, 0, ": tensor 'x' holds -inf at element 0 of 6"}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    float *p = cases[i].tensor ? y : x, old = p[cases[i].at];
    p[cases[i].at] = cases[i].value;
    ck_assert_msg(dlrt_ckpt_save(path, t, 2, NULL, 0, err, sizeof err) == 0, "%s", err);
    p[cases[i].at] = old;
    Ckpt c;
    load_ok(path, &c); /* loading is no judge of values */
    ck_assert_int_eq(dlrt_ckpt_tensor_nonfinite(&c.tensors[cases[i].tensor]), cases[i].at);
    ck_assert_int_eq(dlrt_ckpt_tensor_nonfinite(&c.tensors[1 - cases[i].tensor]), -1);
    ck_assert_int_eq(dlrt_ckpt_check_finite(&c, path, err, sizeof err), -1);
    ck_assert_says(err, cases[i].says);
    ck_assert(strncmp(err, path, strlen(path)) == 0);
    dlrt_ckpt_free(&c);
  }
  ck_assert_msg(dlrt_ckpt_save(path, t, 2, NULL, 0, err, sizeof err) == 0, "%s", err);
  Ckpt c;
  load_ok(path, &c);
  ck_assert_int_eq(dlrt_ckpt_check_finite(&c, path, err, sizeof err), 0);
  dlrt_ckpt_free(&c);
  free(path);
  free(dir);
}
END_TEST

/* ---- suite --------------------------------------------------------------------------- */

static Suite *checkpoint_suite(void) {
  Suite *s = suite_create("checkpoint");
  TCase *files = tcase_create("files");
  tcase_set_timeout(files, 60); /* the whole case takes well under a second */
  tcase_add_unchecked_fixture(files, make_top, remove_top);
  tcase_add_test(files, round_trip);
  tcase_add_test(files, header_checksum_is_the_documented_canonical_form);
  tcase_add_test(files, reformatted_header_still_verifies);
  tcase_add_test(files, every_flipped_data_bit_names_its_tensor);
  tcase_add_test(files, every_flipped_header_bit_is_caught);
  tcase_add_test(files, truncated_and_trailing_bytes);
  tcase_add_test(files, each_broken_header_names_its_problem);
  tcase_add_test(files, partial_checksums_are_errors);
  tcase_add_test(files, file_without_checksums_loads_flagged);
  tcase_add_test(files, nonfinite_values_are_found);
  suite_add_tcase(s, files);
  return s;
}

int main(void) { return run_suite(checkpoint_suite()); }
