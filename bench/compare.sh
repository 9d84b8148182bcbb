#!/usr/bin/env bash
# bench/compare.sh [MODEL ...] — trains each model one epoch in dlc and in PyTorch, one
# after the other in this run, with the same layers, batch size, optimiser, float32 and
# thread count, and prints seconds per epoch, images per second and the time ratio.
#
#   THREADS=2        threads for both: dlc's --threads (OpenBLAS), torch.set_num_threads
#                    (PyTorch gets OPENBLAS_NUM_THREADS=1, its fastest setting here)
#   EPOCHS=1         epochs per side; the table shows the fastest epoch of each
#   DLC=build/dlc    the compiler;  DLC_DATA=data  where mnist/ is
#
# Needs Debian's python3-torch (run with /usr/bin/python3). The machine is shared and noisy:
# compare within one run, as ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
DLC=${DLC:-build/dlc}
DATA=${DLC_DATA:-data}
THREADS=${THREADS:-2}
EPOCHS=${EPOCHS:-1}
models=${*:-lenet mlp}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fastest() { # fastest epoch's seconds in a JSON-lines file
  /usr/bin/python3 -c 'import json,sys; print(min(json.loads(l)["seconds"] for l in open(sys.argv[1]) if l.strip()))' "$1"
}

printf '%-8s %-8s %10s %10s %12s\n' model side s/epoch img/s compile_ms
for model in $models; do
  file=examples/$model.net
  [ -f "bench/models/$model.net" ] && file=bench/models/$model.net
  $DLC train "$file" --epochs "$EPOCHS" --threads "$THREADS" --data "$DATA" \
    --metrics "$tmp/dlc.jsonl" >/dev/null 2>"$tmp/dlc.err" || { cat "$tmp/dlc.err" >&2; exit 1; }
  compile_ms=$(sed -n 's/.*compiled in \([0-9]*\) ms.*/\1/p' "$tmp/dlc.err")
  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_train.py "$model" "$DATA" --threads "$THREADS" \
    --epochs "$EPOCHS" >"$tmp/torch.jsonl"
  d=$(fastest "$tmp/dlc.jsonl")
  t=$(fastest "$tmp/torch.jsonl")
  awk -v m="$model" -v d="$d" -v t="$t" -v c="$compile_ms" 'BEGIN {
    printf "%-8s %-8s %10.2f %10.0f %12s\n", m, "dlc", d, 60000 / d, c
    printf "%-8s %-8s %10.2f %10.0f %12s\n", m, "pytorch", t, 60000 / t, "-"
    printf "%-8s dlc/pytorch time ratio: %.2f (below 1: dlc is faster)\n", m, d / t
  }'
done
