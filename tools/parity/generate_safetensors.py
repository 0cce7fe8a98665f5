#!/usr/bin/python3
"""PyTorch round trips of lockstep's safetensors files (issue 22, "Models in and out").

Run from the repository root with Debian's Python (which has torch; the `safetensors` package is not
needed: the format is a few lines of struct and json below).

(a) Fixtures, from PyTorch to lockstep:

    /usr/bin/python3 tools/parity/generate_safetensors.py

builds a small MLP (Linear, LayerNorm, ReLU, Dropout, Tanh) and a small CNN (Conv2d, BatchNorm2d with
running statistics from 3 training batches, ReLU, MaxPool2d, Dropout2d, Flatten, Linear) as
nn.Sequential, saves each state_dict as safetensors (F32, with BatchNorm's num_batches_tracked as I64,
and the MLP once more as F64), with lockstep's model spec in the metadata, and writes the eval-mode
inputs and PyTorch's logits to test/fixtures/parity/safetensors.json. test/safetensors-parity.test.ts
loads them into lockstep. The output is deterministic: running it twice gives byte-identical files.

(b) From lockstep to PyTorch:

    node tools/parity/lockstep-logits.mjs model.safetensors logits.json
    /usr/bin/python3 tools/parity/generate_safetensors.py --check model.safetensors logits.json

reads a lockstep-exported file (lockstep export --format safetensors), builds the nn.Sequential its
"lockstep.spec" metadata describes, loads the weights with load_state_dict(strict=True), runs the
inputs lockstep-logits.mjs wrote, and prints the largest absolute difference from lockstep's logits.
Every built-in layer type has a translation in torch_layer.
"""

import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
torch.set_default_dtype(torch.float32)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate import REPO_ROOT, T, header, write  # noqa: E402  (shared with the other generators)

GENERATOR = "tools/parity/generate_safetensors.py"
FILES_DIR = os.path.join(REPO_ROOT, "test", "fixtures", "safetensors")
DTYPES = {torch.float32: ("F32", "<f4"), torch.float64: ("F64", "<f8"), torch.int64: ("I64", "<i8")}
READ = {"F32": ("f", 4), "F64": ("d", 8), "I64": ("q", 8)}


