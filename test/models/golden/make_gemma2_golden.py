#!/usr/bin/python3
"""A tiny Gemma-2 checkpoint, its logits, sequence log-probs, gradients and greedy continuations,
written next to this script (gemma2.safetensors, gemma2.json).

    /usr/bin/python3 test/models/golden/make_gemma2_golden.py

transformers is not needed: the forward pass is a plain-torch transcription of Hugging Face
transformers v4.57.6 (the PyPI release), models/gemma2/modeling_gemma2.py and
configuration_gemma2.py, eager attention path (shared pieces in hf_ops.py):

  Gemma2Config          layer_types default: layer i is "sliding_attention" iff (i + 1) % 2 != 0, so the
                        even layers (0, 2, …) slide and the odd ones attend fully; tie_word_embeddings
                        defaults to True (Gemma-2 config.json files leave it out, as CONFIG below does)
  Gemma2Model.forward   x = embed_tokens(ids); x = x * normalizer,
                        normalizer = torch.tensor(hidden_size**0.5, dtype=x.dtype) (float32-rounded
                        in a float32 run); RoPE (default, rope_theta) on positions 0 … T-1
  Gemma2RMSNorm         y = x.float(); y = y * rsqrt(mean(y^2, -1) + eps); y = y * (1 + weight.float());
                        y.type_as(x)   (weight is a zero-centred offset: HF initialises it to 0)
  Gemma2DecoderLayer    h = x + post_attention_layernorm(self_attn(input_layernorm(x)))
                        out = h + post_feedforward_layernorm(mlp(pre_feedforward_layernorm(h)))
  Gemma2Attention       q/k/v/o without bias, head_dim from the config (not hidden/heads), GQA,
                        scaling = query_pre_attn_scalar**-0.5 (not head_dim**-0.5),
                        scores = tanh(scores / attn_logit_softcapping) * attn_logit_softcapping after
                        the scaling and before the mask; sliding layers see keys i - j < sliding_window
  Gemma2MLP             down_proj(gelu_tanh(gate_proj(x)) * up_proj(x))   (gelu_pytorch_tanh:
                        F.gelu(approximate="tanh"))
  Gemma2ForCausalLM     logits = model.norm(x) @ embed_tokens.weight^T (tied), then
                        logits = tanh(logits / final_logit_softcapping) * final_logit_softcapping

Numerics: float32 as transformers runs a float32 model; float64 as relpo's CPU float64 (see hf_ops.py:
the float32 islands are float64 too, cos/sin of the float32 RoPE angle in float64). Weights are float32.

gemma2.json:
  config           the Hugging Face config.json (no layer_types, no tie_word_embeddings: the defaults)
  layer_types      what Gemma2Config derives from it, one per layer
  ids, targets     [B, T] flattened, right-padded with 0 past lengths[b]; targets[b, t] = ids[b, t+1]
  lengths          [B]
  completion_mask  [B, T] flattened, 1 on the last COMPLETION predicted tokens of each row
  shape            [B, T, V]
  logits_float32, logits_float64          [B, T, V] flattened; padded positions hold what the eager
                   path computes there (not meaningful: compare valid positions only)
  seq_logprobs_float32, seq_logprobs_float64   [B]: sum_t completion_mask * log_softmax(logits)[target]
  loss_float64     sum of seq_logprobs_float64
  grads_float64    {parameter name: d loss / d parameter, flattened in the parameter's shape}
  generate         {prompts: [[ids]], new_tokens: N, greedy: [[N ids]]}: float64, one prompt at a
                   time without padding, the whole sequence recomputed for every token
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

from hf_ops import additive_mask, apply_rope, eager_attention, greedy, next_token_targets, rope_cos_sin, sequence_logprobs, write_json
from make_llama_golden import f32list, f64list, write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIG = {
    "architectures": ["Gemma2ForCausalLM"],
    "model_type": "gemma2",
    "vocab_size": 48,
    "hidden_size": 24,
    "intermediate_size": 40,
    "num_hidden_layers": 3,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 8,
    "query_pre_attn_scalar": 12,
    "hidden_act": "gelu_pytorch_tanh",
    "hidden_activation": "gelu_pytorch_tanh",
    "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0,
    "max_position_embeddings": 64,
    "attention_bias": False,
    "attention_dropout": 0.0,
    "sliding_window": 3,
    "attn_logit_softcapping": 2.5,
    "final_logit_softcapping": 3.0,
    "cache_implementation": "hybrid",
    "pad_token_id": 0,
    "eos_token_id": 1,
    "bos_token_id": 2,
}
B, T = 2, 8
LENGTHS = [6, 8]
COMPLETION = 3
NEW_TOKENS = 6
GRADS = ["model.layers.0.self_attn.q_proj.weight", "model.layers.1.post_feedforward_layernorm.weight", "model.embed_tokens.weight"]


def layer_types(c):
    if c.get("layer_types") is not None:
        return list(c["layer_types"])
    return ["sliding_attention" if (i + 1) % 2 else "full_attention" for i in range(c["num_hidden_layers"])]


def make_weights(g):
    c = CONFIG
    H, Hkv, D = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    hid, inter, V = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    lin = lambda o, i, gain=1.0: gain * torch.randn(o, i, generator=g) / math.sqrt(i)
    norm = lambda offset=0.0: offset + 0.3 * torch.randn(hid, generator=g)  # the scale is 1 + weight
    # q and k ×2 so that the scaled scores (std ≈ 4) reach the tanh's bend at softcap 2.5; the
    # post-norms at scale ≈ 3 so that the layers outweigh the token's own embedding (else greedy
    # decoding repeats the last token); the final norm at scale ≈ 2 so that the tied logits reach
    # the bend at final softcap 3.
    w = [("model.embed_tokens.weight", 0.3 * torch.randn(V, hid, generator=g))]
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        w += [
            (p + "self_attn.q_proj.weight", lin(H * D, hid, 2.0)),
            (p + "self_attn.k_proj.weight", lin(Hkv * D, hid, 2.0)),
            (p + "self_attn.v_proj.weight", lin(Hkv * D, hid)),
            (p + "self_attn.o_proj.weight", lin(hid, H * D)),
            (p + "mlp.gate_proj.weight", lin(inter, hid)),
            (p + "mlp.up_proj.weight", lin(inter, hid)),
            (p + "mlp.down_proj.weight", lin(hid, inter)),
            (p + "input_layernorm.weight", norm()),
            (p + "post_attention_layernorm.weight", norm(2.0)),
            (p + "pre_feedforward_layernorm.weight", norm()),
            (p + "post_feedforward_layernorm.weight", norm(2.0)),
        ]
    w += [("model.norm.weight", norm(1.0))]
    return [(n, t.float().contiguous()) for n, t in w]


def gemma_rms_norm(x, weight, eps, island):
    y = x.to(island)
    y = y * torch.rsqrt(y.pow(2).mean(-1, keepdim=True) + eps)
    y = y * (1.0 + weight.to(island))
    return y.to(x.dtype)


def forward(params, ids, lengths, dtype, attn_softcap="config", final_softcap="config", window="config"):
    c = CONFIG
    window = c["sliding_window"] if window == "config" else window
    attn_softcap = c["attn_logit_softcapping"] if attn_softcap == "config" else attn_softcap
    final_softcap = c["final_logit_softcapping"] if final_softcap == "config" else final_softcap
    Bn, Tn = ids.shape
    H, Hkv, D = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    eps = c["rms_norm_eps"]
    island = torch.float32 if dtype == torch.float32 else torch.float64
    cos, sin = rope_cos_sin(D, c["rope_theta"], Tn, dtype)
    masks = {"full_attention": additive_mask(lengths, Tn, None, dtype),
             "sliding_attention": additive_mask(lengths, Tn, window, dtype)}
    scaling = c["query_pre_attn_scalar"] ** -0.5
    x = F.embedding(ids, params["model.embed_tokens.weight"])
    x = x * torch.tensor(c["hidden_size"] ** 0.5, dtype=x.dtype)
    for l, kind in enumerate(layer_types(c)):
        p = lambda n: params[f"model.layers.{l}.{n}"]
        h = gemma_rms_norm(x, p("input_layernorm.weight"), eps, island)
        q = F.linear(h, p("self_attn.q_proj.weight")).view(Bn, Tn, H, D).transpose(1, 2)
        k = F.linear(h, p("self_attn.k_proj.weight")).view(Bn, Tn, Hkv, D).transpose(1, 2)
        v = F.linear(h, p("self_attn.v_proj.weight")).view(Bn, Tn, Hkv, D).transpose(1, 2)
        a = eager_attention(apply_rope(q, cos, sin), apply_rope(k, cos, sin), v, masks[kind], scaling, attn_softcap, island)
        a = F.linear(a, p("self_attn.o_proj.weight"))
        x = x + gemma_rms_norm(a, p("post_attention_layernorm.weight"), eps, island)
        h = gemma_rms_norm(x, p("pre_feedforward_layernorm.weight"), eps, island)
        m = F.gelu(F.linear(h, p("mlp.gate_proj.weight")), approximate="tanh") * F.linear(h, p("mlp.up_proj.weight"))
        m = F.linear(m, p("mlp.down_proj.weight"))
        x = x + gemma_rms_norm(m, p("post_feedforward_layernorm.weight"), eps, island)
    x = gemma_rms_norm(x, params["model.norm.weight"], eps, island)
    logits = F.linear(x, params["model.embed_tokens.weight"])
    if final_softcap is not None:
        logits = logits / final_softcap
        logits = torch.tanh(logits)
        logits = logits * final_softcap
    return logits


def valid(t, lengths):
    return torch.cat([t[b, :n] for b, n in enumerate(lengths)])


def check_features_matter(p64, ids):
    """The caps must bend the numbers and the window must hide keys, or a model that skips them would pass."""
    capped = valid(forward(p64, ids, LENGTHS, torch.float64), LENGTHS)
    for what, kw in (("attn_logit_softcapping", {"attn_softcap": None}), ("final_logit_softcapping", {"final_softcap": None}),
                     ("sliding_window", {"window": None})):
        d = (valid(forward(p64, ids, LENGTHS, torch.float64, **kw), LENGTHS) - capped).abs().max().item()
        print(f"max |logits without {what} - logits| = {d:.3f}")
        assert d > 0.3, what
    frac = (capped.abs() > 0.5 * CONFIG["final_logit_softcapping"]).double().mean().item()
    print(f"fraction of |logits| above half the final cap: {frac:.2f}")


def main():
    assert sys.byteorder == "little", "safetensors is little-endian"
    g = torch.Generator().manual_seed(20261206)
    weights = make_weights(g)
    V = CONFIG["vocab_size"]
    ids = torch.randint(3, V, (B, T), generator=g)
    for b, n in enumerate(LENGTHS):
        ids[b, n:] = 0  # right padding (pad id 0)
    targets, completion = next_token_targets(ids, LENGTHS, COMPLETION)

    p32 = {n: t for n, t in weights}
    p64 = {n: t.double().requires_grad_(True) for n, t in weights}
    logits32 = forward(p32, ids, LENGTHS, torch.float32)
    logits64 = forward(p64, ids, LENGTHS, torch.float64)
    seq32 = sequence_logprobs(logits32, targets, completion)
    seq64 = sequence_logprobs(logits64, targets, completion)
    loss = seq64.sum()
    loss.backward()
    grads = {n: f64list(p64[n].grad) for n in GRADS}
    print("max |logits64 - logits32| (valid)", (valid(logits64.detach(), LENGTHS) - valid(logits32.double(), LENGTHS)).abs().max().item())
    p64 = {n: t.detach() for n, t in p64.items()}
    check_features_matter(p64, ids)

    prompts = [ids[0, :5].tolist(), ids[1, :3].tolist()]
    conts = [greedy(lambda x, n: forward(p64, x, n, torch.float64), pr, NEW_TOKENS) for pr in prompts]
    print("greedy", prompts, conts)
    print("fraction of valid positions whose argmax is their own token", (valid(logits64.detach().argmax(-1), LENGTHS) == valid(ids, LENGTHS)).double().mean().item())

    out = {
        "config": CONFIG, "layer_types": layer_types(CONFIG), "ids": ids.reshape(-1).tolist(), "lengths": LENGTHS,
        "targets": targets.reshape(-1).tolist(), "completion_mask": completion.reshape(-1).tolist(), "shape": [B, T, V],
        "logits_float32": f32list(logits32), "logits_float64": f64list(logits64.detach()),
        "seq_logprobs_float32": f32list(seq32), "seq_logprobs_float64": f64list(seq64.detach()), "loss_float64": loss.item(),
        "grads_float64": grads, "generate": {"prompts": prompts, "new_tokens": NEW_TOKENS, "greedy": conts},
    }
    write_safetensors(os.path.join(HERE, "gemma2.safetensors"), weights, "make_gemma2_golden.py")
    write_json(os.path.join(HERE, "gemma2.json"), out)


if __name__ == "__main__":
    main()
