#!/usr/bin/python3
"""Generate the PyTorch side of lockstep's ONNX export parity test.

Run from the repository root with Debian's Python (which has torch):

    /usr/bin/python3 tools/parity/generate_onnx.py

Builds three small models in PyTorch with fixed (seeded) weights, puts them in eval mode and writes
  * test/fixtures/onnx/<name>.onnx: torch.onnx.export of each (opset 17, batch axis dynamic),
  * test/fixtures/onnx/torch-models.json: each model's parameters and running statistics under
    lockstep's parameter paths ("0.weight", "1.runningMean"), a fixed input batch and PyTorch's own
    eval-mode output for it.
test/onnx-torch-parity.test.ts loads the same weights into lockstep, exports lockstep's ONNX file and
runs both files in onnxruntime-node.

Every model is an nn.Sequential whose layer indices are lockstep's layer paths, so a state_dict key
is lockstep's parameter path once running_mean/running_var are renamed and num_batches_tracked is
dropped. Tensors are {"shape": [...], "data": [...]}, flat row-major, exact float32 values (as in
generate.py). Output is deterministic: running twice gives byte-identical files.
"""

import json
import os
import sys

import torch
from torch import nn

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
torch.set_default_dtype(torch.float32)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate import REPO_ROOT, T, header  # noqa: E402  (shared with the dense-layer generator)

GENERATOR = "tools/parity/generate_onnx.py"
OUT_DIR = os.path.join(REPO_ROOT, "test", "fixtures", "onnx")
OPSET = 17
ROWS = 16

RENAMED = {"running_mean": "runningMean", "running_var": "runningVar"}


def mlp():
    """The reference MLP's shape (flatten, then linear-relu-dropout blocks), scaled down: 64-32-32-10."""
    return [1, 8, 8], nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(32, 32), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(32, 10),
    )


def cnn():
    """examples/configs/cnn.json's layers with fewer channels, on 12x12 images."""
    return [1, 12, 12], nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Dropout2d(0.1), nn.Flatten(),
        nn.Linear(72, 16), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(16, 10),
    )


def norm():
    """Normalization and the other activations: BatchNorm2d/1d with running statistics, exact GELU, LayerNorm."""
    return [2, 8, 8], nn.Sequential(
        nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.GELU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(36, 16), nn.BatchNorm1d(16), nn.Tanh(),
        nn.LayerNorm(16), nn.LeakyReLU(0.1), nn.Linear(16, 10),
    )


def randomize_statistics(model):
    """Running statistics and affine parameters away from their initial 0/1, as after training."""
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = module.num_features
            module.running_mean.copy_(torch.randn(c) * 0.5)
            module.running_var.copy_(torch.rand(c) * 1.5 + 0.25)
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)):
            module.weight.copy_(1 + 0.3 * torch.randn_like(module.weight))
            module.bias.copy_(0.2 * torch.randn_like(module.bias))


def state_of(model):
    state = {}
    for key, value in model.state_dict().items():
        path, _, name = key.rpartition(".")
        if name == "num_batches_tracked":
            continue
        state[f"{path}.{RENAMED.get(name, name)}"] = T(value)
    return state


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    out = header(GENERATOR)
    out["opset"] = OPSET
    out["models"] = {}
    for seed, make in enumerate([mlp, cnn, norm]):
        name = make.__name__
        torch.manual_seed(seed)
        sample_shape, model = make()
        with torch.no_grad():
            randomize_statistics(model)
        model.eval()
        x = torch.randn(ROWS, *sample_shape)
        with torch.no_grad():
            y = model(x)
        path = os.path.join(OUT_DIR, f"{name}.onnx")
        torch.onnx.export(
            model, x, path, opset_version=OPSET, input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        )
        out["models"][name] = {"inputShape": sample_shape, "params": state_of(model), "input": T(x), "output": T(y)}
        print(f"wrote {os.path.relpath(path, REPO_ROOT)} ({os.path.getsize(path)} bytes)")
    path = os.path.join(OUT_DIR, "torch-models.json")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(out, f, indent=None, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print(f"wrote {os.path.relpath(path, REPO_ROOT)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
