/* main.c — `dlc COMMAND ...`: finds the command, parses its options (options.c) and runs
 * it. Exit statuses: 0 success, 1 bad input, 2 internal error (dlc_fatal). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "comm.h"

/* Under mpirun only `dlc train` is one job of several processes; any other command would run
 * as N independent copies writing the same outputs. */
static bool alone_or_training(const Command *c) {
  int n = dlrt_comm_launched_size();
  if (n == 1 || c->bit == CMD_TRAIN) return true;
  if (atoi(getenv("OMPI_COMM_WORLD_RANK") ? getenv("OMPI_COMM_WORLD_RANK") : "0") == 0)
    diag_error_plain("dlc", "'%s' runs as one process: under mpirun (here %d processes) only 'dlc train' splits its work; "
                     "run 'dlc %s' without mpirun", c->name, n, c->name);
  return false;
}

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
  } else if (!alone_or_training(c)) {
    rc = EXIT_USER;
  } else {
    rc = c->run(&o);
  }
  options_free(&o);
  /* what a command printed must have reached its destination (a full disk, a closed pipe,
   * /dev/full): otherwise the answer on stdout is cut short, and that is an error */
  if (fflush(stdout) != 0 || ferror(stdout)) {
    diag_error_plain("dlc", "cannot write the standard output: %s", strerror(errno));
    if (rc == EXIT_OK) rc = EXIT_USER;
  }
  return rc;
}
