/* check_parse.c — the front end's lexer and parser: the AST they build (checked through the
 * exact s-expressions of ast_dump and the recorded source locations), syntax error messages
 * with their caret lines, and the expected-token lists. check_sema.c has semantic analysis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "front_helpers.h"

/* ---- helpers ---- */

/* Parses text that must be valid and checks its dump. */
static void expect_dump(const char *text, const char *dump) {
  Parse p = parse_text(text);
  ck_assert_msg(p.prog, "parse failed for <<%s>>:\n%s", text, p.diags);
  ck_assert_str_eq(p.dump, dump);
  ck_assert_str_eq(p.diags, "");
  parse_free(&p);
}

/* Parses text that must be rejected and checks the whole diagnostic output. */
static void expect_syntax_error(const char *text, const char *diags) {
  Parse p = parse_text(text);
  ck_assert_msg(!p.prog, "<<%s>> parsed", text);
  ck_assert_str_eq(p.diags, diags);
  ck_assert_int_eq(p.errors, 1);
  parse_free(&p);
}

#define ck_assert_loc(loc, l, c)                                                              \
  do {                                                                                        \
    SrcLoc loc_ = (loc);                                                                      \
    ck_assert_msg(loc_.line == (l) && loc_.col == (c), "%s is %d:%d, expected %d:%d", #loc, \
                  loc_.line, loc_.col, (l), (c));                                             \
  } while (0)

/* ---- statements ---- */

START_TEST(input_and_target_statements) {
  expect_dump("input x : [784]\ntarget y : onehot(10)\n", "(input x [784])\n(target y (onehot 10))\n");
  expect_dump("input img : [28, 28]\ntarget t : [2, 3, 4]\n", "(input img [28 28])\n(target t [2 3 4])\n");
  Parse p = parse_text("target y : onehot(10)");
  const Stmt *s = p.prog->stmts;
  ck_assert_int_eq(s->kind, S_TARGET);
  ck_assert_int_eq(s->onehot, 10);
  /* onehot(N) is also stored as the shape [N] */
  ck_assert_int_eq(s->dims.n, 1);
  ck_assert_int_eq(s->dims.d[0], 10);
  parse_free(&p);
}
END_TEST

START_TEST(four_dims_are_the_maximum) {
  expect_dump("input x : [1, 2, 3, 4]", "(input x [1 2 3 4])\n");
}
END_TEST

START_TEST(param_with_and_without_init) {
  expect_dump("param W : [100, 784] = lecun\nparam b : [100]\nparam V : [3, 4] = normal(0, 0.01)\n",
              "(param W [100 784] lecun)\n(param b [100])\n(param V [3 4] (normal 0 0.01))\n");
  Parse p = parse_text("param b : [100]");
  ck_assert_ptr_null(p.prog->stmts->init);
  parse_free(&p);
}
END_TEST

START_TEST(def_with_zero_and_two_params) {
  expect_dump("def one() = 1\ndef mul(a, b) = a * b\n", "(def one () 1)\n(def mul (a b) (* a b))\n");
  Parse p = parse_text("def mul(a, b) = a * b");
  const Ident *i = p.prog->stmts->params;
  ck_assert_str_eq(i->name, "a");
  ck_assert_str_eq(i->next->name, "b");
  ck_assert_ptr_null(i->next->next);
  ck_assert_loc(i->next->loc, 1, 12);
  parse_free(&p);
}
END_TEST

START_TEST(let_statement) {
  expect_dump("h = sigmoid(W1 @ x + b1)\n", "(let h (sigmoid (+ (@ W1 x) b1)))\n");
  /* names that start with a keyword are names, not keywords */
  expect_dump("inputs = input_x + trainer + define + params\n",
              "(let inputs (+ (+ (+ input_x trainer) define) params))\n");
}
END_TEST

