/* front_helpers.c — .net text parsed and analysed for the front end's suites; see
 * front_helpers.h. */
#define _GNU_SOURCE
#include "front_helpers.h"
#include <stdio.h>
#include <stdlib.h>

Parse parse_text(const char *text) {
  Parse p = {0};
  p.file = srcfile_from_string("t.net", text);
  arena_init(&p.arena);
  capture_begin();
  p.prog = parse_program(p.file, &p.arena);
  p.errors = diag_error_count();
  p.diags = capture_end();
  if (p.prog) {
    size_t len = 0;
    FILE *f = open_memstream(&p.dump, &len);
    ast_dump(p.prog, f);
    fclose(f);
  }
  return p;
}

void parse_free(Parse *p) {
  free(p->dump);
  free(p->diags);
  arena_free(&p->arena);
  srcfile_free(p->file);
}

Analysed analyse(const char *text) {
  Analysed a = {0};
  a.p = parse_text(text);
  ck_assert_msg(a.p.prog, "syntax error in test input:\n%s", a.p.diags);
  a.g = graph_new();
  capture_begin();
  a.ok = sema_build(a.p.prog, a.g, &a.res);
  a.errors = diag_error_count();
  a.diags = capture_end();
  return a;
}

void analysed_free(Analysed *a) {
  free(a->diags);
  graph_free(a->g);
  parse_free(&a->p);
}
