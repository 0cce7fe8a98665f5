#!/usr/bin/python3
"""Generate PyTorch parity fixtures for lockstep's convolution and pooling layers.

Run from the repository root with Debian's Python (which has torch):

    /usr/bin/python3 tools/parity/generate_conv.py

Writes test/fixtures/parity/conv.json.
Output is deterministic: running twice gives byte-identical files.

Conventions (same as generate.py):
  * every tensor is {"shape": [...], "data": [...]} with data flat row-major;
  * numbers are float32 values written exactly (cast to float64, Python repr);
  * activations are NCHW; a conv weight is [outChannels, inChannels/groups, kH, kW], bias [outChannels];
  * kernelSize / stride / padding / dilation are always 2-lists [h, w].
"""

import os
import sys

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
torch.set_default_dtype(torch.float32)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate import T, randn, write  # noqa: E402  (shared with the dense-layer generator)
from generate import header as base_header  # noqa: E402

GENERATOR = "tools/parity/generate_conv.py"


def pair(v):
    return [int(v[0]), int(v[1])] if isinstance(v, (tuple, list)) else [int(v), int(v)]


def header():
    return base_header(GENERATOR)


def both_signs(x):
    """Force at least one clearly negative and one clearly positive entry (no exact zeros there)."""
    flat = x.view(-1)
    flat[0] = -abs(flat[0]) - 0.25
    flat[1] = abs(flat[1]) + 0.25
    return x


def check_close64(fn64, tensors32, label):
    """Sanity check: float32 results agree with the same computation in float64."""
    for a, b in zip(tensors32, fn64()):
        assert a.shape == b.shape, f"{label}: shape mismatch {a.shape} vs {b.shape}"
        assert torch.allclose(a.double(), b, rtol=1e-4, atol=1e-5), f"{label}: float32 vs float64 mismatch"


# ---------------------------------------------------------------- convolutions
def make_conv(name, in_shape, out_ch, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True):
    in_ch = in_shape[1]
    conv = torch.nn.Conv2d(in_ch, out_ch, kernel_size, stride=stride, padding=padding,
                           dilation=dilation, groups=groups, bias=bias)
    x = both_signs(randn(*in_shape)).requires_grad_(True)
    y = conv(x)
    g = randn(*y.shape)
    y.backward(g)
    got = [y, x.grad, conv.weight.grad] + ([conv.bias.grad] if bias else [])

    def f64():
        x64 = x.detach().double().requires_grad_(True)
        w64 = conv.weight.detach().double().requires_grad_(True)
        b64 = conv.bias.detach().double().requires_grad_(True) if bias else None
        y64 = F.conv2d(x64, w64, b64, stride=stride, padding=padding, dilation=dilation, groups=groups)
        y64.backward(g.double())
        return [y64, x64.grad, w64.grad] + ([b64.grad] if bias else [])

    check_close64(f64, got, name)

    # "bias" is the bias tensor (as for Linear in layers.json), absent when there is none;
    # the boolean hyperparameter is "hasBias".
    case = {
        "op": "conv2d",
        "inChannels": in_ch, "outChannels": out_ch,
        "kernelSize": pair(kernel_size), "stride": pair(stride), "padding": pair(padding),
        "dilation": pair(dilation), "groups": groups, "hasBias": bool(bias),
        "input": T(x), "weight": T(conv.weight),
    }
    if bias:
        case["bias"] = T(conv.bias)
    case.update({
        "gradOutput": T(g), "output": T(y),
        "gradInput": T(x.grad), "gradWeight": T(conv.weight.grad),
    })
    if bias:
        case["gradBias"] = T(conv.bias.grad)
    return case


# ---------------------------------------------------------------- pooling
def windows_have_no_ties(x, kernel_size, stride, padding):
    """True if every (unpadded part of every) pooling window has a unique maximum."""
    kh, kw = kernel_size
    xp = F.pad(x.detach().double(), (padding[1], padding[1], padding[0], padding[0]), value=float("-inf"))
    cols = F.unfold(xp.reshape(-1, 1, *xp.shape[2:]), (kh, kw), stride=tuple(stride))  # [N*C, kh*kw, L]
    top2 = cols.topk(2, dim=1).values
    return bool((top2[:, 0] > top2[:, 1]).all())


