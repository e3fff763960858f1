"""Checks gemma2.json and qwen2.json (written by the plain-torch transcriptions) against Hugging Face
transformers itself: the checkpoints loaded into Gemma2ForCausalLM / Qwen2ForCausalLM (eager
attention), the logits, sequence log-probs, loss, gradients and greedy continuations compared.

Needs a Python with torch, transformers and safetensors (not Debian's /usr/bin/python3), e.g.

    python -m venv /tmp/tf && /tmp/tf/bin/pip install torch transformers==4.57.6 safetensors
    /tmp/tf/bin/python test/models/golden/check_with_transformers.py

The float32 logits should agree to float32 rounding. transformers run in float64 keeps its float32
islands (RMSNorm's x.float(), softmax(dtype=float32), cos/sin of the float32 angle), so its float64
numbers agree with the goldens' (float64 throughout) to ~1e-6, not 1e-12.

2026-12-06, torch 2.13.0+cpu: all agree with transformers 4.57.6 and 5.18.0 (greedy continuations
identical; logits to ≤ 2.2e-6 of their largest value; with torch 2.13 on both sides, the float32
Gemma-2 transcription's logits equal transformers 4.57.6's bit for bit).
"""
import json
import os

import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import load_file

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    with open(os.path.join(HERE, f"{name}.json")) as f:
        return json.load(f)


def model_for(config, files, dtype):
    cfg = transformers.AutoConfig.for_model(**config)
    cfg._attn_implementation = "eager"
    model = transformers.AutoModelForCausalLM.from_config(cfg, attn_implementation="eager", torch_dtype=torch.float32)
    sd = {}
    for f in files:
        sd.update(load_file(os.path.join(HERE, f)))
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and set(missing) <= {"lm_head.weight"}, (missing, unexpected)
    if "lm_head.weight" in missing:
        assert cfg.tie_word_embeddings and model.lm_head.weight is model.model.embed_tokens.weight
    return model.to(dtype).eval()


def report(what, got, want):
    got, want = torch.as_tensor(got, dtype=torch.float64), torch.as_tensor(want, dtype=torch.float64)
    err = (got - want).abs().max().item() / want.abs().max().item()
    print(f"  {what}: max |difference| / max |value| = {err:.2e}")
    return err


def check(name, g, config, files, grads):
    B, T, V = g["shape"]
    ids = torch.tensor(g["ids"]).view(B, T)
    attention = (torch.arange(T)[None, :] < torch.tensor(g["lengths"])[:, None]).long()
    targets = torch.tensor(g["targets"]).view(B, T)
    mask = torch.tensor(g["completion_mask"], dtype=torch.float64).view(B, T)
    valid = attention.bool()
    print(name, "transformers", transformers.__version__)
    errs = []
    for dtype, key, tol in ((torch.float32, "float32", 1e-4), (torch.float64, "float64", 1e-4)):
        model = model_for(config, files, dtype)
        logits = model(input_ids=ids, attention_mask=attention).logits
        errs.append(report(f"logits {key}", logits[valid].detach(), torch.tensor(g[f"logits_{key}"]).view(B, T, V)[valid]) < tol)
        lp = F.log_softmax(logits, dim=-1).gather(-1, targets[..., None])[..., 0]
        seq = (lp * mask.to(lp.dtype)).sum(-1)
        errs.append(report(f"seq_logprobs {key}", seq.detach(), g[f"seq_logprobs_{key}"]) < tol)
        if dtype == torch.float64:
            seq.sum().backward()
            params = dict(model.named_parameters())
            for n in grads:
                errs.append(report(f"d loss / d {n}", params[n].grad.reshape(-1), g["grads_float64"][n]) < 1e-3)
            gen = g["generate"]
            for prompt, want in zip(gen["prompts"], gen["greedy"]):
                out = model.generate(torch.tensor([prompt]), max_new_tokens=gen["new_tokens"], do_sample=False, use_cache=False,
                                     pad_token_id=0, eos_token_id=None)
                ok = out[0, len(prompt):].tolist() == want
                print(f"  greedy {prompt}: {'same' if ok else 'DIFFERENT'}")
                errs.append(ok)
    return all(errs)


def main():
    ok = True
    g = load("gemma2")
    ok &= check("gemma2", g, g["config"], ["gemma2.safetensors"], list(g["grads_float64"]))
    q = load("qwen2")
    for variant, v in q["variants"].items():
        ok &= check(variant, {**q, **v}, v["config"], v["safetensors"], list(v["grads_float64"]))
    print("all agree" if ok else "SOME DIFFER")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
