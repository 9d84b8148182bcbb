/* ast.c — AST constructors and the s-expression dump. */
#include "ast.h"
#include <stdio.h>

static Expr *expr(Arena *a, ExprKind k, SrcLoc loc) {
  Expr *e = ARENA_NEW(a, Expr);
  e->kind = k;
  e->loc = loc;
  e->depth = 1;
  return e;
}

static int deeper(int depth, const Expr *sub) { return sub && sub->depth + 1 > depth ? sub->depth + 1 : depth; }

Expr *ast_num(Arena *a, SrcLoc loc, double v) {
  Expr *e = expr(a, E_NUM, loc);
  e->num = v;
  return e;
}

Expr *ast_name(Arena *a, SrcLoc loc, const char *name) {
  Expr *e = expr(a, E_NAME, loc);
  e->name = name;
  return e;
}

Expr *ast_neg(Arena *a, SrcLoc loc, Expr *x) {
  Expr *e = expr(a, E_NEG, loc);
  e->lhs = x;
  e->depth = deeper(e->depth, x);
  return e;
}

Expr *ast_binary(Arena *a, SrcLoc loc, char op, Expr *l, Expr *r) {
  Expr *e = expr(a, E_BINARY, loc);
  e->op = op;
  e->lhs = l;
  e->rhs = r;
  e->depth = deeper(deeper(e->depth, l), r);
  return e;
}

Expr *ast_call(Arena *a, SrcLoc loc, const char *name, Arg *args) {
  Expr *e = expr(a, E_CALL, loc);
  e->name = name;
  e->args = args;
  for (const Arg *a = args; a; a = a->next) e->depth = deeper(e->depth, a->value);
  return e;
}

Expr *ast_list(Arena *a, SrcLoc loc, Arg *items) {
  Expr *e = ast_call(a, loc, NULL, items);
  e->kind = E_LIST;
  return e;
}

Expr *ast_str(Arena *a, SrcLoc loc, const char *value) {
  Expr *e = expr(a, E_STR, loc);
  e->name = value;
  return e;
}

Stmt *ast_stmt(Arena *a, StmtKind kind, SrcLoc loc) {
  Stmt *s = ARENA_NEW(a, Stmt);
  s->kind = kind;
  s->loc = loc;
  return s;
}

void ast_dump_expr(const Expr *e, FILE *o) {
  switch (e->kind) {
  case E_NUM: fprintf(o, "%g", e->num); break;
  case E_NAME: fputs(e->name, o); break;
  case E_NEG: fputs("(neg ", o); ast_dump_expr(e->lhs, o); fputc(')', o); break;
  case E_BINARY:
    fprintf(o, "(%c ", e->op);
    ast_dump_expr(e->lhs, o);
    fputc(' ', o);
    ast_dump_expr(e->rhs, o);
    fputc(')', o);
    break;
  case E_CALL:
    fprintf(o, "(%s", e->name);
    for (const Arg *a = e->args; a; a = a->next) {
      fputc(' ', o);
      if (a->label) fprintf(o, "%s:", a->label);
      ast_dump_expr(a->value, o);
    }
    fputc(')', o);
    break;
  case E_STR:
    fputc('"', o);
    for (const char *c = e->name; *c; c++) fprintf(o, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
    fputc('"', o);
    break;
  case E_LIST:
    fputc('[', o);
    for (const Arg *a = e->args; a; a = a->next) {
      if (a != e->args) fputc(' ', o);
      ast_dump_expr(a->value, o);
    }
    fputc(']', o);
    break;
  }
}

static void dump_dims(const Dims *d, FILE *o) {
  fputc('[', o);
  for (int i = 0; i < d->n; i++) fprintf(o, i ? " %d" : "%d", d->d[i]);
  fputc(']', o);
}

void ast_dump(const Program *p, FILE *o) {
  static const char *kw[] = {"input", "target", "param", "def", "let", "train", "table"};
  for (const Stmt *s = p->stmts; s; s = s->next) {
    fprintf(o, "(%s", kw[s->kind]);
    if (s->name) fprintf(o, " %s", s->name);
    switch (s->kind) {
    case S_INPUT: case S_PARAM: fputc(' ', o); dump_dims(&s->dims, o); break;
    case S_TARGET:
      if (s->onehot) fprintf(o, " (onehot %d)", s->onehot);
      else { fputc(' ', o); dump_dims(&s->dims, o); }
      break;
    case S_DEF:
      fputs(" (", o);
      for (const Ident *i = s->params; i; i = i->next) fprintf(o, i == s->params ? "%s" : " %s", i->name);
      fputc(')', o);
      break;
    case S_TABLE:
      for (int r = 0; r < s->table.rows; r++) {
        fputs(" [", o);
        for (int c = 0; c < s->table.cols; c++) fputc(s->table.cell[r * s->table.cols + c] ? 'X' : '.', o);
        fputc(']', o);
      }
      break;
    default: break;
    }
    if (s->init) { fputc(' ', o); ast_dump_expr(s->init, o); }
    if (s->body) { fputc(' ', o); ast_dump_expr(s->body, o); }
    for (const Setting *t = s->settings; t; t = t->next) {
      fprintf(o, " (%s ", t->key);
      ast_dump_expr(t->value, o);
      fputc(')', o);
    }
    fputs(")\n", o);
  }
}
