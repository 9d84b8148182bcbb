/* front_helpers.h — what the front end's suites (check_parse.c, check_sema.c) share: .net
 * text parsed (its AST dump and the diagnostics, captured) and analysed into a fresh graph. */
#ifndef DLC_TEST_FRONT_HELPERS_H
#define DLC_TEST_FRONT_HELPERS_H
#include "helpers.h"
#include "sema.h"

typedef struct Parse {
  SrcFile *file;
  Arena arena;
  Program *prog; /* NULL on a syntax error */
  char *dump;    /* ast_dump of prog, or NULL */
  char *diags;   /* everything diag printed */
  int errors;
} Parse;

/* Parses text (diagnostics captured); parse_free frees what it made. */
Parse parse_text(const char *text);
void parse_free(Parse *p);

/* Parse + sema on inline text with a fresh graph. */
typedef struct Analysed {
  Parse p;
  Graph *g;
  SemaResult res;
  bool ok;
  char *diags;
  int errors;
} Analysed;

/* Parses (which must succeed) and analyses text, the diagnostics captured. */
Analysed analyse(const char *text);
void analysed_free(Analysed *a);

/* The header every sema test needs: mnist's shapes (sema checks them against the default
 * data set, so other sizes would add errors). */
#define HEADER "input x : [784]\ntarget y : onehot(10)\n"
#endif
