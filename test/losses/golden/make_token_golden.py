#!/usr/bin/env python3
"""Golden values for the token-level losses and options: transcriptions of TRL v1.9.0's code
(huggingface/trl tag v1.9.0, commit a785283c0ea7395092fc5bd60fc38e7f4d972003), run from logits.

    trl/trainer/dpo_trainer.py         DPOTrainer._compute_loss: every loss_type relpo has (those
                                       reading the log-ratios or the f-divergence scores through
                                       make_golden.trl_dpo_per_sequence_loss; aot, aot_unpaired and
                                       sft here), use_weighting (WPO), ld_alpha (LD-DPO)
    trl/experimental/orpo/orpo_trainer.py  concatenated_forward's cross_entropy_loss (decoder-only:
                                       prompt and completion; encoder-decoder: the completion
                                       labels), get_batch_logps(average_log_prob=True), odds_ratio_loss
    trl/experimental/cpo/cpo_trainer.py    cross_entropy_loss over the completion labels, cpo_loss 'sigmoid'

Each fixture is one paired batch: per side, token rows (BOS + prompt + completion, right-padded
with 0), prompt lengths (BOS included), and the policy's and the reference's logits [B, T, V] at
every position. The gradients are with respect to the policy's logits (float64, torch.autograd).
test/losses/token-golden.test.ts rebuilds the batch with relpo's own code (fieldsFromLogits,
desensitizeLengths) from the same logits.

    /usr/bin/python3 test/losses/golden/make_token_golden.py    # writes token-losses.json
"""
import json
import os
import random

import sys

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_golden import DEFAULTS, TRL_DPO_TYPES, trl_dpo_per_sequence_loss  # noqa: E402

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "token-losses.json")
V = 6


def make_fixture(seed, prompt_lens, chosen_lens, rejected_lens):
    rng = random.Random(seed)
    prompts = [[1] + [rng.randrange(2, V) for _ in range(p - 1)] for p in prompt_lens]
    side = lambda lens: [p + [rng.randrange(1, V) for _ in range(n)] for p, n in zip(prompts, lens)]
    chosen, rejected = side(chosen_lens), side(rejected_lens)
    T = max(len(r) for r in chosen + rejected)
    B = len(prompts)
    logits = lambda: [round(rng.gauss(0, 2), 6) for _ in range(B * T * V)]
    mk = lambda rows: {"rows": rows, "promptLengths": list(prompt_lens), "logits": logits(), "refLogits": logits()}
    return {"T": T, "V": V, "chosen": mk(chosen), "rejected": mk(rejected)}


FIXTURES = {
    # Answers of different lengths both ways round, so each side has a verbose part somewhere.
    "A": make_fixture(7, [3, 2, 4], [2, 4, 1], [3, 2, 3]),
    # One pair.
    "A1": make_fixture(11, [2], [5], [2]),
}


def tensors(fx):
    """TRL's concatenated batch: input_ids, attention_mask, completion_mask [2B, T]; logits leaves."""
    B, T = len(fx["chosen"]["rows"]), fx["T"]
    ids = torch.zeros(2 * B, T, dtype=torch.long)
    attention = torch.zeros(2 * B, T, dtype=torch.long)
    completion = torch.zeros(2 * B, T, dtype=torch.long)
    for k, (row, P) in enumerate(zip(fx["chosen"]["rows"] + fx["rejected"]["rows"], fx["chosen"]["promptLengths"] * 2)):
        ids[k, : len(row)] = torch.tensor(row)
        attention[k, : len(row)] = 1
        completion[k, P : len(row)] = 1
    lc = torch.tensor(fx["chosen"]["logits"]).view(B, T, V).requires_grad_(True)
    lr = torch.tensor(fx["rejected"]["logits"]).view(B, T, V).requires_grad_(True)
    ref = torch.cat([torch.tensor(fx[s]["refLogits"]).view(B, T, V) for s in ("chosen", "rejected")])
    return ids, attention, completion, lc, lr, ref


