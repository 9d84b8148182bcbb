"""Trains examples/fashion_cnn.net's or fashion_mlp.net's recipe in PyTorch on Fashion-MNIST,
for the accuracy to set beside dlc's (README's results table), and prints one JSON line per
epoch: {"epoch", "train_loss", "test_error", "seconds"}.

usage: /usr/bin/python3 bench/torch_fashion.py {cnn,mlp} [--data DIR] [--seed N] [--epochs N] [--threads N]

The same recipe as the .net file, layer for layer: the same layers, initialisers (dlc's
`lecun` is U(+-sqrt(3 / fan_in)), `he` N(0, 2 / fan_in), biases 0; batch norm's scale 1 and
shift 0, momentum 0.1, eps 1e-5), dropout, Adam (lr, betas 0.9 and 0.999, eps 1e-8), the
cosine decay step by step over all epochs as dlc computes it, batch 64, a fresh shuffle each
epoch, pixels in [0, 1], float32. The data are read where dlc reads them: DIR/fashion-mnist/
(--data, default ./data) if it holds the set, else Debian's /usr/share/datasets/fashion-mnist/
(the package dataset-fashion-mnist), each file raw or gzip-compressed.
"""
import argparse
import gzip
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DEBIAN = "/usr/share/datasets/fashion-mnist"


def read_idx(directory, name):
    for path in (os.path.join(directory, name), os.path.join(directory, name + ".gz")):
        if os.path.exists(path):
            with open(path, "rb") as f:
                data = f.read()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            dims = data[3]
            shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
            return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)
    return None


def load(data_dir):
    own = os.path.join(data_dir, "fashion-mnist")
    directory = own if read_idx(own, "train-labels-idx1-ubyte") is not None else DEBIAN
    sets = []
    for prefix in ("train", "t10k"):
        x = read_idx(directory, prefix + "-images-idx3-ubyte")
        y = read_idx(directory, prefix + "-labels-idx1-ubyte")
        if x is None or y is None:
            raise SystemExit("Fashion-MNIST is neither in %s nor in %s" % (own, DEBIAN))
        sets.append((torch.tensor(x, dtype=torch.float32).div_(255).unsqueeze(1), torch.tensor(y, dtype=torch.long)))
    return sets


def lecun_(w):
    fan_in = w[0].numel()
    nn.init.uniform_(w, -math.sqrt(3.0 / fan_in), math.sqrt(3.0 / fan_in))


def he_(w):
    nn.init.normal_(w, 0.0, math.sqrt(2.0 / w[0].numel()))


class Cnn(nn.Module):
    """examples/fashion_cnn.net"""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 32, 3, padding=1, bias=False)
        self.n1 = nn.BatchNorm2d(32)
        self.c2 = nn.Conv2d(32, 64, 3, padding=1, bias=False)
        self.n2 = nn.BatchNorm2d(64)
        self.h = nn.Linear(64 * 7 * 7, 128, bias=False)
        self.nh = nn.BatchNorm1d(128)
        self.out = nn.Linear(128, 10)
        for w in (self.c1.weight, self.c2.weight, self.h.weight, self.out.weight):
            lecun_(w)
        nn.init.zeros_(self.out.bias)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.n1(self.c1(x))), 2)
        x = F.max_pool2d(F.relu(self.n2(self.c2(x))), 2)
        x = F.relu(self.nh(self.h(x.flatten(1))))
        return self.out(F.dropout(x, 0.3, self.training))


class Mlp(nn.Module):
    """examples/fashion_mlp.net"""

    def __init__(self):
        super().__init__()
        self.h1 = nn.Linear(784, 256)
        self.h2 = nn.Linear(256, 128)
        self.out = nn.Linear(128, 10)
        he_(self.h1.weight)
        he_(self.h2.weight)
        lecun_(self.out.weight)
        for layer in (self.h1, self.h2, self.out):
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        h1 = F.relu(self.h1(x.flatten(1)))
        h2 = F.relu(self.h2(F.dropout(h1, 0.2, self.training)))
        return self.out(F.dropout(h2, 0.2, self.training))


RECIPES = {"cnn": (Cnn, 0.002, 10), "mlp": (Mlp, 0.001, 20)}


def test_error(model, x, y):
    model.eval()
    wrong = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            wrong += (model(x[i:i + 1000]).argmax(1) != y[i:i + 1000]).sum().item()
    return wrong / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=sorted(RECIPES))
    ap.add_argument("--data", default=os.environ.get("DLC_DATA", "data"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    make, lr, epochs = RECIPES[a.model]
    epochs = a.epochs or epochs
    (x, y), (tx, ty) = load(a.data)
    model = make()
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)
    batch, n = 64, len(x)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(n)
        total, start = 0.0, time.time()
        for done in range(0, n, batch):
            for g in opt.param_groups:  # cosine decay step by step, as dlc's settings_lr
                g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * min((epoch + done / n) / epochs, 1.0)))
            idx = perm[done:done + batch]
            loss = F.cross_entropy(model(x[idx]), y[idx], reduction="sum")
            opt.zero_grad()
            (loss / len(idx)).backward()
            opt.step()
            total += loss.item()
        seconds = time.time() - start
        print(json.dumps({"epoch": epoch + 1, "train_loss": round(total / n, 6),
                          "test_error": test_error(model, tx, ty), "seconds": round(seconds, 2)}), flush=True)


if __name__ == "__main__":
    main()
