/* ckpt_files.h — what the checkpoint suites (check_checkpoint.c, check_ckpt_save.c) share: a
 * directory per test under one removed at the end (unchecked fixtures, so it goes even when a
 * forked test dies), files read and listed, the loader's error buffer, and a small checkpoint
 * to save. */
#ifndef DLC_TEST_CKPT_FILES_H
#define DLC_TEST_CKPT_FILES_H
#include <stddef.h>
#include <string.h>
#include "checkpoint.h"
#include "helpers.h"

extern char err[2048]; /* the loader's and saver's error buffer */

void make_top(void);
void remove_top(void);
/* A fresh directory for one test (malloc'd). */
char *fresh_dir(void);
/* The whole file at path (malloc'd), its length in *len; the test fails if it cannot be read. */
unsigned char *read_all(const char *path, size_t *len);
/* Names in dir, sorted and joined by spaces ("" if empty), to compare listings; the text lasts
 * until the next call. */
const char *listing(const char *dir);

#define ck_assert_says(msg, want) ck_assert_msg(strstr((msg), (want)) != NULL, "expected \"%s\" in \"%s\"", (want), (msg))

void load_ok(const char *path, Ckpt *c);
/* The values of sample's tensors. */
extern float sample_w[6], sample_b[3], sample_s[1];
/* Tensors c1.W [2,3], c1.b [3], s (a scalar) and two metadata entries into t and m; returns 3. */
int sample(CkptTensor t[3], CkptMeta m[2]);
/* sample saved at path (the test fails if it cannot be). */
void save_sample(const char *path);
#endif
