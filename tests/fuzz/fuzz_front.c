/* fuzz_front.c — libFuzzer's entry into dlc's front end and graph stages: each input is a
 * .net program, loaded (lexer, parser, semantic analysis, kernel choices) and, when it is
 * valid, built for training (autodiff, the update, the graph passes with the verifier after
 * each, schedules, fusion, memory plans). Whatever the bytes, dlc must report errors and
 * return, never crash, hang or leak: the sanitizers the target is built with check it.
 *
 * Built by -DDLC_FUZZ=ON with clang (scripts/fuzz.sh); the corpus starts from examples/ and
 * tests/errors/ and tests/warnings/. Lowering to LLVM is not fuzzed (too slow per input). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static FILE *quiet;
  if (!quiet) quiet = fopen("/dev/null", "w");
  if (memchr(data, 0, size)) return 0; /* (a NUL byte: srcfile_read refuses such files) */
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = 0;
  diag_set_stream(quiet);
  diag_reset();
  Model *m = model_load_source(srcfile_from_string("fuzz.net", text), NULL);
  free(text);
  if (m) model_build_training(m);
  model_free(m);
  diag_set_stream(NULL);
  return 0;
}