# ---------------------------------------------------------------- the format
def save_safetensors(path, tensors, metadata):
    """safetensors: u64 LE header length, JSON header (padded with spaces to 8 bytes), LE row-major data."""
    head = {"__metadata__": metadata}
    chunks = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dtype, fmt = DTYPES[t.dtype]
        data = t.reshape(-1).numpy().astype(fmt).tobytes()
        head[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(head, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in chunks:
            f.write(data)
    print(f"wrote {os.path.relpath(path, REPO_ROOT)} ({os.path.getsize(path)} bytes)")


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    head = json.loads(raw[8 : 8 + n].decode("utf-8"))
    metadata = head.pop("__metadata__", {})
    body = raw[8 + n :]
    tensors = {}
    for name, entry in head.items():
        code, size = READ[entry["dtype"]]
        begin, end = entry["data_offsets"]
        values = struct.unpack(f"<{(end - begin) // size}{code}", body[begin:end])
        dtype = torch.int64 if entry["dtype"] == "I64" else torch.float32
        tensors[name] = torch.tensor(values, dtype=torch.float64 if dtype == torch.float32 else dtype).to(dtype).reshape(entry["shape"])
    return tensors, metadata


# ---------------------------------------------------------------- lockstep spec -> nn.Sequential
def pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


def torch_layer(entry, shape):
    """The nn module of one lockstep spec entry for samples of `shape`, and its output sample shape."""
    kind = entry["type"]
    if kind == "linear":
        return nn.Linear(entry.get("in", shape[0]), entry["out"], bias=entry.get("bias", True)), [entry["out"]]
    if kind == "conv2d":
        k, s, p, d = pair(entry["kernelSize"]), pair(entry.get("stride", 1)), pair(entry.get("padding", 0)), pair(entry.get("dilation", 1))
        conv = nn.Conv2d(entry.get("in", shape[0]), entry["out"], k, s, p, d, groups=entry.get("groups", 1), bias=entry.get("bias", True))
        h, w = ((shape[1 + i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2))
        return conv, [entry["out"], h, w]
    if kind in ("max-pool2d", "avg-pool2d"):
        k = pair(entry["kernelSize"])
        s, p = pair(entry.get("stride", k)), pair(entry.get("padding", 0))
        pool = nn.MaxPool2d(k, s, p) if kind == "max-pool2d" else nn.AvgPool2d(k, s, p, count_include_pad=entry.get("countIncludePad", True))
        return pool, [shape[0]] + [(shape[1 + i] + 2 * p[i] - k[i]) // s[i] + 1 for i in range(2)]
    if kind in ("batch-norm1d", "batch-norm2d"):
        make = nn.BatchNorm1d if kind == "batch-norm1d" else nn.BatchNorm2d
        return make(entry.get("numFeatures", shape[0]), eps=entry.get("eps", 1e-5), momentum=entry.get("momentum", 0.1), affine=entry.get("affine", True), track_running_stats=entry.get("trackRunningStats", True)), shape
    if kind == "layer-norm":
        return nn.LayerNorm(entry.get("normalizedShape", shape), eps=entry.get("eps", 1e-5), elementwise_affine=entry.get("elementwiseAffine", True)), shape
    if kind == "flatten":
        size = 1
        for d in shape:
            size *= d
        return nn.Flatten(), [size]
    simple = {
        "relu": nn.ReLU(),
        "tanh": nn.Tanh(),
        "sigmoid": nn.Sigmoid(),
        "selu": nn.SELU(),
        "global-avg-pool2d": nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()),
    }
    if kind in simple:
        return simple[kind], ([shape[0]] if kind == "global-avg-pool2d" else shape)
    if kind == "leaky-relu":
        return nn.LeakyReLU(entry.get("negativeSlope", 0.01)), shape
    if kind == "gelu":
        return nn.GELU(approximate=entry.get("approximate", "none")), shape
    if kind in ("dropout", "dropout2d"):
        if entry.get("scaling", "inverted") == "classic":
            return ClassicDropout(entry["p"], kind == "dropout2d"), shape
        return (nn.Dropout if kind == "dropout" else nn.Dropout2d)(entry["p"]), shape
    if kind == "alpha-dropout":
        return nn.AlphaDropout(entry["p"]), shape
    if kind == "gaussian-dropout":
        # Multiplicative N(1, p / (1 - p)) noise while training, which PyTorch has no module for; the identity in eval mode, as in lockstep.
        return nn.Identity(), shape
    if kind == "sequential":
        return torch_sequential(entry["layers"], shape)
    raise SystemExit(f"layer type {kind} has no PyTorch translation here; add it to torch_layer")


class ClassicDropout(nn.Module):
    """lockstep's dropout with "scaling": "classic": kept units unscaled while training, every unit times 1 - p in eval mode (nn.Dropout does the reverse)."""

    def __init__(self, p, channels):
        super().__init__()
        self.p = p
        self.drop = nn.functional.dropout2d if channels else nn.functional.dropout

    def forward(self, x):
        if self.training:
            return self.drop(x, self.p, True) * (1 - self.p)
        return x * (1 - self.p)


def torch_sequential(entries, shape):
    """The nn.Sequential of lockstep spec entries for samples of `shape` (a nested one keeps PyTorch's names, "3.0.weight"), and its output sample shape."""
    layers = []
    for entry in entries:
        layer, shape = torch_layer(entry, shape)
        layers.append(layer)
    return nn.Sequential(*layers), shape


def torch_model(spec):
    model, _ = torch_sequential(spec["layers"], list(spec["input"]))
    return model


# ---------------------------------------------------------------- (a) fixtures
MLP_SPEC = {
    "input": [6],
    "layers": [
        {"type": "linear", "in": 6, "out": 8},
        {"type": "layer-norm", "normalizedShape": [8]},
        {"type": "relu"},
        {"type": "dropout", "p": 0.5},
        {"type": "linear", "in": 8, "out": 5},
        {"type": "tanh"},
        {"type": "linear", "in": 5, "out": 3},
    ],
}
CNN_SPEC = {
    "input": [2, 6, 6],
    "layers": [
        {"type": "conv2d", "in": 2, "out": 3, "kernelSize": 3, "padding": 1},
        {"type": "batch-norm2d", "numFeatures": 3},
        {"type": "relu"},
        {"type": "max-pool2d", "kernelSize": 2},
        {"type": "dropout2d", "p": 0.25},
        {"type": "flatten"},
        {"type": "linear", "in": 27, "out": 4},
    ],
}


def generate():
    torch.manual_seed(2201)
    cases = {}
    for name, spec, batch in (("mlp", MLP_SPEC, 5), ("cnn", CNN_SPEC, 4)):
        model = torch_model(spec)
        with torch.no_grad():
            for p in model.parameters():
                # Away from the initial values, so a layer that kept its own init would show.
                p.add_(torch.randn(p.shape) * 0.1)
        if name == "cnn":
            # Running statistics from three training batches (num_batches_tracked becomes 3).
            model.train()
            for _ in range(3):
                model(torch.randn(8, *spec["input"]) * 2 + 0.5)
        model.eval()
        inputs = torch.randn(batch, *spec["input"])
        with torch.no_grad():
            logits = model(inputs)
        state = model.state_dict()
        metadata = {"format": "pt", "lockstep.spec": json.dumps(spec, separators=(",", ":"))}
        os.makedirs(FILES_DIR, exist_ok=True)
        save_safetensors(os.path.join(FILES_DIR, f"{name}.safetensors"), state, metadata)
        if name == "mlp":
            save_safetensors(os.path.join(FILES_DIR, "mlp-f64.safetensors"), {k: v.to(torch.float64) for k, v in state.items()}, metadata)
        cases[name] = {"spec": spec, "names": list(state.keys()), "input": T(inputs), "logits": T(logits)}
    write("safetensors.json", {**header(GENERATOR), "cases": cases}, "MLP and CNN eval-mode logits for their safetensors files")


# ---------------------------------------------------------------- (b) check a lockstep export
def check(path, logits_path):
    tensors, metadata = load_safetensors(path)
    spec = json.loads(metadata["lockstep.spec"])
    model = torch_model(spec)
    state = dict(tensors)
    for key, value in model.state_dict().items():
        # lockstep does not keep BatchNorm's counter; it only matters with momentum=None.
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = value
    model.load_state_dict(state, strict=True)
    model.eval()
    with open(logits_path, encoding="utf-8") as f:
        saved = json.load(f)
    inputs = torch.tensor(saved["input"]["data"], dtype=torch.float64).to(torch.float32).reshape(saved["input"]["shape"])
    expected = torch.tensor(saved["logits"]["data"], dtype=torch.float64).to(torch.float32).reshape(saved["logits"]["shape"])
    with torch.no_grad():
        logits = model(inputs)
    diff = (logits - expected).abs().max().item()
    # float32 sums in another order differ by a few units in the last place of the largest logits.
    largest = expected.abs().max().item()
    ulp = math.ulp(largest) * 2 ** 29  # float64 ulp -> float32 ulp
    print(f"{path}: {len(tensors)} tensors loaded into torch {torch.__version__} (strict); {inputs.shape[0]} rows; max abs logit difference from lockstep {diff:.3e} (largest |logit| {largest:.3g}, float32 ulp there {ulp:.3g})")
    return diff


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--check":
        check(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 1:
        generate()
    else:
        raise SystemExit("usage: generate_safetensors.py  |  generate_safetensors.py --check FILE.safetensors LOGITS.json")
