"""The PyTorch side of dlc's benchmarks: the same networks as examples/*.net and
bench/models/*.net, layer for layer (MODELS at the end: each model's network, batch, optimiser
and input scaling, as its .net file says).

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


class LeNetRelu(nn.Module):
    """examples/lenet_relu.net: LeNet-5's shape with ReLU, max pooling and a full C3."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.c5 = nn.Linear(400, 120)
        self.f6 = nn.Linear(120, 84)
        self.out = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c3(x)), 2)
        x = F.relu(self.c5(x.flatten(1)))
        return self.out(F.relu(self.f6(x)))


class Cnn(nn.Module):
    """bench/models/cnn.net (bn=False) and cnn_bn.net (bn=True): conv 3x3 16 maps, pad 1, ReLU,
    max pooling; conv 3x3 32 maps, ReLU, max pooling; dense 128; 10 outputs. With batch norm
    after each convolution, which then has no bias."""

    def __init__(self, bn=False):
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3, padding=1, bias=not bn)
        self.c2 = nn.Conv2d(16, 32, 3, padding=1, bias=not bn)
        self.n1 = nn.BatchNorm2d(16) if bn else nn.Identity()
        self.n2 = nn.BatchNorm2d(32) if bn else nn.Identity()
        self.h = nn.Linear(32 * 7 * 7, 128)
        self.out = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.n1(self.c1(x))), 2)
        x = F.max_pool2d(F.relu(self.n2(self.c2(x))), 2)
        return self.out(F.relu(self.h(x.flatten(1))))


class Vgg(nn.Module):
    """bench/models/vgg.net: MNIST placed in 32x32 and repeated in 3 channels, three stages of two
    3x3 convolutions (32, 64, 128 maps) with ReLU and max pooling, dense 256, 10 outputs."""

    def __init__(self):
        super().__init__()
        convs, c = [], 3
        for maps in (32, 64, 128):
            convs += [nn.Conv2d(c, maps, 3, padding=1), nn.Conv2d(maps, maps, 3, padding=1)]
            c = maps
        self.convs = nn.ModuleList(convs)
        self.h = nn.Linear(128 * 4 * 4, 256)
        self.out = nn.Linear(256, 10)

    def forward(self, x):
        x = F.pad(x, (2, 2, 2, 2)).repeat(1, 3, 1, 1)
        for i in range(0, 6, 2):
            x = F.max_pool2d(F.relu(self.convs[i + 1](F.relu(self.convs[i](x)))), 2)
        return self.out(F.relu(self.h(x.flatten(1))))


class ResNet(nn.Module):
    """examples/resnet.net: a 3x3 stem with batch norm and max pooling, an identity block of
    16 maps, a strided block to 32 maps (its skip a strided 1x1 convolution with batch norm),
    an identity block of 32, global average pooling, dense 10."""

    @staticmethod
    def conv_bn(c, maps, k=3, stride=1):
        return nn.Sequential(nn.Conv2d(c, maps, k, stride=stride, padding=k // 2, bias=False), nn.BatchNorm2d(maps))

    def __init__(self):
        super().__init__()
        self.stem = self.conv_bn(1, 16)
        self.b1 = nn.ModuleList([self.conv_bn(16, 16), self.conv_bn(16, 16)])
        self.skip = self.conv_bn(16, 32, k=1, stride=2)
        self.down = nn.ModuleList([self.conv_bn(16, 32, stride=2), self.conv_bn(32, 32)])
        self.b3 = nn.ModuleList([self.conv_bn(32, 32), self.conv_bn(32, 32)])
        self.out = nn.Linear(32, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.stem(x)), 2)
        x = F.relu(x + self.b1[1](F.relu(self.b1[0](x))))
        x = F.relu(self.skip(x) + self.down[1](F.relu(self.down[0](x))))
        x = F.relu(x + self.b3[1](F.relu(self.b3[0](x))))
        return self.out(x.mean((2, 3)))


class DeepRelu(nn.Module):
    """examples/deep_relu.net: 20 ReLU layers of 100 units, 10 outputs."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(784 if i == 0 else 100, 100) for i in range(20)])
        self.out = nn.Linear(100, 10)

    def forward(self, x):
        x = x.flatten(1)
        for layer in self.layers:
            x = F.relu(layer(x))
        return self.out(x)


def _sgd(**kw):
    return lambda params: torch.optim.SGD(params, **kw)


def _adam(**kw):
    return lambda params: torch.optim.Adam(params, **kw)


# name: (network, batch, optimiser, pixel range lo..hi, loss). As the .net files say; a
# learning-rate schedule (cosine) costs nothing per step on either side and is left out.
MODELS = {
    "mlp": (Mlp, 10, _sgd(lr=1.0, weight_decay=3e-5), (0.0, 1.0), "squares"),
    "lenet": (LeNet5, 32, _sgd(lr=0.025, momentum=0.9, weight_decay=1e-3), (-0.1, 1.175), "xent"),
    "lenet_relu": (LeNetRelu, 64, _adam(lr=0.001, weight_decay=0.0005), (0.0, 1.0), "xent"),
    "cnn": (lambda: Cnn(bn=False), 64, _adam(lr=0.001), (0.0, 1.0), "xent"),
    "cnn_bn": (lambda: Cnn(bn=True), 64, _adam(lr=0.001), (0.0, 1.0), "xent"),
    "vgg": (Vgg, 64, _adam(lr=0.001), (0.0, 1.0), "xent"),
    "resnet": (ResNet, 64, _adam(lr=0.003, weight_decay=0.0001), (0.0, 1.0), "xent"),
    "deep_relu": (DeepRelu, 64, _sgd(lr=0.01, momentum=0.9), (0.0, 1.0), "xent"),
}
