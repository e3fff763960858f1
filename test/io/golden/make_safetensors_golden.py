#!/usr/bin/python3
"""Small safetensors files for test/io/safetensors.test.ts, written next to this script.

Run with a Python that has torch (Debian's python3-torch: /usr/bin/python3 make_safetensors_golden.py).
The safetensors package is not needed: the format is simple enough to write by hand with struct and
json (8-byte little-endian header length, JSON header padded with spaces to 8 bytes, byte buffer),
which also lets this script write what the package would not: a header in unsorted order and the
tensors' bytes in yet another order.

mixed.safetensors holds, under deliberately unsorted names and with the data in reverse order:
  f16        float16 special and random values;   f16_as_f32  = f16.float()  (torch's conversion)
  bf16       bfloat16 special and random values;  bf16_as_f32 = bf16.float()
  f32        float32 values (shape [2, 3, 4])
  f64        float64 values;                      f64_as_f32  = f64.float()
  i64        int64 values that fit in int32 (the int32 extremes included)
  i64_big    int64 with one value beyond int32 (loading it must fail)
  i32        int32 values
  u8         uint8 values (relpo refuses to load U8)
  scalar     a float32 scalar (shape [])
  empty      a float32 tensor of shape [0, 3]
and "__metadata__": {"format": "pt", "source": "make_safetensors_golden.py"}.
"""
import json
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def raw(t):
    """The tensor's bytes, C order, in the host's byte order (little-endian here; checked in main)."""
    t = t.contiguous().reshape(-1)  # 0-d tensors cannot be viewed as bytes
    return bytes(t.view(torch.uint8).numpy().tobytes()) if t.numel() else b""


DTYPES = {
    torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8",
}


def write(path, tensors, metadata=None, data_order=None, pad=True):
    """tensors: list of (name, tensor) in header order; data_order: names in buffer order."""
    by_name = dict(tensors)
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offsets = {}
    buf = b""
    for name in data_order or [n for n, _ in tensors]:
        b = raw(by_name[name])
        offsets[name] = [len(buf), len(buf) + len(b)]
        buf += b
    for name, t in tensors:
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": offsets[name]}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    if pad:
        text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.write(buf)


def main():
    assert sys.byteorder == "little", "run on a little-endian host: safetensors is little-endian"
    g = torch.Generator().manual_seed(1234)
    f16_specials = torch.tensor([0.0, -0.0, 1.0, -1.0, 65504.0, -65504.0, float("inf"), float("-inf"), float("nan"),
                                 2.0 ** -14, 2.0 ** -24, -(2.0 ** -24), 1023 * 2.0 ** -24, 0.1, 1 / 3, 3.140625],
                                dtype=torch.float16)
    f16 = torch.cat([f16_specials, (torch.randn(48, generator=g) * 100).to(torch.float16),
                     (torch.randn(32, generator=g) * 1e-5).to(torch.float16)])  # the last are mostly subnormal
    bf16_specials = torch.tensor([0.0, -0.0, 1.0, -1.0, 3.3895313892515355e38, float("inf"), float("-inf"), float("nan"),
                                  2.0 ** -126, 2.0 ** -133, -(2.0 ** -133), 0.1, 1 / 3, 1e-40, 65504.0, 12345.0],
                                 dtype=torch.bfloat16)
    bf16 = torch.cat([bf16_specials, (torch.randn(48, generator=g) * 1e4).to(torch.bfloat16),
                      (torch.randn(32, generator=g) * 1e-39).to(torch.bfloat16)])
    f32 = torch.randn(2, 3, 4, generator=g)
    f64 = torch.tensor([1 / 3, -2.5, 1e-300, 1e300, 0.1, 123456789.123456789], dtype=torch.float64)
    i64 = torch.tensor([0, 1, -1, 2147483647, -2147483648, 123456789, -987654321], dtype=torch.int64)
    i64_big = torch.tensor([1, 2, 2147483648, 3], dtype=torch.int64)
    i32 = torch.tensor([[7, -7, 2147483647], [-2147483648, 0, 42]], dtype=torch.int32)
    u8 = torch.tensor([0, 1, 255], dtype=torch.uint8)
    scalar = torch.tensor(2.75, dtype=torch.float32)
    empty = torch.zeros(0, 3, dtype=torch.float32)
    tensors = [
        ("f32", f32), ("f16", f16.view(8, 12)), ("f16_as_f32", f16.float().view(8, 12)),
        ("bf16", bf16), ("bf16_as_f32", bf16.float()), ("f64", f64), ("f64_as_f32", f64.float()),
        ("i64", i64), ("i64_big", i64_big), ("i32", i32), ("u8", u8), ("scalar", scalar), ("empty", empty),
    ]
    order = [n for n, _ in reversed(tensors)]
    write(os.path.join(HERE, "mixed.safetensors"), tensors,
          metadata={"format": "pt", "source": "make_safetensors_golden.py"}, data_order=order)


if __name__ == "__main__":
    main()
