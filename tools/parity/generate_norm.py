#!/usr/bin/python3
"""Generate PyTorch parity fixtures for lockstep's normalization layers.

Run from the repository root with Debian's Python (which has torch):

    /usr/bin/python3 tools/parity/generate_norm.py

Writes test/fixtures/parity/norm.json. Output is deterministic: running twice gives byte-identical files.

Conventions (same as generate.py): every tensor is {"shape": [...], "data": [...]} (flat, row-major, exact
float32 values). Cases:
  * "layers": BatchNorm1d/2d in train mode on one batch (which lockstep trains as one chunk) and in eval mode
    with given running statistics, and LayerNorm: the input, a random gradOutput, the output, gradInput,
    gradWeight and gradBias (absent without affine), and for BatchNorm the running mean and variance before
    ("runningMean0", "runningVar0") and after the forward pass.
  * "fits": a small model trained 3 SGD steps (MSE loss, lr 0.1) on one batch in train mode: the initial
    parameters in lockstep's order (each layer's weight then bias, layers in order), the inputs and targets,
    and after each step the parameters and the running mean and variance of its BatchNorm.
"""

import os
import sys

import torch

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
torch.set_default_dtype(torch.float32)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate import T, randn, write  # noqa: E402  (shared with the dense-layer generator)
from generate import header as base_header  # noqa: E402

GENERATOR = "tools/parity/generate_norm.py"


def affine(layer, shape):
    """Non-trivial scale and shift, so their gradients and effect are visible."""
    with torch.no_grad():
        layer.weight.copy_(1 + 0.5 * randn(*shape))
        layer.bias.copy_(0.5 * randn(*shape))


def batch_norm_case(kind, in_shape, training, eps=1e-5, momentum=0.1, affine_=True, running=False):
    channels = in_shape[1]
    layer = (torch.nn.BatchNorm1d if kind == "batchnorm1d" else torch.nn.BatchNorm2d)(
        channels, eps=eps, momentum=momentum, affine=affine_)
    if affine_:
        affine(layer, [channels])
    if running:
        with torch.no_grad():
            layer.running_mean.copy_(0.3 * randn(channels))
            layer.running_var.copy_(0.5 + torch.rand(channels))
    mean0, var0 = layer.running_mean.clone(), layer.running_var.clone()
    layer.train(training)
    x = (randn(*in_shape) * 1.5 + 0.7).requires_grad_(True)
    y = layer(x)
    g = randn(*y.shape)
    y.backward(g)
    case = {"op": kind, "training": training, "eps": eps, "momentum": momentum, "affine": affine_,
            "input": T(x), "gradOutput": T(g), "output": T(y), "gradInput": T(x.grad),
            "runningMean0": T(mean0), "runningVar0": T(var0),
            "runningMean": T(layer.running_mean), "runningVar": T(layer.running_var)}
    if affine_:
        case.update({"weight": T(layer.weight), "bias": T(layer.bias),
                     "gradWeight": T(layer.weight.grad), "gradBias": T(layer.bias.grad)})
    return case


def layer_norm_case(in_shape, normalized_shape, eps=1e-5, affine_=True):
    layer = torch.nn.LayerNorm(normalized_shape, eps=eps, elementwise_affine=affine_)
    if affine_:
        affine(layer, normalized_shape)
    x = (randn(*in_shape) * 2 - 0.4).requires_grad_(True)
    y = layer(x)
    g = randn(*y.shape)
    y.backward(g)
    case = {"op": "layernorm", "normalizedShape": list(normalized_shape), "eps": eps, "affine": affine_,
            "input": T(x), "gradOutput": T(g), "output": T(y), "gradInput": T(x.grad)}
    if affine_:
        case.update({"weight": T(layer.weight), "bias": T(layer.bias),
                     "gradWeight": T(layer.weight.grad), "gradBias": T(layer.bias.grad)})
    return case


def flat_params(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def fit_case(model, bn, in_shape, out_width, lr=0.1, steps=3):
    """`steps` SGD steps on one batch with MSE; model.parameters() is in lockstep's order for these models."""
    x = randn(*in_shape) * 1.5 + 0.5
    target = randn(in_shape[0], out_width)
    case = {"input": T(x), "target": T(target), "lr": lr, "initialParams": T(flat_params(model)), "steps": []}
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), target)
        loss.backward()
        optimizer.step()
        case["steps"].append({"params": T(flat_params(model)), "runningMean": T(bn.running_mean), "runningVar": T(bn.running_var)})
    return case


def main():
    torch.manual_seed(21)
    layers = {
        "bn1d_train": batch_norm_case("batchnorm1d", [8, 4], True),
        "bn1d_train_length": batch_norm_case("batchnorm1d", [4, 3, 5], True),
        "bn1d_eval": batch_norm_case("batchnorm1d", [6, 4], False, running=True),
        "bn2d_train": batch_norm_case("batchnorm2d", [4, 3, 5, 5], True),
        "bn2d_train_momentum_eps_noaffine": batch_norm_case("batchnorm2d", [3, 2, 4, 3], True, eps=1e-3, momentum=0.3, affine_=False),
        "bn2d_eval": batch_norm_case("batchnorm2d", [3, 3, 4, 4], False, running=True),
        "layernorm_features": layer_norm_case([6, 10], [10]),
        "layernorm_chw": layer_norm_case([3, 2, 4, 4], [2, 4, 4]),
        "layernorm_trailing_noaffine": layer_norm_case([3, 2, 4, 4], [4, 4], eps=1e-3, affine_=False),
    }

    bn1 = torch.nn.BatchNorm1d(4)
    mlp = torch.nn.Sequential(torch.nn.Linear(5, 4), bn1, torch.nn.ReLU(), torch.nn.Linear(4, 2))
    affine(bn1, [4])
    bn2 = torch.nn.BatchNorm2d(2)
    cnn = torch.nn.Sequential(bn2, torch.nn.Flatten(), torch.nn.Linear(18, 2))
    affine(bn2, [2])
    fits = {
        "mlp_batchnorm1d": {"layers": [{"type": "linear", "out": 4}, {"type": "batch-norm1d"}, {"type": "relu"}, {"type": "linear", "out": 2}],
                            "sampleShape": [5], **fit_case(mlp, bn1, [8, 5], 2)},
        "cnn_batchnorm2d": {"layers": [{"type": "batch-norm2d"}, {"type": "flatten"}, {"type": "linear", "out": 2}],
                            "sampleShape": [2, 3, 3], **fit_case(cnn, bn2, [6, 2, 3, 3], 2)},
    }
    out = {**header(), "layers": layers, "fits": fits}
    write("norm.json", out, f"{len(layers)} layer cases, {len(fits)} fits of 3 steps")


def header():
    return base_header(GENERATOR)


if __name__ == "__main__":
    main()
