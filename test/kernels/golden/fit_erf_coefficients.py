#!/usr/bin/python3
"""Fits the float32 erf/erfc polynomials of src/kernels/activation/webgpu.ts and reports their error.

Run with a Python that has numpy and mpmath (Debian: /usr/bin/python3 fit_erf_coefficients.py).
Prints ERF_P and ERFC_Q (9 significant digits: exact float32 values) and the error of the WGSL
evaluation simulated in float32 (fma, correctly rounded exp) against mpmath at 30 digits:

  |x| < 1: erf(x) = x + x * P(x^2),           P ~ erf(sqrt(s))/sqrt(s) - 1 on s in [0, 1], degree 6
  z >= 1:  erfc(z) = exp(-z^2) * Q(1/z - 0.55), Q ~ erfc(1/t) * exp(1/t^2) on t in [0.1, 1], degree 10

Fit: least squares in the Chebyshev basis at 3000 Chebyshev nodes, converted to the power basis.
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 30
f32 = np.float32


def fit(f, lo, hi, deg, center, nodes=3000):
    k = np.arange(nodes)
    v = (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / nodes)
    y = np.array([float(f(mp.mpf(float(a)))) for a in v])
    ch = np.polynomial.chebyshev.Chebyshev.fit(v - center, y, deg, domain=[lo - center, hi - center])
    coef = ch.convert(kind=np.polynomial.Polynomial, domain=[-1, 1], window=[-1, 1]).coef
    return [f32(float("%.9g" % c)) for c in coef]


def fma(a, b, c):
    return f32(float(a) * float(b) + float(c))  # exact product in float64, one rounding


def horner(c, v):
    r = c[-1]
    for ci in c[-2::-1]:
        r = fma(r, v, ci)
    return r


P = fit(lambda s: (mp.erf(mp.sqrt(s)) / mp.sqrt(s) if s > 0 else 2 / mp.sqrt(mp.pi)) - 1, 0, 1, 6, 0)
Q = fit(lambda t: mp.erfc(1 / t) * mp.exp(1 / (t * t)), 0.1, 1.0, 10, 0.55)


def erfc_large(z):
    z = f32(min(max(z, 1), 10))
    q = horner(Q, f32(f32(f32(1) / z) - f32(0.55)))
    return f32(q * f32(np.exp(-np.float64(f32(z * z)))))


def erf32(x):
    a = f32(abs(x))
    if a < 1:
        return fma(x, horner(P, f32(x * x)), x)
    return f32(np.sign(x) * f32(1 - erfc_large(a)))


def main():
    print("ERF_P =", ", ".join("%.9g" % c for c in P))
    print("ERFC_Q =", ", ".join("%.9g" % c for c in Q))
    xs = np.concatenate([np.linspace(-6, 6, 24001), np.linspace(0.99, 1.01, 401)]).astype(np.float32)
    worst = max((abs(float(erf32(x)) - float(mp.erf(mp.mpf(float(x))))), float(x)) for x in xs)
    print("erf: max abs error %.3g at x = %.6g" % worst)
    zs = np.linspace(1, 9, 3001).astype(np.float32)
    rel = max(abs(float(erfc_large(z)) - float(mp.erfc(mp.mpf(float(z))))) / float(mp.erfc(mp.mpf(float(z)))) for z in zs)
    print("erfc on [1, 9]: max relative error %.3g" % rel)


if __name__ == "__main__":
    main()