START_TEST(train_block_separators) {
  /* `;` and newlines both separate settings; stray `;` are allowed; the block may be empty */
  expect_dump("train { data = mnist; lr = 0.1\n batch = 32 ;; }\ntrain {}\ntrain {\n  epochs = 2\n  seed = 3\n}\n",
              "(train (data mnist) (lr 0.1) (batch 32))\n(train)\n(train (epochs 2) (seed 3))\n");
  /* settings need no separator at all: statements are self-delimiting */
  expect_dump("train { lr = 0.1 batch = 2 }", "(train (lr 0.1) (batch 2))\n");
  expect_dump("train { optimizer = sgd(lr: 1, momentum: 0.9) }",
              "(train (optimizer (sgd lr:1 momentum:0.9)))\n");
}
END_TEST

/* Strings: their escapes undone, UTF-8 kept; a keyword names an argument; a setting may be a
 * call (normalize). */
START_TEST(strings_and_setting_calls) {
  expect_dump("train { data = idx(train: \"a\\\"b\", labels: \"c\\\\d \xc3\xa9\"); normalize(mean: [0.5], std: [0.25]) }",
              "(train (data (idx train:\"a\\\"b\" labels:\"c\\\\d \xc3\xa9\")) (normalize (normalize mean:[0.5] std:[0.25])))\n");
  expect_dump("train { classes = [\"T-shirt/top\", \"\"] }", "(train (classes [\"T-shirt/top\" \"\"]))\n");
  /* the settings record the values, and resolve relative paths from the file's directory */
  Analysed a = analyse(HEADER "out = dense(x, 10)\nloss = cross_entropy(out, y)\n"
                              "train { data = npy(x: \"x.npy\", y: \"/abs/y.npy\", holdout: 0.1); classes = [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\", \"j\"]\n"
                              "normalize(mean: [0.5], std: [0.25]) }\n");
  ck_assert_msg(a.ok, "%s", a.diags);
  const TrainSettings *t = &a.res.train;
  ck_assert_int_eq(t->data.kind, DATA_NPY);
  ck_assert_str_eq(t->data.train, "x.npy"); /* (t.net has no directory) */
  ck_assert_str_eq(t->data.train_labels, "/abs/y.npy");
  ck_assert_ptr_null(t->data.test);
  ck_assert_double_eq(t->data.holdout, 0.1);
  ck_assert_int_eq(t->n_classes, 10);
  ck_assert_str_eq(t->classes[9], "j");
  ck_assert_int_eq(t->n_norm, 1);
  ck_assert_float_eq(t->mean[0], 0.5f);
  ck_assert_float_eq(t->std[0], 0.25f);
  analysed_free(&a);
}
END_TEST

START_TEST(string_errors) {
  expect_syntax_error("train { data = npy(x: \"x.npy) }\n",
                      "t.net:1:23: error: unterminated string: a string ends with '\"' on the line it starts\n"
                      "  train { data = npy(x: \"x.npy) }\n"
                      "                        ^\n");
  expect_syntax_error("train { data = images(\"a\\tb\") }\n",
                      "t.net:1:25: error: unknown escape '\\t' in a string (only \\\" and \\\\ are escapes; write a "
                      "backslash as \\\\)\n"
                      "  train { data = images(\"a\\tb\") }\n"
                      "                          ^\n");
  expect_syntax_error("train { classes = [\"a\tb\"] }\n",
                      "t.net:1:22: error: a string cannot hold the control character 0x09\n"
                      "  train { classes = [\"a\tb\"] }\n"
                      "                       ^\n");
}
END_TEST

START_TEST(empty_program) {
  Parse p = parse_text("");
  ck_assert_ptr_nonnull(p.prog);
  ck_assert_ptr_null(p.prog->stmts);
  ck_assert_str_eq(p.dump, "");
  parse_free(&p);
  expect_dump("# nothing but a comment\n\n   \n", "");
}
END_TEST

/* ---- expressions ---- */

