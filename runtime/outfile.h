/* outfile.h — how dlc writes a file, whatever it holds (checkpoints, metrics, reports, images,
 * exported models, object files).
 *
 * Before any work, dlrt_outputs_check: an output is never one of the command's inputs, never
 * another output of the same run, never anything but a regular file or nothing (a device, a
 * FIFO, a directory, a socket — the final rename would put a regular file in its place; a
 * symbolic link only to a regular file, which is written, the link kept), and its directory
 * must exist and be writable — so that a mistake costs nothing, not an epoch of training.
 *
 * Then whole: the bytes go to DEST.tmp.PID beside the destination, every write is checked,
 * the file is flushed to disk and renamed over the destination, and the directory synced; a
 * kill or a failure at any moment leaves the old file or the new one, never a mix, and a full
 * disk is an error, not an empty file. Temporaries that killed runs left (DEST.tmp.PID of a
 * process that no longer exists) are removed by the next write of the same destination.
 *
 * Every function that can fail returns 0, or -1 with "PATH: MESSAGE" in err. */
#ifndef DLRT_OUTFILE_H
#define DLRT_OUTFILE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* A file a command names, and what names it ("--save", "the .net file"), for messages. */
typedef struct DlrtNamedPath {
  const char *path; /* NULL: not given (skipped) */
  const char *role;
  const char *kind; /* an input of a kind ("checkpoint") that an output of the same kind may
                       write anew: the run's own checkpoint, resumed from and saved to; NULL
                       for inputs no output may write */
} DlrtNamedPath;

/* Checks the outputs against the rules above; the first that breaks one is reported in err
 * as "PATH: ROLE ... MESSAGE". */
int dlrt_outputs_check(const DlrtNamedPath *outputs, int n_outputs, const DlrtNamedPath *inputs, int n_inputs,
                       char *err, size_t errlen);

/* The file path may be written as (itself, or the regular file a symbolic link names), malloc'd
 * into *dest; `what` names what is written ("a checkpoint", "--metrics") in the message if it
 * may not (NULL: "anything"). */
int dlrt_out_destination(const char *path, const char *what, char **dest, char *err, size_t errlen);
/* "a directory", "a FIFO", ... for a mode that is not a regular file's. */
const char *dlrt_file_kind(mode_t mode);

/* A file being written whole. */
typedef struct DlrtOutFile {
  FILE *f;    /* write to this */
  char *path; /* as given */
  char *dest; /* the regular file it names */
  char *tmp;  /* the temporary beside it */
} DlrtOutFile;

int dlrt_outfile_open(DlrtOutFile *o, const char *path, const char *what, char *err, size_t errlen);
/* Checks every write, flushes to disk and renames over the destination (if it is still what
 * it was); or removes the temporary and leaves the destination as it was. */
int dlrt_outfile_commit(DlrtOutFile *o, char *err, size_t errlen);
/* Drops the temporary (after an error elsewhere); safe on a zeroed or committed one. */
void dlrt_outfile_abort(DlrtOutFile *o);
/* The whole of data to path, as above. */
int dlrt_outfile_write(const char *path, const char *what, const void *data, size_t len, char *err, size_t errlen);

/* The pieces checkpoint.c writes its files with: the temporary's name, removing stale ones,
 * checked writes, syncing the directory that makes a rename durable (errno set on -1). */
char *dlrt_out_temporary(const char *dest);
void dlrt_out_remove_stale(const char *dest);
int dlrt_write_all(int fd, const void *p, size_t n);
int dlrt_sync_directory(const char *dest);
#endif
