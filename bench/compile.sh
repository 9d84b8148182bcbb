#!/usr/bin/env bash
# bench/compile.sh [EXAMPLE ...] — compile time of each example, parse to JIT'd machine code,
# by stage (`dlc train --compile-only --time`: the JIT compiles pieces of the training
# functions on every core, then dlc_forward on a thread of its own while training starts),
# the best of RUNS runs (default 5) to damp this shared machine's noise; and, for comparison,
# `dlc compile --time` (both functions as one module on one thread, into an object file).
set -euo pipefail
cd "$(dirname "$0")/.."
DLC=${DLC:-build/dlc}
RUNS=${RUNS:-5}
[ -x "$DLC" ] || { echo "bench/compile.sh: build dlc first (bash scripts/quickstart.sh or cmake)" >&2; exit 1; }
examples=("$@")
[ ${#examples[@]} -gt 0 ] || examples=(mlp mlp_relu lenet lenet_relu deep_tanh)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
best_of() { # best_of COMMAND...: the fastest run's "compile time" line
  local best="" line total
  for _ in $(seq "$RUNS"); do
    line=$("$@" 2>/dev/null | grep '^compile time')
    total=$(sed -E 's/^compile time ([0-9.]+) ms.*/\1/' <<<"$line")
    if [ -z "$best" ] || [ "$(awk -v a="$total" -v b="$best" 'BEGIN{print (a < b)}')" = 1 ]; then best=$total; bestline=$line; fi
  done
  echo "$bestline"
}
printf '%-14s %9s %9s %9s %9s %9s %9s %9s %12s %14s\n' example "step ms" parse graph "LLVM IR" optimise "mach.code" threads "+forward ms" "one thread ms"
for e in "${examples[@]}"; do
  line=$(best_of "$DLC" train "examples/$e.net" --compile-only --time)
  single=$(best_of "$DLC" compile "examples/$e.net" -o "$out/m.o" --time | sed -E 's/^compile time ([0-9.]+) ms.*/\1/')
  read -r total parse graph ir opt code < <(grep -oE '[0-9.]+ ms' <<<"${line%%;*}" | tr -d ' ms' | tr '\n' ' '; echo)
  threads=$(sed -nE 's/.*\(on ([0-9]+) threads\).*/\1/p' <<<"$line")
  forward=$(sed -nE 's/.*in the background, ([0-9.]+) ms.*/\1/p' <<<"$line")
  printf '%-14s %9s %9s %9s %9s %9s %9s %9s %12s %14s\n' "$e" "$total" "$parse" "$graph" "$ir" "$opt" "$code" "${threads:-1}" "${forward:--}" "$single"
done
