#!/usr/bin/python3
"""A tiny BERT sentence embedder, its tokenizer and its outputs, for test/models/bert.test.ts.

Run with a Python that has torch (Debian's python3-torch: /usr/bin/python3 make_bert_golden.py).
Neither transformers nor sentence-transformers is needed: the forward pass below is a plain-torch
transcription of transformers' BertModel (models/bert/modeling_bert.py, eager attention) followed by
sentence-transformers' Pooling(mean) and Normalize modules, as all-MiniLM-L6-v2 stacks them:

  BertEmbeddings        LayerNorm(word_embeddings[ids] + position_embeddings[0..T-1]
                                  + token_type_embeddings[0]), eps = layer_norm_eps
  BertSelfAttention     q, k, v = Linear(h) (with bias), split into heads;
                        softmax(q k^T / sqrt(head_dim) + (1 - mask) * finfo.min) v
  BertSelfOutput        LayerNorm(dense(context) + h)
  BertIntermediate      gelu(dense(x))   (hidden_act "gelu": the exact erf form)
  BertOutput            LayerNorm(dense(inter) + x)
  Pooling (mean)        sum(h * mask) / max(sum(mask), 1e-9) over tokens
  Normalize             x / max(||x||_2, 1e-12)

Two numerics: float32 (as torch runs the float32 model) and float64 (every tensor float64; relpo's
CPU float64 numerics, compared to ~1e-9). The weights are float32.

bert.safetensors: the weights with BertModel's names (no "bert." prefix, as sentence-transformers
  saves all-MiniLM-L6-v2), pooler included, written by hand as in make_llama_golden.py.
tokenizer.json: a WordPiece tokenizer in Hugging Face's format (lowercasing BertNormalizer,
  BertPreTokenizer, [CLS] $A [SEP] template) over a 24-token vocabulary.
bert.json: config (a Hugging Face config.json), the sentences, their ids [2, T] (row 1 right-padded)
  and lengths, and in float32 and float64 the last hidden state [2, T, hidden] and the normalized
  sentence embeddings [2, hidden].
"""
import json
import math
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIG = {
    "architectures": ["BertModel"],
    "model_type": "bert",
    "vocab_size": 24,
    "hidden_size": 16,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 40,
    "hidden_act": "gelu",
    "max_position_embeddings": 32,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
    "position_embedding_type": "absolute",
}
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "dog", "##s", "ran",
         ".", ",", "a", "red", "big", "##gest", "home", "to", "is", "run", "##ning"]
assert len(VOCAB) == CONFIG["vocab_size"]
SENTENCES = ["The cat sat on the mat.", "Dogs ran home."]


def tokenize(text):
    """The WordPiece tokenization the tokenizer.json below performs, for these simple sentences."""
    ids = [VOCAB.index("[CLS]")]
    for word in text.lower().replace(".", " . ").replace(",", " , ").split():
        rest, first = word, True
        while rest:
            for end in range(len(rest), 0, -1):
                piece = ("" if first else "##") + rest[:end]
                if piece in VOCAB:
                    ids.append(VOCAB.index(piece))
                    rest, first = rest[end:], False
                    break
            else:
                raise ValueError(f"cannot tokenize {word!r}")
    return ids + [VOCAB.index("[SEP]")]


