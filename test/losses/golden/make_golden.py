#!/usr/bin/env python3
"""Golden values for test/losses: every preference loss, written independently in PyTorch.

Each loss below is transcribed from the formulas of issue 4 / docs/losses.md (and, for RPO, the
paper's Listing 1), in float64, with gradients from torch.autograd. The output, losses.json, holds
the inputs too, so the TypeScript tests rebuild exactly these batches.

    /usr/bin/python3 test/losses/golden/make_golden.py      # writes test/losses/golden/losses.json

Do not edit losses.json by hand: change this script and run it again.
"""
import json
import math
import os
import random

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "losses.json")


# ---------------------------------------------------------------- inputs

def make_side(rng, rows, prompt_ids, prompt_table):
    policy = [round(rng.uniform(-30.0, -5.0), 6) for _ in range(rows)]
    ref = [round(p + rng.uniform(-2.0, 2.0), 6) for p in policy]
    # Realistic per-token log-probs π/n in about [-1.3, -0.7], so SimPO's β = 10 rewards stay O(1).
    counts = [float(max(3, round(-p / rng.uniform(0.7, 1.3)))) for p in policy]
    return {
        "policyLogps": policy,
        "refLogps": ref,
        "tokenCounts": counts,
        "promptEmbeddings": [list(prompt_table[i]) for i in prompt_ids],
        "promptIds": list(prompt_ids),
    }


def make_batches():
    rng = random.Random(20240611)
    d = 6
    # Eight prompts; 1 is a near-copy of 0 and 3 of 2, so the embedding weights are far from uniform.
    table = [[round(rng.gauss(0, 1), 6) for _ in range(d)] for _ in range(8)]
    table[1] = [round(x + 0.3 * rng.gauss(0, 1), 6) for x in table[0]]
    table[3] = [round(x + 0.2 * rng.gauss(0, 1), 6) for x in table[2]]

    def kl_pairs(k, shift):
        pol = [round(rng.uniform(-30.0, -5.0), 6) for _ in range(k)]
        return {"policyLogps": pol, "refLogps": [round(p - shift + rng.uniform(-1.0, 1.0), 6) for p in pol]}

    def batch(paired, chosen_ids, rejected_ids, kl_shift):
        return {
            "paired": paired,
            "chosen": make_side(rng, len(chosen_ids), chosen_ids, table),
            "rejected": make_side(rng, len(rejected_ids), rejected_ids, table),
            "kl": kl_pairs(4, kl_shift),
        }

    return {
        # Paired, M = N = 4 (prompts 0..3: two close pairs of prompts).
        "P": batch(True, [0, 1, 2, 3], [0, 1, 2, 3], 0.8),
        # Paired, one pair.
        "P1": batch(True, [5], [5], 0.5),
        # Unpaired, M = 3 chosen and N = 5 rejected rows; prompts 0 and 2 appear on both sides.
        "U": batch(False, [0, 2, 4], [0, 2, 3, 6, 7], 0.6),
        # Unpaired, M = 1, N = 2.
        "U1": batch(False, [1], [1, 6], 0.4),
        # Unpaired with M = N = 4 (for aot_unpaired), rows not aligned by prompt.
        "UE": batch(False, [0, 2, 4, 6], [7, 1, 3, 5], 0.7),
        # Unpaired, M = N = 1.
        "U11": batch(False, [2], [4], 0.3),
        # A KL estimate below zero (clamped to 0 by KTO).
        "UKL0": batch(False, [0, 5, 6], [1, 2], -0.9),
    }


# ---------------------------------------------------------------- the losses (spec formulas)

def side_tensors(batch, side, grad):
    s = batch[side]
    return (
        torch.tensor(s["policyLogps"], requires_grad=grad),
        torch.tensor(s["refLogps"]),
        torch.tensor(s["tokenCounts"]),
        torch.tensor(s["promptEmbeddings"]),
    )


def smoothed(z, eps):
    return -(1 - eps) * F.logsigmoid(z) - eps * F.logsigmoid(-z)


