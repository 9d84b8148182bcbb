/* parser.y — the .net grammar (a pure LALR(1) parser with locations). It builds the AST and
 * nothing else: names, shapes and settings are checked by sema.c.
 *
 *   program  = stmt*
 *   stmt     = "input" NAME ":" dims
 *            | "target" NAME ":" (dims | "onehot" "(" INT ")")
 *            | "param" NAME ":" dims ("=" expr)?
 *            | "def" NAME "(" (NAME ("," NAME)*)? ")" "=" expr
 *            | NAME "=" expr
 *            | "train" "{" (NAME "=" expr | NAME "(" arg ("," arg)* ")" | ";")* "}"
 *            | "table" NAME "=" "{" ("[" cell ("," cell)* "]")+ "}"    cell = X | x | 1 | . | 0
 *   dims     = "[" INT ("," INT)* "]"
 *   expr     = expr ("+" | "-") expr | expr ("*" | "/" | "@") expr
 *            | "-" expr | expr "^" expr | primary          (^ binds tightest, to the right)
 *   primary  = NUMBER | STRING | NAME | NAME "(" (arg ("," arg)*)? ")" | "(" expr ")" | "[" expr ("," expr)* "]"
 *   arg      = ((NAME | keyword) ":")? expr
 */
%define api.pure full
%define api.prefix {dlc_yy}
%define api.location.type {SrcLoc}
%define parse.error custom
%define parse.lac full
%locations
%param {void *scanner}
%parse-param {struct ParseState *ps}

%code requires {
#include "ast.h"
struct ParseState;
typedef struct { double value; } NumTok;
}

%code provides {
int dlc_yylex(DLC_YYSTYPE *lval, SrcLoc *lloc, void *scanner);
}

%code {
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lexstate.h"
#include "lexer.h"

struct ParseState {
  Arena *arena;
  Stmt *first, *last;
  unsigned char cell; /* the table cell just read */
};

static void add_cell(struct ParseState *ps, TableRow *r, SrcLoc loc) {
  if (r->n < (int)sizeof r->cell) r->cell[r->n] = ps->cell;
  else if (r->n == (int)sizeof r->cell) diag_error(loc, "a table row has at most %d cells", (int)sizeof r->cell);
  r->n++;
}

/* The rows, which must all have as many cells, as one matrix. */
static Table table_from_rows(struct ParseState *ps, const TableRow *rows) {
  Table t = {0, rows->n, NULL};
  for (const TableRow *r = rows; r; r = r->next) t.rows++;
  t.cell = ARENA_ARRAY(ps->arena, unsigned char, t.rows * t.cols);
  int i = 0;
  for (const TableRow *r = rows; r; r = r->next, i++) {
    if (r->n != t.cols) diag_error(r->loc, "this table row has %d cells, the first has %d", r->n, t.cols);
    else if (t.cols <= (int)sizeof r->cell) memcpy(t.cell + i * t.cols, r->cell, (size_t)t.cols);
  }
  return t;
}

#define YYLLOC_DEFAULT(Cur, Rhs, N) ((Cur) = (N) ? YYRHSLOC(Rhs, 1) : YYRHSLOC(Rhs, 0))
#define A (ps->arena)

static void add_stmt(struct ParseState *ps, Stmt *s) {
  if (ps->last) ps->last->next = s; else ps->first = s;
  ps->last = s;
}

static void dlc_yyerror(SrcLoc *loc, void *scanner, struct ParseState *ps, const char *msg) {
  (void)scanner; (void)ps;
  /* Bison's own stack limit is the only way to exhaust memory here: deep nesting. */
  if (strcmp(msg, "memory exhausted") == 0) msg = "expression nested too deeply";
  diag_error(*loc, "%s", msg);
}

/* Reports (once per expression tree) an expression deeper than MAX_EXPR_DEPTH. */
static Expr *bounded(Expr *e) {
  if (e->depth == MAX_EXPR_DEPTH + 1)
    diag_error(e->loc, "expression nested too deeply (more than %d levels); split it with names", MAX_EXPR_DEPTH);
  return e;
}

/* Lists (arguments, parameters, settings, table rows) are built in source order at a constant
 * cost per item, whatever their length: while a rule is still collecting, a list is a ring
 * held by its last item (whose next is the first); RING_OPEN makes it an ordinary
 * NULL-terminated list where a rule takes it whole. */
#define RING_ADD(last, item)             \
  do {                                   \
    if (last) {                          \
      (item)->next = (last)->next;       \
      (last)->next = (item);             \
    } else {                             \
      (item)->next = (item);             \
    }                                    \
    (last) = (item);                     \
  } while (0)
#define RING_OPEN(last)                              \
  ({                                                 \
    __typeof__(last) first_ = (last) ? (last)->next : NULL; \
    if (last) (last)->next = NULL;                   \
    first_;                                          \
  })

static int by_name(const void *a, const void *b) {
  const Ident *x = *(const Ident *const *)a, *y = *(const Ident *const *)b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->loc.line != y->loc.line ? x->loc.line - y->loc.line : x->loc.col - y->loc.col);
}

