"""GLV scalar decomposition for G1 (Gallant-Lambert-Vanstone, CRYPTO 2001).

G1 has the endomorphism phi(x, y) = (omega * x, y), omega a primitive cube root of unity in
F_q, and phi(P) = lambda * P for the matching cube root lambda in F_r
(``constants.GLV_OMEGA`` / ``constants.GLV_LAMBDA``).  A 254-bit scalar k is split as

    k = k1 + k2 * lambda  (mod r),   |k1|, |k2| < 2^128,

so k * P = k1 * P + k2 * phi(P): two half-length multiplications sharing one chain of
doublings -- about 128 doublings instead of 254.

The split uses a short basis (a1, b1), (a2, b2) of the lattice {(a, b): a + b*lambda = 0 mod r},
found with the extended Euclidean algorithm on (r, lambda) (Hankerson-Menezes-Vanstone,
*Guide to ECC*, Algorithm 3.74): c1 = round(b2 k / r), c2 = round(-b1 k / r),
k1 = k - c1 a1 - c2 a2, k2 = -c1 b1 - c2 b2.  Pure Python; kernels take the result as
limbs (:func:`glv_limbs`).
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from .constants import GLV_LAMBDA, R


def _short_basis(n: int, lam: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Two short vectors (a, b) with a + b*lam = 0 mod n."""
    root = math.isqrt(n)
    r0, r1, t0, t1 = n, lam, 0, 1
    seq = [(r0, t0), (r1, t1)]
    while r1 != 0:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        t0, t1 = t1, t0 - q * t1
        seq.append((r1, t1))
    # l: the largest index with r_l >= sqrt(n)
    l_idx = max(i for i, (r_, _) in enumerate(seq) if r_ >= root)
    (rl, tl), (rl1, tl1) = seq[l_idx], seq[l_idx + 1]
    v1 = (rl1, -tl1)
    cands = [(rl, -tl)]
    if l_idx + 2 < len(seq):
        cands.append((seq[l_idx + 2][0], -seq[l_idx + 2][1]))
    v2 = min(cands, key=lambda v: v[0] ** 2 + v[1] ** 2)
    return v1, v2


(_A1, _B1), (_A2, _B2) = _short_basis(R, GLV_LAMBDA)


def _round_div(a: int, b: int) -> int:
    """round(a / b) for b > 0 (ties away from zero do not matter here)."""
    return (2 * a + b) // (2 * b)


def decompose(k: int) -> tuple[int, int]:
    """(k1, k2) with k1 + k2 * lambda = k (mod r) and |k1|, |k2| < 2^128."""
    k %= R
    c1 = _round_div(_B2 * k, R)
    c2 = _round_div(-_B1 * k, R)
    return k - c1 * _A1 - c2 * _A2, -c1 * _B1 - c2 * _B2


#: Layout of one decomposed scalar for the kernels: |k1| (2 limbs), |k2| (2 limbs), signs
#: (bit 0: k1 < 0, bit 1: k2 < 0).
GLV_WORDS = 5
_M64 = (1 << 64) - 1


def glv_limbs(scalars: Iterable[int]) -> np.ndarray:
    """uint64[n, 5] decompositions of the given scalars (see :data:`GLV_WORDS`)."""
    rows = []
    for k in scalars:
        k1, k2 = decompose(int(k))
        a, b = abs(k1), abs(k2)
        rows.append((a & _M64, a >> 64, b & _M64, b >> 64, (k1 < 0) | ((k2 < 0) << 1)))
    return np.array(rows, dtype=np.uint64).reshape(-1, GLV_WORDS)


__all__ = ["decompose", "glv_limbs", "GLV_WORDS"]
