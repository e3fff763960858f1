#!/usr/bin/env python3
"""Golden values for test/kernels/optim: torch.optim.AdamW and torch.optim.RMSprop, 5 steps each;
and the same with torch.nn.utils.clip_grad_norm_ before each step and a LambdaLR schedule whose
factors transcribe transformers' get_linear_schedule_with_warmup / get_cosine_schedule_with_warmup
(optimization.py), stepped after each optimizer step as the HF Trainer does.

Fixed parameters and per-step gradients (written into the JSON, so the TypeScript test replays
exactly these), float64, PyTorch's single-tensor implementation (foreach=False). Parameter "b" has
no gradient at step 3: PyTorch skips it there, so its step count (and AdamW's bias correction) lags
one behind "a" from then on. Some gradient entries are exactly 0.

    /usr/bin/python3 test/kernels/golden/make_optim_golden.py   # writes test/kernels/golden/optim.json

Do not edit optim.json by hand: change this script and run it again.
"""
import json
import math
import os
import random

import torch

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim.json")
STEPS = 5
SHAPES = {"a": [7], "b": [3, 5]}
SKIP = {("b", 2)}  # (parameter, step index) without a gradient

# Options in relpo's spelling; to_torch() maps them to torch's keyword arguments.
CASES = [
    ("adamw defaults", "AdamW", {}),
    ("adamw tuned", "AdamW", {"lr": 0.05, "betas": [0.8, 0.95], "eps": 1e-6, "weightDecay": 0.1}),
    ("adamw no decay", "AdamW", {"lr": 0.01, "weightDecay": 0.0}),
    ("rmsprop defaults", "RMSprop", {}),
    ("rmsprop decay", "RMSprop", {"lr": 0.005, "alpha": 0.9, "eps": 1e-6, "weightDecay": 0.05}),
    ("rmsprop momentum", "RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("rmsprop centered momentum decay", "RMSprop", {"lr": 0.01, "alpha": 0.95, "momentum": 0.5, "centered": True, "weightDecay": 0.01}),
    ("rmsprop centered", "RMSprop", {"lr": 0.002, "centered": True}),
]


def to_torch(opts):
    names = {"lr": "lr", "betas": "betas", "eps": "eps", "weightDecay": "weight_decay",
             "alpha": "alpha", "momentum": "momentum", "centered": "centered"}
    return {names[k]: (tuple(v) if k == "betas" else v) for k, v in opts.items()}


def make_data():
    rng = random.Random(20240612)
    params = {k: [round(rng.uniform(-2.0, 2.0), 6) for _ in range(torch.Size(s).numel())] for k, s in SHAPES.items()}
    grads = []
    for step in range(STEPS):
        g = {}
        for k, s in SHAPES.items():
            if (k, step) in SKIP:
                g[k] = None
                continue
            vals = [round(rng.gauss(0.0, 1.0) * (10.0 ** rng.uniform(-3, 1)), 6) for _ in range(torch.Size(s).numel())]
            vals[step % len(vals)] = 0.0
            g[k] = vals
        grads.append(g)
    return params, grads


def run(kind, opts, params, grads):
    ps = {k: torch.tensor(v).reshape(SHAPES[k]).requires_grad_(True) for k, v in params.items()}
    cls = getattr(torch.optim, kind)
    opt = cls(list(ps.values()), foreach=False, **to_torch(opts))
    history = []
    for g in grads:
        for k, p in ps.items():
            p.grad = None if g[k] is None else torch.tensor(g[k]).reshape(SHAPES[k])
        opt.step()
        history.append({k: p.detach().reshape(-1).tolist() for k, p in ps.items()})
    state = {}
    for k, p in ps.items():
        st = opt.state[p]
        state[k] = {name: (float(t) if name == "step" else t.reshape(-1).tolist()) for name, t in st.items()}
    return history, state


# (name, optimizer, options, max_norm, schedule) for the clipped and scheduled runs.
CLIP_CASES = [
    ("adamw clip 0.5, linear warmup 2", "AdamW", {"lr": 0.05}, 0.5, {"type": "linear", "warmupSteps": 2, "totalSteps": STEPS}),
    ("adamw clip 3, cosine warmup 1", "AdamW", {"lr": 0.05, "weightDecay": 0.1}, 3.0, {"type": "cosine", "warmupSteps": 1, "totalSteps": STEPS}),
    ("rmsprop clip 0.1, constant with warmup 3", "RMSprop", {"lr": 0.01, "momentum": 0.9}, 0.1, {"type": "constant_with_warmup", "warmupSteps": 3, "totalSteps": STEPS}),
]


def lr_lambda(sched):
    """transformers.optimization's schedule lambdas (num_cycles 0.5 for cosine)."""
    w, n = sched["warmupSteps"], sched["totalSteps"]

    def f(step):
        if step < w:
            return float(step) / float(max(1, w))
        if sched["type"] == "linear":
            return max(0.0, float(n - step) / float(max(1, n - w)))
        if sched["type"] == "cosine":
            progress = float(step - w) / float(max(1, n - w))
            return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))
        return 1.0
    return f


def run_clipped(kind, opts, max_norm, sched, params, grads):
    ps = {k: torch.tensor(v).reshape(SHAPES[k]).requires_grad_(True) for k, v in params.items()}
    opt = getattr(torch.optim, kind)(list(ps.values()), foreach=False, **to_torch(opts))
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(sched))
    history, lrs, norms = [], [], []
    for g in grads:
        for k, p in ps.items():
            p.grad = None if g[k] is None else torch.tensor(g[k]).reshape(SHAPES[k])
        with_grad = [p for p in ps.values() if p.grad is not None]
        norms.append(float(torch.nn.utils.clip_grad_norm_(with_grad, max_norm)))
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
        history.append({k: p.detach().reshape(-1).tolist() for k, p in ps.items()})
    return history, lrs, norms


def main():
    params, grads = make_data()
    cases = []
    for name, kind, opts in CASES:
        history, state = run(kind, opts, params, grads)
        cases.append({"name": name, "optimizer": kind, "options": opts, "params": history, "state": state})
    clip_cases = []
    for name, kind, opts, max_norm, sched in CLIP_CASES:
        history, lrs, norms = run_clipped(kind, opts, max_norm, sched, params, grads)
        clip_cases.append({"name": name, "optimizer": kind, "options": opts, "maxNorm": max_norm, "schedule": sched,
                           "params": history, "lrs": lrs, "norms": norms})
    doc = {
        "comment": "Generated by test/kernels/golden/make_optim_golden.py (torch.optim, float64, foreach=False). Do not edit by hand.",
        "torch": torch.__version__,
        "shapes": SHAPES,
        "initial": params,
        "grads": grads,
        "cases": cases,
        "clipCases": clip_cases,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
