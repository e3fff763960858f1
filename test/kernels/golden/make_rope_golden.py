#!/usr/bin/python3
"""Reference RoPE values for test/kernels/rope.test.ts, written to rope.json next to this script.

Run with a Python that has torch (Debian's python3-torch: /usr/bin/python3 make_rope_golden.py).
transformers is not needed: its formulas are transcribed below in plain torch, from
transformers/modeling_rope_utils.py (_compute_default_rope_parameters,
_compute_linear_scaling_rope_parameters, _compute_llama3_parameters) and
transformers/models/llama/modeling_llama.py (LlamaRotaryEmbedding.forward, rotate_half,
apply_rotary_pos_emb); partial rotary dims as in modeling_gpt_neox.py / modeling_phi.py
(rotate q[..., :rotary_dim], pass q[..., rotary_dim:] through).

For every case the file holds inv_freq twice: computed in float64 (to check our formulas tightly)
and in float32 exactly as transformers computes it (the values a model uses), and a rotated
tensor computed the transformers way (float32 angles, float32 cos/sin) from the float32 inv_freq.
"""
import json
import math
import os

import torch


def default_inv_freq(config, dtype):
    # _compute_default_rope_parameters
    base = config["rope_theta"]
    partial_rotary_factor = config.get("partial_rotary_factor", 1.0)
    head_dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    dim = int(head_dim * partial_rotary_factor)
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(dtype=dtype) / dim))
    return inv_freq, dim


def linear_inv_freq(config, dtype):
    # _compute_linear_scaling_rope_parameters
    factor = config["rope_scaling"]["factor"]
    inv_freq, dim = default_inv_freq(config, dtype)
    inv_freq /= factor
    return inv_freq, dim


def llama3_inv_freq(config, dtype):
    # _compute_llama3_parameters
    inv_freq, dim = default_inv_freq(config, dtype)
    factor = config["rope_scaling"]["factor"]
    low_freq_factor = config["rope_scaling"]["low_freq_factor"]
    high_freq_factor = config["rope_scaling"]["high_freq_factor"]
    old_context_len = config["rope_scaling"]["original_max_position_embeddings"]

    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor

    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    inv_freq_llama = torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)
    return inv_freq_llama, dim


def inv_freq_for(config, dtype):
    scaling = config.get("rope_scaling") or {}
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    return {"default": default_inv_freq, "linear": linear_inv_freq, "llama3": llama3_inv_freq}[kind](config, dtype)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def rotary_cos_sin(inv_freq, position_ids):
    # LlamaRotaryEmbedding.forward: float32 angles (autocast disabled), emb = cat(freqs, freqs).
    inv_freq_expanded = inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
    position_ids_expanded = position_ids[:, None, :].float()
    freqs = (inv_freq_expanded.float() @ position_ids_expanded.float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def apply_rotary(q, cos, sin, rotary_dim):
    # apply_rotary_pos_emb with unsqueeze_dim=1 ([B, H, T, D]); partial rotary as GPT-NeoX / Phi.
    cos = cos.unsqueeze(1)
    sin = sin.unsqueeze(1)
    q_rot, q_pass = q[..., :rotary_dim], q[..., rotary_dim:]
    q_embed = (q_rot * cos) + (rotate_half(q_rot) * sin)
    return torch.cat((q_embed, q_pass), dim=-1)


CASES = [
    {
        "name": "llama3 (Llama 3.1 scaling), head_dim 64, theta 500000",
        "config": {"rope_theta": 500000.0, "hidden_size": 256, "num_attention_heads": 4,
                   "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                    "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}},
        "positions": [[0, 1, 2, 3, 4], [100, 2047, 8191, 8192, 131071]],
        "heads": 2,
    },
    {
        "name": "linear (factor 4, legacy 'type' key), hidden 256 / 8 heads",
        "config": {"rope_theta": 10000.0, "hidden_size": 256, "num_attention_heads": 8,
                   "rope_scaling": {"type": "linear", "factor": 4.0}},
        "positions": [[0, 1, 5, 77, 4095]],
        "heads": 3,
    },
    {
        "name": "default, explicit head_dim 16 with partial_rotary_factor 0.5",
        "config": {"rope_theta": 10000.0, "head_dim": 16, "hidden_size": 96, "num_attention_heads": 4,
                   "partial_rotary_factor": 0.5},
        "positions": [[3, 0, 9], [1000, 20000, 65535]],
        "heads": 1,
    },
]


def main():
    gen = torch.Generator().manual_seed(0)
    out = {"source": "test/kernels/golden/make_rope_golden.py", "torch": torch.__version__, "cases": []}
    for case in CASES:
        config = case["config"]
        inv64, dim = inv_freq_for(config, torch.float64)
        inv32, _ = inv_freq_for(config, torch.float)
        head_dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
        pos = torch.tensor(case["positions"], dtype=torch.int64)
        batch, seq = pos.shape
        x = torch.randn(batch, case["heads"], seq, head_dim, generator=gen, dtype=torch.float32)
        cos, sin = rotary_cos_sin(inv32, pos)
        y = apply_rotary(x, cos, sin, dim)
        out["cases"].append({
            "name": case["name"],
            "config": config,
            "rotary_dim": dim,
            "head_dim": head_dim,
            "inv_freq_f64": inv64.tolist(),
            "inv_freq_f32": inv32.tolist(),
            "x_shape": list(x.shape),
            "x": x.flatten().tolist(),
            "positions_shape": list(pos.shape),
            "positions": pos.flatten().tolist(),
            "y": y.flatten().tolist(),
        })
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rope.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
