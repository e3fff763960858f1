"""Golden bfloat16 roundings from PyTorch (torch.Tensor.to(torch.bfloat16)), for
test/kernels/bfloat16.test.ts. Run with Debian's python3-torch:

    /usr/bin/python3 test/kernels/golden/make_bfloat16_golden.py

Writes bfloat16.json: float32 inputs (as their bit patterns, so nothing is lost in JSON) and the
bfloat16 bit pattern torch gives each.
"""
import json
import os
import struct

import torch

def f32_bits(x):
    return struct.unpack('<I', struct.pack('<f', x))[0]

special = [0.0, -0.0, 1.0, -1.0, 3.0e38, -3.0e38, 3.4028234663852886e38, float('inf'), float('-inf'), float('nan'),
           1e-40, -1e-40, 1.17549435e-38, 9.2e-41, 65504.0, 0.1, 1 / 3, 2 / 3, 1e-8, 123456.789]
# Exact ties: a float32 whose low 16 bits are 0x8000, with even and odd bfloat16 below it.
ties = [struct.unpack('<f', struct.pack('<I', b))[0] for b in (0x3F808000, 0x3F818000, 0xBF808000, 0x7F7F8000, 0x00008000, 0x00018000)]
# Just above and below a tie.
near = [struct.unpack('<f', struct.pack('<I', b))[0] for b in (0x3F807FFF, 0x3F808001, 0x3F817FFF, 0x3F818001)]
g = torch.Generator().manual_seed(0)
rand = (torch.randn(200, generator=g) * torch.logspace(-30, 30, 200)).tolist()
values = torch.tensor(special + ties + near + rand, dtype=torch.float32)
bits_in = [f32_bits(v) for v in values.tolist()]
bf = values.to(torch.bfloat16)
bits_out = bf.view(torch.int16).to(torch.int32).bitwise_and(0xFFFF).tolist()
# torch's NaN pattern may differ in payload; the test checks NaN-ness for those.
out = {'inputs_f32_bits': bits_in, 'bfloat16_bits': bits_out}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'bfloat16.json'), 'w') as f:
    json.dump(out, f)
print(len(bits_in), 'values')