/* Reports each parameter named again after its first occurrence (sorted: n log n). */
static void check_params(struct ParseState *ps, const Ident *params) {
  int n = 0;
  for (const Ident *i = params; i; i = i->next) n++;
  const Ident **sorted = ARENA_ARRAY(ps->arena, const Ident *, n);
  n = 0;
  for (const Ident *i = params; i; i = i->next) sorted[n++] = i;
  qsort(sorted, (size_t)n, sizeof *sorted, by_name);
  for (int k = 1; k < n; k++)
    if (strcmp(sorted[k - 1]->name, sorted[k]->name) == 0)
      diag_error(sorted[k]->loc, "parameter '%s' appears twice", sorted[k]->name);
}

static int dim_value(SrcLoc loc, NumTok t) {
  if (!(t.value >= 1 && t.value <= 1e7) || t.value != (double)(long long)t.value) {
    diag_error(loc, "a dimension must be a whole number from 1 to 10000000, got %g", t.value);
    return 1;
  }
  return (int)t.value;
}
}

%union {
  NumTok num;
  const char *str;
  Expr *expr;
  Arg *arg;
  Ident *ident;
  Dims dims;
  Setting *setting;
  TableRow *row;
}

%token INPUT "'input'" TARGET "'target'" PARAM "'param'" DEF "'def'" TRAIN "'train'" TABLE "'table'"
%token <num> NUMBER "number"
%token <str> IDENT "name"
%token <str> STRING "string"
%token LEX_ERROR "invalid character"

%type <expr> expr primary
%type <str> keyword
%type <arg> args arg items
%type <ident> idents
%type <dims> dims dimlist
%type <setting> settings
%type <row> table_rows table_row cells

%left '+' '-'
%left '*' '/' '@'
%precedence UMINUS
%right '^'

%%

program
  : %empty
  | program stmt
  ;

stmt
  : INPUT IDENT ':' dims {
      Stmt *s = ast_stmt(A, S_INPUT, @1); s->name = $2; s->name_loc = @2; s->dims = $4; add_stmt(ps, s); }
  | TARGET IDENT ':' dims {
      Stmt *s = ast_stmt(A, S_TARGET, @1); s->name = $2; s->name_loc = @2; s->dims = $4; add_stmt(ps, s); }
  | TARGET IDENT ':' IDENT '(' NUMBER ')' {
      Stmt *s = ast_stmt(A, S_TARGET, @1); s->name = $2; s->name_loc = @2;
      if (strcmp($4, "onehot") != 0) diag_error(@4, "expected a shape [..] or onehot(N), got '%s'", $4);
      s->onehot = dim_value(@6, $6); s->onehot_loc = @4;
      s->dims.n = 1; s->dims.d[0] = s->onehot; s->dims.loc = @4;
      add_stmt(ps, s); }
  | PARAM IDENT ':' dims {
      Stmt *s = ast_stmt(A, S_PARAM, @1); s->name = $2; s->name_loc = @2; s->dims = $4; add_stmt(ps, s); }
  | PARAM IDENT ':' dims '=' expr {
      Stmt *s = ast_stmt(A, S_PARAM, @1); s->name = $2; s->name_loc = @2; s->dims = $4; s->init = $6;
      add_stmt(ps, s); }
  | DEF IDENT '(' ')' '=' expr {
      Stmt *s = ast_stmt(A, S_DEF, @1); s->name = $2; s->name_loc = @2; s->body = $6; add_stmt(ps, s); }
  | DEF IDENT '(' idents ')' '=' expr {
      Stmt *s = ast_stmt(A, S_DEF, @1); s->name = $2; s->name_loc = @2; s->params = RING_OPEN($4); s->body = $7;
      check_params(ps, s->params);
      add_stmt(ps, s); }
  | IDENT '=' expr {
      Stmt *s = ast_stmt(A, S_LET, @1); s->name = $1; s->name_loc = @1; s->body = $3; add_stmt(ps, s); }
  | TRAIN '{' settings '}' {
      Stmt *s = ast_stmt(A, S_TRAIN, @1); s->settings = RING_OPEN($3); add_stmt(ps, s); }
  | TABLE IDENT '=' '{' table_rows '}' {
      Stmt *s = ast_stmt(A, S_TABLE, @1); s->name = $2; s->name_loc = @2;
      s->table = table_from_rows(ps, RING_OPEN($5)); add_stmt(ps, s); }
  ;

