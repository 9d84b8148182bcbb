"""torch_check.py CASES.json — checks the PyTorch modules `dlc export --pytorch` wrote
(tests/check_export.c writes CASES.json), with Debian's python3-torch: for every case,

  - the module imports, builds Net() (parameters drawn as dlc's initialisers draw them: finite,
    zero where a connection table has no connection) and loads the case's checkpoint;
  - its outputs on dlc's inputs are dlc's, and so are its classes;
  - for trained models (case["errors"] set), it misclassifies as many of MNIST's 10,000 test
    images as `dlc eval` does (its own pixels_to_input scaling the pixels);
  - save_dlc writes the checkpoint's tensors back, bit for bit, to case["resaved"] (which
    check_export.c then scores with dlc eval);
  - a checkpoint of another network is refused with a ValueError.

Exits 1 after listing every failure."""
import importlib.util

import numpy as np
import torch

import export_checks


def load_module(case):
    spec = importlib.util.spec_from_file_location("exported_" + case["name"].replace("-", "_"), case["module"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check(case, spec, mnist):
    images, failures = spec["images"], []
    name = case["name"]
    module = load_module(case)
    net = module.Net()
    for e in net.LAYOUT:
        value = getattr(net, e["attr"])
        if not torch.isfinite(value).all():
            failures.append(f"{name}: {e['name']} not finite as initialised")
        mask = getattr(net, e["attr"] + "_mask", None)
        if mask is not None and (value * (1 - mask)).abs().max() != 0:
            failures.append(f"{name}: {e['name']} has weights where its table has no connection")
    net.load_dlc(case["checkpoint"])
    net.eval()
    # a checkpoint of another network: one of this one's parameters missing or of another shape
    own = {(e["name"], tuple(e["shape"])) for e in net.LAYOUT if e["kind"] == "param"}
    others = (c["checkpoint"] for c in spec["cases"])
    other_checkpoint = next((path for path in others if not own <= export_checks.signature(path)), None)

    x = torch.from_numpy(np.fromfile(case["x"], dtype=np.float32).reshape(images, *net.INPUT_SHAPE))
    want = np.fromfile(case["out"], dtype=np.float32).reshape(images, -1)
    with torch.no_grad():
        got = net(x).numpy()
    compared, worst = export_checks.compare_outputs(name, got, want)
    failures += compared
    said = ""
    if case["errors"] is not None:
        pixels, labels = mnist()
        with torch.no_grad():
            scores = net(net.pixels_to_input(torch.from_numpy(pixels.copy())))
        wrong = int((scores.argmax(dim=1) != torch.from_numpy(labels.astype(np.int64))).sum())
        compared, said = export_checks.compare_errors(case, wrong)
        failures += compared

    net.save_dlc(case["resaved"])
    saved, meta = module.read_safetensors(case["resaved"])
    ckpt, _ = module.read_safetensors(case["checkpoint"])
    if meta.get("format") != "dlc":
        failures.append(f"{name}: save_dlc wrote no dlc format metadata")
    for key, t in saved.items():
        if not torch.equal(t, ckpt[key]):
            failures.append(f"{name}: save_dlc changed {key}")
    try:
        if other_checkpoint:
            module.Net().load_dlc(other_checkpoint)
            failures.append(f"{name}: loaded {other_checkpoint}, another network's checkpoint")
    except ValueError as e:
        if "another model's checkpoint" not in str(e):
            failures.append(f"{name}: refused another network's checkpoint with: {e}")
    print(f"torch {name}: outputs within {worst:.2g} tolerances of dlc's{said}")
    return failures


if __name__ == "__main__":
    torch.set_num_threads(2)
    export_checks.run_cases(check)