def selective_log_softmax(logits, index):
    return torch.gather(logits.log_softmax(-1), dim=-1, index=index.unsqueeze(-1)).squeeze(-1)


def trl_dpo(fx, loss_types, cfg, use_weighting=False, ld_alpha=None, loss_weights=None):
    """DPOTrainer._compute_loss, as in v1.9.0: the loop over loss_types with their loss_weights (one
    config, TRL's, for all); the f_divergence_type scores and the loss types that read them come
    from make_golden.trl_dpo_per_sequence_loss (the same code). ld_alpha weighs the log-probs the
    DPO-family types read; sft's cross-entropy reads the logits of every chosen completion token."""
    device = "cpu"
    beta = cfg.get("beta")  # sft has none
    input_ids, _, completion_mask, lc, lr, ref_logits = tensors(fx)
    logits = torch.cat([lc, lr])
    shift_logits = logits[..., :-1, :]
    shift_labels = input_ids[..., 1:]
    shift_completion_mask = completion_mask[..., 1:]
    per_token_logps = selective_log_softmax(shift_logits, shift_labels)
    per_token_logps[shift_completion_mask == 0] = 0.0  # mask out non-completion tokens
    if ld_alpha is None:
        logps = per_token_logps.sum(dim=1)  # sum over sequence length
    else:
        comp_pos = shift_completion_mask.cumsum(dim=1)
        comp_lens = shift_completion_mask.sum(dim=1).long()
        chosen_lens, rejected_lens = comp_lens.chunk(2, dim=0)
        shared_lens = torch.minimum(chosen_lens, rejected_lens)
        shared_lens = torch.cat([shared_lens, shared_lens], dim=0).to(device)
        shared_mask = (comp_pos > 0) & (comp_pos <= shared_lens.unsqueeze(1))  # shared: 1 <= pos <= shared_len
        tail_mask = comp_pos > shared_lens.unsqueeze(1)  # tail: pos > shared_len
        shared_logps = (per_token_logps * shared_mask).sum(dim=1)
        tail_logps = (per_token_logps * tail_mask).sum(dim=1)
        logps = shared_logps + ld_alpha * tail_logps
    chosen_logps, rejected_logps = logps.chunk(2, dim=0)  # batch is [chosen, rejected]

    with torch.no_grad():
        ref_shift_logits = ref_logits[..., :-1, :]
        ref_per_token_logps = selective_log_softmax(ref_shift_logits, shift_labels)
        ref_per_token_logps[shift_completion_mask == 0] = 0.0  # mask out non-completion tokens
        if ld_alpha is None:
            ref_logps = ref_per_token_logps.sum(dim=1)  # sum over sequence length
        else:
            ref_shared_logps = (ref_per_token_logps * shared_mask).sum(dim=1)
            ref_tail_logps = (ref_per_token_logps * tail_mask).sum(dim=1)
            ref_logps = ref_shared_logps + ld_alpha * ref_tail_logps
        ref_chosen_logps, ref_rejected_logps = ref_logps.chunk(2, dim=0)  # batch is [chosen, rejected]

    chosen_logratios = chosen_logps - ref_chosen_logps
    rejected_logratios = rejected_logps - ref_rejected_logps

    loss = 0.0
    for loss_type, loss_weight in zip(loss_types, loss_weights or [1.0] * len(loss_types), strict=True):
        if loss_type == "aot":
            logratios = chosen_logps - rejected_logps
            ref_logratios = ref_chosen_logps - ref_rejected_logps
            logratios_sorted, _ = torch.sort(logratios, dim=0)
            ref_logratios_sorted, _ = torch.sort(ref_logratios, dim=0)
            delta = logratios_sorted - ref_logratios_sorted
            per_sequence_loss = -F.logsigmoid(beta * delta) * (1 - cfg["labelSmoothing"]) - F.logsigmoid(-beta * delta) * cfg["labelSmoothing"]
        elif loss_type == "aot_unpaired":
            chosen_logratios_sorted, _ = torch.sort(chosen_logratios, dim=0)
            rejected_logratios_sorted, _ = torch.sort(rejected_logratios, dim=0)
            delta = chosen_logratios_sorted - rejected_logratios_sorted
            per_sequence_loss = -F.logsigmoid(beta * delta) * (1 - cfg["labelSmoothing"]) - F.logsigmoid(-beta * delta) * cfg["labelSmoothing"]
        elif loss_type == "sft":
            chosen_logits, _ = shift_logits.chunk(2, dim=0)
            chosen_labels, _ = shift_labels.chunk(2, dim=0)
            chosen_mask, _ = shift_completion_mask.chunk(2, dim=0)
            batch_loss = F.cross_entropy(chosen_logits[chosen_mask.bool()], chosen_labels[chosen_mask.bool()])
            per_sequence_loss = batch_loss.expand(chosen_logits.size(0))
        else:
            chosen_mask, rejected_mask = completion_mask.chunk(2, dim=0)
            per_sequence_loss = trl_dpo_per_sequence_loss(
                loss_type, cfg, chosen_logratios, rejected_logratios, chosen_mask.sum(dim=1).double(), rejected_mask.sum(dim=1).double()
            )
        if use_weighting:
            # Eq (2) of the WPO paper: https://huggingface.co/papers/2406.11827
            completion_lengths = shift_completion_mask.sum(dim=1).clamp_min(1)
            with torch.no_grad():
                lse1 = torch.logsumexp(shift_logits, dim=-1)
                lse2 = torch.logsumexp(2.0 * shift_logits, dim=-1)
                log_denom = lse2 - 2.0 * lse1
                aligned_logps = (per_token_logps - log_denom) * shift_completion_mask
            mean_logps = aligned_logps.sum(dim=1) / completion_lengths
            weights = torch.exp(mean_logps)
            chosen_weights, rejected_weights = weights.chunk(2, dim=0)
            # TRL: `per_sequence_loss *= chosen_weights * rejected_weights`, in place. The same values; but
            # in place it breaks the backward of hinge (relu's saved output is overwritten) and the
            # expanded sft loss refuses it, so here the product is taken out of place.
            per_sequence_loss = per_sequence_loss * (chosen_weights * rejected_weights)
        loss += per_sequence_loss.mean() * loss_weight
    return loss, lc, lr