START_TEST(precedence_and_associativity) {
  expect_dump("r = a + b * c", "(let r (+ a (* b c)))\n");
  expect_dump("r = a * b + c", "(let r (+ (* a b) c))\n");
  expect_dump("r = a - b - c", "(let r (- (- a b) c))\n");
  expect_dump("r = a / b / c", "(let r (/ (/ a b) c))\n");
  expect_dump("r = a ^ b ^ c", "(let r (^ a (^ b c)))\n");  /* right-associative */
  expect_dump("r = -a ^ 2", "(let r (neg (^ a 2)))\n");      /* ^ binds tighter than unary - */
  expect_dump("r = a @ b + c", "(let r (+ (@ a b) c))\n");    /* @ is multiplicative */
  expect_dump("r = a * b @ c", "(let r (@ (* a b) c))\n");    /* ... and left-associative with * */
  expect_dump("r = (a + b) * c", "(let r (* (+ a b) c))\n");
  expect_dump("r = a - (b - c)", "(let r (- a (- b c)))\n");
  expect_dump("r = (a ^ b) ^ c", "(let r (^ (^ a b) c))\n");
}
END_TEST

START_TEST(unary_minus) {
  expect_dump("r = - - a", "(let r (neg (neg a)))\n");
  expect_dump("r = a * -b", "(let r (* a (neg b)))\n");
  expect_dump("r = a - -b", "(let r (- a (neg b)))\n");
  /* -1 is complete before `*` (unary minus binds tighter than *), then ^ before * */
  expect_dump("r = 2 ^ -1 * 3", "(let r (* (^ 2 (neg 1)) 3))\n");
  expect_dump("r = -a * b", "(let r (* (neg a) b))\n");
}
END_TEST

START_TEST(calls_with_positional_and_named_args) {
  expect_dump("r = f()", "(let r (f))\n");
  expect_dump("r = f(x, 2)", "(let r (f x 2))\n");
  expect_dump("r = dense(x, 10, init: normal(mean: 0, std: 0.1))",
              "(let r (dense x 10 init:(normal mean:0 std:0.1)))\n");
  /* the parser accepts any order; sema rejects a positional after a named argument */
  expect_dump("r = f(a: 1, 2)", "(let r (f a:1 2))\n");
  expect_dump("r = f(g(h(x)), y + 1)", "(let r (f (g (h x)) (+ y 1)))\n");
  Parse p = parse_text("r = f(x, k: 2)");
  const Arg *a = p.prog->stmts->body->args;
  ck_assert_ptr_null(a->label);
  ck_assert_str_eq(a->next->label, "k");
  ck_assert_loc(a->loc, 1, 7);       /* a positional argument is located at its value */
  ck_assert_loc(a->next->loc, 1, 10); /* a named one at its label */
  ck_assert_loc(a->next->value->loc, 1, 13);
  parse_free(&p);
}
END_TEST

START_TEST(numbers) {
  expect_dump("r = 1 + 1.5 + .5 + 1e-3 + 2E+2 + 3. + 0.1e5",
              "(let r (+ (+ (+ (+ (+ (+ 1 1.5) 0.5) 0.001) 200) 3) 10000))\n");
  /* the values, not just their printed forms */
  static const struct { const char *text; double v; } cases[] = {
      {"r = 1", 1}, {"r = 1.5", 1.5}, {"r = .5", 0.5}, {"r = 1e-3", 1e-3}, {"r = 2E+2", 200}, {"r = 007", 7},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    Parse p = parse_text(cases[i].text);
    ck_assert_ptr_nonnull(p.prog);
    ck_assert_int_eq(p.prog->stmts->body->kind, E_NUM);
    ck_assert_double_eq(p.prog->stmts->body->num, cases[i].v);
    parse_free(&p);
  }
}
END_TEST

