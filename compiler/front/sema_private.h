/* sema_private.h — what the parts of semantic analysis share: values, scopes, the state of
 * one analysis, and call arguments. sema.c walks statements and expressions; args.c checks
 * call arguments and initialisers; builtins.c holds the built-in functions and layers,
 * builtins_axes.c those on a tensor's axes; train.c and train_data.c read the train block;
 * lint.c finds what deserves a warning. */
#ifndef DLC_SEMA_PRIVATE_H
#define DLC_SEMA_PRIVATE_H
#include "sema.h"

typedef enum ValueKind { V_ERROR, V_NODE, V_NUM, V_FUNC, V_TABLE, V_LIST } ValueKind;

typedef struct Value {
  ValueKind kind;
  Node *node;
  double num;
  const Stmt *def;     /* V_FUNC: the def; V_TABLE: the table */
  const double *items; /* V_LIST: the numbers of [a, b, ...] (in the graph's arena) */
  int n_items;
} Value;

typedef struct Binding {
  const char *name;
  Value value;
  SrcLoc loc;
  bool used;       /* its name was read (lint.c warns about global names nothing reads) */
  struct Binding *next;
} Binding;

/* The global names (tables, values, functions) as an open-addressing hash table: a file of a
 * million statements is analysed in linear time. Local names (a user function's parameters)
 * are a short list searched first. */
typedef struct Globals {
  Binding **slot; /* cap entries, NULL where free; malloc'd for the length of one analysis */
  int cap, len;
  Binding *first, *last; /* the same bindings in definition order, through Binding.next */
} Globals;

/* The names layers have given their parameters and state ("c1.W", "h.running_mean"): a hash
 * set, so that naming stays linear however many layers a file has. */
typedef struct Names {
  const char **slot;
  int cap, len;
} Names;

typedef struct Sema {
  Graph *g;
  Arena *arena;        /* the graph's arena: bindings live as long as the graph */
  const Stmt *stmt;    /* the top-level statement being analysed (names defined after it
                          are not defined yet) */
  Globals globals;
  Names leaf_names;    /* the names layers gave their PARAM and STATE leaves */
  const CallSite *site; /* the user-function call being expanded, or NULL */
  int depth;           /* user-function expansion depth (guards against recursion) */
  int eval_depth;      /* nesting of eval() calls, across user functions (bounds the stack) */
  bool expansion_stopped; /* a limit was hit: further calls are not expanded (no error storms) */
  int calls;              /* user-function calls expanded so far */
  const char *naming;  /* the let-name being defined: prefix of layer parameters */
  SemaResult *res;
} Sema;

/* Limits that keep analysis finite and its stack bounded: user-function calls nest at most
 * MAX_CALL_DEPTH deep, eval() at most MAX_EVAL_DEPTH (expressions are at most MAX_EXPR_DEPTH
 * deep, but user functions stack them), and a program expands to at most MAX_NODES nodes and
 * MAX_CALLS calls of user functions (a call that errs makes no node, and a function calling
 * another twice, thirty deep, is a billion calls). */
enum { MAX_CALL_DEPTH = 64, MAX_EVAL_DEPTH = 2048, MAX_NODES = 200000, MAX_CALLS = 1000000 };

static const Value ERR = {.kind = V_ERROR};

static inline Value node_value(Node *n) { return (Value){.kind = V_NODE, .node = n}; }
static inline Value num_value(double v) { return (Value){.kind = V_NUM, .num = v}; }

/* A call's arguments: positional ones evaluated, named ones left as expressions. */
typedef struct CallArgs {
  const Expr *call;
  Value pos[8];
  SrcLoc pos_loc[8];
  int n_pos;
  const Arg *named; /* labelled arguments, looked up by name */
} CallArgs;


/* ---- sema.c ---- */

/* A global name (tables, values, functions), or NULL. Marks it used. */
Binding *sema_lookup(Sema *s, const char *name);
/* The same, without counting it as a use (for the warnings). */
Binding *sema_global(Sema *s, const char *name);
/* Whether a layer has named a leaf `name`; and taking a name. */
bool sema_name_taken(const Sema *s, const char *name);
void sema_take_name(Sema *s, const char *name);

/* ---- args.c ---- */