table_rows
  : table_row { $$ = NULL; RING_ADD($$, $1); }
  | table_rows table_row { $$ = $1; RING_ADD($$, $2); }
  ;

table_row
  : '[' cells ']' { $$ = $2; $$->loc = @1; }
  ;

cells
  : cell_value { $$ = ARENA_NEW(A, TableRow); $$->cell[$$->n++] = ps->cell; }
  | cells cell_value { $$ = $1; add_cell(ps, $$, @2); }
  | cells ',' cell_value { $$ = $1; add_cell(ps, $$, @3); }
  ;

/* X or 1: connected; . or 0: not. */
cell_value
  : IDENT {
      ps->cell = 1;
      if (strcmp($1, "X") != 0 && strcmp($1, "x") != 0) diag_error(@1, "a table cell is X (connected) or . (not), got '%s'", $1); }
  | '.' { ps->cell = 0; }
  | NUMBER {
      ps->cell = $1.value != 0;
      if ($1.value != 0 && $1.value != 1) diag_error(@1, "a table cell is X or 1 (connected), . or 0 (not), got %g", $1.value); }
  ;

dims
  : '[' dimlist ']' { $$ = $2; $$.loc = @1; }
  ;

dimlist
  : NUMBER { $$.n = 1; $$.d[0] = dim_value(@1, $1); }
  | dimlist ',' NUMBER {
      $$ = $1;
      if ($$.n == 4) { diag_error(@3, "at most 4 dimensions are supported"); $$.n++; } /* once */
      else if ($$.n < 4) $$.d[$$.n++] = dim_value(@3, $3); }
  ;

idents
  : IDENT { Ident *i = ARENA_NEW(A, Ident); i->name = $1; i->loc = @1; $$ = NULL; RING_ADD($$, i); }
  | idents ',' IDENT {
      Ident *i = ARENA_NEW(A, Ident); i->name = $3; i->loc = @3; $$ = $1; RING_ADD($$, i); }
  ;

settings
  : %empty { $$ = NULL; }
  | settings ';' { $$ = $1; }
  | settings IDENT '=' expr {
      Setting *t = ARENA_NEW(A, Setting); t->key = $2; t->loc = @2; t->value = $4;
      $$ = $1; RING_ADD($$, t); }
  | settings IDENT '(' args ')' { /* normalize(mean: [...], std: [...]): a setting that is a call */
      Setting *t = ARENA_NEW(A, Setting); t->key = $2; t->loc = @2; t->call = true;
      t->value = bounded(ast_call(A, @2, $2, RING_OPEN($4))); $$ = $1; RING_ADD($$, t); }
  ;

expr
  : expr '+' expr { $$ = bounded(ast_binary(A, @2, '+', $1, $3)); }
  | expr '-' expr { $$ = bounded(ast_binary(A, @2, '-', $1, $3)); }
  | expr '*' expr { $$ = bounded(ast_binary(A, @2, '*', $1, $3)); }
  | expr '/' expr { $$ = bounded(ast_binary(A, @2, '/', $1, $3)); }
  | expr '@' expr { $$ = bounded(ast_binary(A, @2, '@', $1, $3)); }
  | expr '^' expr { $$ = bounded(ast_binary(A, @2, '^', $1, $3)); }
  | '-' expr %prec UMINUS { $$ = bounded(ast_neg(A, @1, $2)); }
  | primary
  ;

primary
  : NUMBER { $$ = ast_num(A, @1, $1.value); }
  | IDENT { $$ = ast_name(A, @1, $1); }
  | STRING { $$ = ast_str(A, @1, $1); }
  | IDENT '(' ')' { $$ = ast_call(A, @1, $1, NULL); }
  | IDENT '(' args ')' { $$ = bounded(ast_call(A, @1, $1, RING_OPEN($3))); }
  | '(' expr ')' { $$ = $2; }
  | '[' items ']' { $$ = bounded(ast_list(A, @1, RING_OPEN($2))); }
  ;

/* the items of a list: reshape(x, [4, 196]), permute(x, [2, 0, 1]) */
items
  : expr { Arg *i = ARENA_NEW(A, Arg); i->loc = $1->loc; i->value = $1; $$ = NULL; RING_ADD($$, i); }
  | items ',' expr {
      Arg *i = ARENA_NEW(A, Arg); i->loc = $3->loc; i->value = $3; $$ = $1; RING_ADD($$, i); }
  ;

