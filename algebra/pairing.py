"""Compiled optimal-ate pairing on BN254 and the multi-pairing product check.

The pairing (Vercauteren, "Optimal pairings", 2010) for BN curves with parameter u
(``BN_X``) is

    e(P, Q) = ( f_{6u+2,Q}(P) * l_{T,pi(Q)}(P) * l_{T+pi(Q),-pi^2(Q)}(P) ) ^ ((q^12 - 1) / r)

with T = [6u+2]Q, P in G1 = E(F_q), Q in G2 on the sextic twist E'(F_q2): y^2 = x^3 + 3/xi
(D-type, xi = 9 + u).  The untwist is (x, y) -> (x w^2, y w^3) in the tower of
:mod:`zkmargin.algebra.tower`, so a line through points of the twist evaluated at
P = (xP, yP) has the sparse shape  a0 + (b0 + b1 v) w  (coefficients of w^0, w^1, w^3).

Miller loop
    6u + 2 is walked in signed-digit (NAF) form, most significant digit first (65 doublings,
    21 additions).  T is kept in homogeneous projective coordinates (X : Y : Z), x = X/Z,
    y = Y/Z; Q is affine (mixed addition).  Formulas after Costello–Lange–Naehrig (2010) and
    Aranha–Karabina–Longa–Gebotys–López ("Faster explicit formulas for computing pairings
    over ordinary curves", EUROCRYPT 2011), derived here for this tower:

    doubling (all outputs scaled by 4 to avoid halvings; b' = 3/xi)
        A = XY, B = Y^2, C = Z^2, E = 3b'C, F = 3E, H = (Y+Z)^2 - B - C, J = X^2
        X3 = 2A(B - F),  Y3 = (B + F)^2 - 12E^2,  Z3 = 4BH
        line (times the F_q2 factor 2yZ^2):  H yP  +  (-3J xP) w  +  (B - E) w^3
    mixed addition T + (x2, y2)
        theta = Y - y2 Z, lam = X - x2 Z, C = theta^2, D = lam^2, E = lam D, F = Z C, G = X D,
        H = E + F - 2G;  X3 = lam H,  Y3 = theta (G - H) - Y E,  Z3 = Z E
        line (times lam):  lam yP  +  (-theta xP) w  +  (theta x2 - lam y2) w^3

    Factors in F_q2 (line scalings) and vertical lines (in F_q6) are dropped: the final
    exponentiation maps every element of a proper subfield to 1.  For k pairs the squaring
    of f is shared: f <- f^2 * prod_i l_i (a multi-Miller loop), followed by ONE final
    exponentiation for a product check.

Final exponentiation  (q^12 - 1)/r = (q^6 - 1)(q^2 + 1) * (q^4 - q^2 + 1)/r
    easy part: f^(q^6 - 1) = conj(f)/f, then (.)^(q^2 + 1) = frob2(.) * (.);
    hard part, "standard" convention: the exact exponent d = (q^4 - q^2 + 1)/r through
    Scott–Benger–Charlemagne–Dominguez Perez–Kachisa ("On the final exponentiation for
    calculating pairings on ordinary elliptic curves", 2009): d = l0 + l1 q + l2 q^2 + l3 q^3,
    l3 = 1, l2 = 6u^2 + 1, l1 = -36u^3 - 18u^2 - 12u + 1, l0 = -36u^3 - 30u^2 - 18u - 2,
    evaluated with three exponentiations by u and the vectorial addition chain
    y0 y1^2 y2^6 y3^12 y4^18 y5^30 y6^36.  This equals py_ecc's ``pairing`` exactly.
    "snarkjs" convention: Fuentes-Castañeda–Knapp–Rodríguez-Henríquez ("Faster hashing to
    G2", 2011) exponent m*d with m = 2u(6u^2 + 3u + 1), m*d = L0 + L1 q + L2 q^2 + L3 q^3,
    L0 = 12u^3 + 12u^2 + 6u + 1, L1 = 12u^3 + 6u^2 + 4u, L2 = 12u^3 + 6u^2 + 6u,
    L3 = 12u^3 + 6u^2 + 4u - 1.  ffjavascript (hence snarkjs' ``vk_alphabeta_12``) computes
    this power e(P, Q)^m.  m is not divisible by r, so both conventions agree on "== 1".
    Exponentiation by u uses Granger–Scott cyclotomic squarings and the signed 4-bit window
    form of u (conjugation = inversion in the cyclotomic subgroup, so f^-k costs nothing
    once f^k is known).

Layouts
    G1 array ``uint64[k, 2, 4]`` (x, y), G2 array ``uint64[k, 2, 2, 4]`` ([x, y][c0, c1]),
    Montgomery limbs, infinity = all zeros.  F_q12 array ``uint64[2, 3, 2, 4]`` (see tower).
    Python-level points are affine Python ints: G1 ``(x, y)``, G2 ``((x0, x1), (y0, y1))``
    (c0 first, as in py_ecc / snarkjs JSON); ``None`` (or all-zero coordinates) is infinity.
    Inputs are assumed to lie in G1 / G2 (the prime-order subgroups); the Python API checks
    that points are on their curves, subgroup membership of G2 is the caller's job.

API
    Python ints: :func:`pairing`, :func:`pairing_product_is_one`, :func:`fq12_to_snarkjs` /
    :func:`fq12_from_snarkjs`, :func:`snarkjs_alphabeta`.  Arrays: :func:`g1_to_array`,
    :func:`g2_to_array`, :func:`miller_loop`, :func:`final_exponentiation`,
    :func:`pairing_check_arrays`.  From other jitted code: :func:`multi_miller_loop_kernel`,
    :func:`final_exponentiation_kernel`, :func:`pairing_check_kernel`.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numba as nb
import numpy as np

from .constants import BN_X, Q, R
from .field import FQ
from .fq2 import fq2_add, fq2_conj, fq2_dbl, fq2_mul, fq2_mul_fq, fq2_neg, fq2_sqr, fq2_sub
from .points import f2_inv, f2_mul, f2_pow
from .tower import (
    FQ12_ONE,
    XI,
    Fq12Int,
    fq2_const,
    fq12_conj,
    fq12_cyclotomic_sqr,
    fq12_frobenius,
    fq12_frobenius2,
    fq12_frobenius3,
    fq12_from_strings,
    fq12_inv,
    fq12_is_one,
    fq12_load,
    fq12_mul,
    fq12_mul_line,
    fq12_pow,
    fq12_sqr,
    fq12_store,
    fq12_to_ints,
    fq12_to_strings,
    fq12_tuple_from_ints,
    fq12_tuple_to_ints,
    fq_const,
)

G1Point = Optional[tuple[int, int]]
G2Point = Optional[tuple[tuple[int, int], tuple[int, int]]]

_FQ_ONE = FQ.one
_fq_neg = FQ.neg

# ---------------------------------------------------------------------------------------------
# Constants

#: b' = 3/xi, the twist coefficient; the doubling needs 3b'.
_B_TWIST_INT = f2_mul((3, 0), f2_inv(XI))
_B3_TWIST = fq2_const(f2_mul((3, 0), _B_TWIST_INT))

#: Frobenius on the twist: pi(x, y) = (conj(x) xi^((q-1)/3), conj(y) xi^((q-1)/2)),
#: pi^2(x, y) = (x xi^((q^2-1)/3), y xi^((q^2-1)/2)).
_PI_X = fq2_const(f2_pow(XI, (Q - 1) // 3))
_PI_Y = fq2_const(f2_pow(XI, (Q - 1) // 2))
_PI2_X = fq2_const(f2_pow(XI, (Q * Q - 1) // 3))
_PI2_Y = fq2_const(f2_pow(XI, (Q * Q - 1) // 2))


def naf(n: int) -> list[int]:
    """Non-adjacent form of n > 0, most significant digit first (digits in {-1, 0, 1})."""
    return wnaf(n, 2)


def wnaf(n: int, width: int) -> list[int]:
    """Signed window form of n > 0, most significant digit first: odd digits of absolute
    value below 2^(width - 1), each followed by at least width - 1 zeros (width 2 is the NAF)."""
    if width < 2:
        raise ValueError("the window width must be at least 2")
    digits = []
    while n:
        if n & 1:
            d = n & ((1 << width) - 1)
            if d >= 1 << (width - 1):
                d -= 1 << width
            n -= d
        else:
            d = 0
        digits.append(d)
        n >>= 1
    return digits[::-1]


ATE_LOOP_COUNT = 6 * BN_X + 2
_ATE_NAF = np.array(naf(ATE_LOOP_COUNT), dtype=np.int8)
#: u in signed 4-bit windows: 14 non-zero digits in {±1, ±3, ±5, ±7} (the NAF has 24).
_U_WNAF = np.array(wnaf(BN_X, 4), dtype=np.int8)
assert _ATE_NAF[0] == 1 and _U_WNAF[0] > 0


# ---------------------------------------------------------------------------------------------
# Miller-loop steps


@nb.njit(cache=True)
def _dbl_step(t):
    """T -> 2T (scaled by 4) and the line coefficients (c_y, c_x, c_0) with
    line = c_y yP + (c_x xP) w + c_0 w^3; here c_x is 3J to be multiplied by -xP."""
    x, y, z = t
    a = fq2_mul(x, y)
    b = fq2_sqr(y)
    c = fq2_sqr(z)
    e = fq2_mul(c, _B3_TWIST)
    f = fq2_add(fq2_dbl(e), e)
    h = fq2_sub(fq2_sub(fq2_sqr(fq2_add(y, z)), b), c)
    j = fq2_sqr(x)
    x3 = fq2_mul(fq2_dbl(a), fq2_sub(b, f))
    e2 = fq2_sqr(e)
    e2_12 = fq2_dbl(fq2_dbl(fq2_add(fq2_dbl(e2), e2)))
    y3 = fq2_sub(fq2_sqr(fq2_add(b, f)), e2_12)
    z3 = fq2_dbl(fq2_dbl(fq2_mul(b, h)))
    j3 = fq2_add(fq2_dbl(j), j)
    return (x3, y3, z3), (h, j3, fq2_sub(b, e))


@nb.njit(cache=True)
def _add_step(t, qx, qy):
    """T + (qx, qy) (mixed) and the line coefficients (lam, theta, theta qx - lam qy); theta
    is to be multiplied by -xP."""
    x, y, z = t
    theta = fq2_sub(y, fq2_mul(qy, z))
    lam = fq2_sub(x, fq2_mul(qx, z))
    c = fq2_sqr(theta)
    d = fq2_sqr(lam)
    e = fq2_mul(lam, d)
    f = fq2_mul(z, c)
    g = fq2_mul(x, d)
    h = fq2_sub(fq2_add(e, f), fq2_dbl(g))
    x3 = fq2_mul(lam, h)
    y3 = fq2_sub(fq2_mul(theta, fq2_sub(g, h)), fq2_mul(y, e))
    z3 = fq2_mul(z, e)
    c0 = fq2_sub(fq2_mul(theta, qx), fq2_mul(lam, qy))
    return (x3, y3, z3), (lam, theta, c0)


@nb.njit(cache=True)
def _apply_line(f, line, yp, nxp):
    """f * (c_y yP + (c_x (-xP)) w + c_0 w^3)."""
    return fq12_mul_line(f, fq2_mul_fq(line[0], yp), fq2_mul_fq(line[1], nxp), line[2])


@nb.njit(cache=True)
def _fq(a):
    return (a[0], a[1], a[2], a[3])


@nb.njit(cache=True)
def _fq2(a):
    return ((a[0, 0], a[0, 1], a[0, 2], a[0, 3]), (a[1, 0], a[1, 1], a[1, 2], a[1, 3]))


@nb.njit(cache=True)
def _is_zero_arr(a):
    acc = np.uint64(0)
    for v in a.ravel():
        acc |= v
    return acc == 0


@nb.njit(cache=True)
def multi_miller_loop_kernel(g1, g2):
    """prod_i f_i(P_i) for the optimal-ate Miller functions (without final exponentiation).

    g1: uint64[k, 2, 4], g2: uint64[k, 2, 2, 4], Montgomery, infinity = zeros (such pairs are
    skipped: they contribute 1).  Returns an F_q12 tuple.  One shared squaring of f per bit."""
    return multi_miller_loop_with_multiples(g1, g2, np.zeros((0, 3, 2, 4), dtype=np.uint64))


@nb.njit(cache=True)
def multi_miller_loop_with_multiples(g1, g2, t_out):
    """:func:`multi_miller_loop_kernel`, and (when ``t_out`` has k rows) T = [6u+2]Q_i after
    the NAF loop for each pair, in homogeneous projective coordinates (X, Y, Z), x = X/Z,
    y = Y/Z, in t_out[i] (rows of skipped pairs are left alone).  Z = 0 means the walk met
    an exceptional case (T = +-Q_i at an addition, or T = O): only a point outside G2 can
    (no multiple [k]Q, 1 < k < 6u+2 < r, of a point of order r is +-Q or O; the twist has no
    2-torsion), and every such case ends in Z = 0 (Z = 0 is absorbing in both step formulas)
    -- so Z != 0 means T is exactly [6u+2]Q_i.  In fact no twist point at all makes the walk
    exceptional (tests/test_pairing_py.py: no prefix of 6u+2 is 0 or +-1 modulo a divisor of
    the cofactor), so the Z = 0 case is a guard.  (This feeds the G2 membership test of
    :func:`zkmargin.algebra.verifier_kernels.g2_flags_from_multiples`.)"""
    k = g1.shape[0]
    idx = np.empty(k, dtype=np.int64)
    n = 0
    for i in range(k):
        if not _is_zero_arr(g1[i]) and not _is_zero_arr(g2[i]):
            idx[n] = i
            n += 1
    f = FQ12_ONE
    if n == 0:
        return f
    # per-pair state: T (projective) in tstate[p, 0..2], Q affine, yP and -xP
    tstate = np.empty((n, 3, 2, 4), dtype=np.uint64)
    for p in range(n):
        tstate[p, 0] = g2[idx[p], 0]
        tstate[p, 1] = g2[idx[p], 1]
        tstate[p, 2] = 0
        for k2 in range(4):
            tstate[p, 2, 0, k2] = _FQ_ONE[k2]
    for step in range(1, _ATE_NAF.shape[0]):
        if step > 1:
            f = fq12_sqr(f)
        digit = _ATE_NAF[step]
        for p in range(n):
            i = idx[p]
            yp = _fq(g1[i, 1])
            nxp = _fq_neg(_fq(g1[i, 0]))
            t = (_fq2(tstate[p, 0]), _fq2(tstate[p, 1]), _fq2(tstate[p, 2]))
            t, line = _dbl_step(t)
            f = _apply_line(f, line, yp, nxp)
            if digit != 0:
                qx = _fq2(g2[i, 0])
                qy = _fq2(g2[i, 1])
                if digit < 0:
                    qy = fq2_neg(qy)
                t, line = _add_step(t, qx, qy)
                f = _apply_line(f, line, yp, nxp)
            _store_point(tstate, p, t)
    if t_out.shape[0] == k:
        for p in range(n):
            t_out[idx[p]] = tstate[p]
    # the two Frobenius steps: T + pi(Q), then the line through T + pi(Q) and -pi^2(Q)
    for p in range(n):
        i = idx[p]
        yp = _fq(g1[i, 1])
        nxp = _fq_neg(_fq(g1[i, 0]))
        t = (_fq2(tstate[p, 0]), _fq2(tstate[p, 1]), _fq2(tstate[p, 2]))
        qx = _fq2(g2[i, 0])
        qy = _fq2(g2[i, 1])
        q1x = fq2_mul(fq2_conj(qx), _PI_X)
        q1y = fq2_mul(fq2_conj(qy), _PI_Y)
        q2x = fq2_mul(qx, _PI2_X)
        q2y = fq2_neg(fq2_mul(qy, _PI2_Y))
        t, line = _add_step(t, q1x, q1y)
        f = _apply_line(f, line, yp, nxp)
        t, line = _add_step(t, q2x, q2y)
        f = _apply_line(f, line, yp, nxp)
    return f


@nb.njit(cache=True)
def _store_point(tstate, p, t):
    for c in range(3):
        for e in range(2):
            for k in range(4):
                tstate[p, c, e, k] = t[c][e][k]


# ---------------------------------------------------------------------------------------------
# Final exponentiation


@nb.njit(cache=True)
def final_exp_easy(f):
    """f^((q^6 - 1)(q^2 + 1)); the result lies in the cyclotomic subgroup."""
    f1 = fq12_mul(fq12_conj(f), fq12_inv(f))
    return fq12_mul(fq12_frobenius2(f1), f1)


@nb.njit(cache=True)
def cyclotomic_exp_u(f):
    """f^u for f in the cyclotomic subgroup: Granger–Scott squarings over the signed 4-bit
    windows of u (62, and one for f^2), one multiply per non-zero digit by f^|d| or its
    conjugate f^-|d| (16 multiplies with the table f, f^3, f^5, f^7; the NAF would take 23)."""
    f2 = fq12_cyclotomic_sqr(f)
    f3 = fq12_mul(f, f2)
    f5 = fq12_mul(f3, f2)
    table = (f, f3, f5, fq12_mul(f5, f2))
    acc = table[_U_WNAF[0] >> 1]
    for i in range(1, _U_WNAF.shape[0]):
        acc = fq12_cyclotomic_sqr(acc)
        d = _U_WNAF[i]
        if d > 0:
            acc = fq12_mul(acc, table[d >> 1])
        elif d < 0:
            acc = fq12_mul(acc, fq12_conj(table[(-d) >> 1]))
    return acc


@nb.njit(cache=True)
def final_exp_hard_standard(f):
    """f^((q^4 - q^2 + 1)/r) exactly (Scott et al. 2009 chain; see the module docstring)."""
    fu = cyclotomic_exp_u(f)
    fu2 = cyclotomic_exp_u(fu)
    fu3 = cyclotomic_exp_u(fu2)
    y0 = fq12_mul(fq12_mul(fq12_frobenius(f), fq12_frobenius2(f)), fq12_frobenius3(f))
    y1 = fq12_conj(f)
    y2 = fq12_frobenius2(fu2)
    y3 = fq12_conj(fq12_frobenius(fu))
    y4 = fq12_conj(fq12_mul(fu, fq12_frobenius(fu2)))
    y5 = fq12_conj(fu2)
    y6 = fq12_conj(fq12_mul(fu3, fq12_frobenius(fu3)))
    # y0 * y1^2 * y2^6 * y3^12 * y4^18 * y5^30 * y6^36
    t0 = fq12_mul(fq12_mul(fq12_cyclotomic_sqr(y6), y4), y5)
    t1 = fq12_mul(fq12_mul(y3, y5), t0)
    t0 = fq12_mul(t0, y2)
    t1 = fq12_mul(fq12_cyclotomic_sqr(t1), t0)
    t1 = fq12_cyclotomic_sqr(t1)
    t0 = fq12_mul(t1, y1)
    t1 = fq12_mul(t1, y0)
    t0 = fq12_cyclotomic_sqr(t0)
    return fq12_mul(t0, t1)


@nb.njit(cache=True)
def final_exp_hard_snarkjs(f):
    """f^(m (q^4 - q^2 + 1)/r), m = 2u(6u^2 + 3u + 1) (Fuentes-Castañeda et al.; the value
    ffjavascript/snarkjs compute).  With a = f^(12u^3 + 6u^2 + 6u):
    L2 = a, L1 = a f^(-2u), L0 = a f^(6u^2) f, L3 = L1 / f."""
    fu = cyclotomic_exp_u(f)
    f2u = fq12_cyclotomic_sqr(fu)
    f6u = fq12_mul(fq12_cyclotomic_sqr(f2u), f2u)
    f6u2 = cyclotomic_exp_u(f6u)
    f12u3 = cyclotomic_exp_u(fq12_cyclotomic_sqr(f6u2))
    a = fq12_mul(fq12_mul(f12u3, f6u2), f6u)
    b = fq12_mul(a, fq12_conj(f2u))
    c = fq12_mul(fq12_mul(a, f6u2), f)
    d = fq12_mul(b, fq12_conj(f))
    return fq12_mul(fq12_mul(c, fq12_frobenius(b)),
                    fq12_mul(fq12_frobenius2(a), fq12_frobenius3(d)))


@nb.njit(cache=True)
def final_exponentiation_kernel(f, snarkjs):
    """f^((q^12 - 1)/r) (snarkjs=False) or that value to the power m (snarkjs=True)."""
    g = final_exp_easy(f)
    if snarkjs:
        return final_exp_hard_snarkjs(g)
    return final_exp_hard_standard(g)


@nb.njit(cache=True)
def pairing_check_kernel(g1, g2):
    """True iff prod_i e(P_i, Q_i) == 1: one multi-Miller loop, one final exponentiation."""
    f = multi_miller_loop_kernel(g1, g2)
    return fq12_is_one(final_exponentiation_kernel(f, False))


_MODE_MILLER, _MODE_STANDARD, _MODE_SNARKJS = 0, 1, 2


@nb.njit(cache=True)
def _pairing_entry(g1, g2, mode, out):
    """The single Python-facing pairing kernel (one compilation serves every API call):
    Miller loop, then (unless mode is _MODE_MILLER) the final exponentiation in the chosen
    convention; writes the F_q12 result to ``out`` and returns whether it is 1."""
    f = multi_miller_loop_kernel(g1, g2)
    if mode != _MODE_MILLER:
        f = final_exponentiation_kernel(f, mode == _MODE_SNARKJS)
    fq12_store(out, f)
    return fq12_is_one(f)


@nb.njit(cache=True)
def _final_exp_array(f_arr, snarkjs, out):
    fq12_store(out, final_exponentiation_kernel(fq12_load(f_arr), snarkjs))


# ---------------------------------------------------------------------------------------------
# Array API


def _check_arrays(g1: np.ndarray, g2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g1 = np.ascontiguousarray(g1, dtype=np.uint64)
    g2 = np.ascontiguousarray(g2, dtype=np.uint64)
    if g1.ndim != 3 or g1.shape[1:] != (2, 4):
        raise ValueError(f"G1 array must have shape (k, 2, 4), got {g1.shape}")
    if g2.ndim != 4 or g2.shape[1:] != (2, 2, 4):
        raise ValueError(f"G2 array must have shape (k, 2, 2, 4), got {g2.shape}")
    if g1.shape[0] != g2.shape[0]:
        raise ValueError(f"{g1.shape[0]} G1 points but {g2.shape[0]} G2 points")
    return g1, g2


def miller_loop(g1: np.ndarray, g2: np.ndarray) -> np.ndarray:
    """Product of the Miller functions of k pairs (Montgomery arrays, see module docstring);
    returns an F_q12 array uint64[2, 3, 2, 4] (Montgomery), not yet exponentiated."""
    g1, g2 = _check_arrays(g1, g2)
    out = np.empty((2, 3, 2, 4), dtype=np.uint64)
    _pairing_entry(g1, g2, _MODE_MILLER, out)
    return out


def final_exponentiation(f: np.ndarray, convention: str = "standard") -> np.ndarray:
    """Raise an F_q12 array to (q^12 - 1)/r ("standard", as py_ecc) or to m times that
    ("snarkjs", as ffjavascript); returns a new uint64[2, 3, 2, 4] array."""
    out = np.empty((2, 3, 2, 4), dtype=np.uint64)
    _final_exp_array(np.ascontiguousarray(f, dtype=np.uint64), _snarkjs_flag(convention), out)
    return out


def pairing_check_arrays(g1: np.ndarray, g2: np.ndarray) -> bool:
    """True iff prod_i e(P_i, Q_i) == 1 for Montgomery point arrays (shared final exp)."""
    g1, g2 = _check_arrays(g1, g2)
    return bool(_pairing_entry(g1, g2, _MODE_STANDARD, np.empty((2, 3, 2, 4), dtype=np.uint64)))


def _snarkjs_flag(convention: str) -> bool:
    if convention not in ("standard", "snarkjs"):
        raise ValueError(f"convention must be 'standard' or 'snarkjs', got {convention!r}")
    return convention == "snarkjs"


# ---------------------------------------------------------------------------------------------
# Python-int API


def _is_inf_g1(p: G1Point) -> bool:
    return p is None or (int(p[0]) == 0 and int(p[1]) == 0)


def _is_inf_g2(p: G2Point) -> bool:
    return p is None or all(int(c) == 0 for coord in p for c in coord)


def _check_g1(p: tuple[int, int]) -> None:
    x, y = int(p[0]), int(p[1])
    if not (0 <= x < Q and 0 <= y < Q) or (y * y - x * x * x - 3) % Q:
        raise ValueError(f"G1 point is not on y^2 = x^3 + 3: {p}")


def _check_g2(p: tuple[tuple[int, int], tuple[int, int]]) -> None:
    x = (int(p[0][0]), int(p[0][1]))
    y = (int(p[1][0]), int(p[1][1]))
    if not all(0 <= c < Q for c in (*x, *y)):
        raise ValueError(f"G2 coordinate out of range: {p}")
    lhs = f2_mul(y, y)
    rhs = f2_mul(f2_mul(x, x), x)
    rhs = ((rhs[0] + _B_TWIST_INT[0]) % Q, (rhs[1] + _B_TWIST_INT[1]) % Q)
    if lhs != rhs:
        raise ValueError(f"G2 point is not on the twist y^2 = x^3 + 3/(9+u): {p}")


def g1_to_array(points: Sequence[G1Point], check: bool = True) -> np.ndarray:
    """Affine G1 points (Python ints, None = infinity) -> uint64[k, 2, 4] Montgomery."""
    out = np.zeros((len(points), 2, 4), dtype=np.uint64)
    for i, p in enumerate(points):
        if _is_inf_g1(p):
            continue
        if check:
            _check_g1(p)  # type: ignore[arg-type]
        out[i, 0] = fq_const(int(p[0]))  # type: ignore[index]
        out[i, 1] = fq_const(int(p[1]))  # type: ignore[index]
    return out


def g2_to_array(points: Sequence[G2Point], check: bool = True) -> np.ndarray:
    """Affine G2 points ((x0, x1), (y0, y1)) (None = infinity) -> uint64[k, 2, 2, 4]."""
    out = np.zeros((len(points), 2, 2, 4), dtype=np.uint64)
    for i, p in enumerate(points):
        if _is_inf_g2(p):
            continue
        if check:
            _check_g2(p)  # type: ignore[arg-type]
        for c in range(2):
            out[i, c] = fq2_const((int(p[c][0]), int(p[c][1])))  # type: ignore[index]
    return out


def pairing(p: G1Point, q: G2Point, convention: str = "standard") -> Fq12Int:
    """e(P, Q) as nested canonical ints ((c00, c01, c02), (c10, c11, c12)), c_ij = (re, im),
    value = sum c_ij w^(2j+i) in the tower F_q12 = F_q6[w]/(w^2 - v) (see tower).

    ``convention="standard"``: f^((q^12-1)/r), equal to py_ecc's pairing after the basis
    change :func:`zkmargin.algebra.tower.fq12_to_py_ecc_coeffs`.  ``"snarkjs"``: the
    ffjavascript value, e(P, Q)^(2u(6u^2+3u+1)) (what ``vk_alphabeta_12`` holds; see also
    :func:`fq12_to_snarkjs`, which converts a standard value).
    An infinity argument gives 1."""
    mode = _MODE_SNARKJS if _snarkjs_flag(convention) else _MODE_STANDARD
    out = np.empty((2, 3, 2, 4), dtype=np.uint64)
    _pairing_entry(g1_to_array([p]), g2_to_array([q]), mode, out)
    return fq12_to_ints(out)


def pairing_product_is_one(pairs: Sequence[tuple[G1Point, G2Point]]) -> bool:
    """prod_i e(P_i, Q_i) == 1, with one multi-Miller loop and one final exponentiation.
    Pairs with an infinity point contribute 1; an empty product is 1."""
    g1 = g1_to_array([p for p, _ in pairs])
    g2 = g2_to_array([q for _, q in pairs])
    return pairing_check_arrays(g1, g2)


#: ffjavascript's pairing is e^M with M = 2u(6u^2 + 3u + 1) (see the module docstring).
SNARKJS_EXPONENT = 2 * BN_X * (6 * BN_X * BN_X + 3 * BN_X + 1)


def gt_pow(value: Fq12Int, e: int) -> Fq12Int:
    """value^e for a nested-int F_q12 value and 0 <= e < 2^256 (compiled square-and-multiply)."""
    if not 0 <= e < 1 << 256:
        raise ValueError("exponent out of range")
    limbs = tuple(np.uint64((e >> (64 * i)) & 0xFFFFFFFFFFFFFFFF) for i in range(4))
    return fq12_tuple_to_ints(fq12_pow(fq12_tuple_from_ints(value), limbs))


def fq12_to_snarkjs(value: Fq12Int, convention: str = "standard") -> list:
    """The nested decimal strings snarkjs writes for the same pairing value
    (``vk_alphabeta_12`` in verification_key.json).

    ``value`` is taken to be a pairing value in ``convention``: for "standard" (the default,
    what :func:`pairing` returns) it is raised to ``SNARKJS_EXPONENT`` first, so that
    ``fq12_to_snarkjs(pairing(alpha, beta))`` equals snarkjs' ``vk_alphabeta_12``; for
    "snarkjs" it is only formatted.  (x -> x^M is an automorphism of G_T, r does not divide M.)"""
    if _snarkjs_flag(convention):
        return fq12_to_strings(value)
    return fq12_to_strings(gt_pow(value, SNARKJS_EXPONENT))


def fq12_from_snarkjs(obj: Sequence, convention: str = "standard") -> Fq12Int:
    """Inverse of :func:`fq12_to_snarkjs`: parse snarkjs' strings; for "standard" also undo
    the exponent (raise to M^-1 mod r; valid for elements of G_T such as vk_alphabeta_12)."""
    value = fq12_from_strings(obj)
    if _snarkjs_flag(convention):
        return value
    return gt_pow(value, pow(SNARKJS_EXPONENT, -1, R))


def snarkjs_alphabeta(alpha: G1Point, beta: G2Point) -> list:
    """``vk_alphabeta_12`` exactly as snarkjs writes it into verification_key.json."""
    return fq12_to_strings(pairing(alpha, beta, convention="snarkjs"))


__all__ = [
    "G1Point", "G2Point", "ATE_LOOP_COUNT", "naf", "pairing", "pairing_product_is_one",
    "snarkjs_alphabeta", "fq12_to_snarkjs", "fq12_from_snarkjs", "gt_pow", "SNARKJS_EXPONENT",
    "g1_to_array", "g2_to_array", "miller_loop", "final_exponentiation",
    "pairing_check_arrays", "multi_miller_loop_kernel", "multi_miller_loop_with_multiples",
    "final_exponentiation_kernel",
    "pairing_check_kernel", "final_exp_easy", "final_exp_hard_standard",
    "final_exp_hard_snarkjs", "cyclotomic_exp_u", "wnaf",
]
