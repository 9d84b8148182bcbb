"""mnist_test_set.py — MNIST's test images and labels read from their IDX files (raw, or
gzip-compressed as NAME.gz), for the export checks: their own reader, not dlc's."""
import gzip
import os
import struct

import numpy as np


def _read(path):
    if os.path.exists(path):
        with open(path, "rb") as f:
            return f.read()
    with gzip.open(path + ".gz", "rb") as f:
        return f.read()


def load(mnist_dir):
    """(pixels uint8 [N, 28, 28], labels uint8 [N]) of the t10k files in mnist_dir."""
    images = _read(os.path.join(mnist_dir, "t10k-images-idx3-ubyte"))
    labels = _read(os.path.join(mnist_dir, "t10k-labels-idx1-ubyte"))
    magic, n, rows, cols = struct.unpack(">IIII", images[:16])
    assert magic == 2051, "not an IDX image file"
    magic_l, n_l = struct.unpack(">II", labels[:8])
    assert magic_l == 2049 and n_l == n, "labels do not match the images"
    pixels = np.frombuffer(images, dtype=np.uint8, offset=16).reshape(n, rows, cols)
    return pixels, np.frombuffer(labels, dtype=np.uint8, offset=8)


def scale(pixels, lo, hi):
    """Pixel values 0..255 mapped linearly to lo..hi in float32: lo + p * ((hi - lo) / 255)."""
    lo, hi = np.float32(lo), np.float32(hi)
    return lo + pixels.astype(np.float32) * ((hi - lo) / np.float32(255))
