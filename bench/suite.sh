#!/usr/bin/env bash
# bench/suite.sh [MODEL ...] — dlc against PyTorch on the benchmark suite, side by side in one
# run (docs/performance.md holds one run and explains it). Models (default: all of them):
#
#   mlp         examples/mlp.net          784-100-10, sigmoid, SGD, batch 10
#   lenet       examples/lenet.net        LeNet-5 (C3 table, subsampling, scaled tanh)
#   lenet_relu  examples/lenet_relu.net   LeNet-5's shape, ReLU, max pooling, Adam
#   cnn         bench/models/cnn.net      conv 3x3 16, pool, conv 3x3 32, pool, dense 128, Adam
#   cnn_bn      bench/models/cnn_bn.net   the same with batch norm after each conv
#   vgg         bench/models/vgg.net      3x32x32, convs 3x3 at 32, 64, 128 maps (two per stage)
#   resnet      examples/resnet.net       a small residual net with batch norm
#   deep_relu   examples/deep_relu.net    20 dense layers of 100, ReLU
#
# For each model and thread count (THREADS, default "1 2"), one row per side: dlc with code
# for this CPU ("host"), dlc with code for AVX2 without AVX-512 (DLC_ISA=avx2, when ISAS
# holds avx2 and the CPU can run it; default "host avx2"), and PyTorch:
#
#   s/epoch      the fastest of EPOCHS (default 2) training epochs over the model's training
#                images (60,000; vgg and resnet 10,000 and 20,000: dlc holds the rest out as a
#                validation split, PyTorch trains on the same first images)
#   img/s        training images per second at that speed
#   GFLOP/s      the model's useful work (dlc check's FLOPs, the same count for both sides) per
#                second; % peak: its share of the threads' FMA peak (one core's, as `dlc
#                profile` measures it at the start of the run, times the threads)
#   inf b1, inf b1000   inference images/s over the 10,000 test images at batch 1 and 1000,
#                the fastest of REPEAT (3; 1 for vgg and resnet) and REPEAT_1000 (20; 3)
#                passes, the model alone (images already converted to floats, on both sides)
#   peak MB      the training process's peak resident memory (dlc: /usr/bin/time; PyTorch:
#                getrusage), data set, compiler and libraries included
#   ratio        dlc's training time / PyTorch's (below 1: dlc is faster); inf1 x, inf1k x:
#                dlc's inference rate / PyTorch's (above 1: dlc is faster)
#   compile ms   dlc: parse to the training step's machine code (dlc train --compile-only
#                --time, the best of 3), and "+fwd", dlc_forward, compiled meanwhile
#
# Both sides train the same network with the same batch, optimiser and float32
# (bench/torch_models.py mirrors the .net files); dlc runs with --threads N (data-parallel),
# PyTorch with torch.set_num_threads(N) and OPENBLAS_NUM_THREADS=1, its fastest setting here.
# Needs Debian's python3-torch (/usr/bin/python3), GNU time (/usr/bin/time) and MNIST in
# DLC_DATA (default data/). OUT=FILE also writes the table as Markdown rows. The machine is
# shared: the sides run one after the other per row, so compare within a row, as ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
DLC=${DLC:-build/dlc}
DATA=${DLC_DATA:-data}
THREADS=${THREADS:-1 2}
ISAS=${ISAS:-host avx2}
EPOCHS=${EPOCHS:-2}
REPEAT=${REPEAT:-3}
REPEAT_1000=${REPEAT_1000:-20}
OUT=${OUT:-}
all="mlp lenet lenet_relu cnn cnn_bn vgg resnet deep_relu"
models=${*:-$all}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

file_of() {
  case $1 in
  cnn | cnn_bn | vgg) echo "bench/models/$1.net" ;;
  *) echo "examples/$1.net" ;;
  esac
}
images_of() { case $1 in vgg) echo 10000 ;; resnet) echo 20000 ;; *) echo 60000 ;; esac; }
heavy() { case $1 in vgg | resnet) return 0 ;; *) return 1 ;; esac; }

json() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
fastest() { /usr/bin/python3 -c 'import json,sys; print(min(json.loads(l)["seconds"] for l in open(sys.argv[1]) if l.strip() and "seconds" in l))' "$1"; }

