#!/usr/bin/env python3
"""Golden values for test/losses: every preference loss, written independently in PyTorch.

Each loss below is transcribed from the formulas of issue 4 / docs/losses.md (and, for RPO, the
paper's Listing 1), in float64, with gradients from torch.autograd. The options of issue 19 are
transcribed from the published code itself:
- TRL v1.9.0 (huggingface/trl, commit 35def3ee000a87f6839e66f4b7749b06274ed1b3):
  trl/trainer/dpo_trainer.py (_compute_loss: f_divergence_type and the loss types that read its scores,
  trl_dpo_per_sequence_loss, against which every reverse_kl case of those losses is checked too),
  trl/experimental/cpo/cpo_trainer.py
  (cpo_loss: loss_type, alpha, simpo_gamma, cpo_alpha), trl/trainer/kto_trainer.py (apo_zero_unpaired);
  TRL v0.25.1 (commit 1cf8d56c06ce095aeaa92d0853fca68e5834a928), trl/trainer/dpo_trainer.py, for
  rpo_alpha (removed in v0.29): losses + rpo_alpha * nll_loss, the same nll_loss as loss_type 'sft'.
- The RPO authors' code (yinyueqin/relative-preference-optimization, commit
  c1b51639aaf93796ecf65ca74935bc4193b56592), trainers.py: RPODiagonalTrainer, SLiCTrainer,
  SimpleKTOTrainer, KTOZeroTrainer, SFTTrainer. The output, losses.json, holds
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
    'rows' is the per-row mean, mean(-πc/nc). 'sequences' is the RPO authors' SFTTrainer (trainers.py,
    commit c1b5163): losses = -policy_chosen_logps (get_batch_logps(..., average_log_prob=False), the
    completion's sum), then get_batch_metrics' losses.mean()."""
    if average == "sequences":
        losses = -pc
        return losses.mean()
    return -pc.sum() / nc.sum() if average == "tokens" else (-pc / nc).mean()


def trl_f_divergence_scores(chosen_logratios, rejected_logratios, cfg):
    """TRL v1.9.0 DPOTrainer._compute_loss: the scores of f_divergence_type (DPOConfig's defaults
    where the relpo loss has no such key: apo_zero)."""
    t = cfg.get("fDivergenceType", "reverse_kl")
    coef_ = cfg.get("fAlphaDivergenceCoef", 0.5)
    if t == "reverse_kl":
        chosen_scores, rejected_scores = chosen_logratios, rejected_logratios
    elif t == "forward_kl":
        chosen_scores = -torch.exp(-chosen_logratios)
        rejected_scores = -torch.exp(-rejected_logratios)
    elif t == "js_divergence":
        chosen_scores = F.logsigmoid(chosen_logratios)
        rejected_scores = F.logsigmoid(rejected_logratios)
    elif t == "alpha_divergence":
        if abs(coef_ - 1.0) < 1e-6:
            chosen_scores, rejected_scores = chosen_logratios, rejected_logratios
        else:
            coef = 1.0 / (coef_ - 1.0)
            t_chosen = (coef_ - 1.0) * chosen_logratios
            t_rejected = (coef_ - 1.0) * rejected_logratios
            # TRL clamps at 80 for float32 (its table has no float64 entry: relpo uses 80 there too).
            chosen_scores = torch.exp(torch.clamp(t_chosen, max=80.0)) * coef
            rejected_scores = torch.exp(torch.clamp(t_rejected, max=80.0)) * coef
    else:
        raise ValueError(t)
    return chosen_scores, rejected_scores


def trl_f_divergence_delta(chosen_logratios, rejected_logratios, cfg):
    """TRL v1.9.0 DPOTrainer._compute_loss: delta_score."""
    chosen_scores, rejected_scores = trl_f_divergence_scores(chosen_logratios, rejected_logratios, cfg)
    return chosen_scores - rejected_scores


# relpo's loss → TRL v1.9.0 DPOConfig loss_type, for the types that read the f-divergence scores or
# the log-ratios (aot, aot_unpaired and sft read other inputs).
TRL_DPO_TYPES = {
    "dpo": "sigmoid", "hinge": "hinge", "ipo": "ipo", "exo_pair": "exo_pair", "nca_pair": "nca_pair", "robust": "robust",
    "bco_pair": "bco_pair", "sppo_hard": "sppo_hard", "apo_zero": "apo_zero", "apo_down": "apo_down", "discopop": "discopop",
    "sigmoid_norm": "sigmoid_norm",
}


