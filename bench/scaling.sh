#!/usr/bin/env bash
# bench/scaling.sh [lenet] [bn_cnn] — data-parallel training on this machine, side by side in
# one run: for each model, processes x threads per process
#
#   1x1   dlc train FILE --threads 1
#   1x2   dlc train FILE --threads 2            (threads of one process)
#   2x1   mpirun -np 2 dlc train FILE           (two processes, Open MPI over shared memory)
#
# seconds per epoch (the fastest of EPOCHS, default 2: the first epoch shares the cores with
# dlc_forward's background compile), images/s and the speed-up over 1x1, for ROUNDS (default
# 2) rounds, each round running every configuration once in turn so that they see the same
# load. Then, from the model's parameter count, its batch-norm sync points and the measured
# 1x1 step, the scale-out model of docs/scaling.md: bytes all-reduced per step, ring
# all-reduce times at 10 and 100 Gb/s, and the predicted efficiency at 8, 64 and 256
# processes. docs/scaling.md quotes a run. The machine is shared: check `uptime` first, and
# read the spread between rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
DLC=${DLC:-build/dlc}
DATA=${DLC_DATA:-data}
EPOCHS=${EPOCHS:-2}
ROUNDS=${ROUNDS:-2}
MPIRUN=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe}
models=${*:-lenet bn_cnn}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

file_of() { case $1 in lenet) echo examples/lenet.net ;; *) echo "bench/$1.net" ;; esac; }
fastest() { /usr/bin/python3 -c 'import json,sys; print(min(json.loads(l)["seconds"] for l in open(sys.argv[1]) if l.strip()))' "$1"; }

run() { # run MODEL CONFIG -> seconds of the fastest epoch
  local file metrics=$tmp/$1-$2.jsonl
  file=$(file_of "$1")
  rm -f "$metrics"
  case $2 in
  1x1) "$DLC" train "$file" --data "$DATA" --epochs "$EPOCHS" --threads 1 --metrics "$metrics" >/dev/null 2>"$tmp/err" ;;
  1x2) "$DLC" train "$file" --data "$DATA" --epochs "$EPOCHS" --threads 2 --metrics "$metrics" >/dev/null 2>"$tmp/err" ;;
  2x1) $MPIRUN -np 2 "$DLC" train "$file" --data "$DATA" --epochs "$EPOCHS" --threads 1 --metrics "$metrics" >/dev/null 2>"$tmp/err" ;;
  esac || { cat "$tmp/err" >&2; exit 1; }
  fastest "$metrics"
}

echo "load before: $(uptime | sed 's/.*load average: //')"
printf '%-8s %-6s %s\n' model config "s/epoch per round"
for model in $models; do
  declare -A secs=()
  for round in $(seq "$ROUNDS"); do
    for config in 1x1 1x2 2x1; do secs[$config]="${secs[$config]:-} $(run "$model" "$config")"; done
  done
  for config in 1x1 1x2 2x1; do
    printf '%-8s %-6s %s\n' "$model" "$config" "${secs[$config]}"
  done
  /usr/bin/python3 - "$model" "${secs[1x1]}" "${secs[1x2]}" "${secs[2x1]}" <<'EOF'
import sys
model, one, threads, procs = sys.argv[1], *[list(map(float, a.split())) for a in sys.argv[2:]]
for name, s in (("1x2", threads), ("2x1", procs)):
    ratios = [o / x for o, x in zip(one, s)]
    print(f"{model:8s} {name:6s} speed-up over 1x1 per round: " + " ".join(f"{r:.2f}" for r in ratios))
EOF
  unset secs
done
echo "load after: $(uptime | sed 's/.*load average: //')"

# The scale-out model: a ring all-reduce of B bytes over P processes sends 2 (P-1)/P B bytes
# from each process in 2 (P-1) steps of latency a; batch norm adds, per sync point, an
# all-reduce of a few hundred floats, latency-bound, which Open MPI does by recursive
# doubling (2 log2 P steps). Compute per step: the measured 1x1 step at the model's batch
# (weak scaling: each process keeps that batch). No overlap: communication after compute.
echo
printf '%-8s %10s %6s %8s | %-24s | %-24s\n' model params syncs "step ms" "eff. 8/64/256, 10 Gb/s" "eff. 8/64/256, 100 Gb/s"
for model in $models; do
  file=$(file_of "$model")
  params=$("$DLC" check "$file" 2>/dev/null | sed -n 's/^  total *\([0-9]*\)$/\1/p')
  batch=$(sed -n 's/.*batch = \([0-9]*\).*/\1/p' "$file" | head -1)
  syncs=$($MPIRUN -np 2 "$DLC" train "$file" --data "$DATA" --compile-only 2>&1 | sed -n 's/.*batch at \([0-9]*\) points.*/\1/p')
  step_ms=$(/usr/bin/python3 -c 'import json,sys; print(1000 * int(sys.argv[2]) / max(json.loads(l)["images_per_s"] for l in open(sys.argv[1]) if l.strip()))' "$tmp/$model-1x1.jsonl" "$batch")
  /usr/bin/python3 - "$model" "$params" "${syncs:-0}" "$step_ms" <<'EOF'
import math, sys
model, params, syncs, step_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
alpha = 10e-6  # seconds per message step (TCP over Ethernet; RDMA is some 2 us)
def ring(nbytes, p, gbit):
    return 2 * (p - 1) / p * nbytes / (gbit * 1e9 / 8) + 2 * (p - 1) * alpha
def doubling(nbytes, p, gbit):
    return 2 * math.log2(p) * alpha + math.log2(p) * nbytes / (gbit * 1e9 / 8)
grads = 4 * (params + 1)  # the gradient block and the loss
def comm(p, gbit):
    return ring(grads, p, gbit) + syncs * doubling(4 * 256, p, gbit)
def eff(p, gbit):
    return step_ms / 1e3 / (step_ms / 1e3 + comm(p, gbit))
row = lambda g: " ".join(f"{100 * eff(p, g):6.1f}%" for p in (8, 64, 256))
print(f"{model:8s} {params:10d} {syncs:6d} {step_ms:8.2f} | {row(10):24s} | {row(100):24s}")
for p in (8, 64, 256):
    print(f"{'':8s} P={p:3d}: {grads / 1e3:.0f} kB of gradients: ring {1e3 * ring(grads, p, 10):.2f} ms at 10 Gb/s "
          f"({1e3 * 2 * (p - 1) * alpha:.2f} of it latency), {1e3 * ring(grads, p, 100):.2f} ms at 100 Gb/s; "
          f"batch-norm syncs {1e3 * syncs * doubling(1024, p, 10):.2f} ms")
EOF
done
