#!/usr/bin/python3
"""Generate PyTorch parity fixtures for lockstep's learning-rate schedules.

Run from the repository root with Debian's Python (which has torch):

    /usr/bin/python3 tools/parity/generate_schedules.py

Writes test/fixtures/parity/schedules.json. Output is deterministic: running twice gives byte-identical files.

Each case names a PyTorch scheduler, its settings (PyTorch's parameter names), the optimizer's base lr and
"lrs": the learning rate of each scheduler count t = 0, 1, ... (the lr the optimizer uses between the t-th and
the (t+1)-th `scheduler.step()`), as float64 exactly as PyTorch holds it in `param_groups[0]["lr"]`.
ReduceLROnPlateau's case also has "metrics": the value given to `step(metric)` after each epoch; its "lrs" has
one more entry than "metrics" (the lr before the first epoch, then after each step).
"""

import json
import os
import warnings

import torch

warnings.filterwarnings("ignore")
torch.set_num_threads(1)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures", "parity", "schedules.json")


def optimizer(lr):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def trajectory(lr, make, count):
    opt = optimizer(lr)
    scheduler = make(opt)
    lrs = []
    for _ in range(count):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return lrs


def case(name, scheduler, settings, lr, make, count):
    return {"name": name, "scheduler": scheduler, "settings": settings, "lr": lr, "lrs": trajectory(lr, make, count)}


def warmup_cosine(start_factor, total_iters, t_max, eta_min):
    def make(opt):
        warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=start_factor, end_factor=1.0, total_iters=total_iters)
        cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min)
        return torch.optim.lr_scheduler.SequentialLR(opt, [warm, cosine], milestones=[total_iters])

    return make


def one_cycle(settings):
    return lambda opt: torch.optim.lr_scheduler.OneCycleLR(opt, cycle_momentum=False, **settings)


def plateau(name, lr, settings, metrics):
    opt = optimizer(lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **settings)
    lrs = [opt.param_groups[0]["lr"]]
    for metric in metrics:
        opt.step()
        scheduler.step(metric)
        lrs.append(opt.param_groups[0]["lr"])
    return {"name": name, "scheduler": "ReduceLROnPlateau", "settings": settings, "lr": lr, "metrics": metrics, "lrs": lrs}


def main():
    cases = [
        case("StepLR step_size 3 gamma 0.5", "StepLR", {"step_size": 3, "gamma": 0.5}, 0.1,
             lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5), 20),
        case("StepLR step_size 1 gamma 0.9", "StepLR", {"step_size": 1, "gamma": 0.9}, 0.05,
             lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.9), 40),
        case("CosineAnnealingLR T_max 20 eta_min 0.001", "CosineAnnealingLR", {"T_max": 20, "eta_min": 0.001}, 0.1,
             lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20, eta_min=0.001), 21),
        case("CosineAnnealingLR T_max 50 eta_min 0", "CosineAnnealingLR", {"T_max": 50, "eta_min": 0.0}, 0.05,
             lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=50, eta_min=0.0), 50),
        case("LinearLR start_factor 0.1 total_iters 5, then CosineAnnealingLR T_max 15", "SequentialLR",
             {"start_factor": 0.1, "total_iters": 5, "T_max": 15, "eta_min": 0.0}, 0.1, warmup_cosine(0.1, 5, 15, 0.0), 20),
        case("LinearLR start_factor 0.25 total_iters 3, then CosineAnnealingLR T_max 10 eta_min 0.01", "SequentialLR",
             {"start_factor": 0.25, "total_iters": 3, "T_max": 10, "eta_min": 0.01}, 0.2, warmup_cosine(0.25, 3, 10, 0.01), 13),
        case("OneCycleLR cos", "OneCycleLR",
             {"max_lr": 0.1, "total_steps": 30, "pct_start": 0.3, "anneal_strategy": "cos", "div_factor": 25.0, "final_div_factor": 10000.0},
             0.1, one_cycle({"max_lr": 0.1, "total_steps": 30, "pct_start": 0.3, "anneal_strategy": "cos", "div_factor": 25.0, "final_div_factor": 10000.0}), 30),
        case("OneCycleLR linear", "OneCycleLR",
             {"max_lr": 0.5, "total_steps": 47, "pct_start": 0.25, "anneal_strategy": "linear", "div_factor": 10.0, "final_div_factor": 100.0},
             0.1, one_cycle({"max_lr": 0.5, "total_steps": 47, "pct_start": 0.25, "anneal_strategy": "linear", "div_factor": 10.0, "final_div_factor": 100.0}), 47),
        plateau("ReduceLROnPlateau min rel cooldown 1", 0.1,
                {"mode": "min", "factor": 0.5, "patience": 2, "threshold": 0.01, "threshold_mode": "rel", "cooldown": 1, "min_lr": 0.004, "eps": 1e-8},
                [1.0, 0.9, 0.895, 0.894, 0.893, 0.7, 0.71, 0.72, 0.73, 0.74, 0.75, 0.76, 0.69, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]),
        plateau("ReduceLROnPlateau max abs", 0.05,
                {"mode": "max", "factor": 0.1, "patience": 0, "threshold": 0.005, "threshold_mode": "abs", "cooldown": 0, "min_lr": 0.0, "eps": 1e-8},
                [0.5, 0.6, 0.603, 0.61, 0.62, 0.62, 0.7, 0.69, 0.71, 0.8]),
        plateau("ReduceLROnPlateau defaults", 0.1,
                {"mode": "min", "factor": 0.1, "patience": 10, "threshold": 0.0001, "threshold_mode": "rel", "cooldown": 0, "min_lr": 0.0, "eps": 1e-8},
                [1.0] * 30),
    ]
    with open(OUT, "w") as out:
        json.dump({"torch": torch.__version__, "cases": cases}, out, indent=1)
        out.write("\n")


if __name__ == "__main__":
    main()
