#!/usr/bin/env bash
# fuzz.sh [SECONDS] — builds dlc's front-end fuzz target with clang (libFuzzer, AddressSanitizer,
# UndefinedBehaviorSanitizer) in build-fuzz/ and runs it for SECONDS (default 60) on a corpus
# seeded from examples/, tests/errors/ and tests/warnings/. A crash, leak or timeout fails the
# run and leaves the input in build-fuzz/ (crash-*, leak-*, timeout-*) to reproduce with
#   build-fuzz/tests/fuzz/fuzz_front build-fuzz/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
bash scripts/install-deps.sh
CC=clang-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDLC_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target fuzz_front
corpus=build-fuzz/corpus
mkdir -p "$corpus"
cp examples/*.net tests/errors/*.net tests/warnings/*.net "$corpus"/
cd build-fuzz
# -timeout: an input that takes seconds is a hang to report; -rss_limit_mb: dlc plans memory,
# it does not allocate it for a program it only checks
ASAN_OPTIONS=detect_leaks=1 ./tests/fuzz/fuzz_front -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
  -max_len=4096 -print_final_stats=1 corpus
