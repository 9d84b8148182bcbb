#!/usr/bin/env bash
# bench/compile.sh [EXAMPLE ...] — compile time of each example, parse to machine code, by
# stage (`dlc compile --time`), the best of RUNS runs (default 5) to damp this shared
# machine's noise. Machine code here is an object file; `dlc train --time` reports the same
# stages with the JIT, which takes about as long.
set -euo pipefail
cd "$(dirname "$0")/.."
DLC=${DLC:-build/dlc}
RUNS=${RUNS:-5}
[ -x "$DLC" ] || { echo "bench/compile.sh: build dlc first (bash scripts/quickstart.sh or cmake)" >&2; exit 1; }
examples=("$@")
[ ${#examples[@]} -gt 0 ] || examples=(mlp mlp_relu lenet lenet_relu deep_tanh)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-14s %9s %9s %9s %9s %9s %9s\n' example "total ms" parse graph "LLVM IR" optimise "mach.code"
for e in "${examples[@]}"; do
  best=""
  for _ in $(seq "$RUNS"); do
    line=$("$DLC" compile "examples/$e.net" -o "$out/m.o" --time | grep '^compile time')
    total=$(sed -E 's/^compile time ([0-9.]+) ms.*/\1/' <<<"$line")
    if [ -z "$best" ] || [ "$(awk -v a="$total" -v b="$best" 'BEGIN{print (a < b)}')" = 1 ]; then best=$total; bestline=$line; fi
  done
  read -r parse graph ir opt code < <(grep -oE '[0-9.]+ ms' <<<"$bestline" | sed 1d | tr -d ' ms' | tr '\n' ' '; echo)
  printf '%-14s %9s %9s %9s %9s %9s %9s\n' "$e" "$best" "$parse" "$graph" "$ir" "$opt" "$code"
done
