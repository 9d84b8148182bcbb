/* check_install.c — dlc as installed, and what ships beside it:
 *   - `cmake --install` into a temporary prefix puts dlc, libdlrt.a and its headers, dlc.pc,
 *     the man page and the bash completion where they belong, and examples/embed builds
 *     against that copy with `pkg-config --cflags --libs dlc` and classifies the test set as
 *     the installed `dlc eval` does;
 *   - the man page (docs/dlc.1) has a section for every command of `dlc --help`, naming every
 *     option of `dlc COMMAND --help`, and no command dlc lacks;
 *   - the bash completion (completion/dlc.bash) offers exactly the commands and each
 *     command's options, and the graph passes after --after;
 *   - the editor grammars (editors/) are valid and name every keyword (the lexer's), built-in
 *     function (docs/language.md's tables, each checked with the compiler), initialiser,
 *     optimiser and schedule.
 * Reads MNIST's test set from DLC_TEST_DATA/mnist for the embedded program. */
#define _GNU_SOURCE
#include "helpers.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "sema_private.h"
#include "settings.h"

#define MLP DLC_SOURCE_DIR "/examples/mlp.net"
#define MAN_PAGE DLC_SOURCE_DIR "/docs/dlc.1"
#define COMPLETION DLC_SOURCE_DIR "/completion/dlc.bash"
#define GRAMMAR DLC_SOURCE_DIR "/editors/vscode/syntaxes/net.tmLanguage.json"
#define VIM_SYNTAX DLC_SOURCE_DIR "/editors/vim/syntax/net.vim"

enum { TIMEOUT = 300, MAX_WORDS = 256 };

/* A program with its arguments, up to a NULL. */
#define run(...) run_command(NULL, TIMEOUT, __VA_ARGS__)

/* Runs the program and returns its stdout, failing the test if it fails. */
static char *ok(RunResult r, const char *what) {
  if (r.status != 0) ck_abort_msg("%s: status %d\nstdout:\n%s\nstderr:\n%s", what, r.status, r.out, r.err);
  free(r.err);
  return r.out;
}

/* ---- a list of words ---- */

typedef struct Words {
  char *w[MAX_WORDS];
  int n;
} Words;

static void words_add(Words *ws, const char *s, size_t len) {
  for (int i = 0; i < ws->n; i++)
    if (strlen(ws->w[i]) == len && strncmp(ws->w[i], s, len) == 0) return;
  ck_assert_int_lt(ws->n, MAX_WORDS);
  ws->w[ws->n++] = strndup(s, len);
}

static bool words_have(const Words *ws, const char *s) {
  for (int i = 0; i < ws->n; i++)
    if (strcmp(ws->w[i], s) == 0) return true;
  return false;
}

static void words_free(Words *ws) {
  for (int i = 0; i < ws->n; i++) free(ws->w[i]);
  ws->n = 0;
}

/* Whitespace-separated words of text. */
static Words split(const char *text) {
  Words ws = {.n = 0};
  for (const char *p = text; *p;) {
    while (*p && isspace((unsigned char)*p)) p++;
    size_t len = strcspn(p, " \t\n");
    if (len) words_add(&ws, p, len);
    p += len;
  }
  return ws;
}

/* ---- what dlc --help says ---- */

/* The commands `dlc --help` lists. */
static Words commands(void) {
  char *help = ok(run(DLC_BINARY, "--help", (const char *)NULL), "dlc --help");
  Words ws = {.n = 0};
  const char *p = strstr(help, "commands:\n");
  ck_assert_ptr_nonnull(p);
  for (p = strchr(p, '\n') + 1; strncmp(p, "  ", 2) == 0; p = strchr(p, '\n') + 1)
    words_add(&ws, p + 2, strcspn(p + 2, " \n"));
  free(help);
  ck_assert_int_ge(ws.n, 10);
  return ws;
}

/* The options `dlc COMMAND --help` lists: each line "  -x ..." or "  --name ...", and the
 * other spellings it names "(also --out)". */
