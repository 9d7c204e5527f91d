"""Pure-Python optimal-ate pairing on BN254 (plain ints: no numba, no numpy).

The compiled pairing (:mod:`zkmargin.algebra.pairing`) is far faster per pairing, but
importing numba and loading its cache costs about a second; a one-shot Groth16 verification
needs four pairings and is done here in a few tens of milliseconds of plain Python instead.
The math is the same as the compiled version (see that module and
:mod:`zkmargin.algebra.tower` for the references):

Tower
    F_q2 = F_q[u]/(u^2 + 1),  F_q6 = F_q2[v]/(v^3 - xi), xi = 9 + u,  F_q12 = F_q6[w]/(w^2 - v).
    Representation: an F_q2 value is two ints (re, im); an F_q6 value is a flat 6-tuple
    (a0.re, a0.im, a1.re, a1.im, a2.re, a2.im) = a0 + a1 v + a2 v^2; an F_q12 value is a pair
    (g, h) of F_q6 tuples, g + h w.  Stored ints are reduced to [0, q).

Lazy reduction
    Inside each F_q6 operation the F_q2 products, their Karatsuba combinations and the
    multiplication by xi are done on unreduced Python ints (about 2^512); each output
    coefficient is reduced mod q exactly once.  An F_q6 multiply thus costs 24 integer
    multiplications and 6 reductions.

Miller loop (precomputed, normalised lines)
    For Q on the twist E': y^2 = x^3 + 3/xi and T a multiple of Q, the line through T with
    slope lam (tangent for doubling, chord for addition), untwisted by (x, y) -> (x w^2, y w^3)
    and evaluated at P = (xP, yP) in G1, is

        yP - lam xP w + (lam xT - yT) w^3.

    Dividing by yP (an F_q factor, killed by the final exponentiation) gives the sparse
    element 1 + (b0 + b1 v) w with b0 = lam * (-xP/yP), b1 = (lam xT - yT) * (1/yP).  The
    pairs (lam, lam xT - yT) depend only on Q: :func:`prepare_g2` computes them once and
    caches them per point, so verifying many proofs under one key reuses the lines of gamma,
    delta and beta.  T is walked in homogeneous projective coordinates (the formulas of the
    compiled pairing, which give each line up to an F_q2 factor c_y); all lines are then
    normalised with a single inversion (Montgomery's trick).  Multiplying f by a line costs
    10 F_q2 multiplies.  The loop walks the NAF of 6u + 2 and ends with the two Frobenius
    lines through pi(Q) and -pi^2(Q); the squaring of f is shared by all pairs.

Final exponentiation  (q^12 - 1)/r = (q^6 - 1)(q^2 + 1) (q^4 - q^2 + 1)/r
    Easy part conj(f)/f then frob2(.) * (.); hard part with the Scott et al. (2009) chain
    (three exponentiations by u with Granger–Scott cyclotomic squarings), exactly as the
    compiled "standard" convention, so :func:`pairing_py` equals
    :func:`zkmargin.algebra.pairing.pairing` value for value.

G2 subgroup membership
    psi = untwist o Frobenius o twist is a group endomorphism of E'(F_q2) that acts on G2 as
    multiplication by q = 6u^2 (mod r).  Q is in G2 iff

        [u + 1]Q + psi([u]Q) + psi^2([u]Q) = psi^3([2u]Q)

    (Dai, Lin, Zhao, Zhou, ePrint 2022/348, for BN curves whose seed u avoids 4 mod 13 and
    92 mod 97; BN254's u is 0 mod 13 and 49 mod 97): one 63-bit scalar multiplication [u]Q,
    about half the work of the older test psi(Q) = [6u^2]Q (127 bits).  Why it is exact here:
    the map T = [u+1] + psi[u] + psi^2[u] - psi^3[2u] is a group endomorphism that vanishes on
    G2 (on G2 it is u + 1 + u q + u q^2 - 2u q^3 = 0 mod r).  #E'(F_q2) = r h with
    h = 2q - r = 10069 * 5864401 * 1875725156269 * p_178 (four distinct primes, none r), so
    E'(F_q2) = G2 x H with H cyclic and T maps H into H; T is injective on H iff it moves a
    point of order p for each of the four primes p, which ``tests/test_pairing_py.py`` checks
    on explicit points.  So T(Q) = O exactly when Q is in G2 (:func:`g2_in_subgroup_fast`).

API
    :func:`pairing_product_is_one_py` (same semantics as the compiled
    ``pairing_product_is_one``), :func:`pairing_py`, :func:`prepare_g2`,
    :func:`miller_loop_py`, :func:`final_exponentiation_py`, :func:`g2_in_subgroup_fast`.
"""

from __future__ import annotations

from typing import Sequence

from .constants import BN_X, Q
from .points import G1Point, G2Point, g2_add
from .points import f2_add as _f2_add
from .points import f2_inv as _f2_inv
from .points import f2_mul as _f2_mul
from .points import f2_pow as _f2_pow

Fq6 = tuple[int, int, int, int, int, int]
Fq12 = tuple[Fq6, Fq6]

# ---------------------------------------------------------------------------------------------
# F_q2 helpers for constants and point arithmetic (not in the hot loops)


XI = (9, 1)
#: b' = 3/xi, the twist coefficient (and 3b' for the projective doubling).
B_TWIST = _f2_mul((3, 0), _f2_inv(XI))
_B3_TWIST = (3 * B_TWIST[0] % Q, 3 * B_TWIST[1] % Q)

