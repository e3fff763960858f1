#!/usr/bin/python3
"""A tiny Qwen2 checkpoint, its logits, sequence log-probs, gradients and greedy continuations, in two
variants, written next to this script (qwen2.safetensors, qwen2-lm_head.safetensors, qwen2.json).

    /usr/bin/python3 test/models/golden/make_qwen2_golden.py

transformers is not needed: the forward pass is a plain-torch transcription of Hugging Face
transformers v4.57.6 (the PyPI release), models/qwen2/modeling_qwen2.py and configuration_qwen2.py,
eager attention path (shared pieces in hf_ops.py):

  Qwen2Config           sliding_window = config.sliding_window if use_sliding_window else None; then, when
                        layer_types is absent, layer i is "sliding_attention" iff sliding_window is set and
                        i >= max_window_layers (the code; its docstring says the opposite: "the bottom
                        layers use SWA while the top use full attention"). layer_types, when present, wins.
                        head_dim = hidden_size / num_attention_heads (no head_dim in Qwen2 configs)
  Qwen2RMSNorm          as LlamaRMSNorm: x.to(float32); x * rsqrt(mean(x^2) + eps); weight * x.to(input_dtype)
  Qwen2Attention        q/k/v with bias, o_proj without; scaling head_dim**-0.5; RoPE (default, rope_theta);
                        GQA; sliding layers see keys i - j < sliding_window
  Qwen2MLP              down_proj(silu(gate_proj(x)) * up_proj(x))
  Qwen2DecoderLayer     h = x + self_attn(input_layernorm(x)); h + mlp(post_attention_layernorm(h))
  Qwen2ForCausalLM      embed_tokens → layers → norm → lm_head (embed_tokens.weight when tied)

Numerics: float32 as transformers runs a float32 model; float64 as relpo's CPU float64 (see hf_ops.py).
Weights are float32.

Variants (same weights, same inputs):
  "qwen2"         as Qwen2.5-0.5B: tie_word_embeddings true, use_sliding_window false. sliding_window is
                  3 and max_window_layers 1 as in the other variant, and must be ignored (no window).
                  Weights: qwen2.safetensors (no lm_head.weight, as a tied checkpoint has none).
  "qwen2-window"  tie_word_embeddings false, use_sliding_window true, sliding_window 3, max_window_layers 1:
                  layer 0 full, layer 1 sliding. Weights: qwen2.safetensors and qwen2-lm_head.safetensors
                  (lm_head.weight alone, as a second shard).

qwen2.json:
  ids, targets     [B, T] flattened, right-padded with 0 past lengths[b]; targets[b, t] = ids[b, t+1]
  lengths          [B]
  completion_mask  [B, T] flattened, 1 on the last COMPLETION predicted tokens of each row
  shape            [B, T, V]
  variants         {name: {config (the Hugging Face config.json), layer_types (what Qwen2Config
                   derives), safetensors (the files to load, in order), logits_float32, logits_float64
                   ([B, T, V] flattened; padded positions not meaningful), seq_logprobs_float32,
                   seq_logprobs_float64 ([B]: sum_t completion_mask * log_softmax(logits)[target]),
                   loss_float64 (their sum), grads_float64 ({name: d loss / d parameter, flattened}),
                   generate {prompts, new_tokens, greedy}: float64, one prompt at a time without
                   padding, the whole sequence recomputed for every token}}
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

from hf_ops import additive_mask, apply_rope, eager_attention, greedy, next_token_targets, rope_cos_sin, sequence_logprobs, write_json
from make_llama_golden import f32list, f64list, rms_norm, write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))

BASE = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "vocab_size": 40,
    "hidden_size": 32,
    "intermediate_size": 48,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "hidden_act": "silu",
    "rms_norm_eps": 1e-6,
    "rope_theta": 1000000.0,
    "max_position_embeddings": 64,
    "attention_dropout": 0.0,
    "sliding_window": 3,
    "max_window_layers": 1,
    "bos_token_id": 1,
    "eos_token_id": 2,
}
VARIANTS = {
    "qwen2": {**BASE, "tie_word_embeddings": True, "use_sliding_window": False},
    "qwen2-window": {**BASE, "tie_word_embeddings": False, "use_sliding_window": True},
}
FILES = {"qwen2": ["qwen2.safetensors"], "qwen2-window": ["qwen2.safetensors", "qwen2-lm_head.safetensors"]}
GRADS = {
    "qwen2": ["model.layers.0.self_attn.q_proj.bias", "model.layers.1.self_attn.k_proj.bias", "model.norm.weight",
              "model.embed_tokens.weight"],
    "qwen2-window": ["model.layers.1.self_attn.v_proj.weight", "model.layers.1.self_attn.v_proj.bias",
                     "model.layers.0.input_layernorm.weight"],
}
B, T = 2, 8
LENGTHS = [6, 8]
COMPLETION = 3
NEW_TOKENS = 6
SEED = 1  # one whose greedy continuations vary (many seeds fall into a repeated token)


def layer_types(c):
    if c.get("layer_types") is not None:
        return list(c["layer_types"])
    window = c["sliding_window"] if c.get("use_sliding_window", False) else None
    return ["sliding_attention" if window is not None and i >= c["max_window_layers"] else "full_attention"
            for i in range(c["num_hidden_layers"])]


def make_weights(g):
    c = BASE
    H, Hkv = c["num_attention_heads"], c["num_key_value_heads"]
    hid, inter, V = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    D = hid // H
    # Scales chosen so that every layer matters and the logits are O(1), not HF's 0.02 init. With tied
    # embeddings a token's own embedding and the head align (greedy decoding then repeats a token):
    # o_proj and down_proj ×2 outweigh the embedding, and the final norm's random signs break the alignment.
    lin = lambda o, i, gain=1.0: gain * torch.randn(o, i, generator=g) / math.sqrt(i)
    bias = lambda o: 0.5 * torch.randn(o, generator=g)
    norm = lambda: 1 + 0.2 * torch.randn(hid, generator=g)
    w = [("model.embed_tokens.weight", 0.5 * torch.randn(V, hid, generator=g))]
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        w += [
            (p + "self_attn.q_proj.weight", lin(H * D, hid)),
            (p + "self_attn.q_proj.bias", bias(H * D)),
            (p + "self_attn.k_proj.weight", lin(Hkv * D, hid)),
            (p + "self_attn.k_proj.bias", bias(Hkv * D)),
            (p + "self_attn.v_proj.weight", lin(Hkv * D, hid)),
            (p + "self_attn.v_proj.bias", bias(Hkv * D)),
            (p + "self_attn.o_proj.weight", lin(hid, H * D, 2.0)),
            (p + "mlp.gate_proj.weight", lin(inter, hid)),
            (p + "mlp.up_proj.weight", lin(inter, hid)),
            (p + "mlp.down_proj.weight", lin(hid, inter, 2.0)),
            (p + "input_layernorm.weight", norm()),
            (p + "post_attention_layernorm.weight", norm()),
        ]
    w += [("model.norm.weight", torch.randn(hid, generator=g))]
    head = [("lm_head.weight", lin(V, hid))]
    f = lambda ws: [(n, t.float().contiguous()) for n, t in ws]
    return f(w), f(head)


def forward(params, ids, lengths, dtype, c):
    Bn, Tn = ids.shape
    H, Hkv = c["num_attention_heads"], c["num_key_value_heads"]
    D = c["hidden_size"] // H
    eps = c["rms_norm_eps"]
    island = torch.float32 if dtype == torch.float32 else torch.float64
    cos, sin = rope_cos_sin(D, c["rope_theta"], Tn, dtype)
    masks = {"full_attention": additive_mask(lengths, Tn, None, dtype),
             "sliding_attention": additive_mask(lengths, Tn, c["sliding_window"], dtype)}
    x = F.embedding(ids, params["model.embed_tokens.weight"])
    for l, kind in enumerate(layer_types(c)):
        p = lambda n: params[f"model.layers.{l}.{n}"]
        proj = lambda n: F.linear(h, p(f"self_attn.{n}.weight"), p(f"self_attn.{n}.bias"))
        h = rms_norm(x, p("input_layernorm.weight"), eps, island)
        q = proj("q_proj").view(Bn, Tn, H, D).transpose(1, 2)
        k = proj("k_proj").view(Bn, Tn, Hkv, D).transpose(1, 2)
        v = proj("v_proj").view(Bn, Tn, Hkv, D).transpose(1, 2)
        a = eager_attention(apply_rope(q, cos, sin), apply_rope(k, cos, sin), v, masks[kind], D ** -0.5, None, island)
        x = x + F.linear(a, p("self_attn.o_proj.weight"))
        h = rms_norm(x, p("post_attention_layernorm.weight"), eps, island)
        x = x + F.linear(F.silu(F.linear(h, p("mlp.gate_proj.weight"))) * F.linear(h, p("mlp.up_proj.weight")), p("mlp.down_proj.weight"))
    x = rms_norm(x, params["model.norm.weight"], eps, island)
    head = params["model.embed_tokens.weight"] if c["tie_word_embeddings"] else params["lm_head.weight"]
    return F.linear(x, head)


def valid(t):
    return torch.cat([t[b, :n] for b, n in enumerate(LENGTHS)])


def main():
    assert sys.byteorder == "little", "safetensors is little-endian"
    g = torch.Generator().manual_seed(SEED)
    body, head = make_weights(g)
    V = BASE["vocab_size"]
    ids = torch.randint(3, V, (B, T), generator=g)
    for b, n in enumerate(LENGTHS):
        ids[b, n:] = 0  # right padding (pad id 0)
    targets, completion = next_token_targets(ids, LENGTHS, COMPLETION)
    prompts = [ids[0, :5].tolist(), ids[1, :3].tolist()]

    out = {"ids": ids.reshape(-1).tolist(), "lengths": LENGTHS, "targets": targets.reshape(-1).tolist(),
           "completion_mask": completion.reshape(-1).tolist(), "shape": [B, T, V], "variants": {}}
    logits_of = {}
    for name, c in VARIANTS.items():
        weights = body + (head if not c["tie_word_embeddings"] else [])
        p32 = dict(weights)
        p64 = {n: t.double().requires_grad_(True) for n, t in weights}
        logits32 = forward(p32, ids, LENGTHS, torch.float32, c)
        logits64 = forward(p64, ids, LENGTHS, torch.float64, c)
        seq32 = sequence_logprobs(logits32, targets, completion)
        seq64 = sequence_logprobs(logits64, targets, completion)
        loss = seq64.sum()
        loss.backward()
        grads = {n: f64list(p64[n].grad) for n in GRADS[name]}
        p64 = {n: t.detach() for n, t in p64.items()}
        conts = [greedy(lambda x, n: forward(p64, x, n, torch.float64, c), pr, NEW_TOKENS) for pr in prompts]
        print(name, layer_types(c), "max |logits64 - logits32| (valid)", (valid(logits64.detach()) - valid(logits32.double())).abs().max().item())
        print(name, "greedy", prompts, conts)
        logits_of[name] = valid(logits64.detach())
        out["variants"][name] = {
            "config": c, "layer_types": layer_types(c), "safetensors": FILES[name],
            "logits_float32": f32list(logits32), "logits_float64": f64list(logits64.detach()),
            "seq_logprobs_float32": f32list(seq32), "seq_logprobs_float64": f64list(seq64.detach()), "loss_float64": loss.item(),
            "grads_float64": grads,
            "generate": {"prompts": prompts, "new_tokens": NEW_TOKENS, "greedy": conts},
        }
    # Toggling use_sliding_window must change the numbers, or a model that ignores it (or applies
    # sliding_window regardless, in "qwen2") would pass.
    p64 = {n: t.double() for n, t in body + head}
    for name, c in VARIANTS.items():
        toggled = {**c, "use_sliding_window": not c["use_sliding_window"]}
        d = (valid(forward(p64, ids, LENGTHS, torch.float64, toggled)) - logits_of[name]).abs().max().item()
        print(f"{name}: max |logits with use_sliding_window {toggled['use_sliding_window']} - logits| = {d:.3f}")
        assert d > 0.3, name

    write_safetensors(os.path.join(HERE, "qwen2.safetensors"), body, "make_qwen2_golden.py")
    write_safetensors(os.path.join(HERE, "qwen2-lm_head.safetensors"), head, "make_qwen2_golden.py")
    write_json(os.path.join(HERE, "qwen2.json"), out)


if __name__ == "__main__":
    main()
