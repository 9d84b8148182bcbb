#!/usr/bin/env bash
# test.sh — builds dlc and runs the whole test suite (CI runs exactly this):
#   1. install what is missing, fetch and verify MNIST;
#   2. a normal build with warnings as errors: every suite, including training on MNIST;
#   3. an AddressSanitizer + UndefinedBehaviorSanitizer build: every suite again;
#   4. the front end's fuzz target (libFuzzer under clang) for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/fetch-mnist.sh data

bash scripts/build.sh build -DDLC_WERROR=ON -DDLC_TEST_DATA="$PWD/data"
(cd build && ctest --output-on-failure -j 2)

bash scripts/build.sh build-asan -DDLC_SANITIZE=ON -DDLC_WERROR=ON -DDLC_TEST_DATA="$PWD/data"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j 2)

bash scripts/fuzz.sh "${DLC_FUZZ_SECONDS:-60}"
