#!/usr/bin/python3
"""Greedy continuations of the golden tiny LLaMA, for test/eval/generate.test.ts.

Uses the plain-torch transcription of transformers' LlamaForCausalLM in make_llama_golden.py (same
weights, llama.safetensors) in float64: each prompt alone (no padding), the argmax of the last
position's logits appended, NEW tokens, as transformers' greedy generate does. Writes generate.json.

    /usr/bin/python3 test/models/golden/make_generate_golden.py
"""
import json
import os

import torch

import make_llama_golden as llama

HERE = os.path.dirname(os.path.abspath(__file__))
NEW = 6


def main():
    g = torch.Generator().manual_seed(20240611)
    weights = llama.make_weights(g)  # the same stream as make_llama_golden.main: weights first
    V = llama.CONFIG["vocab_size"]
    ids = torch.randint(0, V, (llama.B, llama.T), generator=g)
    prompts = [ids[b, :n].tolist() for b, n in enumerate(llama.LENGTHS)]
    p64 = {n: t.double() for n, t in weights}
    out = []
    for prompt in prompts:
        seq = list(prompt)
        for _ in range(NEW):
            llama.B, llama.T, llama.LENGTHS = 1, len(seq), [len(seq)]
            logits = llama.forward(p64, torch.tensor([seq]), torch.float64, None)
            seq.append(int(logits[0, -1].argmax()))
        out.append(seq[len(prompt):])
    with open(os.path.join(HERE, "generate.json"), "w") as f:
        json.dump({"prompts": prompts, "new_tokens": NEW, "greedy": out}, f)
    print(prompts, out)


if __name__ == "__main__":
    main()