def make_weights(g):
    c = CONFIG
    hid, inter = c["hidden_size"], c["intermediate_size"]
    lin = lambda o, i: torch.randn(o, i, generator=g) / math.sqrt(i)
    bias = lambda n: 0.1 * torch.randn(n, generator=g)
    gamma = lambda: 1 + 0.2 * torch.randn(hid, generator=g)
    w = [
        ("embeddings.word_embeddings.weight", torch.randn(c["vocab_size"], hid, generator=g)),
        ("embeddings.position_embeddings.weight", 0.5 * torch.randn(c["max_position_embeddings"], hid, generator=g)),
        ("embeddings.token_type_embeddings.weight", 0.5 * torch.randn(c["type_vocab_size"], hid, generator=g)),
        ("embeddings.LayerNorm.weight", gamma()),
        ("embeddings.LayerNorm.bias", bias(hid)),
    ]
    for l in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{l}."
        for name in ["query", "key", "value"]:
            w += [(p + f"attention.self.{name}.weight", lin(hid, hid)), (p + f"attention.self.{name}.bias", bias(hid))]
        w += [
            (p + "attention.output.dense.weight", lin(hid, hid)),
            (p + "attention.output.dense.bias", bias(hid)),
            (p + "attention.output.LayerNorm.weight", gamma()),
            (p + "attention.output.LayerNorm.bias", bias(hid)),
            (p + "intermediate.dense.weight", lin(inter, hid)),
            (p + "intermediate.dense.bias", bias(inter)),
            (p + "output.dense.weight", lin(hid, inter)),
            (p + "output.dense.bias", bias(hid)),
            (p + "output.LayerNorm.weight", gamma()),
            (p + "output.LayerNorm.bias", bias(hid)),
        ]
    w += [("pooler.dense.weight", lin(hid, hid)), ("pooler.dense.bias", bias(hid))]
    return [(n, t.float().contiguous()) for n, t in w]


def forward(W, ids, mask, dtype):
    c = CONFIG
    H = c["num_attention_heads"]
    hid = c["hidden_size"]
    D = hid // H
    eps = c["layer_norm_eps"]
    W = {n: t.to(dtype) for n, t in W.items()}
    B, T = ids.shape
    ln = lambda x, p: torch.nn.functional.layer_norm(x, (hid,), W[p + ".weight"], W[p + ".bias"], eps)
    lin = lambda x, p: x @ W[p + ".weight"].T + W[p + ".bias"]
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][torch.arange(T)][None] \
        + W["embeddings.token_type_embeddings.weight"][torch.zeros(B, T, dtype=torch.long)]
    x = ln(x, "embeddings.LayerNorm")
    ext = (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min
    for l in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{l}."
        heads = lambda y: y.view(B, T, H, D).transpose(1, 2)
        q, k, v = (heads(lin(x, p + f"attention.self.{n}")) for n in ["query", "key", "value"])
        scores = q @ k.transpose(-1, -2) / math.sqrt(D) + ext
        ctx = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, hid)
        a = ln(lin(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        inter = torch.nn.functional.gelu(lin(a, p + "intermediate.dense"))
        x = ln(lin(inter, p + "output.dense") + a, p + "output.LayerNorm")
    m = mask[:, :, None].to(dtype)
    pooled = (x * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
    emb = pooled / torch.clamp(pooled.norm(dim=1, keepdim=True), min=1e-12)
    return x, emb


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, t in tensors:
        data = t.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def tokenizer_json():
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = lambda t: {"id": t, "type_id": 0}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": VOCAB.index(s), "content": s, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
            for s in special
        ],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": tok("[CLS]")}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": tok("[SEP]")}],
            "pair": [{"SpecialToken": tok("[CLS]")}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": tok("[SEP]")},
                     {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {s: {"id": s, "ids": [VOCAB.index(s)], "tokens": [s]} for s in ["[CLS]", "[SEP]"]},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
                  "vocab": {t: i for i, t in enumerate(VOCAB)}},
    }


def main():
    g = torch.Generator().manual_seed(20261126)
    weights = make_weights(g)
    W = dict(weights)
    rows = [tokenize(s) for s in SENTENCES]
    T = max(len(r) for r in rows)
    ids = torch.tensor([r + [0] * (T - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (T - len(r)) for r in rows])
    out = {"config": CONFIG, "sentences": SENTENCES, "ids": ids.flatten().tolist(), "lengths": [len(r) for r in rows],
           "shape": [len(rows), T, CONFIG["hidden_size"]]}
    for name, dtype in [("float32", torch.float32), ("float64", torch.float64)]:
        h, emb = forward(W, ids, mask, dtype)
        out[f"hidden_{name}"] = h.flatten().tolist()
        out[f"embeddings_{name}"] = emb.flatten().tolist()
    write_safetensors(os.path.join(HERE, "bert.safetensors"), weights)
    with open(os.path.join(HERE, "bert.json"), "w") as f:
        json.dump(out, f)
    with open(os.path.join(HERE, "bert-tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(), f, indent=1)
    print("ids", ids.tolist())


if __name__ == "__main__":
    main()
