#!/usr/bin/env bash
# bench/table.sh [lenet|mlp ...] — dlc against PyTorch on this machine, side by side in one
# run: for each model, thread count (THREADS, default "1 2") and environment (OpenBLAS's
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE as they are, then unset, for both sides), one line
# per side with
#
#   s/epoch      the fastest of EPOCHS (default 2) training epochs
#   img/s        training images per second at that speed
#   GFLOP/s      the model's useful work (dlc check's FLOPs per example and per update, the
#                same count for both sides) per second, and its share of the FMA peak of
#                the threads used (one core's, as `dlc profile` measures it, times threads)
#   inf b1, inf b1000   inference images/s over the 10,000 test images at batch 1 and 1000,
#                the fastest of REPEAT (3) and REPEAT_1000 (20) passes, the model alone
#                (images already converted to floats, on both sides)
#   peak MB      the training process's peak resident memory (dlc: /usr/bin/time; PyTorch:
#                getrusage), data set, compiler and libraries included
#   ratio        dlc time / PyTorch time for training, PyTorch / dlc rate for inference
#                (below 1 in the first, above 1 in the others: dlc is faster)
#
# Both sides train the same network with the same batch, optimiser and float32
# (bench/torch_models.py mirrors examples/*.net); dlc runs with --threads N (data-parallel),
# PyTorch with torch.set_num_threads(N) and OPENBLAS_NUM_THREADS=1, its fastest setting here.
# Needs Debian's python3-torch (/usr/bin/python3) and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
DLC=${DLC:-build/dlc}
DATA=${DLC_DATA:-data}
THREADS=${THREADS:-1 2}
EPOCHS=${EPOCHS:-2}
REPEAT=${REPEAT:-3}            # inference passes at batch 1 (the fastest counts)
REPEAT_1000=${REPEAT_1000:-20} # ... and at batch 1000
ENVS=${ENVS:-as-is unset}
models=${*:-lenet mlp}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
PEAK_PER_CORE=$("$DLC" profile examples/mlp.net --steps 2 --data "$DATA" 2>/dev/null | sed -n 's/^peak: \([0-9.]*\) GFLOP.*/\1/p')

json() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
fastest() { /usr/bin/python3 -c 'import json,sys; print(min(json.loads(l)["seconds"] for l in open(sys.argv[1]) if l.strip() and "seconds" in l))' "$1"; }
with_env() { # with_env as-is|unset COMMAND...
  if [ "$1" = unset ]; then shift; env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@"; else shift; "$@"; fi
}

echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-(unset)} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-(unset)} in the environment as is;" \
  "FMA peak $PEAK_PER_CORE GFLOP/s per core (measured)"
printf '%-6s %2s %-7s %-8s %8s %8s %8s %6s %9s %9s %8s %7s %7s %7s\n' model th env side s/epoch img/s GFLOP/s %peak "inf b1" "inf b1000" "peak MB" "ratio" "inf1 x" "inf1k x"
for model in $models; do
  file=examples/$model.net
  read -r per_example per_step < <("$DLC" check "$file" | sed -n 's/.*training \([0-9]*\) per example.*/\1/p; s/ *and \([0-9]*\) per step.*/\1/p' | tr '\n' ' '; echo)
  batch=$("$DLC" check "$file" | sed -n 's/.*arena at batch \([0-9]*\).*/\1/p')
  flops=$(awk -v e="$per_example" -v s="$per_step" -v b="$batch" 'BEGIN { print e * 60000 + s * int((60000 + b - 1) / b) }')
  for env_kind in $ENVS; do
    for th in $THREADS; do
      peak=$(awk -v p="$PEAK_PER_CORE" -v t="$th" 'BEGIN { print p * t }')
      with_env "$env_kind" /usr/bin/time -f '%M' -o "$tmp/dlc.rss" "$DLC" train "$file" --epochs "$EPOCHS" --threads "$th" \
        --data "$DATA" --metrics "$tmp/dlc.jsonl" --save "$tmp/ck" >/dev/null 2>"$tmp/dlc.err" || { cat "$tmp/dlc.err" >&2; exit 1; }
      for b in 1 1000; do
        reps=$([ "$b" = 1 ] && echo "$REPEAT" || echo "$REPEAT_1000")
        with_env "$env_kind" "$DLC" eval "$file" --load "$tmp/ck" --batch "$b" --threads "$th" --repeat "$reps" --data "$DATA" \
          >/dev/null 2>"$tmp/eval$b.err"
        sed -n 's/.*: \([0-9]*\) images\/s.*/\1/p' "$tmp/eval$b.err" >"$tmp/eval$b"
      done
      with_env "$env_kind" env OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_train.py "$model" "$DATA" \
        --threads "$th" --epochs "$EPOCHS" --infer --repeat "$REPEAT" --repeat-1000 "$REPEAT_1000" >"$tmp/torch.jsonl"
      d=$(fastest "$tmp/dlc.jsonl")
      t=$(fastest "$tmp/torch.jsonl")
      last=$(tail -1 "$tmp/torch.jsonl")
      awk -v m="$model" -v th="$th" -v env="$env_kind" -v d="$d" -v t="$t" -v f="$flops" -v peak="$peak" \
        -v d1="$(cat "$tmp/eval1")" -v d1k="$(cat "$tmp/eval1000")" -v drss="$(cat "$tmp/dlc.rss")" \
        -v t1="$(json "$last" infer_batch1)" -v t1k="$(json "$last" infer_batch1000)" -v trss="$(json "$last" peak_rss_mb)" 'BEGIN {
        printf "%-6s %2d %-7s %-8s %8.2f %8.0f %8.1f %5.1f%% %9.0f %9.0f %8.0f %7.2f %7.2f %7.2f\n", m, th, env, "dlc", d, 60000 / d,
               f / d / 1e9, 100 * f / d / 1e9 / peak, d1, d1k, drss / 1024, d / t, d1 / t1, d1k / t1k
        printf "%-6s %2d %-7s %-8s %8.2f %8.0f %8.1f %5.1f%% %9.0f %9.0f %8.0f\n", m, th, env, "pytorch", t, 60000 / t,
               f / t / 1e9, 100 * f / t / 1e9 / peak, t1, t1k, trss
      }'
    done
  done
done
