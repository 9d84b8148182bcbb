"""export_checks.py — what onnx_check.py and torch_check.py share: a safetensors checkpoint
read (its header alone, or its tensors), an export's outputs and classes on dlc's inputs
compared with dlc's, its mistakes on MNIST's test set compared with `dlc eval`'s, and the run
over every case of CASES.json (tests/check_export.c writes it), exiting 1 after listing every
failure."""
import functools
import json
import struct
import sys

import numpy as np

import mnist_test_set

RTOL, ATOL = 1e-4, 1e-5  # float32 arithmetic in another order (and dlc's vectorised tanh, exp)


def _header(f):
    """The JSON header of the safetensors file f (without its metadata) and where the data starts."""
    (n,) = struct.unpack("<Q", f.read(8))
    header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return header, 8 + n


def read_checkpoint(path):
    """{name: float32 array} of a safetensors file."""
    with open(path, "rb") as f:
        header, start = _header(f)
        f.seek(start)
        data = f.read()
    return {name: np.frombuffer(data[e["data_offsets"][0]:e["data_offsets"][1]], dtype="<f4").reshape(e["shape"])
            for name, e in header.items()}


def signature(path):
    """{(name, shape)} of a checkpoint's tensors (the header only)."""
    with open(path, "rb") as f:
        header, _ = _header(f)
    return {(k, tuple(e["shape"])) for k, e in header.items()}


def compare_outputs(name, got, want):
    """The failures of an export whose outputs got (on dlc's inputs) are not dlc's, want, within
    the tolerances, or whose classes are others; and how close they are, in tolerances."""
    failures = []
    worst = float(np.max(np.abs(got - want) / (ATOL + RTOL * np.abs(want))))
    if not np.allclose(got, want, rtol=RTOL, atol=ATOL):
        failures.append(f"{name}: outputs differ from dlc's by up to {worst:.3g} tolerances")
    if not np.array_equal(got.argmax(axis=1), want.argmax(axis=1)):
        failures.append(f"{name}: predicts other classes than dlc on its inputs")
    return failures, worst


def compare_errors(case, wrong):
    """The failure of an export that misclassifies `wrong` test images where `dlc eval` counts
    case["errors"] (none when they agree), and what to say of them."""
    failures = []
    if wrong != case["errors"]:
        failures.append(f"{case['name']}: {wrong} test images misclassified, dlc eval: {case['errors']}")
    return failures, f", {wrong} test images misclassified (dlc eval {case['errors']})"


def run_cases(check):
    """check(case, spec, mnist) for every case of the CASES.json named on the command line
    (mnist() reads the test set once); an exception fails its case alone."""
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    mnist = functools.lru_cache(None)(lambda: mnist_test_set.load(spec["mnist"]))
    failures = []
    for case in spec["cases"]:
        try:
            failures += check(case, spec, mnist)
        except Exception as e:  # a checker's rejection, a missing file: that case fails
            failures.append(f"{case['name']}: {type(e).__name__}: {e}")
    for f in failures:
        print("FAIL", f)
    sys.exit(1 if failures else 0)