def trl_dpo_per_sequence_loss(loss_type, cfg, chosen_logratios, rejected_logratios, chosen_counts, rejected_counts):
    """TRL v1.9.0 DPOTrainer._compute_loss, from the log-ratios on: the f_divergence_type scores, then
    one loss_type's per_sequence_loss (before use_weighting and the mean). chosen_counts and
    rejected_counts are completion_mask.sum(dim=1) of each side. TRL's `self.label_smoothing` and
    `self.args.discopop_tau` are the config's labelSmoothing and discopopTau (0 where the relpo loss
    has no such key: v1.9.0's sigmoid reads no label_smoothing)."""
    beta = cfg["beta"]
    label_smoothing = cfg.get("labelSmoothing", 0.0) if loss_type in ("robust", "exo_pair") else 0.0
    chosen_scores, rejected_scores = trl_f_divergence_scores(chosen_logratios, rejected_logratios, cfg)
    delta_score = chosen_scores - rejected_scores
    if loss_type == "sigmoid":
        per_sequence_loss = -F.logsigmoid(beta * delta_score)
    elif loss_type == "hinge":
        per_sequence_loss = torch.relu(1 - beta * delta_score)
    elif loss_type == "ipo":
        chosen_avg_score = chosen_scores / chosen_counts.clamp(min=1.0)
        rejected_avg_score = rejected_scores / rejected_counts.clamp(min=1.0)
        ipo_delta = chosen_avg_score - rejected_avg_score
        per_sequence_loss = (ipo_delta - 1 / (2 * beta)) ** 2
    elif loss_type == "exo_pair":
        epsilon = torch.tensor(label_smoothing)
        qw = torch.sigmoid(beta * delta_score)
        log_qw = F.logsigmoid(beta * delta_score)
        log_pw = torch.log1p(-epsilon)
        ql = torch.sigmoid(-beta * delta_score)
        log_ql = F.logsigmoid(-beta * delta_score)
        log_pl = torch.log(epsilon)
        per_sequence_loss = qw * (log_qw - log_pw) + ql * (log_ql - log_pl)
    elif loss_type == "nca_pair":
        chosen_rewards = beta * chosen_scores
        rejected_rewards = beta * rejected_scores
        per_sequence_loss = -F.logsigmoid(chosen_rewards) - 0.5 * F.logsigmoid(-chosen_rewards) - 0.5 * F.logsigmoid(-rejected_rewards)
    elif loss_type == "robust":
        clean_loss_term = -(1 - label_smoothing) * F.logsigmoid(beta * delta_score)
        flipped_loss_term = -label_smoothing * F.logsigmoid(-beta * delta_score)
        per_sequence_loss = (clean_loss_term - flipped_loss_term) / (1 - 2 * label_smoothing)
    elif loss_type == "bco_pair":
        chosen_rewards = beta * chosen_scores
        rejected_rewards = beta * rejected_scores
        per_sequence_loss = -F.logsigmoid(chosen_rewards) - F.logsigmoid(-rejected_rewards)
    elif loss_type == "sppo_hard":
        winner_margin_error = (chosen_scores - 0.5 / beta) ** 2
        loser_margin_error = (rejected_scores + 0.5 / beta) ** 2
        per_sequence_loss = winner_margin_error + loser_margin_error
    elif loss_type == "apo_zero":
        losses_chosen = 1 - torch.sigmoid(beta * chosen_logratios)
        losses_rejected = torch.sigmoid(beta * rejected_logratios)
        per_sequence_loss = losses_chosen + losses_rejected
    elif loss_type == "apo_down":
        losses_chosen = torch.sigmoid(beta * chosen_logratios)
        losses_rejected = 1 - torch.sigmoid(beta * delta_score)
        per_sequence_loss = losses_chosen + losses_rejected
    elif loss_type == "discopop":
        logits = delta_score * beta
        log_ratio_modulation = torch.sigmoid(logits / cfg["discopopTau"])
        logistic_component = -F.logsigmoid(logits)
        exp_component = torch.exp(-logits)
        per_sequence_loss = logistic_component * (1 - log_ratio_modulation) + exp_component * log_ratio_modulation
    elif loss_type == "sigmoid_norm":
        chosen_avg_score = chosen_scores / chosen_counts.clamp(min=1.0)
        rejected_avg_score = rejected_scores / rejected_counts.clamp(min=1.0)
        delta = chosen_avg_score - rejected_avg_score
        per_sequence_loss = -F.logsigmoid(beta * delta)
    else:
        raise ValueError(loss_type)
    return per_sequence_loss