def reward_metrics(paired, rc, rr, pc, pr):
    rc, rr = rc.detach(), rr.detach()
    cells = (rc - rr) if paired else (rc.view(-1, 1) - rr.view(1, -1))
    return {
        "rewards/chosen": rc.mean().item(),
        "rewards/rejected": rr.mean().item(),
        "rewards/margins": (rc.mean() - rr.mean()).item(),
        "rewards/accuracies": (cells > 0).double().mean().item(),
        "logps/chosen": pc.detach().mean().item(),
        "logps/rejected": pr.detach().mean().item(),
    }


def rpo_weights(batch, ec, er, cfg, M, N):
    w = cfg["weighting"]
    if w == "embedding":
        if batch["paired"]:
            er = ec
        a = F.normalize(ec, p=2, dim=1)
        b = F.normalize(er, p=2, dim=1)
        W = F.softmax(-(1 - a @ b.t()) / cfg["tau"], dim=1)
    elif w == "uniform":
        W = torch.full((M, N), 1.0 / N)
    elif w == "diagonal":
        assert batch["paired"]
        if M == 1:
            W = torch.ones(1, 1)
        else:
            W = torch.full((M, M), (1 - cfg["alpha"]) / (M - 1))
            W.fill_diagonal_(cfg["alpha"])
    else:
        raise ValueError(w)
    if cfg["weightScale"] == "mean":
        W = W * N
    return W


def weight_metrics(batch, W):
    out = {}
    M, N = W.shape
    if batch["paired"]:
        out["weights/diagonal"] = torch.diagonal(W).mean().item()
    a, b = batch["chosen"]["promptIds"], batch["rejected"]["promptIds"]
    same = torch.tensor([[1.0 if a[i] == b[j] else 0.0 for j in range(N)] for i in range(M)])
    if same.sum() > 0:
        out["weights/same_prompt"] = ((W * same).sum() / same.sum()).item()
    return out


def chosen_nll(pc, nc, average):
    """The chosen answers' NLL. 'tokens' is TRL's (v1.9.0, commit a785283c): DPOTrainer's `sft` loss
    type, F.cross_entropy(chosen_logits[chosen_mask], chosen_labels[chosen_mask]), and CPOTrainer's and
    ORPOTrainer's nn.CrossEntropyLoss() over the chosen rows' labels (padding and, for CPO, the prompt
    at -100), all mean-reduced over every scored token of the batch: on sequence sums, -Σπc / Σnc.
    'rows' is the per-row mean, mean(-πc/nc)."""
    return -pc.sum() / nc.sum() if average == "tokens" else (-pc / nc).mean()


