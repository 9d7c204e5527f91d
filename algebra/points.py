"""Python-level BN254 points: affine coordinates as plain ints (the readable layer).

* G1 point: ``(x, y)`` with ints in [0, q), or ``None`` for the point at infinity.
* G2 point: ``((x.c0, x.c1), (y.c0, y.c1))`` over F_q2 = F_q[u]/(u^2+1), or ``None``.

These functions are for single points (keys, proofs, tests).  Vectors of points go through
the compiled kernels (:mod:`zkmargin.algebra.curve`, :mod:`zkmargin.algebra.msm`).
Scalar multiplication uses Jacobian coordinates internally and reduces the scalar mod r
(valid because every point handled here is in the order-r subgroup, except inside
:func:`g2_in_subgroup`, which multiplies by r exactly).
"""

from __future__ import annotations

from typing import Optional

from .constants import G1_GENERATOR, G2_GENERATOR, Q, R

G1Point = Optional[tuple[int, int]]
Fq2 = tuple[int, int]
G2Point = Optional[tuple[Fq2, Fq2]]

G1_GEN: G1Point = G1_GENERATOR
G2_GEN: G2Point = G2_GENERATOR

# ---- F_q2 on ints --------------------------------------------------------------------------


def f2_add(a: Fq2, b: Fq2) -> Fq2:
    return ((a[0] + b[0]) % Q, (a[1] + b[1]) % Q)


def f2_sub(a: Fq2, b: Fq2) -> Fq2:
    return ((a[0] - b[0]) % Q, (a[1] - b[1]) % Q)


def f2_mul(a: Fq2, b: Fq2) -> Fq2:
    return ((a[0] * b[0] - a[1] * b[1]) % Q, (a[0] * b[1] + a[1] * b[0]) % Q)


def f2_inv(a: Fq2) -> Fq2:
    """1/(a0 + a1 u) = (a0 - a1 u)/(a0^2 + a1^2)."""
    d = (a[0] * a[0] + a[1] * a[1]) % Q
    if d == 0:
        raise ZeroDivisionError("inverse of zero in F_q2")
    n = pow(d, -1, Q)
    return (a[0] * n % Q, -a[1] * n % Q)


def f2_pow(a: Fq2, e: int) -> Fq2:
    """a^e by square-and-multiply (e >= 0)."""
    acc, base = (1, 0), a
    while e:
        if e & 1:
            acc = f2_mul(acc, base)
        base = f2_mul(base, base)
        e >>= 1
    return acc


#: b' = 3 / (9 + u), the G2 twist coefficient.
G2_B: Fq2 = f2_mul((3, 0), f2_inv((9, 1)))

# ---- generic affine/Jacobian arithmetic over F_q (k=1) or F_q2 (k=2) ---------------------


class _Ops:
    """Field operations for one coordinate field; keeps the curve code written once."""

    def __init__(self, add, sub, mul, inv, zero, one):
        self.add, self.sub, self.mul, self.inv, self.zero, self.one = add, sub, mul, inv, zero, one


_F1 = _Ops(lambda a, b: (a + b) % Q, lambda a, b: (a - b) % Q, lambda a, b: a * b % Q,
           lambda a: pow(a, -1, Q), 0, 1)
_F2 = _Ops(f2_add, f2_sub, f2_mul, f2_inv, (0, 0), (1, 0))


def _jac_double(F: _Ops, P):
    X, Y, Z = P
    if Z == F.zero:
        return P
    A = F.mul(X, X)
    B = F.mul(Y, Y)
    C = F.mul(B, B)
    t = F.add(X, B)
    D = F.sub(F.sub(F.mul(t, t), A), C)
    D = F.add(D, D)
    E = F.add(F.add(A, A), A)
    X3 = F.sub(F.mul(E, E), F.add(D, D))
    C8 = F.add(C, C)
    C8 = F.add(C8, C8)
    C8 = F.add(C8, C8)
    Y3 = F.sub(F.mul(E, F.sub(D, X3)), C8)
    Z3 = F.mul(F.add(Y, Y), Z)
    return (X3, Y3, Z3)


def _jac_add(F: _Ops, P, Qp):
    X1, Y1, Z1 = P
    X2, Y2, Z2 = Qp
    if Z1 == F.zero:
        return Qp
    if Z2 == F.zero:
        return P
    Z1Z1 = F.mul(Z1, Z1)
    Z2Z2 = F.mul(Z2, Z2)
    U1 = F.mul(X1, Z2Z2)
    U2 = F.mul(X2, Z1Z1)
    S1 = F.mul(F.mul(Y1, Z2), Z2Z2)
    S2 = F.mul(F.mul(Y2, Z1), Z1Z1)
    if U1 == U2:
        return _jac_double(F, P) if S1 == S2 else (F.one, F.one, F.zero)
    H = F.sub(U2, U1)
    rr = F.sub(S2, S1)
    HH = F.mul(H, H)
    HHH = F.mul(H, HH)
    V = F.mul(U1, HH)
    X3 = F.sub(F.sub(F.mul(rr, rr), HHH), F.add(V, V))
    Y3 = F.sub(F.mul(rr, F.sub(V, X3)), F.mul(S1, HHH))
    Z3 = F.mul(F.mul(Z1, Z2), H)
    return (X3, Y3, Z3)