def dpo_case(loss, config):
    """TRL's DPOTrainer with the relpo loss's config: its loss_type and options (make_golden's defaults)."""
    cfg = {**DEFAULTS[loss], **config}
    ld_alpha = cfg.get("ldAlpha", 1.0)
    return lambda fx: trl_dpo(fx, [TRL_DPO_TYPES.get(loss, loss)], cfg, cfg.get("useWeighting", False), None if ld_alpha == 1.0 else ld_alpha)


def mix_case(terms):
    """TRL's DPOTrainer with loss_type [a, b] and loss_weights: relpo's mix of those terms. TRL has one
    config for every type: the terms' configs (make_golden's defaults) must agree where they share a key."""
    cfg = {}
    for loss, _, config in terms:
        for k, v in {**DEFAULTS[loss], **config}.items():
            assert cfg.get(k, v) == v, f"terms disagree on {k}"
            cfg[k] = v
    ld_alpha = cfg.get("ldAlpha", 1.0)
    types, weights = [TRL_DPO_TYPES.get(loss, loss) for loss, _, _ in terms], [w for _, w, _ in terms]
    return lambda fx: trl_dpo(fx, types, cfg, cfg.get("useWeighting", False), None if ld_alpha == 1.0 else ld_alpha, weights)


def cross_entropy_loss(logits, labels):
    """concatenated_forward's inner function (ORPO and CPO), decoder-only."""
    logits = logits[..., :-1, :].contiguous()
    labels = labels[..., 1:].contiguous()
    loss_fct = torch.nn.CrossEntropyLoss()
    logits = logits.view(-1, logits.shape[-1])
    labels = labels.view(-1)
    return loss_fct(logits, labels)


