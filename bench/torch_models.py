"""The PyTorch side of dlc's benchmarks: the same networks as examples/*.net, layer for layer.

LeNet-5 (examples/lenet.net): C1 conv 6@5x5 pad 2, S2 trainable subsampling (2x2 sum times a
coefficient plus a bias, per map), C3 conv 16@5x5 with the paper's connection table (a masked
weight: PyTorch pays for the full connection, dlc does not), S4, C5 dense 120, F6 dense 84,
10 outputs, scaled tanh 1.7159 tanh(2a/3), softmax cross-entropy.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

# Table I of LeCun et al. 1998: row i = S2 map i, column j = C3 map j.
C3_TABLE = [
    "X...XXX..XXXX.XX",
    "XX...XXX..XXXX.X",
    "XXX...XXX..X.XXX",
    ".XXX..XXXX..X.XX",
    "..XXX..XXXX.XX.X",
    "...XXX..XXXX.XXX",
]


def lecun_tanh(x):
    return 1.7159 * torch.tanh(x * (2.0 / 3.0))


class Subsample(nn.Module):
    """2x2 sum, times a trainable coefficient, plus a trainable bias, per map."""

    def __init__(self, maps):
        super().__init__()
        self.coef = nn.Parameter(torch.full((1, maps, 1, 1), 0.25))
        self.bias = nn.Parameter(torch.zeros(1, maps, 1, 1))

    def forward(self, x):
        return F.avg_pool2d(x, 2) * 4 * self.coef + self.bias


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)
        self.s2 = Subsample(6)
        self.c3 = nn.Conv2d(6, 16, 5)
        mask = torch.tensor([[[1.0 if C3_TABLE[i][j] == "X" else 0.0] for i in range(6)] for j in range(16)])
        self.register_buffer("c3_mask", mask.view(16, 6, 1, 1))
        self.s4 = Subsample(16)
        self.c5 = nn.Linear(400, 120)
        self.f6 = nn.Linear(120, 84)
        self.out = nn.Linear(84, 10)

    def forward(self, x):
        x = lecun_tanh(self.c1(x))
        x = lecun_tanh(self.s2(x))
        x = lecun_tanh(F.conv2d(x, self.c3.weight * self.c3_mask, self.c3.bias))
        x = lecun_tanh(self.s4(x))
        x = lecun_tanh(self.c5(x.flatten(1)))
        x = lecun_tanh(self.f6(x))
        return self.out(x)


class Mlp(nn.Module):
    """examples/mlp.net: 784-100-10, sigmoid units (trained with sum of squares)."""

    def __init__(self):
        super().__init__()
        self.h = nn.Linear(784, 100)
        self.o = nn.Linear(100, 10)

    def forward(self, x):
        return torch.sigmoid(self.o(torch.sigmoid(self.h(x.flatten(1)))))
