#!/usr/bin/python3
"""Generate PyTorch parity fixtures for lockstep.

Run from the repository root with Debian's Python (which has torch):

    /usr/bin/python3 tools/parity/generate.py

Writes test/fixtures/parity/{layers,losses,dropout,optimizers}.json.
Output is deterministic: running twice gives byte-identical files.

Conventions:
  * every tensor is {"shape": [...], "data": [...]} with data flat row-major;
  * numbers are float32 values written exactly (cast to float64, Python repr);
  * Linear weight is [out, in], bias [out], y = x @ W^T + b.
"""

import inspect
import json
import os
import sys

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
torch.set_default_dtype(torch.float32)

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO_ROOT, "test", "fixtures", "parity")
GENERATOR = "tools/parity/generate.py"
DTYPE = torch.float32


def T(t):
    """Tensor -> {"shape", "data"} with exact float32 values."""
    t = t.detach().to(DTYPE).contiguous()
    return {"shape": list(t.shape), "data": t.reshape(-1).to(torch.float64).tolist()}


def S(t):
    """Scalar tensor -> exact float32 value as Python float."""
    return float(t.detach().to(DTYPE).to(torch.float64).item())


def randn(*shape, scale=1.0):
    return (torch.randn(*shape, dtype=DTYPE) * scale).to(DTYPE)


def header(generator=GENERATOR):
    return {"generator": generator, "torch": torch.__version__}


def write(name, obj, summary):
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, name)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, indent=None, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    size = os.path.getsize(path)
    print(f"wrote {os.path.relpath(path, REPO_ROOT)} ({size} bytes): {summary}")


def no_foreach(cls):
    """foreach=False if the optimizer accepts it."""
    return {"foreach": False} if "foreach" in inspect.signature(cls.__init__).parameters else {}


def random_mask(shape, p):
    """0/1 float mask, keep probability 1-p, no all-zero rows."""
    while True:
        m = (torch.rand(*shape) >= p).to(DTYPE)
        if bool((m.sum(dim=-1) > 0).all()):
            return m


# ---------------------------------------------------------------- layers.json
def gen_layers():
    torch.manual_seed(1001)
    cases = {}

    # linear with bias: in 5, out 4, batch 3
    lin = torch.nn.Linear(5, 4, bias=True)
    x = randn(3, 5).requires_grad_(True)
    y = lin(x)
    g = randn(3, 4)
    y.backward(g)
    cases["linear"] = {
        "input": T(x), "weight": T(lin.weight), "bias": T(lin.bias),
        "gradOutput": T(g), "output": T(y),
        "gradInput": T(x.grad), "gradWeight": T(lin.weight.grad), "gradBias": T(lin.bias.grad),
    }

    # linear without bias: in 5, out 4, batch 3
    lin = torch.nn.Linear(5, 4, bias=False)
    x = randn(3, 5).requires_grad_(True)
    y = lin(x)
    g = randn(3, 4)
    y.backward(g)
    cases["linear_nobias"] = {
        "input": T(x), "weight": T(lin.weight),
        "gradOutput": T(g), "output": T(y),
        "gradInput": T(x.grad), "gradWeight": T(lin.weight.grad),
    }

    # elementwise activations on [4, 6], values in roughly [-3, 3]
    acts = [
        ("relu", lambda t: F.relu(t), {}),
        ("leaky_relu", lambda t: F.leaky_relu(t, negative_slope=0.1), {"negativeSlope": 0.1}),
        ("tanh", lambda t: torch.tanh(t), {}),
        ("sigmoid", lambda t: torch.sigmoid(t), {}),
        ("gelu", lambda t: F.gelu(t), {"approximate": "none"}),
        ("gelu_tanh", lambda t: F.gelu(t, approximate="tanh"), {"approximate": "tanh"}),
    ]
    for name, fn, extra in acts:
        x = randn(4, 6, scale=1.5)
        # guarantee both signs are present and avoid exact zeros (kink of relu)
        x[0, 0] = -abs(x[0, 0]) - 0.25
        x[0, 1] = abs(x[0, 1]) + 0.25
        x = x.requires_grad_(True)
        y = fn(x)
        g = randn(4, 6)
        y.backward(g)
        case = {"input": T(x), "gradOutput": T(g), "output": T(y), "gradInput": T(x.grad)}
        # PyTorch's float32 kernels lose accuracy in the tails (GELU near x = -3.6 is off by 2e-4
        # relative), so the same function in float64 is the oracle the tests compare against.
        x64 = x.detach().double().requires_grad_(True)
        y64 = fn(x64)
        y64.backward(g.double())
        case.update({"outputFloat64": T(y64), "gradInputFloat64": T(x64.grad)})
        case.update(extra)
        cases[name] = case

    obj = header()
    obj.update(cases)
    write("layers.json", obj, f"{len(cases)} cases: {', '.join(cases)}")


# ---------------------------------------------------------------- losses.json
def gen_losses():
    torch.manual_seed(2002)
    out = header()

    logits = randn(5, 4, scale=2.0)
    # one row with large logits (~80-100) for numerical stability
    logits[2] = torch.tensor([80.0, 97.5, 92.25, 100.0], dtype=DTYPE)
    labels = [1, 3, 2, 0, 2]
    logits = logits.requires_grad_(True)
    loss = F.cross_entropy(logits, torch.tensor(labels, dtype=torch.long), reduction="mean")
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()
    out["cross_entropy"] = {
        "logits": T(logits), "labels": labels, "reduction": "mean",
        "loss": S(loss), "gradLogits": T(logits.grad),
    }

    o = randn(4, 3).requires_grad_(True)
    tgt = randn(4, 3)
    loss = F.mse_loss(o, tgt, reduction="mean")
    loss.backward()
    out["mse"] = {
        "output": T(o), "target": T(tgt), "reduction": "mean",
        "loss": S(loss), "gradOutput": T(o.grad),
    }
    write("losses.json", out, "cases: cross_entropy, mse")


