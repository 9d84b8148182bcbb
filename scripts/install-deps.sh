#!/bin/sh
# install-deps.sh — installs the Debian 12 packages dlc needs to build and test, and nothing
# else. Idempotent: packages already installed are left alone, and when all are present it
# touches neither the network nor apt (so a non-root user with everything can run it too).
set -eu

# npm also pulls in nodejs, which a minimal debootstrap system lacks. libpng-dev: image
# folders and PNG output; dataset-fashion-mnist: the fashion_mnist data set (and its test).
# protobuf-c-compiler, libprotobuf-c-dev and libonnx-dev (onnx.proto) build `dlc export`;
# python3-onnx, python3-torch and python3-numpy check what it writes (tests/check_export.c).
# clang-14 and libclang-rt-14-dev (libFuzzer) build the front end's fuzz target (scripts/fuzz.sh).
# libjansson-dev: JSON for the report and dlc eval --metrics; chromium: the report opened in
# a browser (tests/check_report_cli.c).
# libopenmpi-dev: mpi.h, for runtime/comm.c (libmpi itself is loaded only under mpirun);
# openmpi-bin: mpirun, for training on several processes and tests/check_mpi.c.
PACKAGES="build-essential flex bison cmake pkg-config libopenblas-dev check zlib1g-dev libpng-dev
llvm-16-dev npm ca-certificates dataset-fashion-mnist protobuf-c-compiler libprotobuf-c-dev libonnx-dev
python3-onnx python3-torch python3-numpy clang-14 libclang-rt-14-dev libjansson-dev chromium openmpi-bin
libopenmpi-dev"

# dpkg -s succeeds for packages that were removed but left config files behind, so look at
# the status field rather than the exit code.
is_installed() {
  dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^ii'
}

# A virtual package counts when an installed package provides it: NodeSource's nodejs ships
# npm and Provides it, and asking apt for Debian's npm there would fight that nodejs.
is_provided() {
  dpkg-query -W -f='${db:Status-Abbrev}|${Provides}\n' 2>/dev/null | awk -F'|' -v want="$1" '
    $1 ~ /^ii/ { n = split($2, p, /, */)
                 for (i = 1; i <= n; i++) { sub(/ .*/, "", p[i]); if (p[i] == want) found = 1 } }
    END { exit !found }'
}

missing=""
for pkg in $PACKAGES; do
  is_installed "$pkg" || is_provided "$pkg" || missing="$missing $pkg"
done
missing=${missing# }

if [ -z "$missing" ]; then
  echo "install-deps: all packages present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "install-deps: error: missing packages: $missing" >&2
  echo "install-deps: not root and sudo is unavailable; as root run:" >&2
  echo "  apt-get update && apt-get install --no-install-recommends $missing" >&2
  exit 1
fi

# apt chatters even with -q; keep its output only for when something goes wrong.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# shellcheck disable=SC2086  # $missing is a word list on purpose
# The lock timeout is passed to update too, so a concurrent apt run is waited for, not fatal.
if ! { $SUDO apt-get update -q -o DPkg::Lock::Timeout=300 &&
       $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
         -o DPkg::Lock::Timeout=300 --no-install-recommends $missing; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-deps: error: apt-get failed installing: $missing" >&2
  exit 1
fi
echo "install-deps: installed $missing"
