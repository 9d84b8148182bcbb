/* main.c — `dlc COMMAND ...`: finds the command, parses its options (options.c) and runs
 * it. Exit statuses: 0 success, 1 bad input, 2 internal error (dlc_fatal). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    program_usage(stderr);
    return EXIT_USER;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    program_usage(stdout);
    return EXIT_OK;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("dlc %s\n", DLC_VERSION);
    return EXIT_OK;
  }
  const Command *c = command_find(argv[1]);
  if (!c) {
    command_unknown(argv[1]);
    program_usage(stderr);
    return EXIT_USER;
  }
  Options o = options_default();
  int rc;
  bool parsed = options_parse(c, argc, argv, 2, &o);
  if (o.werror) diag_set_warning_mode(WARNINGS_AS_ERRORS); /* the file's warnings fail the command */
  if (!parsed) rc = EXIT_USER;
  else if (o.help) {
    command_usage(c, stdout);
    rc = EXIT_OK;
  } else if (!o.file) {
    diag_error_plain("dlc", "'%s' needs a %s", c->name, command_operand(c));
    command_usage(c, stderr);
    rc = EXIT_USER;
  } else {
    rc = c->run(&o);
  }
  options_free(&o);
  return rc;
}