def trl_cpo_loss(policy_chosen_logps, policy_rejected_logps, beta, cfg):
    """TRL v1.9.0 CPOTrainer.cpo_loss (trl/experimental/cpo/cpo_trainer.py)."""
    alpha, label_smoothing, loss_type = cfg["alpha"], cfg["labelSmoothing"], cfg["lossType"]
    if alpha != 0.0:
        chosen_probs = torch.exp(policy_chosen_logps)
        rejected_probs = torch.exp(policy_rejected_logps)
        policy_chosen_rewards = (1 - chosen_probs.pow(-alpha)) / alpha
        policy_rejected_rewards = (1 - rejected_probs.pow(-alpha)) / alpha
        logits = policy_chosen_rewards - policy_rejected_rewards
    else:
        logits = policy_chosen_logps - policy_rejected_logps
    if loss_type == "simpo":
        gamma_logratios = cfg["simpoGamma"] / beta
        logits = logits - gamma_logratios
        losses = -F.logsigmoid(beta * logits) * (1 - label_smoothing) - F.logsigmoid(-beta * logits) * label_smoothing
    elif loss_type == "sigmoid":
        losses = -F.logsigmoid(beta * logits) * (1 - label_smoothing) - F.logsigmoid(-beta * logits) * label_smoothing
    elif loss_type == "hinge":
        losses = torch.relu(1 - beta * logits)
    elif loss_type == "ipo":
        losses = (logits - 1 / (2 * beta)) ** 2
    else:
        raise ValueError(loss_type)
    if alpha != 0.0:
        chosen_rewards = beta * policy_chosen_rewards.detach()
        rejected_rewards = beta * policy_rejected_rewards.detach()
    else:
        chosen_rewards = beta * policy_chosen_logps.detach()
        rejected_rewards = beta * policy_rejected_logps.detach()
    return losses, chosen_rewards, rejected_rewards


def authors_rpo_diagonal(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta, diagonal_weight):
    """The RPO authors' RPODiagonalTrainer.loss, then get_batch_metrics' losses.mean(). With one pair
    the code's off-diagonal mean is empty (NaN): relpo returns DPO's loss there, as here."""
    pi_logdiffs = policy_chosen_logps.view(-1, 1) - policy_rejected_logps.view(1, -1)
    ref_logdiffs = reference_chosen_logps.view(-1, 1) - reference_rejected_logps.view(1, -1)
    logits = pi_logdiffs - ref_logdiffs
    all_losses = -F.logsigmoid(beta * logits)
    diagonal_losses = all_losses.diag()
    if logits.shape[0] == 1:
        return diagonal_losses.mean()
    off_diagonal_mask = ~torch.eye(*logits.shape, dtype=torch.bool)
    off_diagonal_losses = all_losses[off_diagonal_mask].view(logits.size(0), -1).mean(dim=1)
    combined_losses = (diagonal_weight * diagonal_losses) + ((1 - diagonal_weight) * off_diagonal_losses)
    return combined_losses.mean()