static Words options_of(const char *command) {
  char *help = ok(run(DLC_BINARY, command, "--help", (const char *)NULL), "dlc COMMAND --help");
  Words ws = {.n = 0};
  for (const char *p = help; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    if (strncmp(p, "  -", 3) == 0) words_add(&ws, p + 2, strcspn(p + 2, " \n"));
    const char *also = strstr(p, "(also ");
    const char *eol = strchr(p, '\n');
    if (also && (!eol || also < eol)) words_add(&ws, also + 6, strcspn(also + 6, ")"));
  }
  free(help);
  return ws;
}

/* ---- install, and build examples/embed from the installed copy ---- */

START_TEST(installed_copy_builds_the_embedded_example) {
  char *prefix = make_temp_dir();
  char *out = ok(run(DLC_CMAKE, "--install", DLC_BUILD_DIR, "--prefix", prefix, (const char *)NULL), "cmake --install");
  free(out);
  static const char *const installed[] = {"bin/dlc", "include/dlc/dlrt.h", "include/dlc/checkpoint.h",
                                          "include/dlc/mnist.h", "share/man/man1/dlc.1",
                                          "share/bash-completion/completions/dlc"};
  for (size_t i = 0; i < sizeof installed / sizeof *installed; i++) {
    char *path = path_join(prefix, installed[i]);
    ck_assert_msg(file_exists(path), "not installed: %s", installed[i]);
    free(path);
  }
  /* the library directory is GNUInstallDirs' (lib, or lib/<multiarch> under /usr) */
  char *pc_dir = NULL;
  ck_assert_int_ge(asprintf(&pc_dir, "%s/%s/pkgconfig", prefix, DLC_INSTALL_LIBDIR), 0);
  char *pc = path_join(pc_dir, "dlc.pc");
  ck_assert_msg(file_exists(pc), "no %s", pc);
  char *env = NULL;
  ck_assert_int_ge(asprintf(&env, "PKG_CONFIG_PATH=%s", pc_dir), 0);
  char *flags = ok(run("/usr/bin/env", env, "pkg-config", "--cflags", "--libs", "dlc", (const char *)NULL), "pkg-config");
  flags[strcspn(flags, "\n")] = 0;
  ck_assert_msg(strstr(flags, "-ldlrt") && strstr(flags, "/include/dlc"), "pkg-config said: %s", flags);

  /* the installed dlc trains, compiles and evaluates; cc links with what pkg-config says */
  char *dlc = path_join(prefix, "bin/dlc"), *ck = path_join(prefix, "mlp.ck"), *obj = path_join(prefix, "model.o");
  char *prog = path_join(prefix, "classify");
  free(ok(run(dlc, "train", MLP, "--epochs", "1", "--data", DLC_TEST_DATA, "--save", ck, "--set", "validation = 50000",
              (const char *)NULL), "installed dlc train"));
  free(ok(run(dlc, "compile", MLP, "-o", obj, (const char *)NULL), "installed dlc compile"));
  char *cmd = NULL;
  ck_assert_int_ge(asprintf(&cmd, "cc -O1 -Wall -Wextra -Werror -I%s %s/examples/embed/classify.c %s %s %s -o %s",
                            prefix, DLC_SOURCE_DIR, obj, flags, DLC_EMBED_SANITIZE, prog), 0);
  free(ok(run("/bin/sh", "-c", cmd, (const char *)NULL), "cc classify.c against the installed runtime"));
  char *classified = ok(run(prog, ck, DLC_TEST_DATA, (const char *)NULL), "classify");
  char *eval = ok(run(dlc, "eval", MLP, "--load", ck, "--data", DLC_TEST_DATA, (const char *)NULL), "installed dlc eval");
  const char *want = strstr(eval, "test_error ");
  ck_assert_ptr_nonnull(want);
  ck_assert_msg(strncmp(classified, want, strlen(classified) - 1) == 0, "embedded: %s; dlc eval: %s", classified, eval);
  free(classified);
  free(eval);
  free(cmd);
  free(dlc);
  free(ck);
  free(obj);
  free(prog);
  free(flags);
  free(env);
  free(pc);
  free(pc_dir);
  remove_tree(prefix);
  free(prefix);
}
END_TEST

/* ---- the man page ---- */