START_TEST(comments) {
  expect_dump("# heading\ninput x : [784] # trailing\n#\nh = x # ( unbalanced ) [ tokens ]\n# last line, no newline",
              "(input x [784])\n(let h x)\n");
  /* a comment may hold any bytes, including non-ASCII ones */
  expect_dump("h = x # \xc3\xa9t\xc3\xa9\n", "(let h x)\n");
}
END_TEST

START_TEST(crlf_and_bom) {
  const char *lf = "input x : [784]\n# c\nh = a +\n  b\n";
  const char *crlf = "\xEF\xBB\xBFinput x : [784]\r\n# c\r\nh = a +\r\n  b\r\n";
  Parse p = parse_text(lf), q = parse_text(crlf);
  ck_assert_ptr_nonnull(q.prog);
  ck_assert_str_eq(q.dump, p.dump);
  ck_assert_int_eq(q.file->len, (int)strlen(crlf) - 3); /* the BOM is stripped by srcfile */
  const Stmt *in = q.prog->stmts, *h = in->next;
  ck_assert_loc(in->loc, 1, 1); /* the BOM is not a column */
  ck_assert_loc(in->name_loc, 1, 7);
  ck_assert_loc(h->loc, 3, 1);  /* after a CRLF the next line starts at column 1 */
  ck_assert_loc(h->body->loc, 3, 7);
  ck_assert_loc(h->body->rhs->loc, 4, 3);
  parse_free(&p);
  parse_free(&q);
  /* a CR alone is whitespace, also at the end of the file */
  expect_dump("x = 1\r", "(let x 1)\n");
}
END_TEST

/* ---- locations ---- */

START_TEST(statement_and_name_locations) {
  Parse p = parse_text("input x : [784]\n  target  y : onehot(10)\nparam W : [10, 784] = lecun\n"
                       "def f(a) = a\nh = x\ntrain { lr = 0.1 }\n");
  const Stmt *s = p.prog->stmts;
  ck_assert_loc(s->loc, 1, 1);
  ck_assert_loc(s->name_loc, 1, 7);
  ck_assert_loc(s->dims.loc, 1, 11); /* the '[' */
  s = s->next;
  ck_assert_loc(s->loc, 2, 3);
  ck_assert_loc(s->name_loc, 2, 11);
  ck_assert_loc(s->onehot_loc, 2, 15);
  s = s->next;
  ck_assert_loc(s->loc, 3, 1);
  ck_assert_loc(s->name_loc, 3, 7);
  ck_assert_loc(s->init->loc, 3, 23);
  s = s->next;
  ck_assert_loc(s->loc, 4, 1); /* a def is located at `def` */
  ck_assert_loc(s->name_loc, 4, 5);
  s = s->next;
  ck_assert_loc(s->loc, 5, 1); /* a let at its name */
  ck_assert_loc(s->name_loc, 5, 1);
  s = s->next;
  ck_assert_loc(s->loc, 6, 1);
  ck_assert_loc(s->settings->loc, 6, 9); /* a setting at its key */
  ck_assert_loc(s->settings->value->loc, 6, 14);
  parse_free(&p);
}
END_TEST

START_TEST(expression_locations) {
  /*          123456789012345678901234567890 */
  Parse p = parse_text("out = sigmoid(W @ x + b) * -(c)\n");
  const Expr *mul = p.prog->stmts->body;
  ck_assert_int_eq(mul->kind, E_BINARY);
  ck_assert_loc(mul->loc, 1, 26); /* a binary op is located at its operator */
  const Expr *call = mul->lhs;
  ck_assert_loc(call->loc, 1, 7); /* a call at its name */
  const Expr *add = call->args->value;
  ck_assert_loc(add->loc, 1, 21);
  ck_assert_loc(add->lhs->loc, 1, 17); /* the @ */
  ck_assert_loc(add->lhs->lhs->loc, 1, 15);
  ck_assert_loc(add->rhs->loc, 1, 23);
  const Expr *neg = mul->rhs;
  ck_assert_int_eq(neg->kind, E_NEG);
  ck_assert_loc(neg->loc, 1, 28);
  ck_assert_loc(neg->lhs->loc, 1, 30); /* parentheses add no node: the name inside */
  parse_free(&p);
}
END_TEST