def get_batch_logps(logits, labels, average_log_prob=False):
    labels = labels[:, 1:].clone()
    logits = logits[:, :-1, :]
    loss_mask = labels != -100
    labels = torch.where(labels == -100, 0, labels)
    per_token_logps = selective_log_softmax(logits, labels)
    if average_log_prob:
        return (per_token_logps * loss_mask).sum(-1) / loss_mask.sum(-1)
    return (per_token_logps * loss_mask).sum(-1)


def concatenated_labels(input_ids, completion_mask):
    """The prompt's and the padding's labels at -100, as TRL's concatenated_labels."""
    return torch.where(completion_mask == 1, input_ids, -100)


def trl_orpo(fx, beta, prompt_in_nll):
    input_ids, attention_mask, completion_mask, lc, lr, _ = tensors(fx)
    all_logits = torch.cat([lc, lr])
    len_chosen = lc.shape[0]
    if prompt_in_nll:  # decoder-only: "orpo chosen nll loss is computed over the full prompt and response"
        labels = torch.where(attention_mask == 1, input_ids.clone(), -100)
    else:  # the encoder-decoder branch's labels: the completion only
        labels = concatenated_labels(input_ids, completion_mask)
    chosen_nll_loss = cross_entropy_loss(all_logits[:len_chosen], labels[:len_chosen])
    all_logps = get_batch_logps(all_logits, concatenated_labels(input_ids, completion_mask), average_log_prob=True)
    policy_chosen_logps, policy_rejected_logps = all_logps[:len_chosen], all_logps[len_chosen:]
    log_odds = (policy_chosen_logps - policy_rejected_logps) - (
        torch.log1p(-torch.exp(policy_chosen_logps)) - torch.log1p(-torch.exp(policy_rejected_logps))
    )
    ratio = F.logsigmoid(log_odds)
    losses = beta * ratio
    loss = chosen_nll_loss - losses.mean()
    return loss, lc, lr


def trl_cpo(fx, beta, cpo_alpha):
    input_ids, _, completion_mask, lc, lr, _ = tensors(fx)
    all_logits = torch.cat([lc, lr])
    len_chosen = lc.shape[0]
    labels = concatenated_labels(input_ids, completion_mask)
    nll_loss = cross_entropy_loss(all_logits[:len_chosen], labels[:len_chosen])
    all_logps = get_batch_logps(all_logits, labels, average_log_prob=False)
    logits = all_logps[:len_chosen] - all_logps[len_chosen:]
    losses = -F.logsigmoid(beta * logits)
    loss = losses.mean() + cpo_alpha * nll_loss
    return loss, lc, lr