/* The man page's text with roff's font escapes removed and \- as -. */
static char *man_text(void) {
  char *roff = read_file(MAN_PAGE);
  ck_assert_ptr_nonnull(roff);
  char *t = roff, *w = roff;
  for (const char *p = roff; *p;) {
    if (p[0] == '\\' && p[1] == 'f' && p[2]) p += 3;
    else if (p[0] == '\\' && p[1] == '-') *w++ = '-', p += 2;
    else *w++ = *p++;
  }
  *w = 0;
  return t;
}

/* The text of ".SS dlc COMMAND" up to the next section, or NULL. */
static char *man_section(const char *man, const char *command) {
  char head[128];
  snprintf(head, sizeof head, "\n.SS dlc %s\n", command);
  const char *at = strstr(man, head);
  if (!at) return NULL;
  at += strlen(head);
  const char *end = at;
  while (*end && strncmp(end, "\n.SS", 4) != 0 && strncmp(end, "\n.SH", 4) != 0) end++;
  return strndup(at, (size_t)(end - at));
}

/* Whether option (e.g. "--save") occurs in text as a whole word ("--save-best" is not it). */
static bool names_option(const char *text, const char *option) {
  size_t n = strlen(option);
  for (const char *p = strstr(text, option); p; p = strstr(p + 1, option)) {
    bool before = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '-');
    bool after = !(isalnum((unsigned char)p[n]) || p[n] == '-' || p[n] == '_');
    if (before && after) return true;
  }
  return false;
}

/* The tags of a section's items: the line after each .TP (where an option is described). */
static char *man_tags(const char *section) {
  char *tags = calloc(1, 1);
  for (const char *p = strstr(section, ".TP\n"); p; p = strstr(p + 1, ".TP\n")) {
    const char *line = p + 4;
    size_t len = strcspn(line, "\n"), had = strlen(tags);
    tags = realloc(tags, had + len + 2);
    snprintf(tags + had, len + 2, "%.*s\n", (int)len, line);
  }
  return tags;
}

START_TEST(man_page_names_every_option) {
  char *man = man_text();
  Words cmds = commands();
  for (int i = 0; i < cmds.n; i++) {
    char *section = man_section(man, cmds.w[i]);
    ck_assert_msg(section, "docs/dlc.1 has no section .SS dlc %s", cmds.w[i]);
    char *tags = man_tags(section);
    Words opts = options_of(cmds.w[i]);
    for (int k = 0; k < opts.n; k++)
      ck_assert_msg(names_option(tags, opts.w[k]), "docs/dlc.1: dlc %s has no item for %s", cmds.w[i], opts.w[k]);
    free(tags);
    words_free(&opts);
    free(section);
  }
  /* and no section of a command dlc does not have */
  for (const char *p = strstr(man, "\n.SS dlc "); p; p = strstr(p + 1, "\n.SS dlc ")) {
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(p + 9, "\n"), p + 9);
    ck_assert_msg(words_have(&cmds, name), "docs/dlc.1 describes 'dlc %s', which dlc --help does not list", name);
  }
  words_free(&cmds);
  free(man);
}
END_TEST

/* The checker can fail: an option without an item of its own is found. */
START_TEST(man_page_check_catches_a_missing_option) {
  const char *section = ".TP\n.BI --save \" CKPT\"\nwrite the state, unlike --resume\n.TP\n.B --save-best\nthe best\n";
  char *tags = man_tags(section);
  ck_assert(names_option(tags, "--save"));
  ck_assert(names_option(tags, "--save-best"));
  ck_assert(!names_option(tags, "--save-b"));
  ck_assert(!names_option(tags, "--resume")); /* named in a description, not an item */
  free(tags);
}
END_TEST

/* ---- bash completion ---- */

/* What the completion offers for the words of a command line (the last one being completed). */
static Words complete(const char *line_words, int cword) {
  char *script = NULL;
  ck_assert_int_ge(asprintf(&script,
                            "source %s && COMP_WORDS=(%s) && COMP_CWORD=%d && _dlc && printf '%%s\\n' \"${COMPREPLY[@]}\"",
                            COMPLETION, line_words, cword),
                   0);
  char *said = ok(run("/bin/bash", "--norc", "-c", script, (const char *)NULL), "bash completion");
  Words ws = split(said);
  free(said);
  free(script);
  return ws;
}