START_TEST(columns_count_bytes) {
  /* a tab is one byte, so one column */
  Parse p = parse_text("\th\t=\tx +\t1\n");
  const Stmt *s = p.prog->stmts;
  ck_assert_loc(s->loc, 1, 2);
  ck_assert_loc(s->body->loc, 1, 8);
  ck_assert_loc(s->body->rhs->loc, 1, 10);
  parse_free(&p);
}
END_TEST

/* ---- syntax errors ---- */

START_TEST(syntax_error_message_and_caret) {
  expect_syntax_error("def f(a,) = 1\n",
                      "t.net:1:9: error: unexpected ')', expected name\n"
                      "  def f(a,) = 1\n"
                      "          ^\n");
  expect_syntax_error("x = )\n",
                      "t.net:1:5: error: unexpected ')', expected number, name, string, '-', '(' or '['\n"
                      "  x = )\n"
                      "      ^\n");
  expect_syntax_error("x = f(a b)",
                      "t.net:1:9: error: unexpected name, expected '+', '-', '*', '/', '@', '^', ':', '(', ')' or ','\n"
                      "  x = f(a b)\n"
                      "          ^\n");
  expect_syntax_error("input : [3]",
                      "t.net:1:7: error: unexpected ':', expected name\n"
                      "  input : [3]\n"
                      "        ^\n");
}
END_TEST

START_TEST(syntax_error_expected_statement) {
  /* after a complete statement, the parser expects another statement or the end. */
  expect_syntax_error("input x : [3] )",
                      "t.net:1:15: error: unexpected ')', expected end of file, 'input', 'target', 'param', "
                      "'def', 'train', 'table' or name\n"
                      "  input x : [3] )\n"
                      "                ^\n");
}
END_TEST

START_TEST(syntax_error_on_a_later_line) {
  /* the caret line keeps the tab of the source line, so the caret lines up */
  expect_syntax_error("x = 1\n\ty = = 2\n",
                      "t.net:2:6: error: unexpected '=', expected number, name, string, '-', '(' or '['\n"
                      "  \ty = = 2\n"
                      "  \t    ^\n");
  /* with CRLF line endings the source line is shown without its CR */
  expect_syntax_error("x = 1\r\ny = )\r\n",
                      "t.net:2:5: error: unexpected ')', expected number, name, string, '-', '(' or '['\n"
                      "  y = )\n"
                      "      ^\n");
}
END_TEST

START_TEST(syntax_error_stops_at_the_first) {
  Parse p = parse_text("x = )\ny = )\n");
  ck_assert_ptr_null(p.prog);
  ck_assert_int_eq(p.errors, 1);
  parse_free(&p);
}
END_TEST

START_TEST(bad_characters) {
  /* the scanner reports these; the parser adds no second error */
  expect_syntax_error("x = 1 $ 2\n",
                      "t.net:1:7: error: unexpected character '$'\n"
                      "  x = 1 $ 2\n"
                      "        ^\n");
  expect_syntax_error("x = 1 \xc3\xa9\n",
                      "t.net:1:7: error: unexpected byte 0xc3 (only ASCII is allowed outside comments)\n"
                      "  x = 1 \xc3\xa9\n"
                      "        ^\n");
}
END_TEST