def compute(name, batch, cfg):
    """Returns (loss tensor, πc leaf, πr leaf, metrics)."""
    pc, rc_ref, nc, ec = side_tensors(batch, "chosen", True)
    pr, rr_ref, nr, er = side_tensors(batch, "rejected", True)
    paired = batch["paired"]
    M, N = pc.shape[0], pr.shape[0]
    sc, sr = pc - rc_ref, pr - rr_ref
    beta = cfg.get("beta")
    metrics = None

    if name in TRL_DPO_TYPES and name != "dpo" and cfg.get("fDivergenceType", "reverse_kl") != "reverse_kl":
        # TRL's f-divergence on the other loss types: its code itself (relpo's ipo in TRL's form only).
        assert name != "ipo" or cfg["tokenAverage"]
        loss = trl_dpo_per_sequence_loss(TRL_DPO_TYPES[name], cfg, sc, sr, nc, nr).mean()
    elif name == "rpo" and cfg["diagonalForm"] == "losses":
        loss = authors_rpo_diagonal(pc, pr, rc_ref, rr_ref, beta, cfg["alpha"])
        W = rpo_weights(batch, ec, er, dict(cfg, weightScale="row"), M, N)
        metrics = reward_metrics(paired, beta * sc, beta * sr, pc, pr)
        metrics.update(weight_metrics(batch, W))
    elif name == "rpo":
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
        loss = smoothed(beta * trl_f_divergence_delta(sc, sr, cfg), cfg["labelSmoothing"]).mean()
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
        # TRL's get_batch_logps(average_log_prob=loss_type in ["ipo", "simpo"]), then cpo_loss.
        avg = cfg["lossType"] in ("ipo", "simpo")
        losses, r_c, r_r = trl_cpo_loss(pc / nc if avg else pc, pr / nr if avg else pr, beta, cfg)
        loss = losses.mean()
        metrics = reward_metrics(paired, r_c, r_r, pc, pr)
        if cfg["cpoAlpha"] != 0:
            nll = chosen_nll(pc, nc, cfg["nllAverage"])
            loss = loss + cfg["cpoAlpha"] * nll
            metrics["nll_loss"] = nll.item()
    elif name == "slic":
        # The RPO authors' SLiCTrainer.loss, then get_batch_metrics' losses.mean().
        cal_loss = torch.clamp(beta - pc + pr, min=0)
        reg_loss = -pc
        loss = (cal_loss + cfg["lambdaCoef"] * reg_loss).mean()
        metrics = reward_metrics(paired, pc, pr, pc, pr)
        metrics["nll_loss"] = reg_loss.detach().mean().item()
    elif name == "apo_zero_unpaired":
        # TRL's KTOTrainer, loss_type "apo_zero_unpaired": losses.nanmean() over the concatenation.
        chosen_losses = 1 - torch.sigmoid(beta * sc)
        rejected_losses = torch.sigmoid(beta * sr)
        loss = torch.cat((cfg["desirableWeight"] * chosen_losses, cfg["undesirableWeight"] * rejected_losses), 0).nanmean()
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
    elif name == "kto" and cfg["referencePoint"] == "opposite_side":
        # The RPO authors' SimpleKTOTrainer.loss (its weights are 1; relpo's apply as in KTOTrainer).
        chosen_KL = (pc - rc_ref).mean().clamp(min=0)
        rejected_KL = (pr - rr_ref).mean().clamp(min=0)
        loss = torch.cat((cfg["desirableWeight"] * (1 - torch.sigmoid(beta * (sc - rejected_KL))),
                          cfg["undesirableWeight"] * (1 - torch.sigmoid(beta * (chosen_KL - sr)))), 0).mean()
        metrics = reward_metrics(paired, beta * sc, beta * sr, pc, pr)
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


DPO_OPTIONS = {"fDivergenceType": "reverse_kl", "fAlphaDivergenceCoef": 0.5, "useWeighting": False, "ldAlpha": 1.0}
WPO_LD = {"useWeighting": False, "ldAlpha": 1.0}

