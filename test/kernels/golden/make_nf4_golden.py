"""Golden NF4 quantizations (QLoRA's 4-bit NormalFloat), for test/kernels/nf4.test.ts. Run with
Debian's python3-torch:

    /usr/bin/python3 test/kernels/golden/make_nf4_golden.py

An independent transcription in float32 torch of the rule in src/kernels/nf4/contract.ts: blocks of
64 (row-major), absmax per block, each value the index of the level whose level * absmax is nearest
(first on ties), 0 for an all-zero block. It also rebuilds the 16 levels from normal quantiles,
as bitsandbytes' create_normal_map does (offset 0.9677083), to check the constants.

Writes nf4.json: inputs (float32 bit patterns), codes (one per value), absmax, and the levels.
"""
import json
import os
import struct

import torch

LEVELS = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
          -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
          0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
          0.7229568362236023, 1.0]

# The levels from the normal distribution: 8 positive quantiles, 7 negative, and 0, scaled to max 1.
offset = 0.9677083
pos = torch.special.ndtri(torch.linspace(offset, 0.5, 9, dtype=torch.float64)[:-1])
neg = -torch.special.ndtri(torch.linspace(offset, 0.5, 8, dtype=torch.float64)[:-1])
rebuilt = torch.cat([pos, neg, torch.zeros(1, dtype=torch.float64)]).sort().values
rebuilt = rebuilt / rebuilt.max()
assert torch.allclose(rebuilt, torch.tensor(LEVELS, dtype=torch.float64), atol=2e-7), rebuilt.tolist()

levels = torch.tensor(LEVELS, dtype=torch.float32)

def quantize(x):
    n = x.numel()
    blocks = (n + 63) // 64
    padded = torch.zeros(blocks * 64, dtype=torch.float32)
    padded[:n] = x
    b = padded.view(blocks, 64)
    absmax = b.abs().max(dim=1).values
    cand = levels.view(1, 1, 16) * absmax.view(blocks, 1, 1)  # float32 products
    dist = (b.view(blocks, 64, 1) - cand).abs()                # float32 differences
    codes = dist.argmin(dim=2)                                  # first minimum on ties
    codes[absmax == 0] = 7
    return codes.view(-1)[:n], absmax

def bits(t):
    return [struct.unpack('<I', struct.pack('<f', v))[0] for v in t.tolist()]

g = torch.Generator().manual_seed(0)
cases = []
for n, scale in ((64, 1.0), (200, 0.02), (1000, 3.0), (129, 1e-3)):
    x = torch.randn(n, generator=g, dtype=torch.float32) * scale
    if n == 200:
        x[64:128] = 0.0   # an all-zero block
        x[130] = -5.0     # a negative maximum
    if n == 129:
        # values exactly at a level times the block's maximum, and halfway between two levels
        m = float(x[:64].abs().max())
        x[1] = float(levels[3]) * m
        x[2] = (float(levels[10]) + float(levels[11])) / 2 * m
    codes, absmax = quantize(x)
    cases.append({'n': n, 'inputs_f32_bits': bits(x), 'codes': codes.tolist(), 'absmax_f32_bits': bits(absmax)})

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'nf4.json'), 'w') as f:
    json.dump({'levels': LEVELS, 'cases': cases}, f)
print('cases', [c['n'] for c in cases])
