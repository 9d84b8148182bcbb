"""onnx_eval.py — a small ONNX interpreter in NumPy, for the ops `dlc export` emits.

It shares no code with dlc: it reads the model with the onnx package (Debian's python3-onnx;
ONNX 1.12 has no reference evaluator of its own) and computes every node from the ONNX
operator specification, in float32. tests/onnx_check.py runs exported models with it and
compares their outputs with dlc's.

    outputs = run(model, {"x": images})   # a dict of the graph's outputs by name
"""
import functools
import math

import numpy as np
from onnx import numpy_helper


def _attrs(node):
    out = {}
    for a in node.attribute:
        if a.type == a.INT:
            out[a.name] = a.i
        elif a.type == a.INTS:
            out[a.name] = list(a.ints)
        elif a.type == a.FLOAT:
            out[a.name] = a.f
        elif a.type == a.STRING:
            out[a.name] = a.s.decode()
        else:
            raise NotImplementedError(f"{node.op_type}: attribute {a.name} of type {a.type}")
    return out


def _shifts(x, k, strides, pads):
    """The input each tap of a k x k window reads: for every (ky, kx), the [N, C, Ho, Wo]
    slice of the zero-padded x at that offset."""
    top, left, bottom, right = pads
    x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    (kh, kw), (sy, sx) = k, strides
    ho, wo = (x.shape[2] - kh) // sy + 1, (x.shape[3] - kw) // sx + 1
    for ky in range(kh):
        for kx in range(kw):
            yield ky, kx, x[:, :, ky:ky + sy * (ho - 1) + 1:sy, kx:kx + sx * (wo - 1) + 1:sx]


def _conv(x, w, a):
    """A sum over the kernel's taps: each tap's column of kernels times the input at that
    offset (one matrix product per tap and group, no patch matrix)."""
    k = a.get("kernel_shape", list(w.shape[2:]))
    strides, pads, group = a.get("strides", [1, 1]), a.get("pads", [0, 0, 0, 0]), a.get("group", 1)
    assert a.get("dilations", [1, 1]) == [1, 1], "dilated convolutions are not emitted"
    c, m = x.shape[1], w.shape[0]
    cg, mg = c // group, m // group
    out = None
    for ky, kx, xs in _shifts(x, k, strides, pads):
        if cg == 1:  # one input map per group: its maps are products with it (depthwise too)
            term = np.repeat(xs, mg, axis=1) * w[:, 0, ky, kx].reshape(1, m, 1, 1) if mg > 1 and group > 1 \
                else xs * w[:, 0, ky, kx].reshape(1, m, 1, 1)
        else:
            term = np.concatenate([np.tensordot(xs[:, g * cg:(g + 1) * cg], w[g * mg:(g + 1) * mg, :, ky, kx],
                                                axes=([1], [1])) for g in range(group)], axis=3)
            term = term.transpose(0, 3, 1, 2)  # [N, Ho, Wo, M] -> [N, M, Ho, Wo]
        if out is None:
            out = np.ascontiguousarray(term, dtype=np.float32)
        else:
            out += term
    return out


def _maxpool(x, a):
    assert a.get("pads", [0, 0, 0, 0]) == [0, 0, 0, 0], "padded pooling is not emitted"
    out = None
    for _, _, xs in _shifts(x, a["kernel_shape"], a.get("strides", [1, 1]), [0, 0, 0, 0]):
        out = xs.copy() if out is None else np.maximum(out, xs)
    return out


def _reshape(x, shape):
    shape = [x.shape[i] if d == 0 else int(d) for i, d in enumerate(shape)]  # 0 keeps a dimension
    return x.reshape(shape)


def _gemm(a, b, at):
    if at.get("transA", 0):
        a = a.T
    if at.get("transB", 0):
        b = b.T
    assert at.get("alpha", 1.0) == 1.0 and at.get("beta", 1.0) == 1.0
    return a @ b


def _softmax(x, axis, log):
    shifted = x - x.max(axis=axis, keepdims=True)
    s = np.exp(shifted).sum(axis=axis, keepdims=True)
    return shifted - np.log(s) if log else np.exp(shifted) / s


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return (1 / (1 + np.exp(-x))).astype(np.float32)


def _erf(x):
    """The error function elementwise (NumPy has none): Python's math.erf in double precision."""
    return np.frompyfunc(math.erf, 1, 1)(x.astype(np.float64)).astype(np.float32)