def compute(name, batch, cfg):
    """Returns (loss tensor, πc leaf, πr leaf, metrics)."""
    pc, rc_ref, nc, ec = side_tensors(batch, "chosen", True)
    pr, rr_ref, nr, er = side_tensors(batch, "rejected", True)
    paired = batch["paired"]
    M, N = pc.shape[0], pr.shape[0]
    sc, sr = pc - rc_ref, pr - rr_ref
    beta = cfg.get("beta")
    metrics = None

    if name == "rpo":
        W = rpo_weights(batch, ec, er, cfg, M, N)
        S = sc.view(-1, 1) - sr.view(1, -1)
        loss = -F.logsigmoid(beta * W * S).mean()
        metrics = reward_metrics(paired, beta * sc, beta * sr, pc, pr)
        metrics.update(weight_metrics(batch, W))
    elif name == "rpo_simpo":
        W = rpo_weights(batch, ec, er, cfg, M, N)
        r_c, r_r = beta * pc / nc, beta * pr / nr
        gamma = cfg["gammaBetaRatio"] * beta
        loss = -F.logsigmoid(W * (r_c.view(-1, 1) - r_r.view(1, -1) - gamma)).mean()
        metrics = reward_metrics(paired, r_c, r_r, pc, pr)
        metrics.update(weight_metrics(batch, W))
    elif name == "dpo":
        loss = smoothed(beta * (sc - sr), cfg["labelSmoothing"]).mean()
    elif name == "ipo":
        h = (sc / nc - sr / nr) if cfg["tokenAverage"] else (sc - sr)
        loss = ((h - 1 / (2 * beta)) ** 2).mean()
    elif name == "hinge":
        loss = torch.relu(1 - beta * (sc - sr)).mean()
    elif name == "robust":
        e = cfg["labelSmoothing"]
        z = beta * (sc - sr)
        loss = ((-(1 - e) * F.logsigmoid(z) + e * F.logsigmoid(-z)) / (1 - 2 * e)).mean()
    elif name == "bco_pair":
        loss = (-F.logsigmoid(beta * sc) - F.logsigmoid(-beta * sr)).mean()
    elif name == "sppo_hard":
        loss = ((sc - 0.5 / beta) ** 2 + (sr + 0.5 / beta) ** 2).mean()
    elif name == "nca_pair":
        loss = (-F.logsigmoid(beta * sc) - 0.5 * F.logsigmoid(-beta * sc) - 0.5 * F.logsigmoid(-beta * sr)).mean()
    elif name == "apo_zero":
        loss = ((1 - torch.sigmoid(beta * sc)) + torch.sigmoid(beta * sr)).mean()
    elif name == "apo_down":
        loss = (torch.sigmoid(beta * sc) + 1 - torch.sigmoid(beta * (sc - sr))).mean()
    elif name == "exo_pair":
        e = cfg["labelSmoothing"]
        z = beta * (sc - sr)
        q, q2 = torch.sigmoid(z), torch.sigmoid(-z)
        loss = (q * (torch.log(q) - math.log(1 - e)) + q2 * (torch.log(q2) - math.log(e))).mean()
    elif name == "discopop":
        z = beta * (sc - sr)
        m = torch.sigmoid(z / cfg["discopopTau"])
        loss = ((1 - m) * -F.logsigmoid(z) + m * torch.exp(-z)).mean()
    elif name == "aot":
        delta = torch.sort(pc - pr).values - torch.sort(rc_ref - rr_ref).values
        loss = smoothed(beta * delta, cfg["labelSmoothing"]).mean()
    elif name == "aot_unpaired":
        delta = torch.sort(sc).values - torch.sort(sr).values
        loss = smoothed(beta * delta, cfg["labelSmoothing"]).mean()
    elif name == "sigmoid_norm":
        loss = -F.logsigmoid(beta * (sc / nc - sr / nr)).mean()
    elif name == "simpo":
        gamma = cfg["gammaBetaRatio"] * beta
        z = beta * (pc / nc - pr / nr) - gamma
        loss = smoothed(z, cfg["labelSmoothing"]).mean()
        metrics = reward_metrics(paired, beta * pc / nc, beta * pr / nr, pc, pr)
    elif name == "cpo":
        nll = chosen_nll(pc, nc, cfg["nllAverage"])
        loss = -F.logsigmoid(beta * (pc - pr)).mean() + cfg["alpha"] * nll
        metrics = reward_metrics(paired, beta * pc, beta * pr, pc, pr)
        metrics["nll_loss"] = nll.item()
    elif name == "orpo":
        # TRL's ORPOTrainer.odds_ratio_loss on average log-probs; its NLL is the cross-entropy over
        # every chosen token of the batch.
        ac, ar = pc / nc, pr / nr
        log_odds = (ac - ar) - (torch.log1p(-torch.exp(ac)) - torch.log1p(-torch.exp(ar)))
        ratio = F.logsigmoid(log_odds)
        nll = chosen_nll(pc, nc, cfg["nllAverage"])
        loss = nll - beta * ratio.mean()
        metrics = reward_metrics(paired, beta * ac, beta * ar, pc, pr)
        metrics["nll_loss"] = nll.item()
        metrics["log_odds_ratio"] = ratio.mean().item()
        metrics["log_odds_chosen"] = log_odds.mean().item()
    elif name == "kto":
        kp, kr = torch.tensor(batch["kl"]["policyLogps"]), torch.tensor(batch["kl"]["refLogps"])
        kl = (kp - kr).mean().clamp(min=0).detach()
        chosen = cfg["desirableWeight"] * (1 - torch.sigmoid(beta * (sc - kl)))
        rejected = cfg["undesirableWeight"] * (1 - torch.sigmoid(beta * (kl - sr)))
        loss = torch.cat([chosen, rejected]).mean()
        metrics = reward_metrics(paired, beta * sc, beta * sr, pc, pr)
        metrics["kl"] = kl.item()
    elif name == "sft":
        loss = chosen_nll(pc, nc, cfg["nllAverage"])
        metrics = {"logps/chosen": pc.detach().mean().item()}
    else:
        raise ValueError(name)

    if metrics is None:
        metrics = reward_metrics(paired, beta * sc, beta * sr, pc, pr)
    return loss, pc, pr, metrics