# (relpo loss, relpo config, fixture[, TRL computation]): without one, DPOTrainer's with that loss's
# loss_type and options (dpo_case).
CASES = [
    ("dpo", {}, "A"),
    ("dpo", {"useWeighting": True}, "A"),
    ("dpo", {"useWeighting": True, "beta": 0.5}, "A1"),
    ("dpo", {"ldAlpha": 0.5}, "A"),
    ("dpo", {"ldAlpha": 0.0}, "A"),
    ("dpo", {"ldAlpha": 0.3}, "A1"),
    ("dpo", {"ldAlpha": 0.3, "useWeighting": True}, "A"),
    ("sft", {}, "A"),
    ("orpo", {"nllPrompt": True}, "A", lambda fx: trl_orpo(fx, 0.1, True)),
    ("orpo", {"nllPrompt": True, "beta": 0.5}, "A1", lambda fx: trl_orpo(fx, 0.5, True)),
    ("orpo", {}, "A", lambda fx: trl_orpo(fx, 0.1, False)),
    ("cpo", {}, "A", lambda fx: trl_cpo(fx, 0.1, 1.0)),
    ("cpo", {"cpoAlpha": 0.5, "beta": 0.5}, "A1", lambda fx: trl_cpo(fx, 0.5, 0.5)),
    # use_weighting and ld_alpha on the other loss types, some with an f-divergence too.
    ("hinge", {"useWeighting": True, "ldAlpha": 0.5, "fDivergenceType": "js_divergence", "beta": 0.5}, "A"),
    ("ipo", {"useWeighting": True, "ldAlpha": 0.5}, "A"),
    ("robust", {"ldAlpha": 0.5, "labelSmoothing": 0.2}, "A"), ("robust", {"useWeighting": True, "fDivergenceType": "js_divergence"}, "A1"),
    ("exo_pair", {"useWeighting": True, "ldAlpha": 0.3, "fDivergenceType": "forward_kl"}, "A"),
    ("nca_pair", {"ldAlpha": 0.3, "useWeighting": True}, "A1"),
    ("bco_pair", {"useWeighting": True}, "A"), ("bco_pair", {"ldAlpha": 0.5, "fDivergenceType": "alpha_divergence"}, "A"),
    ("sppo_hard", {"ldAlpha": 0.0, "useWeighting": True}, "A"),
    ("apo_zero", {"useWeighting": True, "ldAlpha": 0.5}, "A"),
    ("apo_down", {"useWeighting": True, "ldAlpha": 0.5, "fDivergenceType": "alpha_divergence"}, "A"),
    ("discopop", {"ldAlpha": 0.5, "useWeighting": True, "fDivergenceType": "js_divergence", "beta": 0.5}, "A"),
    ("sigmoid_norm", {"ldAlpha": 0.3, "useWeighting": True, "fDivergenceType": "forward_kl"}, "A"),
    ("aot", {"ldAlpha": 0.5}, "A"),
    ("aot_unpaired", {"ldAlpha": 0.3, "beta": 0.5}, "A"),
]

# TRL's loss_type [a, b] with loss_weights, as relpo mixes ((loss, weight, config) per term): ld_alpha
# on the DPO-family term and sft's unweighted cross-entropy beside it (also --nll-alpha's α × sft:
# TRL v0.25.1's rpo_alpha · nll_loss, the same unweighted cross-entropy).
MIX_CASES = [
    ([("dpo", 1.0, {"ldAlpha": 0.5}), ("sft", 0.3, {})], "A"),
    ([("dpo", 1.0, {"ldAlpha": 0.0, "beta": 0.5}), ("sft", 1.0, {})], "A1"),
    ([("ipo", 1.0, {"ldAlpha": 0.3}), ("sft", 0.5, {})], "A"),
    ([("dpo", 1.0, {}), ("sft", 0.3, {})], "A"),
]


def main():
    cases = []
    for loss_name, config, fid, *run in CASES:
        loss, lc, lr = (run[0] if run else dpo_case(loss_name, config))(FIXTURES[fid])
        loss.backward()
        cases.append({
            "id": f"{loss_name} {json.dumps(config, sort_keys=True)} on {fid}",
            "loss": loss_name,
            "config": config,
            "fixture": fid,
            "value": loss.item(),
            "grad": {"chosen": lc.grad.flatten().tolist(), "rejected": lr.grad.flatten().tolist()},
        })
    for terms, fid in MIX_CASES:
        loss, lc, lr = mix_case(terms)(FIXTURES[fid])
        loss.backward()
        spec = [{"loss": l, "weight": w, "config": c} for l, w, c in terms]
        cases.append({
            "id": " + ".join(f"{w}·{l} {json.dumps(c, sort_keys=True)}" for l, w, c in terms) + f" on {fid}",
            "loss": "mix",
            "terms": spec,
            "config": {},
            "fixture": fid,
            "value": loss.item(),
            "grad": {"chosen": lc.grad.flatten().tolist(), "rejected": lr.grad.flatten().tolist()},
        })
    doc = {
        "comment": "Generated by test/losses/golden/make_token_golden.py (TRL v1.9.0 transcribed; PyTorch, float64). Do not edit by hand.",
        "torch": torch.__version__,
        "trl": "v1.9.0 (a785283c0ea7395092fc5bd60fc38e7f4d972003)",
        "fixtures": FIXTURES,
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
