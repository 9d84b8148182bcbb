#!/bin/bash
# data_assembly.sh — how much of a training epoch batch assembly costs the steps (stored
# pixels to the model's float inputs and one-hot targets: runtime/batch.c), for MNIST,
# Fashion-MNIST and a CIFAR-shaped set (50,000 + 10,000 random 3x32x32 images in CIFAR-10's
# binary format, generated into a temporary folder), each with the fastest model of its shape,
# where the share is largest: an MLP, on one thread, where the helper thread makes batches
# ahead of the steps (compiler/train/ahead.c); then the stepping thread's way, assembling each
# batch between steps: Fashion-MNIST's MLP with --threads 2, whose step split over both cores
# leaves none free for the helper, and MNIST's on one core (taskset), where nothing overlaps.
# Prints, per run, the epoch's wall time and its stepping thread's CPU time ("seconds" and
# "cpu_seconds" of dlc train --metrics), the time the steps lost to assembly
# ("assemble_seconds": the stepping thread's CPU time assembling plus its waits for the
# helper) and that as a share of the epoch's wall time: of the fastest epoch, the range over
# all the epochs, and (for a machine whose load slows the wall clock) as a share of the
# fastest epoch's CPU time.
#
#   bash bench/data_assembly.sh [DLC] [DATA_DIR]      (defaults: build/dlc, $DLC_DATA or ./data)
#   EPOCHS=N  epochs per run (default 3)
#
# Needs MNIST in DATA_DIR/mnist, Fashion-MNIST (Debian's dataset-fashion-mnist) and
# /usr/bin/python3 with NumPy. The machine is shared: the shares are ratios within one run,
# and a loaded machine makes the helper thread's turn come late, so the steps wait more.
set -euo pipefail
DLC=${1:-build/dlc}
DATA=${2:-${DLC_DATA:-data}}
EPOCHS=${EPOCHS:-3}
work=$(mktemp -d /tmp/dlc-assembly-XXXXXX)
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 - "$work/cifar" <<'EOF'
import os, sys
import numpy as np
out = sys.argv[1]
os.makedirs(out)
rng = np.random.default_rng(1)
for name, n in [("data_batch_%d.bin" % i, 10000) for i in range(1, 6)] + [("test_batch.bin", 10000)]:
    rec = np.empty((n, 3073), np.uint8)
    rec[:, 0] = rng.integers(0, 10, n)
    rec[:, 1:] = rng.integers(0, 256, (n, 3072))
    rec.tofile(os.path.join(out, name))
EOF

cat > "$work/cifar_mlp.net" <<EOF
input  x : [3, 32, 32]
target y : onehot(10)
h    = relu(dense(flatten(x), 100, init: he))
out  = dense(h, 10)
loss = cross_entropy(out, y)
train { data = cifar10("$work/cifar"); optimizer = sgd(lr: 0.01, momentum: 0.9); batch = 64; epochs = $EPOCHS
        normalize(mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]) }
EOF

run() { # NAME FILE.net [dlc options]   (ON_ONE_CORE=1: on this process's first core only)
  local name=$1 net=$2 file=${1//[^a-z0-9]/_} pin=()
  shift 2
  [ -z "${ON_ONE_CORE:-}" ] || pin=(taskset -c "$(/usr/bin/python3 -c 'import os; print(min(os.sched_getaffinity(0)))')")
  ${pin[@]+"${pin[@]}"} "$DLC" train "$net" --epochs "$EPOCHS" --metrics "$work/$file.jsonl" --data "$DATA" "$@" > /dev/null 2>&1
  /usr/bin/python3 - "$name" "$work/$file.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[2])]
shares = [100 * r["assemble_seconds"] / r["seconds"] for r in rows]
best = min(rows, key=lambda r: r["seconds"])  # the fastest epoch: the least disturbed
print("%-18s epoch %5.2f s wall (%5.2f s CPU)  assembly %6.4f s  %5.2f%% of the epoch (%.2f-%.2f%% over %d epochs; %.2f%% of its CPU)" %
      (sys.argv[1], best["seconds"], best["cpu_seconds"], best["assemble_seconds"],
       100 * best["assemble_seconds"] / best["seconds"], min(shares), max(shares), len(rows),
       100 * best["assemble_seconds"] / best["cpu_seconds"]))
EOF
}

run mnist examples/mlp.net
run fashion_mnist examples/fashion_mlp.net
run cifar_shaped "$work/cifar_mlp.net"
run "fashion, 2 threads" examples/fashion_mlp.net --threads 2
ON_ONE_CORE=1 run "mnist, one core" examples/mlp.net
