import json
import math
import os
import struct

import torch
import torch.nn.functional as F

# ---- the part every dlc-generated module shares (compiler/export/pytorch_prelude.py) ----


def read_safetensors(path):
    """The tensors ({name: float32 tensor}) and metadata of a safetensors file, such as a
    checkpoint written by `dlc train --save`."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: not a safetensors file")
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = blob[8 + n:]
    tensors = {}
    for name, e in header.items():
        if e["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {e['dtype']}, not F32")
        begin, end = e["data_offsets"]
        flat = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32) if end > begin else torch.empty(0)
        tensors[name] = flat.reshape(e["shape"])
    return tensors, meta


def write_safetensors(path, tensors, meta):
    """Writes {name: tensor} as float32 safetensors with string metadata, through a temporary
    file renamed over path."""
    header, chunks, at = {}, [], 0
    for name, t in tensors.items():
        values = t.detach().to(torch.float32).reshape(-1).tolist()
        b = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [at, at + len(b)]}
        chunks.append(b)
        at += len(b)
    header["__metadata__"] = meta
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.write(b"".join(chunks))
    os.replace(tmp, path)


def _draw(init, shape):
    """A tensor of the checkpoint's shape drawn as dlc's initialiser draws it (docs/language.md),
    from torch's random numbers; a constant's ("data", values) as the file gives them."""
    if init[0] == "data":
        return torch.tensor(init[1], dtype=torch.float32).reshape(shape)
    kind, a, b, fan_in, fan_out = init
    t = torch.empty(shape)
    if kind == "zeros":
        return t.zero_()
    if kind == "const":
        return t.fill_(a)
    if kind == "uniform":
        return t.uniform_(a, b)
    if kind == "normal":
        return t.normal_(a, b)
    bound = {"lecun": 3 / fan_in, "xavier": 6 / (fan_in + fan_out), "he_uniform": 6 / fan_in}.get(kind)
    if bound is not None:
        return t.uniform_(-math.sqrt(bound), math.sqrt(bound))
    var = {"lecun_normal": 1 / fan_in, "xavier_normal": 2 / (fan_in + fan_out), "he": 2 / fan_in}[kind]
    return t.normal_(0, math.sqrt(var))


# Convolution kernels: dlc stores one row of k*k weights per connected (output map, input map)
# pair, by output map (all pairs without a connection table); conv2d wants [maps, inputs, k, k].
# `conv` is (maps, inputs, k, slots): slots[r] is the pair (m * inputs + i) of row r, or None
# for all pairs in order (a grouped convolution's inputs being those of one group).

def _slots(conv):
    maps, inputs, _, slots = conv
    return list(range(maps * inputs)) if slots is None else slots


def _to_module(conv, t):
    """Kernels in the checkpoint's layout -> [maps, inputs, k, k], zeros where not connected."""
    maps, inputs, k, _ = conv
    full = torch.zeros(maps * inputs, k * k, dtype=t.dtype)
    full[_slots(conv)] = t.reshape(-1, k * k)
    return full.reshape(maps, inputs, k, k)


def _to_checkpoint(conv, t, shape):
    """[maps, inputs, k, k] -> the checkpoint's rows of connected kernels."""
    k = conv[2]
    return t.reshape(-1, k * k)[_slots(conv)].reshape(shape)


def _mask(conv):
    """1 where an output map reads an input map, 0 elsewhere: [maps, inputs, 1, 1]."""
    maps, inputs, _, _ = conv
    m = torch.zeros(maps * inputs)
    m[_slots(conv)] = 1
    return m.reshape(maps, inputs, 1, 1)


class DlcModule(torch.nn.Module):
    """What a generated network shares: its parameters in dlc's checkpoint layout (LAYOUT:
    each parameter's and statistic's dlc name, attribute, checkpoint shape, initialiser and
    kernel layout), the input scaling, and loading and saving dlc checkpoints."""

    SOURCE = ""
    INPUT_SHAPE = ()
    PIXELS = (0.0, 1.0)
    LAYOUT = ()

    @classmethod
    def pixels_to_input(cls, pixels):
        """Pixel values 0..255 (N images, any shape with N first) -> the float input dlc feeds:
        lo + p * (hi - lo) / 255, in float32 as dlc computes it."""
        p = torch.as_tensor(pixels).reshape(-1, *cls.INPUT_SHAPE).to(torch.float32)
        lo, hi = (torch.tensor(v, dtype=torch.float32) for v in cls.PIXELS)
        return lo + p * ((hi - lo) / 255)

    def _module_value(self, e, t):
        return _to_module(e["conv"], t) if e["conv"] else t.reshape(e["shape"])

    def reset_parameters(self):
        """Every parameter drawn as dlc's initialisers draw them (another random stream: the
        same distributions, not the same numbers); statistics as batch norm starts them."""
        with torch.no_grad():
            for e in self.LAYOUT:
                getattr(self, e["attr"]).copy_(self._module_value(e, _draw(e["init"], e["shape"])))

    def load_dlc(self, path):
        """Loads a dlc checkpoint (dlc train --save): every parameter by name and shape, and
        batch norm's running statistics where it holds them."""
        tensors, meta = read_safetensors(path)
        if meta.get("format") != "dlc":
            raise ValueError(f'{path}: not a dlc checkpoint (no "format": "dlc" in its metadata)')
        for e in self.LAYOUT:
            t = tensors.get(e["name"])
            if t is None and e["kind"] == "state":
                continue
            if t is None or list(t.shape) != e["shape"]:
                what = "has no" if t is None else "has another shape for"
                raise ValueError(f"{path}: {what} '{e['name']}' of this network (is it another model's checkpoint?)")
        with torch.no_grad():
            for e in self.LAYOUT:
                if e["name"] in tensors:
                    getattr(self, e["attr"]).copy_(self._module_value(e, tensors[e["name"]]))
        return self

    def save_dlc(self, path):
        """Writes the parameters and statistics as a dlc checkpoint (`dlc eval --load` reads
        it; it holds no optimiser state, so `dlc train --resume` does not)."""
        tensors = {}
        for e in self.LAYOUT:
            t = getattr(self, e["attr"]).detach()
            tensors[e["name"]] = _to_checkpoint(e["conv"], t, e["shape"]) if e["conv"] else t.reshape(e["shape"])
        write_safetensors(path, tensors, {"format": "dlc", "model": self.SOURCE})
