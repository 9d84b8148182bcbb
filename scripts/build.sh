#!/usr/bin/env bash
# build.sh [BUILD_DIR] [CMAKE OPTIONS...] — installs what is missing, configures and builds
# dlc (default: build/, RelWithDebInfo). The compiler ends up in BUILD_DIR/dlc.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
bash scripts/install-deps.sh
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
