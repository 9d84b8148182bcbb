/* checkpoint.h — training state in the safetensors format (so Python users can open it with
 * `safetensors.numpy.load_file`): an 8-byte little-endian header length, a JSON header naming
 * each tensor's dtype (F32), shape and byte range, then the raw little-endian data. Strings
 * in "__metadata__" carry the rest of the state (epoch, step, RNG, which model).
 *
 * Saving is atomic: the file is written beside its destination under a temporary name,
 * flushed to disk (fsync), renamed over the destination, and the directory is synced; a
 * crash at any moment leaves either the old checkpoint or the new one, never a mix. */
#ifndef DLRT_CHECKPOINT_H
#define DLRT_CHECKPOINT_H
#include <stddef.h>
#include <stdint.h>

enum { CKPT_MAX_DIMS = 4 };

typedef struct CkptTensor {
  const char *name;
  int rank;
  int64_t dim[CKPT_MAX_DIMS];
  void *data; /* numel little-endian floats (save: read from here; load: in the file, use memcpy) */
} CkptTensor;

typedef struct CkptMeta {
  const char *key, *value;
} CkptMeta;

/* Writes tensors and metadata to path atomically. 0, or -1 with "PATH: MESSAGE" in err. */
int dlrt_ckpt_save(const char *path, const CkptTensor *t, int n, const CkptMeta *meta, int n_meta, char *err,
                   size_t errlen);

/* A checkpoint read into memory: its tensors (data owned by the checkpoint) and metadata. */
typedef struct Ckpt {
  int n, n_meta;
  CkptTensor *tensors;
  CkptMeta *meta;
  char *blob; /* the whole file */
} Ckpt;

/* Reads and validates a checkpoint (header, offsets, sizes). 0, or -1 with "PATH: MESSAGE". */
int dlrt_ckpt_load(const char *path, Ckpt *out, char *err, size_t errlen);
void dlrt_ckpt_free(Ckpt *c);
const CkptTensor *dlrt_ckpt_tensor(const Ckpt *c, const char *name);
const char *dlrt_ckpt_meta(const Ckpt *c, const char *key);
#endif