DEFAULTS = {
    "rpo": {"beta": 0.1, "tau": 0.5, "alpha": 0.8, "weighting": "embedding", "weightScale": "row", "diagonalForm": "scores"},
    "rpo_simpo": {"beta": 10.0, "gammaBetaRatio": 0.3, "tau": 0.5, "alpha": 0.8, "weighting": "embedding", "weightScale": "mean"},
    "dpo": {"beta": 0.1, "labelSmoothing": 0.0, **DPO_OPTIONS},
    "ipo": {"beta": 0.1, "tokenAverage": True, **DPO_OPTIONS},
    "hinge": {"beta": 0.1, **DPO_OPTIONS},
    "robust": {"beta": 0.1, "labelSmoothing": 0.0, **DPO_OPTIONS},
    "bco_pair": {"beta": 0.1, **DPO_OPTIONS},
    "sppo_hard": {"beta": 0.1, **DPO_OPTIONS},
    "nca_pair": {"beta": 0.1, **DPO_OPTIONS},
    "apo_zero": {"beta": 0.1, **WPO_LD},
    "apo_down": {"beta": 0.1, **DPO_OPTIONS},
    "exo_pair": {"beta": 0.1, "labelSmoothing": 1e-3, **DPO_OPTIONS},
    "discopop": {"beta": 0.1, "discopopTau": 0.05, **DPO_OPTIONS},
    "aot": {"beta": 0.1, "labelSmoothing": 0.0, "ldAlpha": 1.0},
    "aot_unpaired": {"beta": 0.1, "labelSmoothing": 0.0, "ldAlpha": 1.0},
    "sigmoid_norm": {"beta": 0.1, **DPO_OPTIONS},
    "simpo": {"beta": 2.0, "gammaBetaRatio": 0.25, "labelSmoothing": 0.0},
    "cpo": {"beta": 0.1, "lossType": "sigmoid", "labelSmoothing": 0.0, "cpoAlpha": 1.0, "simpoGamma": 0.5, "alpha": 0.0, "nllAverage": "tokens"},
    "slic": {"beta": 1.0, "lambdaCoef": 0.1},
    "orpo": {"beta": 0.1, "nllAverage": "tokens", "nllPrompt": False},
    "kto": {"beta": 0.1, "desirableWeight": 1.0, "undesirableWeight": 1.0, "referencePoint": "kl"},
    "apo_zero_unpaired": {"beta": 0.1, "desirableWeight": 1.0, "undesirableWeight": 1.0},
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
    ("cpo", "P", {}), ("cpo", "P1", {}), ("cpo", "P", {"cpoAlpha": 0.5, "beta": 0.5}), ("cpo", "P", {"nllAverage": "rows"}),
    ("orpo", "P", {}), ("orpo", "P1", {}), ("orpo", "P", {"beta": 0.5}), ("orpo", "P", {"nllAverage": "rows"}),
    ("kto", "U", {}), ("kto", "U1", {}), ("kto", "U11", {}), ("kto", "P", {}), ("kto", "UKL0", {}),
    ("kto", "U", {"desirableWeight": 1.33, "undesirableWeight": 0.7, "beta": 0.5}),
    ("sft", "P", {}), ("sft", "U", {}), ("sft", "P1", {}), ("sft", "P", {"nllAverage": "rows"}), ("sft", "U", {"nllAverage": "rows"}),
    # Issue 19: TRL's and the RPO authors' variants.
    ("dpo", "P", {"fDivergenceType": "forward_kl"}), ("dpo", "P1", {"fDivergenceType": "forward_kl", "beta": 0.5}),
    ("dpo", "P", {"fDivergenceType": "js_divergence"}), ("dpo", "P", {"fDivergenceType": "js_divergence", "labelSmoothing": 0.1}),
    ("dpo", "P", {"fDivergenceType": "alpha_divergence"}), ("dpo", "P", {"fDivergenceType": "alpha_divergence", "fAlphaDivergenceCoef": 0.2, "beta": 0.3}),
    ("dpo", "P", {"fDivergenceType": "alpha_divergence", "fAlphaDivergenceCoef": 1.5}), ("dpo", "P", {"fDivergenceType": "alpha_divergence", "fAlphaDivergenceCoef": 1.0}),
    ("cpo", "P", {"lossType": "sigmoid", "labelSmoothing": 0.2}), ("cpo", "P", {"lossType": "hinge"}), ("cpo", "P", {"lossType": "hinge", "beta": 0.05, "cpoAlpha": 0.0}),
    ("cpo", "P", {"lossType": "ipo"}), ("cpo", "P1", {"lossType": "ipo", "beta": 0.5}),
    ("cpo", "P", {"lossType": "simpo"}), ("cpo", "P", {"lossType": "simpo", "cpoAlpha": 0.0, "simpoGamma": 1.0, "beta": 2.0, "labelSmoothing": 0.1}),
    ("cpo", "P1", {"lossType": "simpo", "cpoAlpha": 0.0}),
    ("cpo", "P", {"lossType": "simpo", "cpoAlpha": 0.0, "alpha": 0.25, "beta": 2.0}), ("cpo", "P", {"lossType": "simpo", "alpha": -0.5}),
    ("cpo", "P", {"alpha": 0.05}), ("cpo", "P", {"lossType": "hinge", "alpha": 0.02}), ("cpo", "P", {"lossType": "ipo", "alpha": 0.3, "cpoAlpha": 0.0}),
    ("slic", "P", {}), ("slic", "P1", {}), ("slic", "P", {"beta": 8.0, "lambdaCoef": 0.5}), ("slic", "P", {"lambdaCoef": 0.0}),
    ("apo_zero_unpaired", "U", {}), ("apo_zero_unpaired", "U1", {}), ("apo_zero_unpaired", "P", {}), ("apo_zero_unpaired", "P1", {}),
    ("apo_zero_unpaired", "U", {"desirableWeight": 1.33, "undesirableWeight": 0.7, "beta": 0.5}),
    ("kto", "U", {"referencePoint": "opposite_side"}), ("kto", "U1", {"referencePoint": "opposite_side"}), ("kto", "P", {"referencePoint": "opposite_side"}),
    ("kto", "UKL0", {"referencePoint": "opposite_side", "beta": 0.5}), ("kto", "U11", {"referencePoint": "opposite_side", "desirableWeight": 2.0}),
    ("rpo", "P", {"weighting": "diagonal", "diagonalForm": "losses"}), ("rpo", "P", {"weighting": "diagonal", "diagonalForm": "losses", "alpha": 0.3, "beta": 0.5}),
    ("rpo", "P", {"weighting": "diagonal", "diagonalForm": "losses", "alpha": 1.0}), ("rpo", "P", {"weighting": "diagonal", "diagonalForm": "losses", "alpha": 0.0}),
    ("rpo", "P1", {"weighting": "diagonal", "diagonalForm": "losses"}),
    # The RPO authors' SFTTrainer (sequence sums, the mean over rows), and the same form in cpo and orpo.
    ("sft", "P", {"nllAverage": "sequences"}), ("sft", "U", {"nllAverage": "sequences"}), ("sft", "U1", {"nllAverage": "sequences"}),
    ("cpo", "P", {"nllAverage": "sequences", "cpoAlpha": 0.01}), ("orpo", "P", {"nllAverage": "sequences", "beta": 0.5}),
    # TRL v1.9.0's f-divergences on every loss type that reads its scores (its code: trl_dpo_per_sequence_loss).
    ("hinge", "P", {"fDivergenceType": "forward_kl", "beta": 0.5}), ("hinge", "P", {"fDivergenceType": "js_divergence", "beta": 1.0}),
    ("hinge", "P1", {"fDivergenceType": "alpha_divergence", "fAlphaDivergenceCoef": 0.3}),
    ("ipo", "P", {"fDivergenceType": "js_divergence"}), ("ipo", "P", {"fDivergenceType": "alpha_divergence", "fAlphaDivergenceCoef": 1.5, "beta": 0.5}),
    ("ipo", "P1", {"fDivergenceType": "forward_kl"}),
    ("robust", "P", {"fDivergenceType": "forward_kl", "labelSmoothing": 0.2}), ("robust", "P", {"fDivergenceType": "alpha_divergence"}),
    ("robust", "P1", {"fDivergenceType": "js_divergence", "labelSmoothing": 0.1}),
    ("exo_pair", "P", {"fDivergenceType": "js_divergence"}), ("exo_pair", "P", {"fDivergenceType": "alpha_divergence", "fAlphaDivergenceCoef": 0.2, "labelSmoothing": 0.1}),
    ("exo_pair", "P1", {"fDivergenceType": "forward_kl", "beta": 0.5}),
    ("nca_pair", "P", {"fDivergenceType": "forward_kl"}), ("nca_pair", "P", {"fDivergenceType": "js_divergence", "beta": 0.7}),
    ("nca_pair", "P1", {"fDivergenceType": "alpha_divergence", "fAlphaDivergenceCoef": 1.5}),
    ("bco_pair", "P", {"fDivergenceType": "js_divergence"}), ("bco_pair", "P", {"fDivergenceType": "alpha_divergence", "fAlphaDivergenceCoef": 0.3, "beta": 0.7}),
    ("bco_pair", "P1", {"fDivergenceType": "forward_kl"}),
    ("sppo_hard", "P", {"fDivergenceType": "forward_kl"}), ("sppo_hard", "P", {"fDivergenceType": "js_divergence", "beta": 0.3}),
    ("sppo_hard", "P1", {"fDivergenceType": "alpha_divergence"}),
    ("apo_down", "P", {"fDivergenceType": "forward_kl"}), ("apo_down", "P", {"fDivergenceType": "alpha_divergence", "fAlphaDivergenceCoef": 0.2, "beta": 0.7}),
    ("apo_down", "P1", {"fDivergenceType": "js_divergence"}),
    ("discopop", "P", {"fDivergenceType": "js_divergence"}), ("discopop", "P", {"fDivergenceType": "forward_kl", "discopopTau": 0.5, "beta": 0.5}),
    ("discopop", "P1", {"fDivergenceType": "alpha_divergence", "fAlphaDivergenceCoef": 1.5}),
    ("sigmoid_norm", "P", {"fDivergenceType": "forward_kl"}), ("sigmoid_norm", "P", {"fDivergenceType": "alpha_divergence", "fAlphaDivergenceCoef": 0.3, "beta": 2.0}),
    ("sigmoid_norm", "P1", {"fDivergenceType": "js_divergence"}),
]

