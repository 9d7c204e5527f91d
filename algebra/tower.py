"""Compiled F_q6 and F_q12 arithmetic for the BN254 pairing (the extension-field tower).

Tower (the same one snarkjs / ffjavascript and most BN254 libraries use)::

    F_q2  = F_q[u]  / (u^2 + 1)
    F_q6  = F_q2[v] / (v^3 - xi),   xi = 9 + u
    F_q12 = F_q6[w] / (w^2 - v)          (so w^6 = v^3 = xi)

Representation (all numba tuples, i.e. allocation-free value types):

* F_q2 element ``(c0, c1)``  = c0 + c1*u, each c a Montgomery ``UniTuple(uint64, 4)``;
* F_q6 element ``(a0, a1, a2)`` = a0 + a1*v + a2*v^2 with a_i in F_q2;
* F_q12 element ``(g, h)`` = g + h*w with g, h in F_q6.

Seen over F_q2 an F_q12 element is ``sum_{i<2, j<3} c_ij w^(2j+i)`` where c_ij is
``x[i][j]``.  This nesting ``[[F_q2]*3]*2`` is also how snarkjs writes ``vk_alphabeta_12``.

Formulas:

* F_q6 multiply: Karatsuba (6 F_q2 multiplies); squaring: Chung–Hasan "SQR2"
  (Devegili, O hEigeartaigh, Scott, Dahab, "Multiplication and squaring on pairing-friendly
  fields", 2006).
* F_q12 multiply: Karatsuba over F_q6 (18 F_q2 multiplies); squaring: the "complex" method
  (2 F_q6 multiplies).
* Inversion: norm down the tower, one F_q inversion at the bottom.
* Frobenius x -> x^(q^k): conjugate each F_q2 coefficient k times and multiply the
  coefficient of w^e by gamma_{k,e} = xi^(e (q^k - 1) / 6) (since w^(q^k) = w * xi^((q^k-1)/6)).
* Cyclotomic squaring: Granger–Scott ("Faster squaring in the cyclotomic subgroup of sixth
  degree extensions", PKC 2010), valid only for x with x^(q^4 - q^2 + 1) = 1, i.e. after the
  easy part of the final exponentiation.  View F_q12 = F_q4[w]/(w^3 - s) with
  F_q4 = F_q2[s]/(s^2 - xi), s = w^3, x = A0 + A1 w + A2 w^2; then
  x^2 = (3 A0^2 - 2 conj(A0)) + (3 s A2^2 + 2 conj(A1)) w + (3 A1^2 - 2 conj(A2)) w^2,
  with conj(a + b s) = a - b s: 9 F_q2 squarings instead of 12 multiplies.
* Sparse multiply by a Miller-loop line ``l = a0 + (b0 + b1 v) w`` (only the coefficients of
  w^0, w^1, w^3 are non-zero): 13 F_q2 multiplies instead of 18.

Python helpers at the bottom convert to and from nested Python ints (canonical, not
Montgomery), py_ecc's flat basis, and snarkjs JSON.
"""

from __future__ import annotations

from typing import Sequence

import numba as nb
import numpy as np

from .constants import Q
from .field import int_to_limbs
from .fq2 import (
    FQ2_ONE,
    FQ2_ZERO,
    fq2_add,
    fq2_conj,
    fq2_dbl,
    fq2_eq,
    fq2_inv,
    fq2_mul,
    fq2_mul_fq,
    fq2_mul_xi,
    fq2_neg,
    fq2_sqr,
    fq2_sub,
)
from .points import f2_pow

#: Nested Python-int layout of an F_q12 value: ((c00, c01, c02), (c10, c11, c12)) with each
#: c_ij = (re, im) canonical ints; x = sum c_ij w^(2j+i).
Fq2Int = tuple[int, int]
Fq6Int = tuple[Fq2Int, Fq2Int, Fq2Int]
Fq12Int = tuple[Fq6Int, Fq6Int]

XI = (9, 1)  # xi = 9 + u


# ---------------------------------------------------------------------------------------------
# Montgomery constants from Python ints (F_q2 int arithmetic lives in points.py)


def fq_const(x: int) -> tuple:
    """Montgomery limbs of x (as a tuple of np.uint64, usable inside jitted code)."""
    return tuple(np.uint64(v) for v in int_to_limbs((x % Q) * (1 << 256) % Q))


def fq2_const(a: Fq2Int) -> tuple:
    """Montgomery F_q2 constant (pair of limb tuples)."""
    return (fq_const(a[0]), fq_const(a[1]))


