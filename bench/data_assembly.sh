#!/bin/bash
# data_assembly.sh — how much of a training epoch batch assembly takes (stored pixels to the
# model's float inputs and one-hot targets: runtime/batch.c), for MNIST, Fashion-MNIST and a
# CIFAR-shaped set (50,000 + 10,000 random 3x32x32 images in CIFAR-10's binary format,
# generated into a temporary folder), each with the fastest model of its shape, where the
# share is largest: an MLP, on one thread. Prints, per set, the CPU seconds of the epoch's
# training and of its batch assembly ("cpu_seconds" and "assemble_seconds" of dlc train
# --metrics: the stepping thread's CPU time, which other processes on the cores do not
# inflate) and the share.
#
#   bash bench/data_assembly.sh [DLC] [DATA_DIR]      (defaults: build/dlc, $DLC_DATA or ./data)
#
# Needs MNIST in DATA_DIR/mnist, Fashion-MNIST (Debian's dataset-fashion-mnist) and
# /usr/bin/python3 with NumPy. The machine is shared: the shares are ratios within one run.
set -euo pipefail
DLC=${1:-build/dlc}
DATA=${2:-${DLC_DATA:-data}}
EPOCHS=${EPOCHS:-2}
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

run() { # NAME FILE.net [dlc options]
  local name=$1 net=$2
  shift 2
  "$DLC" train "$net" --epochs "$EPOCHS" --metrics "$work/$name.jsonl" --data "$DATA" "$@" > /dev/null 2>&1
  /usr/bin/python3 - "$name" "$work/$name.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[2])]
best = min(rows, key=lambda r: r["cpu_seconds"])  # the fastest epoch: the largest share
print("%-16s epoch %6.2f s CPU (%6.2f s wall)  assembly %6.3f s CPU  %5.2f%% of the epoch" %
      (sys.argv[1], best["cpu_seconds"], best["seconds"], best["assemble_seconds"],
       100 * best["assemble_seconds"] / best["cpu_seconds"]))
EOF
}

run mnist examples/mlp.net
run fashion_mnist examples/fashion_mlp.net
run cifar_shaped "$work/cifar_mlp.net"
