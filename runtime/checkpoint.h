/* checkpoint.h — training state in the safetensors format (so Python users can open it with
 * `safetensors.numpy.load_file`): an 8-byte little-endian header length, a JSON header naming
 * each tensor's dtype (F32), shape and byte range, then the raw little-endian data. Strings
 * in "__metadata__" carry the rest of the state (epoch, step, RNG, which model) and a CRC-32
 * of every tensor and of the header, which every load verifies.
 *
 * Saving is atomic: the file is written beside its destination under a temporary name,
 * flushed to disk (fsync), renamed over the destination, and the directory is synced; a
 * crash at any moment leaves either the old checkpoint or the new one, never a mix.
 * docs/runtime.md describes the format, the checksums, the temporaries and the lock. */
#ifndef DLRT_CHECKPOINT_H
#define DLRT_CHECKPOINT_H
#include <stdbool.h>
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

/* Writes tensors and metadata to path atomically, with a checksum of every tensor and of the
 * header. Refuses (before writing anything) a path that exists and is not a regular file, or
 * a symbolic link to one; a link to a regular file is followed, the file it names replaced.
 * Removes temporaries of the same checkpoint left by processes that are gone. Metadata keys
 * starting with "dlc.crc32." and "dlc.header_crc32" are the checkpoint's own. 0, or -1 with
 * "PATH: MESSAGE" in err, the destination as it was and no temporary left behind. */
int dlrt_ckpt_save(const char *path, const CkptTensor *t, int n, const CkptMeta *meta, int n_meta, char *err,
                   size_t errlen);

/* A checkpoint read into memory: its tensors (data owned by the checkpoint) and metadata. */
typedef struct Ckpt {
  int n, n_meta;
  CkptTensor *tensors;
  CkptMeta *meta;
  char *blob;       /* the whole file, then the header's unescaped strings */
  bool checksummed; /* the file carried dlc checksums and all of them matched; false for
                       safetensors written by other tools, whose data cannot be verified */
} Ckpt;

/* Reads a checkpoint and validates all of it: the header (JSON, dtypes, ranks, no name or
 * metadata key twice), the layout (data_offsets fit the shapes and tile the data exactly:
 * no overlap, gap or trailing byte) and, when the file has them, every checksum. 0, or -1
 * with "PATH: MESSAGE" and *out empty. */
int dlrt_ckpt_load(const char *path, Ckpt *out, char *err, size_t errlen);
void dlrt_ckpt_free(Ckpt *c);
const CkptTensor *dlrt_ckpt_tensor(const Ckpt *c, const char *name);
const char *dlrt_ckpt_meta(const Ckpt *c, const char *key);

/* The flat index of the first NaN or infinity among t's values, or -1 if all are finite. */
int64_t dlrt_ckpt_tensor_nonfinite(const CkptTensor *t);
/* 0 if every value of every tensor is finite; else -1 with "PATH: tensor 'NAME' holds NaN at
 * element I of N" (or "inf", "-inf") in msg for the first one, in file order. Loading does
 * not check this: whether it is a warning (eval) or an error (resume) is the caller's call. */
int dlrt_ckpt_check_finite(const Ckpt *c, const char *path, char *msg, size_t msglen);

/* One training run's claim on a checkpoint path: an exclusive flock(2) on the sidecar file
 * "PATH.lock", which holds the owner's PID. Take it once before training for each path the
 * run will save to; a second process (or a second claim in this one) fails at once. The
 * destination is checked as dlrt_ckpt_save checks it, so a path that cannot be saved to is
 * an error before any training. The kernel drops the lock when its process dies. */
typedef struct CkptLock {
  int fd;     /* -1 when not held */
  char *path; /* the lock file */
} CkptLock;

/* 0 with *lock held, or -1 with "PATH: MESSAGE" (naming the holder's PID when known). */
int dlrt_ckpt_lock(const char *path, CkptLock *lock, char *err, size_t errlen);
/* Removes the lock file and releases the lock; a lock not held is left alone. */
void dlrt_ckpt_unlock(CkptLock *lock);
#endif