START_TEST(bad_dimensions) {
  expect_syntax_error("input x : [1, 2, 3, 4, 5]\n",
                      "t.net:1:24: error: at most 4 dimensions are supported\n"
                      "  input x : [1, 2, 3, 4, 5]\n"
                      "                         ^\n");
  expect_syntax_error("input x : [0]\n",
                      "t.net:1:12: error: a dimension must be a whole number from 1 to 10000000, got 0\n"
                      "  input x : [0]\n"
                      "             ^\n");
  expect_syntax_error("target y : onehot(1.5)\n",
                      "t.net:1:19: error: a dimension must be a whole number from 1 to 10000000, got 1.5\n"
                      "  target y : onehot(1.5)\n"
                      "                    ^\n");
  expect_syntax_error("target y : foo(10)\n",
                      "t.net:1:12: error: expected a shape [..] or onehot(N), got 'foo'\n"
                      "  target y : foo(10)\n"
                      "             ^\n");
}
END_TEST

START_TEST(earlier_errors_do_not_fail_a_parse) {
  /* parse_program fails on errors it reports itself, not on the count so far */
  SrcFile *f = srcfile_from_string("t.net", "x = 1\n");
  Arena a;
  arena_init(&a);
  capture_begin();
  diag_error(NO_LOC, "an earlier error");
  Program *p = parse_program(f, &a);
  free(capture_end());
  ck_assert_ptr_nonnull(p);
  arena_free(&a);
  srcfile_free(f);
}
END_TEST

/* ---- expected-token lists and dimension forms ---- */

/* With LAC, the expected set after an expression includes the operators that could continue
 * it, not only what may follow a finished statement. */
START_TEST(expected_list_after_an_expression) {
  Parse p = parse_text("x = 1 )");
  ck_assert_ptr_null(p.prog);
  ck_assert_msg(strstr(p.diags, "'+'") && strstr(p.diags, "'^'"), "operators missing:\n%s", p.diags);
  parse_free(&p);
}
END_TEST

/* A dimension is a whole number, however it is written. */
START_TEST(dimension_in_exponent_form) {
  Parse p = parse_text("input x : [1e2]");
  ck_assert_msg(p.prog, "%s", p.diags);
  ck_assert_int_eq(p.prog->stmts->dims.d[0], 100);
  parse_free(&p);
}
END_TEST

static Suite *parse_suite(void) {
  Suite *s = suite_create("parse");
  TCase *tc = tcase_create("parse");
  tcase_add_test(tc, input_and_target_statements);
  tcase_add_test(tc, four_dims_are_the_maximum);
  tcase_add_test(tc, param_with_and_without_init);
  tcase_add_test(tc, def_with_zero_and_two_params);
  tcase_add_test(tc, let_statement);
  tcase_add_test(tc, train_block_separators);
  tcase_add_test(tc, empty_program);
  tcase_add_test(tc, precedence_and_associativity);
  tcase_add_test(tc, unary_minus);
  tcase_add_test(tc, calls_with_positional_and_named_args);
  tcase_add_test(tc, numbers);
  tcase_add_test(tc, comments);
  tcase_add_test(tc, crlf_and_bom);
  tcase_add_test(tc, statement_and_name_locations);
  tcase_add_test(tc, expression_locations);
  tcase_add_test(tc, columns_count_bytes);
  suite_add_tcase(s, tc);

  tc = tcase_create("syntax_errors");
  tcase_add_test(tc, syntax_error_message_and_caret);
  tcase_add_test(tc, syntax_error_expected_statement);
  tcase_add_test(tc, syntax_error_on_a_later_line);
  tcase_add_test(tc, syntax_error_stops_at_the_first);
  tcase_add_test(tc, bad_characters);
  tcase_add_test(tc, strings_and_setting_calls);
  tcase_add_test(tc, string_errors);
  tcase_add_test(tc, bad_dimensions);
  tcase_add_test(tc, earlier_errors_do_not_fail_a_parse);
  suite_add_tcase(s, tc);

  tc = tcase_create("expected_tokens");
  tcase_add_test(tc, expected_list_after_an_expression);
  tcase_add_test(tc, dimension_in_exponent_form);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(parse_suite()); }
