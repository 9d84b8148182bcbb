#!/usr/bin/env bash
# bench/accuracy.sh [EXAMPLE ...] — the test error of each example over several seeds, as a
# markdown table on stdout and in $OUT: the file's own settings (`dlc train FILE --seed S`),
# seeds 1 to 5, and per example the mean, sample standard deviation, minimum and maximum of
# the final epoch's test error (from --metrics), each seed's figure, the epochs and the
# seconds one run took (wall time, compile and evaluation included; the mean over seeds).
#
#   EXAMPLE   a name in examples/ (lenet) or a path to a .net file; by default the examples
#             of README's results table
#   SEEDS     the seeds (default "1 2 3 4 5")
#   THREADS   dlc train --threads (default 1)
#   JOBS      runs at once (default: the cores / THREADS, at least 1: two seeds at once on a
#             two-core machine, each on one thread)
#   ARGS      more dlc train arguments for every run, e.g. ARGS="--epochs 10" or
#             ARGS="--set 'schedule = cosine'" (word-split as the shell would)
#   OUT       the table's file (default accuracy.md); KEEP=DIR keeps every run's metrics
#             and output in DIR (default: a temporary directory, removed)
#   DLC       the compiler (default build/dlc); DLC_DATA as for dlc (default data)
#
# Runs at once share the machine: seconds are comparable within one table, and only on a
# machine doing nothing else. A run that fails is reported and makes the exit status 1.
set -euo pipefail
here=$(pwd)
cd "$(dirname "$0")/.."
DLC=${DLC:-build/dlc}
DATA=${DLC_DATA:-data}
SEEDS=${SEEDS:-1 2 3 4 5}
THREADS=${THREADS:-1}
JOBS=${JOBS:-$(( $(nproc) / THREADS > 0 ? $(nproc) / THREADS : 1 ))}
OUT=${OUT:-accuracy.md}
ARGS=${ARGS:-}
case "$OUT" in /*) ;; *) OUT=$here/$OUT ;; esac
[ -x "$DLC" ] || { echo "bench/accuracy.sh: build dlc first (bash scripts/quickstart.sh or cmake)" >&2; exit 1; }
[ -d "$(dirname "$OUT")" ] || { echo "bench/accuracy.sh: $OUT: no such directory" >&2; exit 1; }
examples=("$@")
[ ${#examples[@]} -gt 0 ] || examples=(mlp mlp_relu lenet lenet_paper mlp_distort lenet_distort lenet_relu resnet)
if [ -n "${KEEP:-}" ]; then runs=$KEEP; mkdir -p "$runs"; else runs=$(mktemp -d); trap 'rm -rf "$runs"' EXIT; fi
declare -a extra=()
[ -z "$ARGS" ] || eval "extra=($ARGS)"

file_of() { case "$1" in */*|*.net) echo "$1" ;; *) echo "examples/$1.net" ;; esac; }
stem_of() { basename "$1" .net; }
for e in "${examples[@]}"; do
  f=$(file_of "$e")
  [ -f "$f" ] || { echo "bench/accuracy.sh: $f: no such file" >&2; exit 1; }
done

# one_run FILE SEED: trains, leaving RUNS/STEM.SEED.{jsonl,log,seconds} (or .failed)
one_run() {
  local f=$1 seed=$2 base
  base=$runs/$(stem_of "$f").$seed
  local start end
  start=$(date +%s.%N)
  if "$DLC" train "$f" --seed "$seed" --threads "$THREADS" --data "$DATA" --metrics "$base.jsonl" \
      ${extra[@]+"${extra[@]}"} >"$base.log" 2>&1; then
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f\n", b - a }' >"$base.seconds"
  else
    touch "$base.failed"
  fi
}

running=0
for e in "${examples[@]}"; do
  f=$(file_of "$e")
  for seed in $SEEDS; do
    if [ "$running" -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
    echo "bench/accuracy.sh: $(stem_of "$f") seed $seed" >&2
    one_run "$f" "$seed" &
    running=$((running + 1))
  done
done
wait

# The table: one row per example from its runs' metrics (the last line is the final epoch).
status=0
table=$(mktemp)
{
  echo "| example | seeds | mean | sd | min | max | per seed | epochs | s per run |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for e in "${examples[@]}"; do
    f=$(file_of "$e")
    stem=$(stem_of "$f")
    errs=() secs=() epochs=""
    for seed in $SEEDS; do
      base=$runs/$stem.$seed
      if [ -e "$base.failed" ] || [ ! -s "$base.jsonl" ]; then
        echo "bench/accuracy.sh: $stem seed $seed failed; its output:" >&2
        tail -5 "$base.log" >&2 || true
        status=1
        continue
      fi
      errs+=("$(tail -1 "$base.jsonl" | sed -E 's/.*"test_error":([0-9.eE+-]+).*/\1/')")
      secs+=("$(cat "$base.seconds")")
      epochs=$(grep -c . "$base.jsonl")
    done
    if [ ${#errs[@]} -eq 0 ]; then
      echo "| \`$stem\` | 0 | failed | | | | | | |"
      continue
    fi
    awk -v stem="$stem" -v epochs="$epochs" -v errs="${errs[*]}" -v secs="${secs[*]}" 'BEGIN {
      n = split(errs, e, " "); split(secs, s, " ")
      sum = 0; t = 0; lo = e[1]; hi = e[1]; each = ""
      for (i = 1; i <= n; i++) {
        sum += e[i]; t += s[i]
        if (e[i] < lo) lo = e[i]
        if (e[i] > hi) hi = e[i]
        each = each (i > 1 ? ", " : "") sprintf("%.2f", 100 * e[i])
      }
      mean = sum / n; ss = 0
      for (i = 1; i <= n; i++) ss += (e[i] - mean) ^ 2
      sd = n > 1 ? sqrt(ss / (n - 1)) : 0
      printf "| `%s` | %d | %.2f%% | %.2f | %.2f%% | %.2f%% | %s | %d | %.0f |\n",
             stem, n, 100 * mean, 100 * sd, 100 * lo, 100 * hi, each, epochs, t / n
    }'
  done
} >"$table"
cat "$table"
{
  echo "Test error after the last epoch, seeds $SEEDS: \`dlc train FILE --seed S --threads $THREADS${ARGS:+ $ARGS}\`, $JOBS at once;"
  echo "sd is the sample standard deviation (n - 1), in percentage points; dlc $(git describe --always --dirty 2>/dev/null || echo "?"), $(date +%Y-%m-%d)."
  echo
  cat "$table"
} >"$OUT.tmp.$$" && mv "$OUT.tmp.$$" "$OUT"
rm -f "$table"
echo "bench/accuracy.sh: the table is in $OUT" >&2
exit $status