def _to_jac(F: _Ops, p):
    return (F.one, F.one, F.zero) if p is None else (p[0], p[1], F.one)


def _from_jac(F: _Ops, P):
    X, Y, Z = P
    if Z == F.zero:
        return None
    zi = F.inv(Z)
    zi2 = F.mul(zi, zi)
    return (F.mul(X, zi2), F.mul(Y, F.mul(zi2, zi)))


def _mul(F: _Ops, p, k: int):
    if p is None or k == 0:
        return None
    acc = (F.one, F.one, F.zero)
    base = _to_jac(F, p)
    for bit in bin(k)[2:]:
        acc = _jac_double(F, acc)
        if bit == "1":
            acc = _jac_add(F, acc, base)
    return _from_jac(F, acc)


# ---- G1 ------------------------------------------------------------------------------------


def g1_is_on_curve(p: G1Point) -> bool:
    """True for infinity or (x, y) with 0 <= x, y < q and y^2 = x^3 + 3 (cofactor 1: in G1)."""
    if p is None:
        return True
    x, y = p
    if not (0 <= x < Q and 0 <= y < Q):
        return False
    return (y * y - x * x * x - 3) % Q == 0


def g1_add(p: G1Point, q: G1Point) -> G1Point:
    return _from_jac(_F1, _jac_add(_F1, _to_jac(_F1, p), _to_jac(_F1, q)))


def g1_neg(p: G1Point) -> G1Point:
    return None if p is None else (p[0], (-p[1]) % Q)


def g1_sub(p: G1Point, q: G1Point) -> G1Point:
    return g1_add(p, g1_neg(q))


def g1_mul(p: G1Point, k: int) -> G1Point:
    """k * p with k reduced mod r."""
    return _mul(_F1, p, k % R)


# ---- G2 ------------------------------------------------------------------------------------


def g2_is_on_curve(p: G2Point) -> bool:
    """True for infinity or a point with reduced coordinates on y^2 = x^3 + 3/(9+u)."""
    if p is None:
        return True
    (x0, x1), (y0, y1) = p
    if not all(0 <= v < Q for v in (x0, x1, y0, y1)):
        return False
    # y^2 - x^3 - b in F_q[u]/(u^2 + 1), written out (u^2 = -1), one reduction per coordinate
    xx0, xx1 = (x0 + x1) * (x0 - x1) % Q, 2 * x0 * x1 % Q            # x^2
    c0 = (y0 + y1) * (y0 - y1) - (xx0 * x0 - xx1 * x1) - G2_B[0]      # re(y^2 - x^2 x - b)
    c1 = 2 * y0 * y1 - (xx0 * x1 + xx1 * x0) - G2_B[1]                # im(y^2 - x^2 x - b)
    return c0 % Q == 0 and c1 % Q == 0


def g2_in_subgroup(p: G2Point) -> bool:
    """On the curve and of order dividing r (G2's cofactor is not 1, so this is a real check)."""
    return g2_is_on_curve(p) and _mul(_F2, p, R) is None


def g2_add(p: G2Point, q: G2Point) -> G2Point:
    return _from_jac(_F2, _jac_add(_F2, _to_jac(_F2, p), _to_jac(_F2, q)))


def g2_neg(p: G2Point) -> G2Point:
    return None if p is None else (p[0], ((-p[1][0]) % Q, (-p[1][1]) % Q))


def g2_mul(p: G2Point, k: int) -> G2Point:
    """k * p with k reduced mod r (only meaningful for subgroup points)."""
    return _mul(_F2, p, k % R)


# ---- py_ecc conversions (the test oracle) --------------------------------------------------


def g1_to_py_ecc(p: G1Point):
    from py_ecc.optimized_bn128 import FQ, Z1
    return Z1 if p is None else (FQ(p[0]), FQ(p[1]), FQ(1))


def g1_from_py_ecc(p) -> G1Point:
    from py_ecc.optimized_bn128 import is_inf, normalize
    if is_inf(p):
        return None
    x, y = normalize(p)
    return (int(x), int(y))


def g2_to_py_ecc(p: G2Point):
    from py_ecc.optimized_bn128 import FQ2, Z2
    if p is None:
        return Z2
    return (FQ2([p[0][0], p[0][1]]), FQ2([p[1][0], p[1][1]]), FQ2([1, 0]))


def g2_from_py_ecc(p) -> G2Point:
    from py_ecc.optimized_bn128 import is_inf, normalize
    if is_inf(p):
        return None
    x, y = normalize(p)
    return ((int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1])))
