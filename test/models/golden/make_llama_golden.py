#!/usr/bin/python3
"""A tiny LLaMA checkpoint and its logits, for test/models/llama.test.ts, written next to this script.

Run with a Python that has torch (Debian's python3-torch: /usr/bin/python3 make_llama_golden.py).
transformers is not needed: the forward pass below is a plain-torch transcription of Hugging Face
transformers' LlamaForCausalLM (models/llama/modeling_llama.py, transformers 4.4x), function by
function:

  LlamaRMSNorm.forward          x.to(float32); x * rsqrt(mean(x^2, -1) + eps); weight * x.to(input_dtype)
  _compute_default_rope_parameters (modeling_rope_utils.py)
                                inv_freq = 1 / base^(arange(0, dim, 2).float() / dim)   (float32)
  LlamaRotaryEmbedding.forward  freqs = (inv_freq[:, None].float() @ position_ids[None, :].float()).T
                                emb = cat(freqs, freqs); cos, sin = emb.cos(), emb.sin()   (float32)
  rotate_half, apply_rotary_pos_emb
                                q * cos + rotate_half(q) * sin, rotate_half(x) = cat(-x2, x1)
  repeat_kv                     kv head j serves query heads j*g … j*g+g-1 (repeat_interleave)
  eager_attention_forward       softmax(q k^T * head_dim^-0.5 + mask, dtype=float32) @ v
  causal mask + padding         key j visible to query i iff j <= i and attention_mask[b, j] = 1
  sliding window (MistralModel, masking_utils.sliding_window_overlay)
                                ... and kv_idx > q_idx - sliding_window
  LlamaMLP.forward              down_proj(act_fn(gate_proj(x)) * up_proj(x)), act_fn = silu
  LlamaDecoderLayer.forward     h = x + o_proj(attn(input_layernorm(x))); h + mlp(post_attention_layernorm(h))
  LlamaModel / LlamaForCausalLM embed_tokens → layers → norm → lm_head
Position ids are 0 … T-1 for every row (what LlamaModel uses without position_ids; right padding).

Two numerics are written:
  float32: the transcription as transformers runs a float32 model.
  float64: the same model with every tensor in float64, where transformers' float32 islands (RMSNorm,
    the attention softmax) are float64 too. The RoPE angle stays float32 (inv_freq is a float32
    buffer and the angle is a float32 product, as in transformers; relpo rounds it the same way), and
    cos/sin of that angle are taken in float64. This is relpo's CPU float64 numerics, so it can be
    compared to ~1e-9 relative.
The weights are float32 (the float64 run upcasts them exactly).

llama.safetensors: the weights with Hugging Face names (lm_head untied), written by hand as in
  test/io/golden/make_safetensors_golden.py.
llama.json: config (a Hugging Face config.json), ids [2, 7] (row 0 right-padded to length 5),
  lengths, targets [2, 7], and per variant ("llama": no window; "mistral": sliding_window 3, same
  weights) the logits [2, 7, V] in float32 and float64, and, for "llama" in float64, the loss
  L = sum over valid positions of log_softmax(logits)[target] and its gradient with respect to
  model.layers.0.self_attn.q_proj.weight and model.norm.weight.
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "vocab_size": 61,
    "hidden_size": 32,
    "intermediate_size": 48,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 8,
    "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0,
    "rope_scaling": None,
    "max_position_embeddings": 64,
    "tie_word_embeddings": False,
    "attention_bias": False,
    "hidden_act": "silu",
}
MISTRAL_WINDOW = 3
B, T = 2, 7
LENGTHS = [5, 7]


def make_weights(g):
    c = CONFIG
    H, Hkv, D = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    hid, inter, V = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    # Scales chosen so that every layer matters and the logits are O(1), not HF's 0.02 init.
    lin = lambda o, i: torch.randn(o, i, generator=g) / math.sqrt(i)
    norm = lambda: 1 + 0.2 * torch.randn(hid, generator=g)
    w = [("model.embed_tokens.weight", torch.randn(V, hid, generator=g))]
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        w += [
            (p + "self_attn.q_proj.weight", lin(H * D, hid)),
            (p + "self_attn.k_proj.weight", lin(Hkv * D, hid)),
            (p + "self_attn.v_proj.weight", lin(Hkv * D, hid)),
            (p + "self_attn.o_proj.weight", lin(hid, H * D)),
            (p + "mlp.gate_proj.weight", lin(inter, hid)),
            (p + "mlp.up_proj.weight", lin(inter, hid)),
            (p + "mlp.down_proj.weight", lin(hid, inter)),
            (p + "input_layernorm.weight", norm()),
            (p + "post_attention_layernorm.weight", norm()),
        ]
    w += [("model.norm.weight", norm()), ("lm_head.weight", lin(V, hid))]
    return [(n, t.float().contiguous()) for n, t in w]


def rms_norm(x, weight, eps, island):
    """LlamaRMSNorm; island is the dtype it computes in (float32 in transformers)."""
    dt = x.dtype
    x = x.to(island)
    var = x.pow(2).mean(-1, keepdim=True)
    x = x * torch.rsqrt(var + eps)
    return weight * x.to(dt)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope_cos_sin(dtype):
    c = CONFIG
    dim = c["head_dim"]
    inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))  # float32
    pos = torch.arange(T, dtype=torch.int64).float()
    freqs = (inv_freq[:, None] @ pos[None, :]).transpose(0, 1)  # [T, dim/2], float32 angles
    emb = torch.cat((freqs, freqs), dim=-1)
    if dtype == torch.float32:
        return emb.cos(), emb.sin()
    return emb.double().cos(), emb.double().sin()  # float64 numerics: cos/sin of the float32 angle


def repeat_kv(x, n_rep):
    b, hkv, t, d = x.shape
    if n_rep == 1:
        return x
    return x[:, :, None, :, :].expand(b, hkv, n_rep, t, d).reshape(b, hkv * n_rep, t, d)


def visible_mask(window):
    """[B, 1, T, T] bool: key j visible to query i."""
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    m = j <= i
    if window:
        m = m & (j > i - window)
    pad = torch.arange(T)[None, :] < torch.tensor(LENGTHS)[:, None]  # [B, T] keys
    return m[None, None, :, :] & pad[:, None, None, :]


def forward(params, ids, dtype, window):
    c = CONFIG
    H, Hkv, D = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    eps = c["rms_norm_eps"]
    island = torch.float32 if dtype == torch.float32 else torch.float64
    cos, sin = rope_cos_sin(dtype)
    mask = visible_mask(window)
    x = F.embedding(ids, params["model.embed_tokens.weight"])
    for l in range(c["num_hidden_layers"]):
        p = lambda n: params[f"model.layers.{l}.{n}"]
        h = rms_norm(x, p("input_layernorm.weight"), eps, island)
        q = F.linear(h, p("self_attn.q_proj.weight")).view(B, T, H, D).transpose(1, 2)
        k = F.linear(h, p("self_attn.k_proj.weight")).view(B, T, Hkv, D).transpose(1, 2)
        v = F.linear(h, p("self_attn.v_proj.weight")).view(B, T, Hkv, D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k, v = repeat_kv(k, H // Hkv), repeat_kv(v, H // Hkv)
        s = (q @ k.transpose(2, 3)) * D ** -0.5
        s = s.masked_fill(~mask, float("-inf"))
        a = F.softmax(s, dim=-1, dtype=island).to(dtype) @ v
        a = a.transpose(1, 2).reshape(B, T, H * D)
        x = x + F.linear(a, p("self_attn.o_proj.weight"))
        h = rms_norm(x, p("post_attention_layernorm.weight"), eps, island)
        m = F.linear(F.silu(F.linear(h, p("mlp.gate_proj.weight"))) * F.linear(h, p("mlp.up_proj.weight")), p("mlp.down_proj.weight"))
        x = x + m
    x = rms_norm(x, params["model.norm.weight"], eps, island)
    return F.linear(x, params["lm_head.weight"])


def raw(t):
    t = t.contiguous().reshape(-1)
    return bytes(t.view(torch.uint8).numpy().tobytes()) if t.numel() else b""


def write_safetensors(path, tensors, source="make_llama_golden.py"):
    header = {"__metadata__": {"format": "pt", "source": source}}
    buf = b""
    for name, t in sorted(tensors, key=lambda nt: nt[0]):
        b = raw(t)
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [len(buf), len(buf) + len(b)]}
        buf += b
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.write(buf)


def f32list(t):
    return [float(f"{v:.9g}") for v in t.reshape(-1).tolist()]


def f64list(t):
    return [float(repr(v)) for v in t.reshape(-1).tolist()]


def main():
    assert sys.byteorder == "little", "safetensors is little-endian"
    g = torch.Generator().manual_seed(20240611)
    weights = make_weights(g)
    V = CONFIG["vocab_size"]
    ids = torch.randint(0, V, (B, T), generator=g)
    targets = torch.randint(0, V, (B, T), generator=g)
    for b, n in enumerate(LENGTHS):
        ids[b, n:] = 0  # right padding (pad id 0)
        targets[b, n:] = 0
    valid = (torch.arange(T)[None, :] < torch.tensor(LENGTHS)[:, None]).double()

    out = {"config": CONFIG, "ids": ids.reshape(-1).tolist(), "lengths": LENGTHS, "targets": targets.reshape(-1).tolist(),
           "shape": [B, T, V], "mistral_sliding_window": MISTRAL_WINDOW, "variants": {}}
    p32 = {n: t for n, t in weights}
    for name, window in (("llama", None), ("mistral", MISTRAL_WINDOW)):
        logits32 = forward(p32, ids, torch.float32, window)
        p64 = {n: t.double().requires_grad_(name == "llama") for n, t in weights}
        logits64 = forward(p64, ids, torch.float64, window)
        v = {"logits_float32": f32list(logits32.detach()), "logits_float64": f64list(logits64.detach())}
        if name == "llama":
            lp = F.log_softmax(logits64, dim=-1).gather(-1, targets[..., None])[..., 0]
            loss = (lp * valid).sum()
            loss.backward()
            v["loss_float64"] = loss.item()
            v["grads_float64"] = {n: f64list(p64[n].grad) for n in ("model.layers.0.self_attn.q_proj.weight", "model.norm.weight")}
        out["variants"][name] = v
        print(name, "max |logits64 - logits32|", (logits64.detach() - logits32.double()).abs().max().item())

    write_safetensors(os.path.join(HERE, "llama.safetensors"), weights)
    with open(os.path.join(HERE, "llama.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