DEFAULTS = {
    "rpo": {"beta": 0.1, "tau": 0.5, "alpha": 0.8, "weighting": "embedding", "weightScale": "row"},
    "rpo_simpo": {"beta": 10.0, "gammaBetaRatio": 0.3, "tau": 0.5, "alpha": 0.8, "weighting": "embedding", "weightScale": "mean"},
    "dpo": {"beta": 0.1, "labelSmoothing": 0.0, "useWeighting": False, "ldAlpha": 1.0},
    "ipo": {"beta": 0.1, "tokenAverage": True},
    "hinge": {"beta": 0.1},
    "robust": {"beta": 0.1, "labelSmoothing": 0.0},
    "bco_pair": {"beta": 0.1},
    "sppo_hard": {"beta": 0.1},
    "nca_pair": {"beta": 0.1},
    "apo_zero": {"beta": 0.1},
    "apo_down": {"beta": 0.1},
    "exo_pair": {"beta": 0.1, "labelSmoothing": 1e-3},
    "discopop": {"beta": 0.1, "discopopTau": 0.05},
    "aot": {"beta": 0.1, "labelSmoothing": 0.0},
    "aot_unpaired": {"beta": 0.1, "labelSmoothing": 0.0},
    "sigmoid_norm": {"beta": 0.1},
    "simpo": {"beta": 2.0, "gammaBetaRatio": 0.25, "labelSmoothing": 0.0},
    "cpo": {"beta": 0.1, "alpha": 1.0, "nllAverage": "tokens"},
    "orpo": {"beta": 0.1, "nllAverage": "tokens", "nllPrompt": False},
    "kto": {"beta": 0.1, "desirableWeight": 1.0, "undesirableWeight": 1.0},
    "sft": {"nllAverage": "tokens"},
}

