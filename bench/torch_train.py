"""Trains a model in PyTorch and prints one JSON line per epoch with its timing.

usage: /usr/bin/python3 bench/torch_train.py MODEL DATA_DIR [--threads N] [--epochs N]
           [--train-images N] [--infer [--repeat N] [--repeat-1000 N]]

MODEL is a name of torch_models.MODELS (mlp, lenet, lenet_relu, cnn, cnn_bn, vgg, resnet,
deep_relu). --train-images trains on the first N training images only (the suite's heavier
models, whose dlc side holds the rest out as a validation split).

The data are MNIST's raw IDX files in DATA_DIR/mnist, held in memory as a float tensor
(pixel scaling as in the .net file), shuffled each epoch; so both sides time the training
steps, not file reading. With --infer, a last line gives inference images/s over the 10,000
test images at batch 1 and at batch 1000 (eval mode, no autograd; the fastest of --repeat
passes), and the process's peak resident memory.
"""
import argparse
import json
import resource
import time

import numpy as np
import torch
import torch.nn.functional as F

from torch_models import MODELS


def idx(path, offset):
    with open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=sorted(MODELS))
    ap.add_argument("data")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--train-images", type=int, default=60000)
    ap.add_argument("--infer", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="passes at batch 1")
    ap.add_argument("--repeat-1000", type=int, default=20, help="passes at batch 1000")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    network, batch, optimiser, (lo, hi), loss_kind = MODELS[a.model]
    count = a.train_images
    images = idx(f"{a.data}/mnist/train-images-idx3-ubyte", 16).reshape(60000, 1, 28, 28)[:count]
    labels = torch.from_numpy(idx(f"{a.data}/mnist/train-labels-idx1-ubyte", 8)[:count].astype(np.int64))
    x = torch.from_numpy(images.astype(np.float32) / 255.0) * (hi - lo) + lo
    test = torch.from_numpy(idx(f"{a.data}/mnist/t10k-images-idx3-ubyte", 16).reshape(10000, 1, 28, 28)
                            .astype(np.float32) / 255.0) * (hi - lo) + lo
    model = network()
    opt = optimiser(model.parameters())
    for epoch in range(a.epochs):
        start = time.perf_counter()
        perm = torch.randperm(count)
        total = 0.0
        for i in range(0, count, batch):
            j = perm[i:i + batch]
            out = model(x[j])
            if loss_kind == "xent":
                loss = F.cross_entropy(out, labels[j])
            else:
                loss = ((out - F.one_hot(labels[j], 10).float()) ** 2).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(j)
        seconds = time.perf_counter() - start
        print(json.dumps({"epoch": epoch + 1, "train_loss": total / count, "seconds": seconds,
                          "images_per_s": count / seconds, "threads": a.threads}), flush=True)
    if a.infer:
        model.eval()
        rates = {}
        with torch.no_grad():
            for batch in (1, 1000):
                best = float("inf")
                for _ in range(a.repeat if batch == 1 else a.repeat_1000):  # the fastest pass, as dlc eval --repeat
                    start = time.perf_counter()
                    for i in range(0, 10000, batch):
                        model(test[i:i + batch])
                    best = min(best, time.perf_counter() - start)
                rates[f"infer_batch{batch}"] = 10000 / best
        rates["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(rates), flush=True)


if __name__ == "__main__":
    main()
