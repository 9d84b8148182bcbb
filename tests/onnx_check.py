"""onnx_check.py CASES.json — checks the ONNX models `dlc export` wrote (tests/check_export.c
writes CASES.json): for every case,

  - onnx.checker (full check) and strict shape inference accept the model, opset >= 13,
    with a symbolic batch dimension on its input and output;
  - every parameter it holds is the checkpoint's tensor of that name, bit for bit;
  - run by onnx_eval.py (NumPy), its outputs on dlc's inputs are dlc's, whatever the batch
    size (all images at once, one, seven; unless case["whole_batch"]: a graph made by hand
    whose output depends on the whole batch);
  - on those images it predicts dlc's classes, and, for trained models (case["errors"] set),
    it misclassifies as many of MNIST's 10,000 test images as `dlc eval` does.

Exits 1 after listing every failure."""
import numpy as np
import onnx

import export_checks
import mnist_test_set
import onnx_eval
from export_checks import ATOL, RTOL


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def test_set_errors(model, inp, out, shape, lo, hi, mnist):
    pixels, labels = mnist()
    wrong = 0
    for first in range(0, len(labels), 1000):
        batch = mnist_test_set.scale(pixels[first:first + 1000], lo, hi).reshape(-1, *shape)
        scores = onnx_eval.run(model, {inp.name: batch})[out.name]
        wrong += int(np.sum(scores.argmax(axis=1) != labels[first:first + 1000]))
    return wrong


def check(case, spec, mnist):
    images, failures = spec["images"], []
    name = case["name"]
    model = onnx.load(case["onnx"])
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    if not opset or opset[0] < 13:
        failures.append(f"{name}: opset {opset}")
    (inp,), (out,) = model.graph.input, inferred.graph.output
    if dims(inp)[0] != "N" or dims(out)[0] != "N":
        failures.append(f"{name}: batch dimension not symbolic: input {dims(inp)}, output {dims(out)}")

    ckpt = export_checks.read_checkpoint(case["checkpoint"])
    params = [t for t in model.graph.initializer if t.name in ckpt]
    for t in params:
        if not np.array_equal(onnx.numpy_helper.to_array(t), ckpt[t.name]):
            failures.append(f"{name}: initializer {t.name} differs from the checkpoint's")
    if not params:
        failures.append(f"{name}: no initializer carries a checkpoint tensor")

    meta = {p.key: p.value for p in model.metadata_props}
    lo, hi = float(meta["dlc.pixel_lo"]), float(meta["dlc.pixel_hi"])
    shape = [int(d) for d in dims(inp)[1:]]
    x = np.fromfile(case["x"], dtype=np.float32).reshape(images, *shape)
    want = np.fromfile(case["out"], dtype=np.float32).reshape(images, -1)
    got = onnx_eval.run(model, {inp.name: x})[out.name]
    compared, worst = export_checks.compare_outputs(name, got, want)
    failures += compared
    for part in () if case.get("whole_batch") else (slice(0, 1), slice(1, 8)):  # other batch sizes: the same rows
        rows = onnx_eval.run(model, {inp.name: x[part]})[out.name]
        if not np.allclose(rows, got[part], rtol=RTOL, atol=ATOL):
            failures.append(f"{name}: a batch of {part.stop - part.start} gives other outputs")

    said = ""
    if case["errors"] is not None:
        compared, said = export_checks.compare_errors(case, test_set_errors(model, inp, out, shape, lo, hi, mnist))
        failures += compared
    print(f"onnx {name}: {len(model.graph.node)} nodes, outputs within {worst:.2g} tolerances of dlc's{said}")
    return failures


if __name__ == "__main__":
    export_checks.run_cases(check)