# (loss, batch, config overrides). Every loss on a paired batch and a one-row batch; every option.
CASES = [
    ("rpo", "P", {}), ("rpo", "P1", {}), ("rpo", "P", {"tau": 0.25, "weightScale": "mean"}),
    ("rpo", "P", {"weighting": "uniform"}), ("rpo", "P", {"weighting": "uniform", "weightScale": "mean"}),
    ("rpo", "P", {"weighting": "diagonal"}), ("rpo", "P", {"weighting": "diagonal", "alpha": 1.0}),
    ("rpo", "P", {"weighting": "diagonal", "weightScale": "mean", "beta": 0.3}), ("rpo", "P1", {"weighting": "diagonal"}),
    ("rpo", "U", {"tau": 0.75}), ("rpo", "U", {"weighting": "uniform"}), ("rpo", "U", {"weighting": "uniform", "weightScale": "mean"}),
    ("rpo", "U", {"weightScale": "mean", "beta": 0.5}), ("rpo", "U1", {}), ("rpo", "U11", {}),
    ("rpo_simpo", "P", {}), ("rpo_simpo", "P1", {}), ("rpo_simpo", "P", {"weighting": "uniform"}),
    ("rpo_simpo", "P", {"weighting": "diagonal", "alpha": 0.6}), ("rpo_simpo", "U", {}),
    ("rpo_simpo", "U", {"weighting": "uniform", "weightScale": "row", "beta": 2.0}), ("rpo_simpo", "U1", {"tau": 0.75}),
    ("dpo", "P", {}), ("dpo", "P1", {}), ("dpo", "P", {"labelSmoothing": 0.1}), ("dpo", "P", {"beta": 0.5}),
    ("ipo", "P", {}), ("ipo", "P1", {}), ("ipo", "P", {"tokenAverage": False}), ("ipo", "P", {"tokenAverage": False, "beta": 0.5}),
    ("hinge", "P", {}), ("hinge", "P1", {}), ("hinge", "P", {"beta": 1.0}),
    ("robust", "P", {}), ("robust", "P", {"labelSmoothing": 0.2}), ("robust", "P1", {"labelSmoothing": 0.1}),
    ("bco_pair", "P", {}), ("bco_pair", "P1", {}), ("bco_pair", "P", {"beta": 0.7}),
    ("sppo_hard", "P", {}), ("sppo_hard", "P1", {}), ("sppo_hard", "P", {"beta": 0.3}),
    ("nca_pair", "P", {}), ("nca_pair", "P1", {}), ("nca_pair", "P", {"beta": 0.7}),
    ("apo_zero", "P", {}), ("apo_zero", "P1", {}), ("apo_zero", "P", {"beta": 0.7}),
    ("apo_down", "P", {}), ("apo_down", "P1", {}), ("apo_down", "P", {"beta": 0.7}),
    ("exo_pair", "P", {}), ("exo_pair", "P1", {}), ("exo_pair", "P", {"labelSmoothing": 0.1, "beta": 0.5}),
    ("discopop", "P", {}), ("discopop", "P1", {}), ("discopop", "P", {"discopopTau": 0.5, "beta": 0.5}),
    ("aot", "P", {}), ("aot", "P1", {}), ("aot", "P", {"labelSmoothing": 0.1, "beta": 0.5}),
    ("aot_unpaired", "UE", {}), ("aot_unpaired", "U11", {}), ("aot_unpaired", "P", {"labelSmoothing": 0.2}),
    ("sigmoid_norm", "P", {}), ("sigmoid_norm", "P1", {}), ("sigmoid_norm", "P", {"beta": 2.0}),
    ("simpo", "P", {}), ("simpo", "P1", {}), ("simpo", "P", {"labelSmoothing": 0.1, "gammaBetaRatio": 0.5}),
    ("cpo", "P", {}), ("cpo", "P1", {}), ("cpo", "P", {"alpha": 0.5, "beta": 0.5}), ("cpo", "P", {"nllAverage": "rows"}),
    ("orpo", "P", {}), ("orpo", "P1", {}), ("orpo", "P", {"beta": 0.5}), ("orpo", "P", {"nllAverage": "rows"}),
    ("kto", "U", {}), ("kto", "U1", {}), ("kto", "U11", {}), ("kto", "P", {}), ("kto", "UKL0", {}),
    ("kto", "U", {"desirableWeight": 1.33, "undesirableWeight": 0.7, "beta": 0.5}),
    ("sft", "P", {}), ("sft", "U", {}), ("sft", "P1", {}), ("sft", "P", {"nllAverage": "rows"}), ("sft", "U", {"nllAverage": "rows"}),
]


def main():
    batches = make_batches()
    cases = []
    for name, batch_id, overrides in CASES:
        cfg = dict(DEFAULTS[name])
        cfg.update(overrides)
        loss, pc, pr, metrics = compute(name, batches[batch_id], cfg)
        loss.backward()
        gc = pc.grad if pc.grad is not None else torch.zeros_like(pc)
        gr = pr.grad if pr.grad is not None else torch.zeros_like(pr)
        cases.append({
            "id": f"{name} on {batch_id} {json.dumps(overrides, sort_keys=True)}",
            "loss": name,
            "batch": batch_id,
            "config": overrides,
            "value": loss.item(),
            "grad": {"chosen": gc.tolist(), "rejected": gr.tolist()},
            "metrics": metrics,
        })
    doc = {
        "comment": "Generated by test/losses/golden/make_golden.py (PyTorch, float64, autograd). Do not edit by hand.",
        "torch": torch.__version__,
        "defaults": DEFAULTS,
        "batches": batches,
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
