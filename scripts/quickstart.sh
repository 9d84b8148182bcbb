#!/usr/bin/env bash
# quickstart.sh — the main job in one command: install the dependencies, build dlc, fetch
# and verify MNIST, and train LeCun et al.'s 784-100-10 MLP (examples/mlp.net) on it.
# Extra arguments go to `dlc train` (e.g. --epochs 5).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh build
bash scripts/fetch-mnist.sh data
exec build/dlc train examples/mlp.net --data data "$@"
