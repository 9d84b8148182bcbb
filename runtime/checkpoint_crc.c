/* checkpoint_crc.c — the checksums that make a damaged checkpoint an error instead of a
 * silently wrong network: zlib's CRC-32 of every tensor's bytes, under the metadata key
 * "dlc.crc32.NAME", and of the header's canonical form under "dlc.header_crc32", each as 8
 * lowercase hex digits. CRC-32 catches every burst of up to 32 flipped bits; it is a check
 * against damage (disks, copies, truncation), not against someone forging a file.
 *
 * The canonical form of the header, so that the checksum does not depend on how the JSON is
 * spelled (spacing, escapes, key order inside an entry), is the bytes of
 *   for each tensor, in file order:   "tensor" NUL NAME NUL "F32" NUL SHAPE NUL OFFSETS NUL
 *   for each metadata entry, in file order, except "dlc.header_crc32":
 *                                     "meta" NUL KEY NUL VALUE NUL
 * with SHAPE the dimensions in decimal joined by "," (empty for a scalar), OFFSETS the two
 * data_offsets as "BEGIN,END", and strings as UTF-8 after JSON unescaping. It covers the
 * tensors' checksums too, so every byte of the file is covered by one checksum or another. */
#include "checkpoint_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

uint32_t ckpt_crc32(const void *p, size_t n) { return (uint32_t)crc32_z(0, p, n); }

static uLong crc_str(uLong crc, const char *s) { return crc32_z(crc, (const Bytef *)s, strlen(s) + 1); }

uint32_t ckpt_header_crc32(const CkptTensor *t, const int64_t *begin, int n, const CkptMeta *meta, int n_meta) {
  uLong crc = crc32_z(0, NULL, 0);
  char num[48];
  for (int i = 0; i < n; i++) {
    crc = crc_str(crc, "tensor");
    crc = crc_str(crc, t[i].name);
    crc = crc_str(crc, "F32");
    for (int d = 0; d < t[i].rank; d++) {
      snprintf(num, sizeof num, d ? ",%lld" : "%lld", (long long)t[i].dim[d]);
      crc = crc32_z(crc, (const Bytef *)num, strlen(num));
    }
    crc = crc32_z(crc, (const Bytef *)"", 1);
    snprintf(num, sizeof num, "%lld,%lld", (long long)begin[i], (long long)(begin[i] + ckpt_tensor_bytes(t[i].rank, t[i].dim)));
    crc = crc_str(crc, num);
  }
  for (int i = 0; i < n_meta; i++) {
    if (strcmp(meta[i].key, CKPT_HEADER_CRC) == 0) continue;
    crc = crc_str(crc, "meta");
    crc = crc_str(crc, meta[i].key);
    crc = crc_str(crc, meta[i].value);
  }
  return (uint32_t)crc;
}

bool ckpt_reserved_key(const char *key) {
  return strcmp(key, CKPT_HEADER_CRC) == 0 || strncmp(key, CKPT_CRC_PREFIX, strlen(CKPT_CRC_PREFIX)) == 0;
}

/* Exactly 8 lowercase hex digits: one spelling per value, so a flipped case is damage too. */
static bool parse_crc(const char *s, uint32_t *v) {
  *v = 0;
  for (int i = 0; i < 8; i++) {
    char c = s[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    *v = *v << 4 | (uint32_t)d;
  }
  return s[8] == 0;
}

/* The checksum recorded for tensor name, or NULL. */
static const char *tensor_crc(const Ckpt *c, const char *name) {
  size_t k = strlen(CKPT_CRC_PREFIX);
  for (int i = 0; i < c->n_meta; i++)
    if (strncmp(c->meta[i].key, CKPT_CRC_PREFIX, k) == 0 && strcmp(c->meta[i].key + k, name) == 0) return c->meta[i].value;
  return NULL;
}

/* Every checksum key names a tensor of the file; the header's is found in *header. The
 * count of tensor checksums, or -1 with why filled in. */
static int checksum_keys(const Ckpt *c, const char **header, char *why, size_t whylen) {
  size_t k = strlen(CKPT_CRC_PREFIX);
  int count = 0;
  *header = NULL;
  for (int i = 0; i < c->n_meta; i++) {
    if (strcmp(c->meta[i].key, CKPT_HEADER_CRC) == 0) {
      *header = c->meta[i].value;
    } else if (strncmp(c->meta[i].key, CKPT_CRC_PREFIX, k) == 0) {
      if (!dlrt_ckpt_tensor(c, c->meta[i].key + k)) {
        snprintf(why, whylen, "a checksum names tensor '%s', which the file does not hold: the file is damaged", c->meta[i].key + k);
        return -1;
      }
      count++;
    }
  }
  return count;
}

static int header_matches(const Ckpt *c, const char *recorded, const char *data, char *why, size_t whylen) {
  uint32_t want;
  if (!parse_crc(recorded, &want)) {
    snprintf(why, whylen, "the header checksum '%s' is not 8 lowercase hex digits: the file is damaged", recorded);
    return -1;
  }
  int64_t *begin = malloc(sizeof *begin * (size_t)(c->n ? c->n : 1));
  if (!begin) return snprintf(why, whylen, "out of memory"), -1;
  for (int i = 0; i < c->n; i++) begin[i] = (const char *)c->tensors[i].data - data;
  uint32_t got = ckpt_header_crc32(c->tensors, begin, c->n, c->meta, c->n_meta);
  free(begin);
  if (got != want) {
    snprintf(why, whylen, "the header fails its checksum: the file is damaged");
    return -1;
  }
  return 0;
}

static int tensor_matches(const CkptTensor *t, const char *recorded, char *why, size_t whylen) {
  uint32_t want;
  if (!recorded) {
    snprintf(why, whylen, "tensor '%s' has no checksum though the file has others: the file is damaged", t->name);
    return -1;
  }
  if (!parse_crc(recorded, &want)) {
    snprintf(why, whylen, "tensor '%s' has a checksum '%s' that is not 8 lowercase hex digits: the file is damaged", t->name, recorded);
    return -1;
  }
  if (ckpt_crc32(t->data, (size_t)ckpt_tensor_bytes(t->rank, t->dim)) != want) {
    snprintf(why, whylen, "tensor '%s' fails its checksum: the file is damaged", t->name);
    return -1;
  }
  return 0;
}

int ckpt_verify(Ckpt *c, const char *data, char *why, size_t whylen) {
  const char *header;
  c->checksummed = false;
  int n_crc = checksum_keys(c, &header, why, whylen);
  if (n_crc < 0) return -1;
  if (!header && n_crc == 0) return 0; /* another tool's safetensors: nothing to verify */
  if (!header) {
    snprintf(why, whylen, "the tensors have checksums but the header has none: the file is damaged");
    return -1;
  }
  /* The header first: if it is damaged, names and offsets below may be too. */
  if (header_matches(c, header, data, why, whylen) != 0) return -1;
  for (int i = 0; i < c->n; i++)
    if (tensor_matches(&c->tensors[i], tensor_crc(c, c->tensors[i].name), why, whylen) != 0) return -1;
  c->checksummed = true;
  return 0;
}