# Frobenius coefficients gamma_{k,e} = xi^(e (q^k - 1)/6) for the coefficient of w^e.  One
# exponentiation: with g = xi^((q-1)/6) and x^q = conj(x) on F_q2,
#   gamma_{2,1} = g^(1+q) = g conj(g) (in F_q),  gamma_{3,1} = g^(1+q+q^2) = g gamma_{2,1},
# and gamma_{k,e} = gamma_{k,1}^e.
_G1 = _f2_pow(XI, (Q - 1) // 6)
_G2 = _f2_mul(_G1, (_G1[0], -_G1[1] % Q))
_G3 = _f2_mul(_G1, _G2)
assert _G2[1] == 0
_GAMMA1 = [_f2_pow(_G1, e) for e in range(6)]
_GAMMA2 = [_f2_pow(_G2, e)[0] for e in range(6)]  # these lie in F_q
_GAMMA3 = [_f2_pow(_G3, e) for e in range(6)]

# Frobenius on the twist: pi(x, y) = (conj(x) xi^((q-1)/3), conj(y) xi^((q-1)/2)) and
# pi^2(x, y) = (x xi^((q^2-1)/3), y xi^((q^2-1)/2)).
_PI_X, _PI_Y = _GAMMA1[2], _GAMMA1[3]
_PI2_X, _PI2_Y = (_GAMMA2[2], 0), (_GAMMA2[3], 0)


def naf(n: int) -> list[int]:
    """Non-adjacent form of n > 0, most significant digit first (digits in {-1, 0, 1})."""
    digits = []
    while n:
        d = 2 - (n & 3) if n & 1 else 0
        n -= d
        digits.append(d)
        n >>= 1
    return digits[::-1]


ATE_LOOP_COUNT = 6 * BN_X + 2
_ATE_NAF = naf(ATE_LOOP_COUNT)
_U_NAF = naf(BN_X)

# ---------------------------------------------------------------------------------------------
# F_q6 = F_q2[v]/(v^3 - xi) on flat 6-tuples; xi (r + i u) = (9r - i) + (r + 9i) u


def f6_mul(a: Fq6, b: Fq6) -> Fq6:
    """Karatsuba over F_q2: v_k = a_k b_k,
    c0 = v0 + xi((a1 + a2)(b1 + b2) - v1 - v2), c1 = (a0 + a1)(b0 + b1) - v0 - v1 + xi v2,
    c2 = (a0 + a2)(b0 + b2) - v0 - v2 + v1.  Unreduced until the six outputs."""
    a0, a1, a2, a3, a4, a5 = a
    b0, b1, b2, b3, b4, b5 = b
    v0r = a0 * b0 - a1 * b1
    v0i = a0 * b1 + a1 * b0
    v1r = a2 * b2 - a3 * b3
    v1i = a2 * b3 + a3 * b2
    v2r = a4 * b4 - a5 * b5
    v2i = a4 * b5 + a5 * b4
    x0, x1, y0, y1 = a2 + a4, a3 + a5, b2 + b4, b3 + b5
    tr = x0 * y0 - x1 * y1 - v1r - v2r
    ti = x0 * y1 + x1 * y0 - v1i - v2i
    c0r = v0r + 9 * tr - ti
    c0i = v0i + tr + 9 * ti
    x0, x1, y0, y1 = a0 + a2, a1 + a3, b0 + b2, b1 + b3
    c1r = x0 * y0 - x1 * y1 - v0r - v1r + 9 * v2r - v2i
    c1i = x0 * y1 + x1 * y0 - v0i - v1i + v2r + 9 * v2i
    x0, x1, y0, y1 = a0 + a4, a1 + a5, b0 + b4, b1 + b5
    c2r = x0 * y0 - x1 * y1 - v0r - v2r + v1r
    c2i = x0 * y1 + x1 * y0 - v0i - v2i + v1i
    return (c0r % Q, c0i % Q, c1r % Q, c1i % Q, c2r % Q, c2i % Q)


def f6_mul_01(a: Fq6, b0: int, b1: int, b2: int, b3: int) -> Fq6:
    """a * (B0 + B1 v) with B0 = b0 + b1 u, B1 = b2 + b3 u (sparse, 5 F_q2 multiplies):
    (a0 B0 + xi a2 B1) + ((a0 + a1)(B0 + B1) - a0 B0 - a1 B1) v + (a1 B1 + a2 B0) v^2."""
    a0, a1, a2, a3, a4, a5 = a
    t0r = a0 * b0 - a1 * b1
    t0i = a0 * b1 + a1 * b0
    t1r = a2 * b2 - a3 * b3
    t1i = a2 * b3 + a3 * b2
    sr = a4 * b2 - a5 * b3
    si = a4 * b3 + a5 * b2
    x0, x1, y0, y1 = a0 + a2, a1 + a3, b0 + b2, b1 + b3
    c1r = x0 * y0 - x1 * y1 - t0r - t1r
    c1i = x0 * y1 + x1 * y0 - t0i - t1i
    c2r = t1r + a4 * b0 - a5 * b1
    c2i = t1i + a4 * b1 + a5 * b0
    return ((t0r + 9 * sr - si) % Q, (t0i + sr + 9 * si) % Q, c1r % Q, c1i % Q, c2r % Q, c2i % Q)


def f6_sub(a: Fq6, b: Fq6) -> Fq6:
    return tuple((x - y) % Q for x, y in zip(a, b))  # type: ignore[return-value]


def f6_neg(a: Fq6) -> Fq6:
    return tuple(-x % Q for x in a)  # type: ignore[return-value]


def f6_mul_v(a: Fq6) -> Fq6:
    """a v = xi a2 + a0 v + a1 v^2."""
    r, i = a[4], a[5]
    return ((9 * r - i) % Q, (r + 9 * i) % Q, a[0], a[1], a[2], a[3])


def f6_inv(a: Fq6) -> Fq6:
    """t0 = a0^2 - xi a1 a2, t1 = xi a2^2 - a0 a1, t2 = a1^2 - a0 a2,
    N = a0 t0 + xi (a2 t1 + a1 t2) in F_q2;  a^-1 = (t0 + t1 v + t2 v^2) / N."""
    A0, A1, A2 = (a[0], a[1]), (a[2], a[3]), (a[4], a[5])

    def xi(x):
        return ((9 * x[0] - x[1]) % Q, (x[0] + 9 * x[1]) % Q)

    def sub(x, y):
        return ((x[0] - y[0]) % Q, (x[1] - y[1]) % Q)

    t0 = sub(_f2_mul(A0, A0), xi(_f2_mul(A1, A2)))
    t1 = sub(xi(_f2_mul(A2, A2)), _f2_mul(A0, A1))
    t2 = sub(_f2_mul(A1, A1), _f2_mul(A0, A2))
    s = _f2_mul(A2, t1)
    s2 = _f2_mul(A1, t2)
    n = _f2_mul(A0, t0)
    n = ((n[0] + xi((s[0] + s2[0], s[1] + s2[1]))[0]) % Q,
         (n[1] + xi((s[0] + s2[0], s[1] + s2[1]))[1]) % Q)
    ni = _f2_inv(n)
    return (*_f2_mul(t0, ni), *_f2_mul(t1, ni), *_f2_mul(t2, ni))  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# F_q12 = F_q6[w]/(w^2 - v): pairs (g, h) = g + h w

F12_ONE: Fq12 = ((1, 0, 0, 0, 0, 0), (0, 0, 0, 0, 0, 0))


def f12_mul(a: Fq12, b: Fq12) -> Fq12:
    """Karatsuba: t0 = g g', t1 = h h'; (g + h w)(g' + h' w) = (t0 + v t1) + ((g + h)(g' + h')
    - t0 - t1) w."""
    g, h = a
    g2, h2 = b
    t0 = f6_mul(g, g2)
    t1 = f6_mul(h, h2)
    s = f6_mul(tuple(x + y for x, y in zip(g, h)), tuple(x + y for x, y in zip(g2, h2)))
    r, i = t1[4], t1[5]
    c0 = ((t0[0] + 9 * r - i) % Q, (t0[1] + r + 9 * i) % Q, (t0[2] + t1[0]) % Q,
          (t0[3] + t1[1]) % Q, (t0[4] + t1[2]) % Q, (t0[5] + t1[3]) % Q)
    c1 = tuple((x - y - z) % Q for x, y, z in zip(s, t0, t1))
    return (c0, c1)  # type: ignore[return-value]


def f12_sqr(a: Fq12) -> Fq12:
    """Complex squaring: m = g h; (g + h w)^2 = ((g + h)(g + v h) - m - v m) + 2m w."""
    g, h = a
    m = f6_mul(g, h)
    hv = f6_mul_v(h)
    t = f6_mul(tuple(x + y for x, y in zip(g, h)), tuple(x + y for x, y in zip(g, hv)))
    mv = f6_mul_v(m)
    c0 = tuple((x - y - z) % Q for x, y, z in zip(t, m, mv))
    c1 = tuple(2 * x % Q for x in m)
    return (c0, c1)  # type: ignore[return-value]


def f12_mul_line(f: Fq12, b0: int, b1: int, b2: int, b3: int) -> Fq12:
    """f * (1 + (B0 + B1 v) w), B0 = b0 + b1 u, B1 = b2 + b3 u (a normalised Miller line):
    (g + h w)(1 + B w) = (g + v hB) + (h + gB) w.  10 F_q2 multiplies."""
    g, h = f
    hb = f6_mul_01(h, b0, b1, b2, b3)
    gb = f6_mul_01(g, b0, b1, b2, b3)
    r, i = hb[4], hb[5]
    c0 = ((g[0] + 9 * r - i) % Q, (g[1] + r + 9 * i) % Q, (g[2] + hb[0]) % Q,
          (g[3] + hb[1]) % Q, (g[4] + hb[2]) % Q, (g[5] + hb[3]) % Q)
    c1 = ((h[0] + gb[0]) % Q, (h[1] + gb[1]) % Q, (h[2] + gb[2]) % Q,
          (h[3] + gb[3]) % Q, (h[4] + gb[4]) % Q, (h[5] + gb[5]) % Q)
    return (c0, c1)


def f12_conj(a: Fq12) -> Fq12:
    """x^(q^6): g + h w -> g - h w (the inverse in the cyclotomic subgroup)."""
    return (a[0], f6_neg(a[1]))


def f12_inv(a: Fq12) -> Fq12:
    """(g + h w)^-1 = (g - h w)/(g^2 - v h^2)."""
    g, h = a
    d = f6_sub(f6_mul(g, g), f6_mul_v(f6_mul(h, h)))
    di = f6_inv(d)
    return (f6_mul(g, di), f6_neg(f6_mul(h, di)))


def _frob_coeffs(a: Fq12, gammas, conjugate: bool) -> Fq12:
    """Multiply the coefficient of w^e (g_j at e = 2j, h_j at e = 2j + 1) by gammas[e],
    after conjugating it when ``conjugate`` (odd powers of the q-Frobenius)."""
    out = []
    for part, base in ((a[0], 0), (a[1], 1)):
        coeffs = []
        for j in range(3):
            re, im = part[2 * j], part[2 * j + 1]
            if conjugate:
                im = -im
            gm = gammas[2 * j + base]
            if isinstance(gm, int):
                coeffs += [re * gm % Q, im * gm % Q]
            else:
                coeffs += [(re * gm[0] - im * gm[1]) % Q, (re * gm[1] + im * gm[0]) % Q]
        out.append(tuple(coeffs))
    return (out[0], out[1])  # type: ignore[return-value]


def f12_frobenius(a: Fq12) -> Fq12:
    """x^q."""
    return _frob_coeffs(a, _GAMMA1, True)


def f12_frobenius2(a: Fq12) -> Fq12:
    """x^(q^2) (gamma_{2,e} in F_q, no conjugation)."""
    return _frob_coeffs(a, _GAMMA2, False)


def f12_frobenius3(a: Fq12) -> Fq12:
    """x^(q^3)."""
    return _frob_coeffs(a, _GAMMA3, True)


def f12_cyclotomic_sqr(a: Fq12) -> Fq12:
    """Granger–Scott squaring for x with x^(q^4 - q^2 + 1) = 1.  Over F_q4 = F_q2[s]/(s^2 - xi),
    s = w^3: x = A0 + A1 w + A2 w^2 with A0 = g0 + h1 s, A1 = h0 + g2 s, A2 = g1 + h2 s, and
    x^2 = (3 A0^2 - 2 conj A0) + (3 s A2^2 + 2 conj A1) w + (3 A1^2 - 2 conj A2) w^2,
    conj(a + b s) = a - b s.  (x + y s)^2 = (x^2 + xi y^2) + 2xy s: 6 F_q2 products each."""
    g0r, g0i, g1r, g1i, g2r, g2i = a[0]
    h0r, h0i, h1r, h1i, h2r, h2i = a[1]

    def fq4_sqr(xr, xi_, yr, yi):
        """(x + y s)^2 unreduced: (x^2 + xi y^2, 2 x y)."""
        x2r = (xr + xi_) * (xr - xi_)
        x2i = 2 * xr * xi_
        y2r = (yr + yi) * (yr - yi)
        y2i = 2 * yr * yi
        return (x2r + 9 * y2r - y2i, x2i + y2r + 9 * y2i,
                2 * (xr * yr - xi_ * yi), 2 * (xr * yi + xi_ * yr))

    a00r, a00i, a01r, a01i = fq4_sqr(g0r, g0i, h1r, h1i)   # A0^2
    a10r, a10i, a11r, a11i = fq4_sqr(h0r, h0i, g2r, g2i)   # A1^2
    a20r, a20i, a21r, a21i = fq4_sqr(g1r, g1i, h2r, h2i)   # A2^2
    # s A2^2 = xi a21 + a20 s
    s0r, s0i = 9 * a21r - a21i, a21r + 9 * a21i
    return ((
        (3 * a00r - 2 * g0r) % Q, (3 * a00i - 2 * g0i) % Q,   # g0' = 3 a00 - 2 g0
        (3 * a10r - 2 * g1r) % Q, (3 * a10i - 2 * g1i) % Q,   # g1' = 3 a10 - 2 g1
        (3 * a20r - 2 * g2r) % Q, (3 * a20i - 2 * g2i) % Q,   # g2' = 3 a20 - 2 g2
    ), (
        (3 * s0r + 2 * h0r) % Q, (3 * s0i + 2 * h0i) % Q,     # h0' = 3 xi a21 + 2 h0
        (3 * a01r + 2 * h1r) % Q, (3 * a01i + 2 * h1i) % Q,   # h1' = 3 a01 + 2 h1
        (3 * a11r + 2 * h2r) % Q, (3 * a11i + 2 * h2i) % Q,   # h2' = 3 a11 + 2 h2
    ))


def f12_is_one(a: Fq12) -> bool:
    return a == F12_ONE


# ---------------------------------------------------------------------------------------------
# Precomputed Miller lines of a G2 point


class PreparedG2:
    """The Miller-loop line coefficients of one G2 point Q: for each line, in loop order,
    (lam.re, lam.im, c.re, c.im) with c = lam xT - yT (see the module docstring).
    ``lines`` is empty for the point at infinity."""

    __slots__ = ("point", "lines")

    def __init__(self, point: G2Point, lines: list[tuple[int, int, int, int]]):
        self.point = point
        self.lines = lines

    def __repr__(self) -> str:
        return f"PreparedG2({len(self.lines)} lines)"


def _f2_neg(a):
    return (-a[0] % Q, -a[1] % Q)


def _m2(a0, a1, b0, b1):
    """(a0 + a1 u)(b0 + b1 u), reduced."""
    return (a0 * b0 - a1 * b1) % Q, (a0 * b1 + a1 * b0) % Q


def _proj_double(t):
    """2T for T = (X0, X1, Y0, Y1, Z0, Z1) homogeneous projective on the twist (x = X/Z,
    y = Y/Z), all outputs scaled by 4 (Costello–Lange–Naehrig / Aranha et al.):
    A = XY, B = Y^2, C = Z^2, E = 3b'C, F = 3E, H = (Y + Z)^2 - B - C, J = X^2;
    X3 = 2A(B - F), Y3 = (B + F)^2 - 12E^2, Z3 = 4BH.  The tangent, times the F_q2 factor
    2yZ^2, is H yP - 3J xP w + (B - E) w^3: returned as (c_y, c_x, c_0) = (H, 3J, B - E)."""
    x0, x1, y0, y1, z0, z1 = t
    a0, a1 = _m2(x0, x1, y0, y1)
    b0, b1 = (y0 + y1) * (y0 - y1) % Q, 2 * y0 * y1 % Q
    c0, c1 = (z0 + z1) * (z0 - z1) % Q, 2 * z0 * z1 % Q
    e0, e1 = _m2(c0, c1, *_B3_TWIST)
    f0, f1 = 3 * e0, 3 * e1
    s0, s1 = y0 + z0, y1 + z1
    h0, h1 = ((s0 + s1) * (s0 - s1) - b0 - c0) % Q, (2 * s0 * s1 - b1 - c1) % Q
    j0, j1 = (x0 + x1) * (x0 - x1) % Q, 2 * x0 * x1 % Q
    nx0, nx1 = _m2(2 * a0, 2 * a1, b0 - f0, b1 - f1)
    g0, g1 = b0 + f0, b1 + f1
    ny0 = ((g0 + g1) * (g0 - g1) - 12 * ((e0 + e1) * (e0 - e1))) % Q
    ny1 = (2 * g0 * g1 - 24 * e0 * e1) % Q
    nz0, nz1 = _m2(4 * b0, 4 * b1, h0, h1)
    return (nx0, nx1, ny0, ny1, nz0, nz1), (h0, h1, 3 * j0, 3 * j1, b0 - e0, b1 - e1)


def _proj_add(t, p):
    """T + P for P = (x0, x1, y0, y1) affine (mixed addition):
    theta = Y - y2 Z, lam = X - x2 Z, C = theta^2, D = lam^2, E = lam D, F = Z C, G = X D,
    H = E + F - 2G;  X3 = lam H, Y3 = theta (G - H) - Y E, Z3 = Z E.  The chord, times lam,
    is lam yP - theta xP w + (theta x2 - lam y2) w^3: (c_y, c_x, c_0) = (lam, theta, ...)."""
    x0, x1, y0, y1, z0, z1 = t
    px0, px1, py0, py1 = p
    m0, m1 = _m2(py0, py1, z0, z1)
    th0, th1 = (y0 - m0) % Q, (y1 - m1) % Q
    m0, m1 = _m2(px0, px1, z0, z1)
    la0, la1 = (x0 - m0) % Q, (x1 - m1) % Q
    c0, c1 = (th0 + th1) * (th0 - th1) % Q, 2 * th0 * th1 % Q
    d0, d1 = (la0 + la1) * (la0 - la1) % Q, 2 * la0 * la1 % Q
    e0, e1 = _m2(la0, la1, d0, d1)
    f0, f1 = _m2(z0, z1, c0, c1)
    g0, g1 = _m2(x0, x1, d0, d1)
    h0, h1 = e0 + f0 - 2 * g0, e1 + f1 - 2 * g1
    nx0, nx1 = _m2(la0, la1, h0, h1)
    u0, u1 = _m2(th0, th1, g0 - h0, g1 - h1)
    v0, v1 = _m2(y0, y1, e0, e1)
    nz0, nz1 = _m2(z0, z1, e0, e1)
    k0, k1 = _m2(th0, th1, px0, px1)
    l0, l1 = _m2(la0, la1, py0, py1)
    return ((nx0, nx1, (u0 - v0) % Q, (u1 - v1) % Q, nz0, nz1),
            (la0, la1, th0, th1, k0 - l0, k1 - l1))


def _normalise_lines(raw) -> list[tuple[int, int, int, int]]:
    """(c_y, c_x, c_0) -> (lam, c) = (c_x / c_y, c_0 / c_y) for every line, with one F_q
    inversion in all (Montgomery's trick on the norms |c_y|^2 = c_y conj(c_y))."""
    norms = [(l[0] * l[0] + l[1] * l[1]) % Q for l in raw]
    prefix = [1]
    for n in norms:
        if n == 0:
            raise ValueError("degenerate Miller-loop step (G2 point not in the subgroup?)")
        prefix.append(prefix[-1] * n % Q)
    inv = pow(prefix[-1], -1, Q)
    out = [None] * len(raw)
    for i in range(len(raw) - 1, -1, -1):
        ni = inv * prefix[i] % Q          # 1 / norms[i]
        inv = inv * norms[i] % Q
        cy0, cy1, cx0, cx1, k0, k1 = raw[i]
        i0, i1 = cy0 * ni % Q, -cy1 * ni % Q   # 1 / c_y = conj(c_y) / |c_y|^2
        out[i] = (*_m2(cx0, cx1, i0, i1), *_m2(k0, k1, i0, i1))
    return out  # type: ignore[return-value]


def _compute_lines(q) -> list[tuple[int, int, int, int]]:
    """Lines of the Miller loop for Q in loop order: a tangent per NAF digit of 6u + 2
    (after the first), a chord with +-Q after each non-zero digit, then the chords with
    pi(Q) and -pi^2(Q).  T is projective; the lines are normalised at the end."""
    (x0, x1), (y0, y1) = q
    pos = (x0, x1, y0, y1)
    neg = (x0, x1, -y0 % Q, -y1 % Q)
    raw = []
    t = (x0, x1, y0, y1, 1, 0)
    for digit in _ATE_NAF[1:]:
        t, line = _proj_double(t)
        raw.append(line)
        if digit:
            t, line = _proj_add(t, pos if digit > 0 else neg)
            raw.append(line)
    q1x, q1y = _f2_mul(_conj(q[0]), _PI_X), _f2_mul(_conj(q[1]), _PI_Y)
    q2x, q2y = _f2_mul(q[0], _PI2_X), _f2_neg(_f2_mul(q[1], _PI2_Y))
    t, line = _proj_add(t, (*q1x, *q1y))
    raw.append(line)
    raw.append(_proj_add(t, (*q2x, *q2y))[1])
    return _normalise_lines(raw)


def _conj(a):
    return (a[0], -a[1] % Q)


def g2_is_on_twist(p) -> bool:
    """Reduced coordinates and y^2 = x^3 + 3/xi."""
    (x0, x1), (y0, y1) = p
    if not all(0 <= v < Q for v in (x0, x1, y0, y1)):
        return False
    x, y = p
    return _f2_mul(y, y) == _f2_add(_f2_mul(_f2_mul(x, x), x), B_TWIST)


_PREPARED_CACHE: dict = {}
_CACHE_LIMIT = 64


def _is_inf_g2(q) -> bool:
    return q is None or all(int(c) == 0 for coord in q for c in coord)


def _is_inf_g1(p) -> bool:
    return p is None or (int(p[0]) == 0 and int(p[1]) == 0)


def prepare_g2(q: G2Point) -> PreparedG2:
    """Line coefficients of the Miller loop for Q (on the twist; in G2 for a meaningful
    pairing), cached per point: the fixed points of a verifying key are prepared once.
    Raises ValueError for a point not on the twist."""
    if isinstance(q, PreparedG2):
        return q
    if _is_inf_g2(q):
        return PreparedG2(None, [])
    key = ((int(q[0][0]), int(q[0][1])), (int(q[1][0]), int(q[1][1])))
    hit = _PREPARED_CACHE.get(key)
    if hit is not None:
        return hit
    if not g2_is_on_twist(key):
        raise ValueError(f"G2 point is not on the twist y^2 = x^3 + 3/(9+u): {q}")
    prepared = PreparedG2(key, _compute_lines(key))
    if len(_PREPARED_CACHE) >= _CACHE_LIMIT:
        _PREPARED_CACHE.pop(next(iter(_PREPARED_CACHE)))
    _PREPARED_CACHE[key] = prepared
    return prepared


# ---------------------------------------------------------------------------------------------
# Miller loop and final exponentiation


def _g1_scalars(p) -> tuple[int, int]:
    """(-xP/yP, 1/yP) for P in G1 (checked on the curve; yP != 0 since G1 has odd order)."""
    x, y = int(p[0]), int(p[1])
    if not (0 <= x < Q and 0 <= y < Q) or (y * y - x * x * x - 3) % Q:
        raise ValueError(f"G1 point is not on y^2 = x^3 + 3: {p}")
    yi = pow(y, -1, Q)
    return (-x * yi % Q, yi)


def miller_loop_py(pairs: Sequence[tuple[G1Point, G2Point]]) -> Fq12:
    """prod_i f_{6u+2, Q_i}(P_i) times the Frobenius lines (up to subfield factors); G2
    entries may be :class:`PreparedG2`.  Pairs with an infinity point are skipped."""
    work = []
    for p, q in pairs:
        if _is_inf_g1(p):
            continue
        prep = prepare_g2(q)
        if not prep.lines:
            continue
        xs, ys = _g1_scalars(p)
        work.append((xs, ys, prep.lines))
    f = F12_ONE
    if not work:
        return f
    mul_line, sqr = f12_mul_line, f12_sqr
    j = 0
    for step, digit in enumerate(_ATE_NAF[1:]):
        if step:
            f = sqr(f)
        for xs, ys, lines in work:
            lr, li, cr, ci = lines[j]
            f = mul_line(f, lr * xs % Q, li * xs % Q, cr * ys % Q, ci * ys % Q)
        j += 1
        if digit:
            for xs, ys, lines in work:
                lr, li, cr, ci = lines[j]
                f = mul_line(f, lr * xs % Q, li * xs % Q, cr * ys % Q, ci * ys % Q)
            j += 1
    for _ in range(2):
        for xs, ys, lines in work:
            lr, li, cr, ci = lines[j]
            f = mul_line(f, lr * xs % Q, li * xs % Q, cr * ys % Q, ci * ys % Q)
        j += 1
    return f


def _cyclotomic_exp_u(f: Fq12) -> Fq12:
    """f^u in the cyclotomic subgroup (NAF of u; conj is the inverse there)."""
    f_inv = f12_conj(f)
    acc = f
    for d in _U_NAF[1:]:
        acc = f12_cyclotomic_sqr(acc)
        if d == 1:
            acc = f12_mul(acc, f)
        elif d == -1:
            acc = f12_mul(acc, f_inv)
    return acc


def final_exponentiation_py(f: Fq12) -> Fq12:
    """f^((q^12 - 1)/r): easy part, then the Scott et al. hard-part chain
    y0 y1^2 y2^6 y3^12 y4^18 y5^30 y6^36 (as the compiled "standard" convention)."""
    f1 = f12_mul(f12_conj(f), f12_inv(f))
    f = f12_mul(f12_frobenius2(f1), f1)
    mul, csqr, conj, frob = f12_mul, f12_cyclotomic_sqr, f12_conj, f12_frobenius
    fu = _cyclotomic_exp_u(f)
    fu2 = _cyclotomic_exp_u(fu)
    fu3 = _cyclotomic_exp_u(fu2)
    y0 = mul(mul(frob(f), f12_frobenius2(f)), f12_frobenius3(f))
    y1 = conj(f)
    y2 = f12_frobenius2(fu2)
    y3 = conj(frob(fu))
    y4 = conj(mul(fu, frob(fu2)))
    y5 = conj(fu2)
    y6 = conj(mul(fu3, frob(fu3)))
    t0 = mul(mul(csqr(y6), y4), y5)
    t1 = mul(mul(y3, y5), t0)
    t0 = mul(t0, y2)
    t1 = csqr(mul(csqr(t1), t0))
    t0 = csqr(mul(t1, y1))
    return mul(t0, mul(t1, y0))


def pairing_product_is_one_py(pairs: Sequence[tuple[G1Point, G2Point]]) -> bool:
    """prod_i e(P_i, Q_i) == 1 with one multi-Miller loop and one final exponentiation.
    Pairs with an infinity point contribute 1; an empty product is 1.  Points are checked
    to lie on their curves (ValueError otherwise); G2 subgroup membership is the caller's
    job.  A G2 entry may be a :class:`PreparedG2` (or is prepared and cached here)."""
    return f12_is_one(final_exponentiation_py(miller_loop_py(pairs)))


def f12_to_nested(a: Fq12):
    """Flat (g, h) -> the nested layout ((c00, c01, c02), (c10, c11, c12)), c = (re, im),
    of :mod:`zkmargin.algebra.tower` (``Fq12Int``)."""
    return tuple(tuple((part[2 * j], part[2 * j + 1]) for j in range(3)) for part in a)


def pairing_py(p: G1Point, q: G2Point):
    """e(P, Q) in the standard convention, nested ``Fq12Int`` layout (equals the compiled
    :func:`zkmargin.algebra.pairing.pairing`).  Infinity gives 1."""
    return f12_to_nested(final_exponentiation_py(miller_loop_py([(p, q)])))



def pairing_snarkjs_strings_py(p: G1Point, q: G2Point) -> list:
    """``vk_alphabeta_12`` of snarkjs for e(P, Q): the standard pairing raised to
    ffjavascript's M = 2u(6u^2 + 3u + 1), as nested decimal strings (equals
    ``fq12_to_snarkjs(pairing(P, Q))`` of :mod:`zkmargin.algebra.pairing`, without numba).
    The value is in the cyclotomic subgroup, where squaring is the cheap cyclotomic one."""
    from .tower import fq12_to_strings

    f = final_exponentiation_py(miller_loop_py([(p, q)]))
    m = 2 * BN_X * (6 * BN_X * BN_X + 3 * BN_X + 1)
    acc = None
    for bit in bin(m)[2:]:
        if acc is not None:
            acc = f12_cyclotomic_sqr(acc)
        if bit == "1":
            acc = f if acc is None else f12_mul(acc, f)
    return fq12_to_strings(f12_to_nested(acc))

# ---------------------------------------------------------------------------------------------
# G2 subgroup membership via [u+1]Q + psi([u]Q) + psi^2([u]Q) = psi^3([2u]Q)

#: The older test's scalar: psi(Q) = [6u^2]Q on G2 (6u^2 = q - r).
SUBGROUP_SCALAR = 6 * BN_X * BN_X


def g2_psi(p):
    """psi(x, y) = (conj(x) xi^((q-1)/3), conj(y) xi^((q-1)/2)) (untwist-Frobenius-twist)."""
    return (_f2_mul(_conj(p[0]), _PI_X), _f2_mul(_conj(p[1]), _PI_Y))


def _jac_double(p):
    """Jacobian doubling on y^2 = x^3 + b (a = 0) over F_q2; p = (X0, X1, Y0, Y1, Z0, Z1)."""
    x0, x1, y0, y1, z0, z1 = p
    a0, a1 = (x0 + x1) * (x0 - x1) % Q, 2 * x0 * x1 % Q           # A = X^2
    b0, b1 = (y0 + y1) * (y0 - y1) % Q, 2 * y0 * y1 % Q           # B = Y^2
    c0, c1 = (b0 + b1) * (b0 - b1) % Q, 2 * b0 * b1 % Q           # C = B^2
    s0, s1 = x0 + b0, x1 + b1
    d0 = 2 * ((s0 + s1) * (s0 - s1) - a0 - c0) % Q                # D = 2((X+B)^2 - A - C)
    d1 = 2 * (2 * s0 * s1 - a1 - c1) % Q
    e0, e1 = 3 * a0, 3 * a1                                         # E = 3A
    f0, f1 = (e0 + e1) * (e0 - e1), 2 * e0 * e1                    # F = E^2
    x3_0, x3_1 = (f0 - 2 * d0) % Q, (f1 - 2 * d1) % Q
    u0, u1 = d0 - x3_0, d1 - x3_1
    y3_0 = (e0 * u0 - e1 * u1 - 8 * c0) % Q
    y3_1 = (e0 * u1 + e1 * u0 - 8 * c1) % Q
    z3_0 = 2 * (y0 * z0 - y1 * z1) % Q
    z3_1 = 2 * (y0 * z1 + y1 * z0) % Q
    return (x3_0, x3_1, y3_0, y3_1, z3_0, z3_1)


def _jac_add_affine(p, q):
    """Jacobian P plus affine Q = (x0, x1, y0, y1) (madd-2007-bl); handles P = inf, P = +-Q."""
    x0, x1, y0, y1, z0, z1 = p
    if z0 == 0 and z1 == 0:
        return (q[0], q[1], q[2], q[3], 1, 0)
    zz0, zz1 = (z0 + z1) * (z0 - z1) % Q, 2 * z0 * z1 % Q         # Z^2
    u0, u1 = (q[0] * zz0 - q[1] * zz1) % Q, (q[0] * zz1 + q[1] * zz0) % Q   # U2 = x2 Z^2
    zzz0, zzz1 = (z0 * zz0 - z1 * zz1) % Q, (z0 * zz1 + z1 * zz0) % Q
    s0, s1 = (q[2] * zzz0 - q[3] * zzz1) % Q, (q[2] * zzz1 + q[3] * zzz0) % Q  # S2 = y2 Z^3
    h0, h1 = (u0 - x0) % Q, (u1 - x1) % Q
    r0, r1 = (s0 - y0) % Q, (s1 - y1) % Q
    if h0 == 0 and h1 == 0:
        if r0 == 0 and r1 == 0:
            return _jac_double(p)
        return (1, 0, 1, 0, 0, 0)
    hh0, hh1 = (h0 + h1) * (h0 - h1) % Q, 2 * h0 * h1 % Q
    hhh0, hhh1 = (h0 * hh0 - h1 * hh1) % Q, (h0 * hh1 + h1 * hh0) % Q
    v0, v1 = (x0 * hh0 - x1 * hh1) % Q, (x0 * hh1 + x1 * hh0) % Q
    x3_0 = ((r0 + r1) * (r0 - r1) - hhh0 - 2 * v0) % Q
    x3_1 = (2 * r0 * r1 - hhh1 - 2 * v1) % Q
    w0, w1 = v0 - x3_0, v1 - x3_1
    y3_0 = (r0 * w0 - r1 * w1 - (y0 * hhh0 - y1 * hhh1)) % Q
    y3_1 = (r0 * w1 + r1 * w0 - (y0 * hhh1 + y1 * hhh0)) % Q
    z3_0, z3_1 = (z0 * h0 - z1 * h1) % Q, (z0 * h1 + z1 * h0) % Q
    return (x3_0, x3_1, y3_0, y3_1, z3_0, z3_1)


def g2_mul_jacobian(p, k: int):
    """[k]P for an affine twist point P (k >= 0, NOT reduced mod r) in Jacobian coordinates
    (X0, X1, Y0, Y1, Z0, Z1); NAF double-and-add with mixed additions."""
    (x0, x1), (y0, y1) = p
    pos = (x0, x1, y0, y1)
    neg = (x0, x1, -y0 % Q, -y1 % Q)
    acc = (1, 0, 1, 0, 0, 0)
    if k == 0:
        return acc
    for d in naf(k):
        acc = _jac_double(acc) if (acc[4] or acc[5]) else acc
        if d == 1:
            acc = _jac_add_affine(acc, pos)
        elif d == -1:
            acc = _jac_add_affine(acc, neg)
    return acc


def _jac_to_affine(p) -> G2Point:
    """Jacobian (X, Y, Z) -> affine (X/Z^2, Y/Z^3); None for Z = 0."""
    x0, x1, y0, y1, z0, z1 = p
    if z0 == 0 and z1 == 0:
        return None
    zi = _f2_inv((z0, z1))
    zi2 = _f2_mul(zi, zi)
    return (_f2_mul((x0, x1), zi2), _f2_mul((y0, y1), _f2_mul(zi2, zi)))


def g2_in_subgroup_fast(p: G2Point) -> bool:
    """Q on the twist (reduced coordinates) and in the order-r subgroup G2, tested as
    [u+1]Q + psi([u]Q) + psi^2([u]Q) == psi^3([2u]Q) (see the module docstring).  Infinity is
    in the subgroup."""
    if p is None:
        return True
    key = ((int(p[0][0]), int(p[0][1])), (int(p[1][0]), int(p[1][1])))
    if not g2_is_on_twist(key):
        return False
    uq = _jac_to_affine(g2_mul_jacobian(key, BN_X))
    if uq is None:
        return False  # [u]Q = 0, while u is not 0 mod r: Q is not of order r
    psi_uq = g2_psi(uq)
    lhs = g2_add(g2_add(g2_add(key, uq), psi_uq), g2_psi(psi_uq))
    rhs = g2_add(uq, uq)
    for _ in range(3):
        rhs = None if rhs is None else g2_psi(rhs)
    return lhs == rhs


__all__ = [
    "pairing_product_is_one_py", "pairing_py", "prepare_g2", "PreparedG2", "miller_loop_py",
    "final_exponentiation_py", "g2_in_subgroup_fast", "g2_psi", "g2_mul_jacobian",
    "g2_is_on_twist", "f12_to_nested", "SUBGROUP_SCALAR", "ATE_LOOP_COUNT", "naf",
    "f6_mul", "f6_mul_01", "f6_inv", "f12_mul", "f12_sqr", "f12_mul_line", "f12_inv",
    "f12_conj", "f12_frobenius", "f12_frobenius2", "f12_frobenius3", "f12_cyclotomic_sqr",
    "F12_ONE",
]