/* A value as a tensor: numbers become scalar constants; NULL for errors, functions and (after
 * reporting) a number no float holds. */
Node *as_node(Sema *s, Value v, SrcLoc loc);
/* The shape of n as the user writes it (for messages). */
const char *describe(const Node *n, char *buf, int len);
/* The argument `label: value` of a call, or NULL. */
const Arg *named_arg_of(const Expr *call, const char *label);
/* Reports a named argument not in `allowed` (NULL-terminated), or given twice. */
bool check_labels(const Expr *call, const char *const *allowed);
/* The number given as `label: value` (or as positional argument `pos`, if pos >= 0), or def. */
bool number_arg(const Expr *call, const char *label, int pos, double def, double *out);
/* A named number `label: v` in a range (lo < v if lo_open, else lo <= v; v <= hi), def if
 * absent; false after reporting at the argument, "'eps' of 'batchnorm' must be RANGE, got 0". */
bool number_in(const Expr *call, const char *label, double def, double lo, bool lo_open, double hi, const char *range,
               double *out);
/* An initialiser expression (zeros, he, normal(0, 0.1), ...). */
bool parse_init(const Expr *e, DlrtInit *init);
/* Reports and returns false unless the call has `want` positional arguments. */
bool arity(const CallArgs *a, int want);
/* The positional argument i as a tensor, or NULL after reporting why not. */
Node *tensor_arg(Sema *s, const CallArgs *a, int i);
/* A whole-number positional argument in [lo, hi], or -1 after reporting. */
int int_arg(const CallArgs *a, int i, int lo, int hi, const char *what);
/* A list argument [a, b, ...] of whole numbers in [lo, hi] (at most MAX_RANK of them): how
 * many, or -1 after reporting. */
int int_list_arg(const CallArgs *a, int i, int lo, int hi, int *out, const char *what);
/* A whole-number named argument `label: v` in [lo, hi], def if absent; false after reporting. */
bool int_named(const CallArgs *a, const char *label, int def, int lo, int hi, int *out);

/* ---- builtins.c ---- */

typedef struct Builtin {
  const char *name;
  DlcOp op; /* an elementwise or row op applied to one argument; OP_COUNT: use build */
  Node *(*build)(Sema *s, const CallArgs *a);
  const char *const *named; /* accepted named arguments, NULL-terminated */
} Builtin;
const Builtin *builtin_find(const char *name);
/* The name of built-in function i (from 0: the table, then the ops flagged CALL), or NULL
 * past the last: every name builtin_find knows. */
const char *builtin_name(int i);
/* An op flagged CALL in ops.def applied to the call's arguments. */
Node *builtin_op(Sema *s, const CallArgs *a, DlcOp op);

/* ---- builtins_axes.c ---- */

Node *builtin_sum(Sema *s, const CallArgs *a);
Node *builtin_mean(Sema *s, const CallArgs *a);
Node *builtin_max(Sema *s, const CallArgs *a);
Node *builtin_min(Sema *s, const CallArgs *a);
Node *builtin_global_avgpool(Sema *s, const CallArgs *a);
Node *builtin_reshape(Sema *s, const CallArgs *a);
Node *builtin_transpose(Sema *s, const CallArgs *a);
Node *builtin_permute(Sema *s, const CallArgs *a);
Node *builtin_concat(Sema *s, const CallArgs *a);
Node *builtin_slice(Sema *s, const CallArgs *a);

/* ---- train.c, train_data.c ---- */

/* Reads a train block into ts; lists and resolved paths go to the arena a. */
void train_block(const Stmt *st, Arena *a, TrainSettings *ts);
void data_setting(const Setting *t, Arena *a, TrainSettings *ts);
void classes_setting(const Setting *t, Arena *a, TrainSettings *ts);
void normalize_setting(const Setting *t, Arena *a, TrainSettings *ts);

/* ---- lint.c: warnings ---- */

/* After a built-in call made its node: a softmax fed to cross_entropy, a bias that the
 * batchnorm after it cancels. */
void lint_call(Sema *s, const Expr *call, const CallArgs *a);
/* After the whole program, if it has no errors: global names that nothing uses, values and
 * parameters that neither `loss` nor `out` depends on, def parameters their body ignores. */
void lint_unused(Sema *s);
#endif