PEAK_PER_CORE=$("$DLC" profile examples/mlp.net --steps 2 --data "$DATA" 2>/dev/null | sed -n 's/^peak: \([0-9.]*\) GFLOP.*/\1/p')
echo "FMA peak $PEAK_PER_CORE GFLOP/s per core (measured); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); $(date -u '+%Y-%m-%d %H:%M UTC'); load $(cut -d' ' -f1-3 /proc/loadavg)"
header="| model | threads | side | s/epoch | img/s | GFLOP/s | % peak | inf b1 | inf b1000 | peak MB | ratio | inf1 x | inf1k x | compile ms |"
echo "$header"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
[ -n "$OUT" ] && { echo "$header"; echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"; } >"$OUT"
row() { echo "$1"; [ -n "$OUT" ] && echo "$1" >>"$OUT"; return 0; }

for model in $models; do
  file=$(file_of "$model")
  images=$(images_of "$model")
  reps=$REPEAT reps_1000=$REPEAT_1000
  if heavy "$model"; then reps=1 reps_1000=3; fi
  read -r per_example per_step < <("$DLC" check "$file" | sed -n 's/.*training \([0-9]*\) per example.*/\1/p; s/ *and \([0-9]*\) per step.*/\1/p' | tr '\n' ' '; echo)
  batch=$("$DLC" check "$file" | sed -n 's/.*arena at batch \([0-9]*\).*/\1/p')
  flops=$(awk -v e="$per_example" -v s="${per_step:-0}" -v b="$batch" -v n="$images" 'BEGIN { print e * n + s * int((n + b - 1) / b) }')
  held_out=$((60000 - images))
  for th in $THREADS; do
    peak=$(awk -v p="$PEAK_PER_CORE" -v t="$th" 'BEGIN { print p * t }')
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_train.py "$model" "$DATA" --threads "$th" --epochs "$EPOCHS" \
      --train-images "$images" --infer --repeat "$reps" --repeat-1000 "$reps_1000" >"$tmp/torch.jsonl"
    t=$(fastest "$tmp/torch.jsonl")
    last=$(tail -1 "$tmp/torch.jsonl")
    t1=$(json "$last" infer_batch1) t1k=$(json "$last" infer_batch1000) trss=$(json "$last" peak_rss_mb)
    for isa in $ISAS; do
      if [ "$isa" = avx2 ] && ! DLC_ISA=avx2 "$DLC" check "$file" >/dev/null 2>&1; then continue; fi
      best_ms=
      for run in 1 2 3; do
        ms=$(DLC_ISA=$isa "$DLC" train "$file" --compile-only --time --threads "$th" 2>/dev/null |
          sed -n 's/^compile time \([0-9]*\) ms.*/\1/p')
        if [ -z "$best_ms" ] || [ "$ms" -lt "$best_ms" ]; then best_ms=$ms; fi
      done
      fwd_ms=$(DLC_ISA=$isa "$DLC" train "$file" --compile-only --time --threads "$th" 2>/dev/null |
        sed -n 's/.*then dlc_forward in the background, \([0-9]*\) ms.*/\1/p')
      DLC_ISA=$isa /usr/bin/time -f '%M' -o "$tmp/dlc.rss" "$DLC" train "$file" --epochs "$EPOCHS" --threads "$th" \
        --validation "$held_out" --data "$DATA" --metrics "$tmp/dlc.jsonl" --save "$tmp/ck" >/dev/null 2>"$tmp/dlc.err" ||
        { cat "$tmp/dlc.err" >&2; exit 1; }
      for b in 1 1000; do
        r=$([ "$b" = 1 ] && echo "$reps" || echo "$reps_1000")
        DLC_ISA=$isa "$DLC" eval "$file" --load "$tmp/ck" --batch "$b" --threads "$th" --repeat "$r" --data "$DATA" \
          >/dev/null 2>"$tmp/eval$b.err"
        sed -n 's/.*: \([0-9]*\) images\/s.*/\1/p' "$tmp/eval$b.err" >"$tmp/eval$b"
      done
      d=$(fastest "$tmp/dlc.jsonl")
      row "$(awk -v m="$model" -v th="$th" -v side="dlc $isa" -v d="$d" -v t="$t" -v f="$flops" -v peak="$peak" -v n="$images" \
        -v d1="$(cat "$tmp/eval1")" -v d1k="$(cat "$tmp/eval1000")" -v drss="$(cat "$tmp/dlc.rss")" -v t1="$t1" -v t1k="$t1k" \
        -v ms="$best_ms" -v fwd="${fwd_ms:-?}" 'BEGIN {
        printf "| %s | %d | %s | %.2f | %.0f | %.1f | %.1f%% | %.0f | %.0f | %.0f | **%.2f** | %.1f | %.1f | %s (+%s fwd) |", m, th, side,
               d, n / d, f / d / 1e9, 100 * f / d / 1e9 / peak, d1, d1k, drss / 1024, d / t, d1 / t1, d1k / t1k, ms, fwd
      }')"
    done
    row "$(awk -v m="$model" -v th="$th" -v t="$t" -v f="$flops" -v peak="$peak" -v n="$images" -v t1="$t1" -v t1k="$t1k" \
      -v trss="$trss" 'BEGIN {
      printf "| %s | %d | PyTorch | %.2f | %.0f | %.1f | %.1f%% | %.0f | %.0f | %.0f | | | | |", m, th, t, n / t, f / t / 1e9,
             100 * f / t / 1e9 / peak, t1, t1k, trss
    }')"
  done
done