static void assert_same_words(const Words *got, const Words *want, const char *what) {
  for (int i = 0; i < want->n; i++) ck_assert_msg(words_have(got, want->w[i]), "%s: does not offer %s", what, want->w[i]);
  for (int i = 0; i < got->n; i++) ck_assert_msg(words_have(want, got->w[i]), "%s: offers %s, which dlc lacks", what, got->w[i]);
}

START_TEST(completion_offers_every_command_and_option) {
  Words cmds = commands(), got = complete("dlc ''", 1);
  words_add(&cmds, "--help", 6);
  words_add(&cmds, "--version", 9);
  assert_same_words(&got, &cmds, "completion of the command");
  words_free(&got);
  for (int i = 0; i < cmds.n; i++) {
    if (cmds.w[i][0] == '-') continue;
    char line[128];
    snprintf(line, sizeof line, "dlc %s -", cmds.w[i]);
    got = complete(line, 2);
    Words opts = options_of(cmds.w[i]);
    words_add(&opts, "--help", 6);
    assert_same_words(&got, &opts, cmds.w[i]);
    words_free(&got);
    words_free(&opts);
  }
  words_free(&cmds);
  /* --after: "none" and the passes dlc names when given another word */
  RunResult r = run(DLC_BINARY, "graph", MLP, "--after", "nothing", (const char *)NULL);
  const char *passes = strstr(r.err, "expects none or a pass:");
  ck_assert_msg(passes, "%s", r.err);
  Words want = {.n = 0};
  for (const char *p = passes + 23; *p && *p != '\n';) { /* " fold, simplify, cse, got '...'" */
    while (*p == ' ' || *p == ',') p++;
    size_t len = strcspn(p, ", \n");
    if (strncmp(p, "got", 3) == 0) break;
    words_add(&want, p, len);
    p += len;
  }
  words_add(&want, "none", 4);
  run_result_free(&r);
  got = complete("dlc graph x.net --after ''", 4);
  assert_same_words(&got, &want, "completion after --after");
  words_free(&got);
  words_free(&want);
}
END_TEST

/* ---- editor grammars ---- */

/* The reserved words of the lexer: its rules of the form "word" { return TOKEN; }. */
static Words keywords(void) {
  char *lexer = read_file(DLC_SOURCE_DIR "/compiler/front/lexer.l");
  ck_assert_ptr_nonnull(lexer);
  Words ws = {.n = 0};
  for (const char *p = lexer; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    if (p[0] != '"' || !isalpha((unsigned char)p[1])) continue;
    size_t len = strcspn(p + 1, "\"");
    if (strstr(p + 1 + len, "{ return") && strstr(p + 1 + len, "{ return") < strchr(p, '\n')) words_add(&ws, p + 1, len);
  }
  free(lexer);
  ck_assert_int_ge(ws.n, 6);
  return ws;
}

/* The built-in functions docs/language.md's two tables list ("| `sigmoid(a)`, `tanh(a)` |"),
 * each one the compiler knows (builtin_find). */
static Words builtins(void) {
  char *doc = read_file(DLC_SOURCE_DIR "/docs/language.md");
  ck_assert_ptr_nonnull(doc);
  Words ws = {.n = 0};
  static const char *const sections[] = {"### Built-in functions", "### Images and convolutional layers"};
  for (size_t s = 0; s < 2; s++) {
    const char *p = strstr(doc, sections[s]);
    ck_assert_msg(p, "docs/language.md has no %s", sections[s]);
    const char *end = strstr(p + 4, "\n#");
    for (p = strstr(p, "\n| `"); p && (!end || p < end); p = strstr(p + 1, "\n| `")) {
      const char *cell_end = strstr(p + 3, " |");
      for (const char *q = strchr(p + 3, '`'); q && q < cell_end; q = strchr(q + 1, '`')) {
        size_t len = strspn(q + 1, "abcdefghijklmnopqrstuvwxyz_");
        if (len && q[1 + len] == '(') words_add(&ws, q + 1, len), q += len + 1;
      }
    }
  }
  free(doc);
  ck_assert_int_ge(ws.n, 19);
  for (int i = 0; i < ws.n; i++) ck_assert_msg(builtin_find(ws.w[i]), "docs/language.md lists %s, which dlc lacks", ws.w[i]);
  return ws;
}

