/* ast.h — the syntax tree of a .net file, as the parser builds it (no names resolved, no
 * shapes). Lists are singly linked in source order. Everything lives in one arena. */
#ifndef DLC_AST_H
#define DLC_AST_H
#include "arena.h"
#include "diag.h"

typedef enum ExprKind { E_NUM, E_NAME, E_NEG, E_BINARY, E_CALL, E_LIST, E_STR } ExprKind;

typedef struct Expr Expr;
typedef struct Arg Arg;

struct Arg {
  const char *label; /* `name: value`, or NULL for a positional argument */
  SrcLoc loc;
  Expr *value;
  Arg *next;
};

struct Expr {
  ExprKind kind;
  SrcLoc loc;
  double num;       /* E_NUM */
  const char *name; /* E_NAME, E_CALL; E_STR: the string's value (escapes undone) */
  char op;          /* E_BINARY: one of + - * / @ ^ */
  Expr *lhs, *rhs;  /* E_BINARY; E_NEG uses lhs */
  Arg *args;        /* E_CALL; E_LIST: the items (no labels) */
  int depth;        /* 1 + the deepest sub-expression: the parser bounds it (MAX_EXPR_DEPTH) */
};

/* Deeper expressions are rejected, so that every later recursive walk has a bounded stack. */
enum { MAX_EXPR_DEPTH = 256 };

typedef struct Ident {
  const char *name;
  SrcLoc loc;
  struct Ident *next;
} Ident;

typedef struct Dims {
  int n;
  int d[8];  /* the parser rejects more than MAX dims with a located error */
  SrcLoc loc;
} Dims;

typedef struct Setting {
  const char *key;
  SrcLoc loc;
  Expr *value;      /* `key = value`; or the call itself, written `key(args)` (call set) */
  bool call;
  struct Setting *next;
} Setting;

/* A connection table: rows x cols cells, 1 where connected (written X), 0 where not (.). */
typedef struct Table {
  int rows, cols;
  unsigned char *cell; /* row-major */
} Table;

/* One row of a table as the parser collects it. */
typedef struct TableRow {
  int n;
  unsigned char cell[256];
  SrcLoc loc;
  struct TableRow *next;
} TableRow;

typedef enum StmtKind { S_INPUT, S_TARGET, S_PARAM, S_DEF, S_LET, S_TRAIN, S_TABLE } StmtKind;

typedef struct Stmt {
  StmtKind kind;
  SrcLoc loc;       /* the statement's first token */
  const char *name; /* declared or bound name; NULL for S_TRAIN */
  SrcLoc name_loc;
  Dims dims;        /* S_INPUT, S_TARGET, S_PARAM */
  int onehot;       /* S_TARGET written as onehot(N): N; else 0 */
  SrcLoc onehot_loc;
  Expr *init;       /* S_PARAM initialiser, or NULL */
  Ident *params;    /* S_DEF */
  Expr *body;       /* S_DEF, S_LET */
  Setting *settings;/* S_TRAIN */
  Table table;      /* S_TABLE */
  struct Stmt *next;
} Stmt;

typedef struct Program {
  const SrcFile *file;
  Stmt *stmts;
} Program;

/* Parses a whole file. Reports syntax errors through diag and returns NULL on any. */
Program *parse_program(const SrcFile *file, Arena *arena);

/* Constructors used by the parser. */
Expr *ast_num(Arena *a, SrcLoc loc, double v);
Expr *ast_name(Arena *a, SrcLoc loc, const char *name);
Expr *ast_neg(Arena *a, SrcLoc loc, Expr *e);
Expr *ast_binary(Arena *a, SrcLoc loc, char op, Expr *l, Expr *r);
Expr *ast_call(Arena *a, SrcLoc loc, const char *name, Arg *args);
Expr *ast_list(Arena *a, SrcLoc loc, Arg *items); /* [a, b, ...] */
Expr *ast_str(Arena *a, SrcLoc loc, const char *value); /* "..." */
Stmt *ast_stmt(Arena *a, StmtKind kind, SrcLoc loc);

/* Prints the tree in a compact s-expression form (the parser's tests). */
void ast_dump(const Program *p, FILE *out);
void ast_dump_expr(const Expr *e, FILE *out);
#endif