def _slice(x, starts, ends, axes=None, steps=None):
    """Slice: per listed axis (negative from the last), positions starts..ends (negative from
    the end, clamped to the axis); the other axes whole. Steps other than 1 are not emitted."""
    axes = range(len(starts)) if axes is None else [int(d) + x.ndim if d < 0 else int(d) for d in axes]
    steps = [1] * len(starts) if steps is None else steps
    index = [slice(None)] * x.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        assert step == 1, "Slice with steps is not emitted"
        n = x.shape[axis]
        start, end = (int(v) + n if v < 0 else int(v) for v in (start, end))
        index[int(axis)] = slice(min(max(start, 0), n), min(max(end, 0), n))
    return x[tuple(index)]


def _pad(x, pads, value, mode):
    """Pad: pads is [begin of each axis..., end of each axis...]; constant mode only."""
    assert mode == "constant", f"Pad mode {mode} is not emitted"
    rank = x.ndim
    assert all(p >= 0 for p in pads), "negative pads (cropping) are not emitted"
    widths = [(int(pads[d]), int(pads[rank + d])) for d in range(rank)]
    return np.pad(x, widths, constant_values=value)


_FLOAT = 1  # TensorProto.FLOAT


def _node(op, i, a):
    """The outputs of one node: op, its inputs i (arrays), its attributes a."""
    if op == "Add":
        return i[0] + i[1]
    if op == "Sub":
        return i[0] - i[1]
    if op == "Mul":
        return i[0] * i[1]
    if op == "Div":
        return i[0] / i[1]
    if op == "Pow":
        return np.power(i[0], i[1])
    if op == "Neg":
        return -i[0]
    if op == "Exp":
        return np.exp(i[0])
    if op == "Log":
        return np.log(i[0])
    if op == "Tanh":
        return np.tanh(i[0])
    if op == "Sigmoid":
        return _sigmoid(i[0])
    if op == "Relu":
        return np.maximum(i[0], np.float32(0))
    if op == "Abs":
        return np.abs(i[0])
    if op == "Erf":
        return _erf(i[0])
    if op == "Softplus":  # ln(exp(x) + 1), without overflow
        return np.logaddexp(np.float32(0), i[0])
    if op == "LeakyRelu":
        return np.where(i[0] < 0, np.float32(a.get("alpha", 0.01)) * i[0], i[0])
    if op == "Max":
        return functools.reduce(np.maximum, i)
    if op == "Min":
        return functools.reduce(np.minimum, i)
    if op == "Reciprocal":
        return np.float32(1) / i[0]
    if op == "Greater":
        return i[0] > i[1]
    if op == "Cast":
        assert a["to"] == _FLOAT, "only casts to float are emitted"
        return i[0].astype(np.float32)
    if op == "Identity":
        return i[0]
    if op == "Reshape":
        return _reshape(i[0], i[1])
    if op == "Transpose":
        return i[0].transpose(a.get("perm"))
    if op == "Expand":
        return np.broadcast_to(i[0], np.broadcast_shapes(i[0].shape, tuple(int(d) for d in i[1]))).copy()
    if op == "Concat":
        return np.concatenate(i, axis=a["axis"])
    if op == "Slice":
        return _slice(i[0], *i[1:])
    if op == "Pad":
        return _pad(i[0], i[1], i[2] if len(i) > 2 else 0, a.get("mode", "constant"))
    if op == "Gather":
        return np.take(i[0], i[1], axis=a.get("axis", 0))
    if op == "Shape":
        return np.array(i[0].shape, dtype=np.int64)
    if op == "ReduceSum":
        axes = tuple(int(d) for d in i[1]) if len(i) > 1 else None
        return i[0].sum(axis=axes, keepdims=bool(a.get("keepdims", 1)), dtype=np.float32)
    if op == "ReduceMax":
        axes = a.get("axes")
        return i[0].max(axis=None if axes is None else tuple(axes), keepdims=bool(a.get("keepdims", 1)))
    if op == "MatMul":
        return np.matmul(i[0], i[1])
    if op == "Gemm":
        return _gemm(i[0], i[1], a) + (i[2] if len(i) > 2 else 0)
    if op == "Softmax":
        return _softmax(i[0], a.get("axis", -1), False)
    if op == "LogSoftmax":
        return _softmax(i[0], a.get("axis", -1), True)
    if op == "Conv":
        return _conv(i[0], i[1], a) + (i[2].reshape(1, -1, 1, 1) if len(i) > 2 else 0)
    if op == "MaxPool":
        return _maxpool(i[0], a)
    raise NotImplementedError(f"ONNX op {op}")


def run(model, feeds):
    """Runs the graph of model on feeds (name -> array); returns its outputs by name."""
    graph = model.graph
    env = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    env.update(feeds)
    for n in graph.node:
        value = _node(n.op_type, [env[name] for name in n.input], _attrs(n))
        if isinstance(value, np.ndarray) and value.dtype == np.float64:
            value = value.astype(np.float32)
        env[n.output[0]] = np.asarray(value)
    return {o.name: env[o.name] for o in graph.output}