/* Every word a grammar must name: keywords, built-ins, initialisers, optimisers, schedules,
 * data sets. */
static Words language_words(void) {
  Words ws = keywords(), b = builtins();
  for (int i = 0; i < b.n; i++) words_add(&ws, b.w[i], strlen(b.w[i]));
  words_free(&b);
  for (int k = 0; dlrt_init_name((DlrtInitKind)k); k++) words_add(&ws, dlrt_init_name((DlrtInitKind)k), strlen(dlrt_init_name((DlrtInitKind)k)));
  for (int k = OPT_SGD; k <= OPT_ADAGRAD; k++) words_add(&ws, optimizer_name((OptimizerKind)k), strlen(optimizer_name((OptimizerKind)k)));
  for (int k = SCHEDULE_CONSTANT; k <= SCHEDULE_EXPONENTIAL; k++)
    words_add(&ws, schedule_name((ScheduleKind)k), strlen(schedule_name((ScheduleKind)k)));
  for (int k = DATA_MNIST; k <= DATA_IMAGES; k++) words_add(&ws, data_kind_name((DataKind)k), strlen(data_kind_name((DataKind)k)));
  return ws;
}

/* Whether word is an alternative of a regular expression in text: (word| |word| |word). */
static bool alternative(const char *text, const char *word) {
  size_t n = strlen(word);
  for (const char *p = strstr(text, word); p; p = strstr(p + 1, word))
    if (p > text && (p[-1] == '(' || p[-1] == '|') && (p[n] == '|' || p[n] == ')')) return true;
  return false;
}

/* Whether word is one of the words of a `syn keyword` line in text. */
static bool vim_keyword(const char *text, const char *word) {
  for (const char *line = strstr(text, "\nsyn keyword "); line; line = strstr(line + 1, "\nsyn keyword ")) {
    char *l = strndup(line + 1, strcspn(line + 1, "\n"));
    Words ws = split(l);
    bool found = false;
    for (int i = 3; i < ws.n && !found; i++) found = strcmp(ws.w[i], word) == 0; /* syn keyword GROUP words */
    words_free(&ws);
    free(l);
    if (found) return true;
  }
  return false;
}

START_TEST(editor_grammars_name_the_language) {
  /* valid JSON, every pattern a regular expression (Python's re reads TextMate's subset) */
  static const char check[] =
      "import json, re, sys\n"
      "def walk(v):\n"
      "    if isinstance(v, dict):\n"
      "        for k, x in v.items():\n"
      "            if k in ('match', 'begin', 'end'): re.compile(x)\n"
      "            walk(x)\n"
      "    elif isinstance(v, list):\n"
      "        for x in v: walk(x)\n"
      "for path in sys.argv[1:]: walk(json.load(open(path)))\n";
  free(ok(run("/usr/bin/python3", "-c", check, GRAMMAR, DLC_SOURCE_DIR "/editors/vscode/package.json",
              DLC_SOURCE_DIR "/editors/vscode/language-configuration.json", (const char *)NULL),
          "the VS Code files as JSON"));
  char *grammar = read_file(GRAMMAR), *vim = read_file(VIM_SYNTAX);
  ck_assert_ptr_nonnull(grammar);
  ck_assert_ptr_nonnull(vim);
  Words ws = language_words();
  for (int i = 0; i < ws.n; i++) {
    ck_assert_msg(alternative(grammar, ws.w[i]), "net.tmLanguage.json does not name '%s'", ws.w[i]);
    ck_assert_msg(vim_keyword(vim, ws.w[i]), "syntax/net.vim does not name '%s'", ws.w[i]);
  }
  ck_assert(!alternative(grammar, "lecun_tan")); /* whole alternatives only */
  words_free(&ws);
  free(grammar);
  free(vim);
}
END_TEST

int main(void) {
  Suite *s = suite_create("install");
  TCase *tc = tcase_create("install");
  tcase_set_timeout(tc, TIMEOUT);
  tcase_add_test(tc, installed_copy_builds_the_embedded_example);
  tcase_add_test(tc, man_page_names_every_option);
  tcase_add_test(tc, man_page_check_catches_a_missing_option);
  tcase_add_test(tc, completion_offers_every_command_and_option);
  tcase_add_test(tc, editor_grammars_name_the_language);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
