/* ckpt_files.c — the checkpoint suites' fixture and files; see ckpt_files.h. */
#define _GNU_SOURCE
#include "ckpt_files.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

static char *top; /* removed with everything in it after the suite */
char err[2048];

void make_top(void) { top = make_temp_dir(); }

void remove_top(void) {
  remove_tree(top);
  free(top);
}

char *fresh_dir(void) {
  char *tmpl = path_join(top, "t-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpl));
  return tmpl;
}

unsigned char *read_all(const char *path, size_t *len) {
  unsigned char *p = read_bytes(path, len);
  ck_assert_msg(p != NULL, "cannot open %s", path);
  return p;
}

const char *listing(const char *dir) {
  static char out[4096];
  struct dirent **names;
  int n = scandir(dir, &names, NULL, alphasort);
  ck_assert_int_ge(n, 0);
  out[0] = 0;
  for (int i = 0; i < n; i++) {
    if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0) {
      if (*out) strcat(out, " ");
      strncat(out, names[i]->d_name, 4000 - strlen(out));
    }
    free(names[i]);
  }
  free(names);
  return out;
}

void load_ok(const char *path, Ckpt *c) {
  ck_assert_msg(dlrt_ckpt_load(path, c, err, sizeof err) == 0, "%s", err);
}

float sample_w[6] = {1.5f, -2.25f, 3, 0.125f, -0.5f, 7};
float sample_b[3] = {0.25f, 0, -1};
float sample_s[1] = {42};

int sample(CkptTensor t[3], CkptMeta m[2]) {
  t[0] = (CkptTensor){"c1.W", 2, {2, 3}, sample_w};
  t[1] = (CkptTensor){"c1.b", 1, {3}, sample_b};
  t[2] = (CkptTensor){"s", 0, {0}, sample_s};
  m[0] = (CkptMeta){"format", "dlc"};
  m[1] = (CkptMeta){"epochs_done", "3"};
  return 3;
}

void save_sample(const char *path) {
  CkptTensor t[3];
  CkptMeta m[2];
  int n = sample(t, m);
  ck_assert_msg(dlrt_ckpt_save(path, t, n, m, 2, err, sizeof err) == 0, "%s", err);
}

