/* checkpoint_internal.h — what the checkpoint files of libdlrt share and nothing else uses:
 * reading the header (checkpoint_header.c), the checksums (checkpoint_crc.c), and the
 * filesystem side of saving (checkpoint_files.c). The public API is checkpoint.h. */
#ifndef DLRT_CHECKPOINT_INTERNAL_H
#define DLRT_CHECKPOINT_INTERNAL_H
#include "checkpoint.h"
#include "errors.h"
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


/* Bytes of data a tensor of this shape holds; -1 if a dimension is negative or the size
 * does not fit in an int64_t. */
int64_t ckpt_tensor_bytes(int rank, const int64_t *dim);

/* ---- checkpoint_header.c ---- */

/* Parses the JSON header (len bytes, not NUL-terminated) into c->tensors and c->meta, with
 * strings unescaped into arena (at least len + 1 bytes), each tensor's data pointing into
 * data (data_bytes long); then checks names, metadata keys and the layout. 0, or -1 with why
 * (no path) filled in. */
int ckpt_parse_header(Ckpt *c, const char *json, size_t len, char *arena, char *data, int64_t data_bytes,
                      char *why, size_t whylen);

/* ---- checkpoint_crc.c ---- */

#define CKPT_CRC_PREFIX "dlc.crc32."      /* + tensor name: that tensor's data */
#define CKPT_HEADER_CRC "dlc.header_crc32" /* the header's canonical form */

/* zlib's CRC-32 of n bytes. */
uint32_t ckpt_crc32(const void *p, size_t n);
/* The CRC-32 of the header's canonical form (docs/runtime.md): every tensor, begin[i] its
 * first byte within the data, then every metadata entry but CKPT_HEADER_CRC's, in order. */
uint32_t ckpt_header_crc32(const CkptTensor *t, const int64_t *begin, int n, const CkptMeta *meta, int n_meta);
/* True for a metadata key the checksums own. */
bool ckpt_reserved_key(const char *key);
/* Verifies a parsed checkpoint's checksums against data (where its tensors' bytes start) and
 * sets c->checksummed. A file with none passes unverified; one with some but not all, or
 * one that does not match, fails: -1 with why (no path) filled in. */
int ckpt_verify(Ckpt *c, const char *data, char *why, size_t whylen);

/* (the files themselves: outfile.h) */
#endif