def make_maxpool(name, in_shape, kernel_size, stride, padding=0):
    ks, st, pd = pair(kernel_size), pair(stride), pair(padding)
    x = both_signs(randn(*in_shape))
    assert windows_have_no_ties(x, ks, st, pd), f"{name}: tie inside a pooling window"
    x = x.requires_grad_(True)
    pool = torch.nn.MaxPool2d(kernel_size, stride=stride, padding=padding)
    y = pool(x)
    g = randn(*y.shape)
    y.backward(g)

    def f64():
        x64 = x.detach().double().requires_grad_(True)
        y64 = F.max_pool2d(x64, kernel_size, stride=stride, padding=padding)
        y64.backward(g.double())
        return [y64, x64.grad]

    check_close64(f64, [y, x.grad], name)
    return {
        "op": "maxpool2d",
        "kernelSize": ks, "stride": st, "padding": pd, "dilation": [1, 1], "ceilMode": False,
        "input": T(x), "gradOutput": T(g), "output": T(y), "gradInput": T(x.grad),
    }


def make_avgpool(name, in_shape, kernel_size, stride, padding=0, count_include_pad=True):
    ks, st, pd = pair(kernel_size), pair(stride), pair(padding)
    x = both_signs(randn(*in_shape)).requires_grad_(True)
    pool = torch.nn.AvgPool2d(kernel_size, stride=stride, padding=padding, count_include_pad=count_include_pad)
    y = pool(x)
    g = randn(*y.shape)
    y.backward(g)

    def f64():
        x64 = x.detach().double().requires_grad_(True)
        y64 = F.avg_pool2d(x64, kernel_size, stride=stride, padding=padding, count_include_pad=count_include_pad)
        y64.backward(g.double())
        return [y64, x64.grad]

    check_close64(f64, [y, x.grad], name)
    return {
        "op": "avgpool2d",
        "kernelSize": ks, "stride": st, "padding": pd, "countIncludePad": bool(count_include_pad),
        "ceilMode": False,
        "input": T(x), "gradOutput": T(g), "output": T(y), "gradInput": T(x.grad),
    }


def make_global_avgpool(name, in_shape):
    x = both_signs(randn(*in_shape)).requires_grad_(True)
    y = torch.flatten(torch.nn.AdaptiveAvgPool2d(1)(x), 1)  # [N, C]
    assert list(y.shape) == in_shape[:2]
    g = randn(*y.shape)
    y.backward(g)

    def f64():
        x64 = x.detach().double().requires_grad_(True)
        y64 = x64.mean(dim=(2, 3))
        y64.backward(g.double())
        return [y64, x64.grad]

    check_close64(f64, [y, x.grad], name)
    return {
        "op": "globalavgpool2d",
        "outputSize": [1, 1], "flatten": True,
        "input": T(x), "gradOutput": T(g), "output": T(y), "gradInput": T(x.grad),
    }


def gen_conv():
    torch.manual_seed(5005)
    cases = {}
    cases["conv_basic"] = make_conv("conv_basic", [2, 3, 6, 7], 4, 3, stride=1, padding=0, bias=True)
    cases["conv_stride_pad"] = make_conv("conv_stride_pad", [2, 2, 7, 5], 3, 3, stride=2, padding=1, bias=True)
    cases["conv_rect_nobias"] = make_conv("conv_rect_nobias", [2, 2, 5, 6], 2, (2, 3), stride=(2, 1),
                                          padding=(1, 0), bias=False)
    cases["conv_dilation"] = make_conv("conv_dilation", [2, 2, 6, 6], 3, 3, stride=1, padding=2, dilation=2,
                                       bias=True)
    cases["conv_groups"] = make_conv("conv_groups", [2, 4, 5, 5], 6, 3, padding=1, groups=2, bias=True)
    cases["maxpool"] = make_maxpool("maxpool", [2, 3, 6, 6], 2, 2)
    cases["maxpool_odd"] = make_maxpool("maxpool_odd", [2, 2, 7, 5], 3, 2, padding=1)
    cases["avgpool"] = make_avgpool("avgpool", [2, 3, 6, 6], 2, 2)
    cases["avgpool_pad"] = make_avgpool("avgpool_pad", [2, 2, 7, 5], 3, 2, padding=1, count_include_pad=True)
    cases["global_avgpool"] = make_global_avgpool("global_avgpool", [2, 3, 5, 4])

    obj = header()
    obj.update(cases)
    write("conv.json", obj, f"{len(cases)} cases: {', '.join(cases)}")


def main():
    if not torch.__version__:
        sys.exit("torch not available")
    gen_conv()


if __name__ == "__main__":
    main()