# Weighted sums (mixLosses): TRL v0.25.1's rpo_alpha is `losses + rpo_alpha * nll_loss` after the
# loss types' weighted sum, with the nll_loss of loss_type 'sft', so it is the mix [..., sft × α].
# Each term is computed by compute() above: a change to sft's form reaches these cases.
MIX_CASES = [
    ("P", [("dpo", 1.0, {}), ("sft", 0.5, {})]),
    ("P1", [("dpo", 1.0, {"beta": 0.5}), ("sft", 1.0, {})]),
    ("P", [("ipo", 1.0, {}), ("sft", 0.2, {})]),
    ("P", [("dpo", 0.8, {}), ("bco_pair", 0.2, {}), ("sft", 1.0, {})]),
]


def mix_case(batches, batch_id, terms):
    value, gc, gr, metrics, labels = 0.0, None, None, {}, []
    for name, weight, overrides in terms:
        cfg = dict(DEFAULTS[name])
        cfg.update(overrides)
        loss, pc, pr, m = compute(name, batches[batch_id], cfg)
        loss.backward()
        g_c = pc.grad if pc.grad is not None else torch.zeros_like(pc)
        g_r = pr.grad if pr.grad is not None else torch.zeros_like(pr)
        value += weight * loss.item()
        gc = weight * g_c if gc is None else gc + weight * g_c
        gr = weight * g_r if gr is None else gr + weight * g_r
        metrics[f"{name}/loss"] = loss.item()
        for k, v in m.items():
            metrics[f"{name}/{k}"] = v
        labels.append(f"{weight}*{name}{json.dumps(overrides, sort_keys=True) if overrides else ''}")
    return {
        "id": f"mix {' + '.join(labels)} on {batch_id}",
        "loss": "mix",
        "batch": batch_id,
        "config": {},
        "terms": [{"loss": n, "weight": w, "config": o} for n, w, o in terms],
        "value": value,
        "grad": {"chosen": gc.tolist(), "rejected": gr.tolist()},
        "metrics": metrics,
    }