args
  : arg { $$ = NULL; RING_ADD($$, $1); }
  | args ',' arg { $$ = $1; RING_ADD($$, $3); }
  ;

arg
  : expr { $$ = ARENA_NEW(A, Arg); $$->loc = $1->loc; $$->value = $1; }
  | IDENT ':' expr { $$ = ARENA_NEW(A, Arg); $$->label = $1; $$->loc = @1; $$->value = $3; }
  | keyword ':' expr { $$ = ARENA_NEW(A, Arg); $$->label = $1; $$->loc = @1; $$->value = $3; }
  ;

/* A keyword names an argument as well as any name does: idx(train: "images", ...). */
keyword
  : INPUT { $$ = "input"; } | TARGET { $$ = "target"; } | PARAM { $$ = "param"; }
  | DEF { $$ = "def"; } | TRAIN { $$ = "train"; } | TABLE { $$ = "table"; }
  ;

%%

/* "unexpected ')', expected a number, a name, '(' or '-'" — the expected set comes straight
 * from the parser tables, so it is always exactly what the grammar would accept there. */
static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, struct ParseState *ps) {
  (void)scanner;
  yysymbol_kind_t got = yypcontext_token(ctx);
  (void)ps;
  if (got == YYSYMBOL_LEX_ERROR) return 0; /* the scanner has reported it */
  yysymbol_kind_t expected[YYNTOKENS];
  int n = yypcontext_expected_tokens(ctx, expected, YYNTOKENS);
  char msg[1024];
  int k = snprintf(msg, sizeof msg, "unexpected %s", yysymbol_name(got));
  if (n > 0) {
    k += snprintf(msg + k, sizeof msg - (size_t)k, ", expected ");
    for (int i = 0; i < n && k < (int)sizeof msg; i++)
      k += snprintf(msg + k, sizeof msg - (size_t)k, "%s%s",
                    i == 0 ? "" : i == n - 1 ? " or " : ", ", yysymbol_name(expected[i]));
  }
  diag_error(*yypcontext_location(ctx), "%s", msg);
  return 0;
}

const char *lex_string(struct LexState *s, SrcLoc loc, const char *text, size_t len) {
  char *out = arena_alloc(s->arena, len), *o = out; /* (the quotes make room for the NUL) */
  for (size_t i = 1; i + 1 < len; i++) {
    unsigned char c = (unsigned char)text[i];
    SrcLoc at = loc;
    at.col += (int)i;
    if (c == '\\') {
      c = (unsigned char)text[++i];
      if (c != '"' && c != '\\') {
        diag_error(at, "unknown escape '\\%c' in a string (only \\\" and \\\\ are escapes; write a backslash as \\\\)",
                   c >= 0x20 && c < 0x7f ? c : '?');
        return NULL;
      }
    } else if (c < 0x20 || c == 0x7f) {
      diag_error(at, "a string cannot hold the control character 0x%02x", c);
      return NULL;
    }
    *o++ = (char)c;
  }
  *o = 0;
  return out;
}

void lex_unterminated(struct LexState *s, SrcLoc loc) {
  (void)s;
  diag_error(loc, "unterminated string: a string ends with '\"' on the line it starts");
}

void lex_bad_char(struct LexState *s, SrcLoc loc, unsigned char c) {
  (void)s;
  if (c >= 0x20 && c < 0x7f)
    diag_error(loc, "unexpected character '%c'", c);
  else
    diag_error(loc, "unexpected byte 0x%02x (only ASCII is allowed outside comments)", c);
}

Program *parse_program(const SrcFile *file, Arena *arena) {
  struct LexState ls = {file, arena, 1, 1, 1, 1};
  yyscan_t scanner;
  if (dlc_yylex_init_extra(&ls, &scanner)) dlc_fatal("cannot create the scanner");
  YY_BUFFER_STATE buf = dlc_yy_scan_bytes(file->text, file->len, scanner);
  struct ParseState ps = {arena, NULL, NULL, 0};
  int errors_before = diag_error_count();
  int rc = dlc_yyparse(scanner, &ps);
  dlc_yy_delete_buffer(buf, scanner);
  dlc_yylex_destroy(scanner);
  if (rc != 0 || diag_error_count() != errors_before) return NULL;
  Program *p = ARENA_NEW(arena, Program);
  p->file = file;
  p->stmts = ps.first;
  return p;
}