# Frobenius coefficients gamma_{k,e} = xi^(e (q^k - 1)/6), k = 1, 2, 3, e = 0..5 (q = 1 mod 6).
assert (Q - 1) % 6 == 0
_GAMMA_INT = {k: [f2_pow(XI, e * (Q ** k - 1) // 6) for e in range(6)] for k in (1, 2, 3)}
assert all(g[1] == 0 for g in _GAMMA_INT[2]), "gamma_2 must lie in F_q"
G1_1, G1_2, G1_3, G1_4, G1_5 = (fq2_const(g) for g in _GAMMA_INT[1][1:])
G2_1, G2_2, G2_3, G2_4, G2_5 = (fq_const(g[0]) for g in _GAMMA_INT[2][1:])
G3_1, G3_2, G3_3, G3_4, G3_5 = (fq2_const(g) for g in _GAMMA_INT[3][1:])

FQ6_ZERO = (FQ2_ZERO, FQ2_ZERO, FQ2_ZERO)
FQ6_ONE = (FQ2_ONE, FQ2_ZERO, FQ2_ZERO)
FQ12_ZERO = (FQ6_ZERO, FQ6_ZERO)
FQ12_ONE = (FQ6_ONE, FQ6_ZERO)


# ---------------------------------------------------------------------------------------------
# F_q6 = F_q2[v]/(v^3 - xi)
#
# The small F_q6 helpers (add, sub, times v) and the sparse multiply that the Miller loop's line
# product makes twice are inlined into their callers (inline="always"): passing F_q6 values
# (24 words) through calls cost more than their additions -- the line product took 1.24 us
# instead of 1.51 us, an F_q12 square 1.29 instead of 1.39 us, for the same compile time.
# Inlining the F_q6 multiplies as well made the F_q12 multiply slower (register spills) and
# doubled the compile time, so they stay calls.


@nb.njit(cache=True, inline="always")
def fq6_add(a, b):
    return (fq2_add(a[0], b[0]), fq2_add(a[1], b[1]), fq2_add(a[2], b[2]))


@nb.njit(cache=True, inline="always")
def fq6_sub(a, b):
    return (fq2_sub(a[0], b[0]), fq2_sub(a[1], b[1]), fq2_sub(a[2], b[2]))


@nb.njit(cache=True)
def fq6_neg(a):
    return (fq2_neg(a[0]), fq2_neg(a[1]), fq2_neg(a[2]))


@nb.njit(cache=True)
def fq6_dbl(a):
    return (fq2_dbl(a[0]), fq2_dbl(a[1]), fq2_dbl(a[2]))


@nb.njit(cache=True)
def fq6_mul(a, b):
    """Karatsuba: v0 = a0b0, v1 = a1b1, v2 = a2b2,
    c0 = v0 + xi((a1+a2)(b1+b2) - v1 - v2), c1 = (a0+a1)(b0+b1) - v0 - v1 + xi v2,
    c2 = (a0+a2)(b0+b2) - v0 - v2 + v1."""
    a0, a1, a2 = a
    b0, b1, b2 = b
    v0 = fq2_mul(a0, b0)
    v1 = fq2_mul(a1, b1)
    v2 = fq2_mul(a2, b2)
    t0 = fq2_sub(fq2_sub(fq2_mul(fq2_add(a1, a2), fq2_add(b1, b2)), v1), v2)
    c0 = fq2_add(v0, fq2_mul_xi(t0))
    t1 = fq2_sub(fq2_sub(fq2_mul(fq2_add(a0, a1), fq2_add(b0, b1)), v0), v1)
    c1 = fq2_add(t1, fq2_mul_xi(v2))
    t2 = fq2_sub(fq2_sub(fq2_mul(fq2_add(a0, a2), fq2_add(b0, b2)), v0), v2)
    c2 = fq2_add(t2, v1)
    return (c0, c1, c2)


@nb.njit(cache=True)
def fq6_sqr(a):
    """Chung–Hasan SQR2: s0 = a0^2, s1 = 2a0a1, s2 = (a0 - a1 + a2)^2, s3 = 2a1a2, s4 = a2^2;
    c0 = s0 + xi s3, c1 = s1 + xi s4, c2 = s1 + s2 + s3 - s0 - s4."""
    a0, a1, a2 = a
    s0 = fq2_sqr(a0)
    s1 = fq2_dbl(fq2_mul(a0, a1))
    s2 = fq2_sqr(fq2_add(fq2_sub(a0, a1), a2))
    s3 = fq2_dbl(fq2_mul(a1, a2))
    s4 = fq2_sqr(a2)
    c0 = fq2_add(s0, fq2_mul_xi(s3))
    c1 = fq2_add(s1, fq2_mul_xi(s4))
    c2 = fq2_sub(fq2_sub(fq2_add(fq2_add(s1, s2), s3), s0), s4)
    return (c0, c1, c2)


@nb.njit(cache=True, inline="always")
def fq6_mul_v(a):
    """a * v = xi a2 + a0 v + a1 v^2."""
    return (fq2_mul_xi(a[2]), a[0], a[1])


@nb.njit(cache=True, inline="always")
def fq6_mul_01(a, b0, b1):
    """a * (b0 + b1 v) (sparse, 5 F_q2 multiplies):
    (a0b0 + xi a2b1) + (a0b1 + a1b0) v + (a1b1 + a2b0) v^2."""
    a0, a1, a2 = a
    t0 = fq2_mul(a0, b0)
    t1 = fq2_mul(a1, b1)
    c0 = fq2_add(t0, fq2_mul_xi(fq2_mul(a2, b1)))
    c1 = fq2_sub(fq2_sub(fq2_mul(fq2_add(a0, a1), fq2_add(b0, b1)), t0), t1)
    c2 = fq2_add(t1, fq2_mul(a2, b0))
    return (c0, c1, c2)


@nb.njit(cache=True)
def fq6_inv(a):
    """t0 = a0^2 - xi a1a2, t1 = xi a2^2 - a0a1, t2 = a1^2 - a0a2,
    N = a0t0 + xi(a2t1 + a1t2) in F_q2;  a^-1 = (t0, t1, t2) / N."""
    a0, a1, a2 = a
    t0 = fq2_sub(fq2_sqr(a0), fq2_mul_xi(fq2_mul(a1, a2)))
    t1 = fq2_sub(fq2_mul_xi(fq2_sqr(a2)), fq2_mul(a0, a1))
    t2 = fq2_sub(fq2_sqr(a1), fq2_mul(a0, a2))
    n = fq2_add(fq2_mul(a0, t0), fq2_mul_xi(fq2_add(fq2_mul(a2, t1), fq2_mul(a1, t2))))
    ni = fq2_inv(n)
    return (fq2_mul(t0, ni), fq2_mul(t1, ni), fq2_mul(t2, ni))


@nb.njit(cache=True)
def fq6_eq(a, b):
    return fq2_eq(a[0], b[0]) and fq2_eq(a[1], b[1]) and fq2_eq(a[2], b[2])


# ---------------------------------------------------------------------------------------------
# F_q12 = F_q6[w]/(w^2 - v)


@nb.njit(cache=True)
def fq12_add(a, b):
    return (fq6_add(a[0], b[0]), fq6_add(a[1], b[1]))


@nb.njit(cache=True)
def fq12_sub(a, b):
    return (fq6_sub(a[0], b[0]), fq6_sub(a[1], b[1]))


@nb.njit(cache=True)
def fq12_mul(a, b):
    """Karatsuba: t0 = a0b0, t1 = a1b1; c0 = t0 + v t1, c1 = (a0+a1)(b0+b1) - t0 - t1."""
    t0 = fq6_mul(a[0], b[0])
    t1 = fq6_mul(a[1], b[1])
    c0 = fq6_add(t0, fq6_mul_v(t1))
    c1 = fq6_sub(fq6_sub(fq6_mul(fq6_add(a[0], a[1]), fq6_add(b[0], b[1])), t0), t1)
    return (c0, c1)


@nb.njit(cache=True)
def fq12_sqr(a):
    """Complex squaring: m = a0a1; c0 = (a0 + a1)(a0 + v a1) - m - v m, c1 = 2m."""
    a0, a1 = a
    m = fq6_mul(a0, a1)
    t = fq6_mul(fq6_add(a0, a1), fq6_add(a0, fq6_mul_v(a1)))
    c0 = fq6_sub(fq6_sub(t, m), fq6_mul_v(m))
    return (c0, fq6_dbl(m))


@nb.njit(cache=True)
def fq12_conj(a):
    """x^(q^6): g + h w -> g - h w (the inverse on the cyclotomic subgroup)."""
    return (a[0], fq6_neg(a[1]))


@nb.njit(cache=True)
def fq12_inv(a):
    """(g + h w)^-1 = (g - h w) / (g^2 - v h^2)."""
    d = fq6_sub(fq6_sqr(a[0]), fq6_mul_v(fq6_sqr(a[1])))
    di = fq6_inv(d)
    return (fq6_mul(a[0], di), fq6_neg(fq6_mul(a[1], di)))


@nb.njit(cache=True)
def fq12_eq(a, b):
    return fq6_eq(a[0], b[0]) and fq6_eq(a[1], b[1])


@nb.njit(cache=True)
def fq12_is_one(a):
    return fq12_eq(a, FQ12_ONE)


@nb.njit(cache=True)
def fq12_mul_line(f, a0, b0, b1):
    """f * l for the sparse line l = a0 + (b0 + b1 v) w (coefficients of w^0, w^1, w^3).

    With f = f0 + f1 w and l = A + B w, A = (a0, 0, 0), B = (b0, b1, 0):
    t0 = f0 A (3 mults by a0), t1 = f1 B (sparse, 5), c0 = t0 + v t1,
    c1 = (f0 + f1)(A + B) - t0 - t1 (sparse, 5).  13 F_q2 multiplies in all."""
    f0, f1 = f
    t0 = (fq2_mul(f0[0], a0), fq2_mul(f0[1], a0), fq2_mul(f0[2], a0))
    t1 = fq6_mul_01(f1, b0, b1)
    s = fq6_mul_01(fq6_add(f0, f1), fq2_add(a0, b0), b1)
    c0 = fq6_add(t0, fq6_mul_v(t1))
    c1 = fq6_sub(fq6_sub(s, t0), t1)
    return (c0, c1)


@nb.njit(cache=True)
def fq12_frobenius(a):
    """x -> x^q: conjugate each F_q2 coefficient, times gamma_{1,e} for w^e."""
    g, h = a
    c0 = (fq2_conj(g[0]), fq2_mul(fq2_conj(g[1]), G1_2), fq2_mul(fq2_conj(g[2]), G1_4))
    c1 = (fq2_mul(fq2_conj(h[0]), G1_1), fq2_mul(fq2_conj(h[1]), G1_3),
          fq2_mul(fq2_conj(h[2]), G1_5))
    return (c0, c1)


@nb.njit(cache=True)
def fq12_frobenius2(a):
    """x -> x^(q^2): no conjugation (q^2 = 1 on F_q2); gamma_{2,e} lies in F_q."""
    g, h = a
    c0 = (g[0], fq2_mul_fq(g[1], G2_2), fq2_mul_fq(g[2], G2_4))
    c1 = (fq2_mul_fq(h[0], G2_1), fq2_mul_fq(h[1], G2_3), fq2_mul_fq(h[2], G2_5))
    return (c0, c1)


@nb.njit(cache=True)
def fq12_frobenius3(a):
    """x -> x^(q^3): conjugate, times gamma_{3,e}."""
    g, h = a
    c0 = (fq2_conj(g[0]), fq2_mul(fq2_conj(g[1]), G3_2), fq2_mul(fq2_conj(g[2]), G3_4))
    c1 = (fq2_mul(fq2_conj(h[0]), G3_1), fq2_mul(fq2_conj(h[1]), G3_3),
          fq2_mul(fq2_conj(h[2]), G3_5))
    return (c0, c1)


@nb.njit(cache=True)
def _fq4_sqr(x, y):
    """(x + y s)^2 in F_q4 = F_q2[s]/(s^2 - xi): (x^2 + xi y^2, (x + y)^2 - x^2 - y^2)."""
    t0 = fq2_sqr(x)
    t1 = fq2_sqr(y)
    c0 = fq2_add(t0, fq2_mul_xi(t1))
    c1 = fq2_sub(fq2_sub(fq2_sqr(fq2_add(x, y)), t0), t1)
    return c0, c1


@nb.njit(cache=True)
def _three_minus_two(t, x):
    """3t - 2x."""
    d = fq2_sub(t, x)
    return fq2_add(fq2_dbl(d), t)


@nb.njit(cache=True)
def _three_plus_two(t, x):
    """3t + 2x."""
    d = fq2_add(t, x)
    return fq2_add(fq2_dbl(d), t)


@nb.njit(cache=True)
def fq12_cyclotomic_sqr(a):
    """Granger–Scott squaring (see module docstring); a must be in the cyclotomic subgroup.

    Coefficients of w^0..w^5 are g0, h0, g1, h1, g2, h2, so A0 = g0 + h1 s (w^0, w^3),
    A1 = h0 + g2 s (w^1, w^4), A2 = g1 + h2 s (w^2, w^5)."""
    g, h = a
    a00, a01 = _fq4_sqr(g[0], h[1])   # A0^2
    a10, a11 = _fq4_sqr(h[0], g[2])   # A1^2
    a20, a21 = _fq4_sqr(g[1], h[2])   # A2^2
    # A0' = 3 A0^2 - 2 conj(A0)
    n_g0 = _three_minus_two(a00, g[0])
    n_h1 = _three_plus_two(a01, h[1])
    # A1' = 3 s A2^2 + 2 conj(A1);  s (a20 + a21 s) = xi a21 + a20 s
    n_h0 = _three_plus_two(fq2_mul_xi(a21), h[0])
    n_g2 = _three_minus_two(a20, g[2])
    # A2' = 3 A1^2 - 2 conj(A2)
    n_g1 = _three_minus_two(a10, g[1])
    n_h2 = _three_plus_two(a11, h[2])
    return ((n_g0, n_g1, n_g2), (n_h0, n_h1, n_h2))


@nb.njit(cache=True)
def fq12_pow(a, e):
    """a^e for a non-negative exponent given as little-endian uint64 limbs (any length);
    plain square-and-multiply (reference/tests; the pairing uses fixed chains)."""
    acc = FQ12_ONE
    for limb in range(len(e) - 1, -1, -1):
        w = e[limb]
        for bit in range(63, -1, -1):
            acc = fq12_sqr(acc)
            if (w >> np.uint64(bit)) & np.uint64(1):
                acc = fq12_mul(acc, a)
    return acc


# ---------------------------------------------------------------------------------------------
# Array <-> tuple (layout uint64[2, 3, 2, 4]: [g/h][v^j][c0/c1][limbs], Montgomery)


@nb.njit(cache=True)
def fq12_load(arr):
    """Read an F_q12 tuple from a uint64[2, 3, 2, 4] array."""
    return (
        ((
            (arr[0, 0, 0, 0], arr[0, 0, 0, 1], arr[0, 0, 0, 2], arr[0, 0, 0, 3]),
            (arr[0, 0, 1, 0], arr[0, 0, 1, 1], arr[0, 0, 1, 2], arr[0, 0, 1, 3])),
         ((arr[0, 1, 0, 0], arr[0, 1, 0, 1], arr[0, 1, 0, 2], arr[0, 1, 0, 3]),
          (arr[0, 1, 1, 0], arr[0, 1, 1, 1], arr[0, 1, 1, 2], arr[0, 1, 1, 3])),
         ((arr[0, 2, 0, 0], arr[0, 2, 0, 1], arr[0, 2, 0, 2], arr[0, 2, 0, 3]),
          (arr[0, 2, 1, 0], arr[0, 2, 1, 1], arr[0, 2, 1, 2], arr[0, 2, 1, 3]))),
        ((
            (arr[1, 0, 0, 0], arr[1, 0, 0, 1], arr[1, 0, 0, 2], arr[1, 0, 0, 3]),
            (arr[1, 0, 1, 0], arr[1, 0, 1, 1], arr[1, 0, 1, 2], arr[1, 0, 1, 3])),
         ((arr[1, 1, 0, 0], arr[1, 1, 0, 1], arr[1, 1, 0, 2], arr[1, 1, 0, 3]),
          (arr[1, 1, 1, 0], arr[1, 1, 1, 1], arr[1, 1, 1, 2], arr[1, 1, 1, 3])),
         ((arr[1, 2, 0, 0], arr[1, 2, 0, 1], arr[1, 2, 0, 2], arr[1, 2, 0, 3]),
          (arr[1, 2, 1, 0], arr[1, 2, 1, 1], arr[1, 2, 1, 2], arr[1, 2, 1, 3]))),
    )


@nb.njit(cache=True)
def fq12_store(arr, x):
    """Write the F_q12 tuple x into a uint64[2, 3, 2, 4] array."""
    for i in range(2):
        for j in range(3):
            for c in range(2):
                for k in range(4):
                    arr[i, j, c, k] = x[i][j][c][k]


# ---------------------------------------------------------------------------------------------
# Python-level conversions (not hot)


def fq12_from_ints(value: Fq12Int) -> np.ndarray:
    """Nested canonical ints -> uint64[2, 3, 2, 4] Montgomery array."""
    out = np.zeros((2, 3, 2, 4), dtype=np.uint64)
    for i in range(2):
        for j in range(3):
            for c in range(2):
                out[i, j, c] = fq_const(int(value[i][j][c]))
    return out


def fq12_to_ints(arr: np.ndarray) -> Fq12Int:
    """uint64[2, 3, 2, 4] Montgomery array -> nested canonical ints."""
    rinv = pow(1 << 256, -1, Q)

    def one(i: int, j: int, c: int) -> int:
        return sum(int(arr[i, j, c, k]) << (64 * k) for k in range(4)) * rinv % Q

    return tuple(tuple((one(i, j, 0), one(i, j, 1)) for j in range(3))  # type: ignore[return-value]
                 for i in range(2))


def fq12_tuple_from_ints(value: Fq12Int) -> tuple:
    """Nested canonical ints -> the Montgomery tuple that jitted tower functions accept."""
    return tuple(tuple((fq_const(int(value[i][j][0])), fq_const(int(value[i][j][1])))
                       for j in range(3)) for i in range(2))


def fq12_tuple_to_ints(x: tuple) -> Fq12Int:
    """Jitted-function result (Montgomery tuple) -> nested canonical ints."""
    arr = np.array(x, dtype=np.uint64).reshape(2, 3, 2, 4)
    return fq12_to_ints(arr)


def fq12_to_py_ecc_coeffs(value: Fq12Int) -> list[int]:
    """Tower layout -> the 12 coefficients of py_ecc's FQ12 (basis 1, W, ..., W^11 with
    W^12 - 18 W^6 + 82 = 0).  Both have W^6 = xi = 9 + u, so u = W^6 - 9 and
    (a + b u) W^k = (a - 9b) W^k + b W^(k+6) for k = 2j + i."""
    coeffs = [0] * 12
    for i in range(2):
        for j in range(3):
            a, b = value[i][j]
            k = 2 * j + i
            coeffs[k] = (a - 9 * b) % Q
            coeffs[k + 6] = b % Q
    return coeffs


def fq12_from_py_ecc_coeffs(coeffs: Sequence[int]) -> Fq12Int:
    """Inverse of :func:`fq12_to_py_ecc_coeffs`: b = c[k+6], a = c[k] + 9 c[k+6]."""
    c = [int(x) % Q for x in coeffs]
    return tuple(tuple(((c[2 * j + i] + 9 * c[2 * j + i + 6]) % Q, c[2 * j + i + 6])  # type: ignore[return-value]
                       for j in range(3)) for i in range(2))


def fq12_to_strings(value: Fq12Int) -> list:
    """Nested decimal strings in the snarkjs JSON nesting:
    [[[c00.re, c00.im], [c01...], [c02...]], [[c10...], [c11...], [c12...]]].
    Pure formatting; for ``vk_alphabeta_12`` use
    :func:`zkmargin.algebra.pairing.fq12_to_snarkjs`, which also converts the pairing
    convention."""
    return [[[str(int(value[i][j][0]) % Q), str(int(value[i][j][1]) % Q)] for j in range(3)]
            for i in range(2)]


def fq12_from_strings(obj: Sequence) -> Fq12Int:
    """Inverse of :func:`fq12_to_strings` (accepts strings or ints)."""
    return tuple(tuple((int(obj[i][j][0]) % Q, int(obj[i][j][1]) % Q)  # type: ignore[return-value]
                       for j in range(3)) for i in range(2))


__all__ = [
    "Fq12Int", "fq6_add", "fq6_sub", "fq6_neg", "fq6_mul", "fq6_sqr", "fq6_inv", "fq6_mul_v",
    "fq6_mul_01", "fq12_add", "fq12_sub", "fq12_mul", "fq12_sqr", "fq12_inv", "fq12_conj",
    "fq12_eq", "fq12_is_one", "fq12_mul_line", "fq12_frobenius", "fq12_frobenius2",
    "fq12_frobenius3", "fq12_cyclotomic_sqr", "fq12_pow", "fq12_load", "fq12_store",
    "FQ12_ONE", "FQ12_ZERO", "fq12_from_ints", "fq12_to_ints", "fq12_tuple_from_ints",
    "fq12_tuple_to_ints", "fq12_to_py_ecc_coeffs", "fq12_from_py_ecc_coeffs",
    "fq12_to_strings", "fq12_from_strings", "fq2_const", "fq_const",
]