def check_against_trl(name, batch, cfg, value):
    """The formulas above, at reverse_kl, equal TRL v1.9.0's code for the same loss type (its
    sigmoid has no label smoothing, and its ipo is the token-averaged one)."""
    if name not in TRL_DPO_TYPES or cfg.get("fDivergenceType") != "reverse_kl":
        return
    if (name == "dpo" and cfg["labelSmoothing"] != 0) or (name == "ipo" and not cfg["tokenAverage"]):
        return
    pc, rc_ref, nc, _ = side_tensors(batch, "chosen", False)
    pr, rr_ref, nr, _ = side_tensors(batch, "rejected", False)
    trl = trl_dpo_per_sequence_loss(TRL_DPO_TYPES[name], cfg, pc - rc_ref, pr - rr_ref, nc, nr).mean().item()
    assert abs(trl - value) <= 1e-12 * max(1.0, abs(value)), (name, cfg, trl, value)


def main():
    batches = make_batches()
    cases = []
    for name, batch_id, overrides in CASES:
        cfg = dict(DEFAULTS[name])
        cfg.update(overrides)
        loss, pc, pr, metrics = compute(name, batches[batch_id], cfg)
        check_against_trl(name, batches[batch_id], cfg, loss.item())
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
    for batch_id, terms in MIX_CASES:
        cases.append(mix_case(batches, batch_id, terms))
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