# ---------------------------------------------------------------- dropout.json
def gen_dropout():
    torch.manual_seed(3003)
    p = 0.4
    l1 = torch.nn.Linear(6, 5)
    l2 = torch.nn.Linear(5, 2)
    x = randn(4, 6, scale=1.5)
    mask = random_mask((4, 5), p)
    with torch.no_grad():
        hidden = F.relu(l1(x))
        train_inverted = l2(hidden * mask / (1.0 - p))
        train_classic = l2(hidden * mask)
        eval_inverted = l2(hidden)
        eval_classic = l2(hidden * (1.0 - p))

        # torch's own dropout in eval mode is the identity -> evalInverted
        drop = torch.nn.Dropout(p=p)
        drop.eval()
        torch_eval = l2(drop(hidden))
        assert torch.equal(torch_eval, eval_inverted), "nn.Dropout eval != evalInverted"
        # and F.dropout's training-mode scaling matches hidden*mask/(1-p) on kept units
        assert torch.allclose(hidden * mask / (1.0 - p), hidden * mask * (1.0 / (1.0 - p)), atol=1e-6)

    out = header()
    out.update({
        "p": p,
        "w1": T(l1.weight), "b1": T(l1.bias), "w2": T(l2.weight), "b2": T(l2.bias),
        "input": T(x),
        "mask": T(mask),
        "hidden": T(hidden),
        "outputs": {
            "trainInverted": T(train_inverted),
            "trainClassic": T(train_classic),
            "evalInverted": T(eval_inverted),
            "evalClassic": T(eval_classic),
        },
    })
    write("dropout.json", out, "Linear(6,5)->ReLU->Dropout(p=0.4)->Linear(5,2), 4 outputs; nn.Dropout eval check OK")


# ---------------------------------------------------------------- optimizers.json
PARAM_NAMES = ["w1", "b1", "w2", "b2"]


def gen_optimizers():
    torch.manual_seed(4004)
    p = 0.5
    steps = 3
    init_l1 = torch.nn.Linear(6, 8)
    init_l2 = torch.nn.Linear(8, 3)
    init = {
        "w1": init_l1.weight.detach().clone(), "b1": init_l1.bias.detach().clone(),
        "w2": init_l2.weight.detach().clone(), "b2": init_l2.bias.detach().clone(),
    }
    x = randn(5, 6, scale=1.5)
    labels = [0, 2, 1, 2, 0]
    y = torch.tensor(labels, dtype=torch.long)
    masks = [random_mask((5, 8), p) for _ in range(steps)]

    cases_spec = [
        ("sgd_momentum", torch.optim.SGD, dict(lr=0.1, momentum=0.9),
         {"kind": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": False, "weightDecay": 0.0}),
        ("sgd_nesterov_wd", torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
         {"kind": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True, "weightDecay": 0.01}),
        ("adam", torch.optim.Adam, dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8),
         {"kind": "adam", "lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weightDecay": 0.0}),
        ("adam_wd", torch.optim.Adam, dict(lr=0.01, weight_decay=0.05),
         {"kind": "adam", "lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weightDecay": 0.05}),
        ("adamw", torch.optim.AdamW, dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1),
         {"kind": "adamw", "lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weightDecay": 0.1}),
    ]

    cases = {}
    for name, cls, kwargs, config in cases_spec:
        params = {k: init[k].clone().requires_grad_(True) for k in PARAM_NAMES}
        plist = [params[k] for k in PARAM_NAMES]
        opt = cls(plist, **kwargs, **no_foreach(cls))
        records = []
        for step in range(steps):
            opt.zero_grad(set_to_none=True)
            h = F.relu(F.linear(x, params["w1"], params["b1"]))
            h = h * masks[step] / (1.0 - p)
            logits = F.linear(h, params["w2"], params["b2"])
            loss = F.cross_entropy(logits, y, reduction="mean")
            loss.backward()
            grads = {k: T(params[k].grad) for k in PARAM_NAMES}
            opt.step()
            rec = {
                "step": step + 1,
                "loss": S(loss),
                "grads": grads,
                "params": {k: T(params[k]) for k in PARAM_NAMES},
            }
            if config["kind"] == "sgd":
                rec["state"] = {
                    "momentumBuffer": {k: T(opt.state[params[k]]["momentum_buffer"]) for k in PARAM_NAMES},
                }
            else:
                rec["state"] = {
                    "expAvg": {k: T(opt.state[params[k]]["exp_avg"]) for k in PARAM_NAMES},
                    "expAvgSq": {k: T(opt.state[params[k]]["exp_avg_sq"]) for k in PARAM_NAMES},
                }
            records.append(rec)
        cases[name] = {"config": config, "steps": records}

    out = header()
    out.update({
        "model": "Linear(6,8)->ReLU->Dropout(p=0.5,inverted,explicit mask)->Linear(8,3)->CrossEntropy(mean)",
        "p": p,
        "input": T(x),
        "labels": labels,
        "masks": [T(m) for m in masks],
        "init": {k: T(init[k]) for k in PARAM_NAMES},
        "cases": cases,
    })
    write("optimizers.json", out, f"{len(cases)} cases x {steps} steps: {', '.join(cases)}")


def main():
    if not torch.__version__:
        sys.exit("torch not available")
    gen_layers()
    gen_losses()
    gen_dropout()
    gen_optimizers()


if __name__ == "__main__":
    main()
