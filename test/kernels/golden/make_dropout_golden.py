# Golden values for relpo's dropout mask (src/kernels/dropout/contract.ts), computed independently
# in Python with explicit mod-2^32 arithmetic: Wellons's lowbias32 hash and the keep rule
# hash(seed, i) = mix(i ^ mix(seed)) >= floor(p * 2^32). Writes dropout.json.
import json, os

M = 0xFFFFFFFF

def mix32(x):
    x &= M
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M
    x ^= x >> 15
    x = (x * 0x846CA68B) & M
    x ^= x >> 16
    return x

def keep(seed, n, p):
    s = mix32(seed)
    t = min(M, int(p * 2**32))
    return [1 if mix32(i ^ s) >= t else 0 for i in range(n)]

out = {
    "mix32": {str(v): mix32(v) for v in [0, 1, 2, 3, 255, 65536, 123456789, 0x7FFFFFFF, 0xFFFFFFFF]},
    "masks": [{"seed": seed, "n": 64, "p": p, "keep": keep(seed, 64, p)} for seed, p in [(0, 0.5), (1, 0.1), (12345, 0.5), (0xFFFFFFFF, 0.9)]],
}
with open(os.path.join(os.path.dirname(__file__), "dropout.json"), "w") as f:
    json.dump(out, f)
    f.write("\n")
