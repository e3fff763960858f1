"""Pieces that make_gemma2_golden.py and make_qwen2_golden.py share: plain-torch transcriptions of
Hugging Face transformers v4.57.6 (the PyPI release; src/transformers/...):

  rope_cos_sin      modeling_rope_utils._compute_default_rope_parameters and the models' RotaryEmbedding:
                    inv_freq = 1 / theta^(arange(0, head_dim, 2).float() / head_dim)   (float32),
                    angle = inv_freq x position (float32), emb = cat(angle, angle), cos/sin
  additive_mask     masking_utils.eager_mask over causal_mask_function, sliding_window_overlay and
                    padding_mask_function: key j is visible to query i of row b iff
                        j <= i  and  j < lengths[b]  (and, on a sliding layer,  j > i - sliding_window,
                        i.e. i - j < sliding_window: a query sees itself and the window-1 keys before it),
                    0 where visible, torch.finfo(dtype).min elsewhere (not -inf: a padded query whose
                    window holds only padding gets a finite, meaningless row, as in transformers)
  eager_attention   the models' eager_attention_forward: repeat_kv, (q k^T) * scaling,
                    [Gemma-2: s = tanh(s / softcap) * softcap], + mask, softmax(dtype=float32) @ v
  sequence_logprobs sum over t of completion_mask[b, t] * log_softmax(logits[b, t])[targets[b, t]]

float64 numerics (as in make_llama_golden.py): every tensor float64, transformers' float32 islands
(RMSNorm, softmax) float64 too, the RoPE angle float32 and its cos/sin taken in float64. This is
relpo's CPU float64 arithmetic, to compare to ~1e-9 relative; transformers itself, run in float64,
would round the islands and cos/sin to float32.
"""
import json

import torch
import torch.nn.functional as F

from make_llama_golden import repeat_kv, rotate_half


def rope_cos_sin(head_dim, theta, T, dtype):
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))  # float32
    pos = torch.arange(T, dtype=torch.int64).float()
    freqs = (inv_freq[:, None] @ pos[None, :]).transpose(0, 1)  # [T, head_dim/2], float32 angles
    emb = torch.cat((freqs, freqs), dim=-1)
    if dtype == torch.float32:
        return emb.cos(), emb.sin()
    return emb.double().cos(), emb.double().sin()


def apply_rope(x, cos, sin):
    return x * cos + rotate_half(x) * sin


def visible(lengths, T, window):
    """[B, 1, T, T] bool: key j visible to query i (see the module docstring)."""
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    m = j <= i
    if window is not None:
        m = m & (j > i - window)
    pad = torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]
    return m[None, None, :, :] & pad[:, None, None, :]


def additive_mask(lengths, T, window, dtype):
    return torch.where(visible(lengths, T, window), torch.tensor(0.0, dtype=dtype), torch.finfo(dtype).min)


def eager_attention(q, k, v, mask, scaling, softcap, island):
    """q [B, H, T, D], k and v [B, Hkv, T, D] → [B, T, H*D]."""
    B, H, T, D = q.shape
    k, v = repeat_kv(k, H // k.shape[1]), repeat_kv(v, H // v.shape[1])
    s = torch.matmul(q, k.transpose(2, 3)) * scaling
    if softcap is not None:
        s = s / softcap
        s = torch.tanh(s)
        s = s * softcap
    s = s + mask
    a = F.softmax(s, dim=-1, dtype=island).to(q.dtype)
    return torch.matmul(a, v).transpose(1, 2).reshape(B, T, H * D)


def next_token_targets(ids, lengths, completion):
    """targets[b, t] = ids[b, t+1] (0 past the row's end) and a completion mask over the last
    `completion` predicted tokens of each row: positions lengths[b]-1-completion … lengths[b]-2."""
    B, T = ids.shape
    targets = torch.zeros_like(ids)
    mask = torch.zeros(B, T, dtype=torch.float64)
    for b, n in enumerate(lengths):
        targets[b, : n - 1] = ids[b, 1:n]
        mask[b, n - 1 - completion: n - 1] = 1
    return targets, mask


def sequence_logprobs(logits, targets, mask):
    lp = F.log_softmax(logits, dim=-1).gather(-1, targets[..., None])[..., 0]
    return (lp * mask.to(lp.dtype)).sum(-1)


def greedy(forward, prompt, new_tokens):
    """transformers' greedy generate without a cache: the whole sequence again for every token,
    the argmax of the last position's logits appended."""
    seq = list(prompt)
    for _ in range(new_tokens):
        logits = forward(torch.tensor([seq]), [len(seq)])
        seq.append(int(logits[0, -1].argmax()))
    return seq[len(prompt):]


def write_json(path, out):
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
