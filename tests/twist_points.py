"""Points of the G2 twist E'(F_q2): y^2 = x^3 + 3/(9+u) that are NOT in G2, for the subgroup
tests of the verifier, the setup checks and the pure-Python pairing.

#E'(F_q2) = r h with cofactor h = 2q - r, the product of four distinct primes
(:data:`G2_COFACTOR_PRIMES`), so E'(F_q2) = G2 x H with H cyclic of order h.  A random twist
point is almost never in G2; [r] of it lies in H; [r h / p] of it has order p (or is O).
"""

from __future__ import annotations

import random

from zkmargin.algebra.constants import Q, R
from zkmargin.algebra.encoding import fq2_sqrt
from zkmargin.algebra.pairing_py import g2_mul_jacobian
from zkmargin.algebra.points import G2_B, f2_add, f2_inv, f2_mul, g2_in_subgroup, g2_is_on_curve

G2_COFACTOR = 2 * Q - R
G2_COFACTOR_PRIMES = (10069, 5864401, 1875725156269,
                      197620364512881247228717050342013327560683201906968909)


def twist_point_at(x: tuple[int, int]):
    """The twist point with abscissa x (one of its two ordinates), or None."""
    y = fq2_sqrt(f2_add(f2_mul(f2_mul(x, x), x), G2_B))
    return None if y is None else (x, y)


def random_twist_point(rng: random.Random):
    """A uniformly chosen abscissa's twist point (almost surely outside G2)."""
    while True:
        p = twist_point_at((rng.randrange(Q), rng.randrange(Q)))
        if p is not None:
            return p


def twist_point_outside_subgroup():
    """A fixed point on the twist that is not in G2 (the first x = (k, 1) that works)."""
    for k in range(1, 100):
        p = twist_point_at((k, 1))
        if p is not None and not g2_in_subgroup(p):
            assert g2_is_on_curve(p)
            return p
    raise AssertionError("no point found")


def jacobian_to_affine(p):
    """(X0, X1, Y0, Y1, Z0, Z1) of :func:`g2_mul_jacobian` -> affine, None for Z = 0."""
    x0, x1, y0, y1, z0, z1 = p
    if (z0, z1) == (0, 0):
        return None
    zi = f2_inv((z0, z1))
    zi2 = f2_mul(zi, zi)
    return (f2_mul((x0, x1), zi2), f2_mul((y0, y1), f2_mul(zi2, zi)))


def twist_mul(p, k: int):
    """[k]P on the twist for any k >= 0 (not reduced mod r: P need not be in G2)."""
    return jacobian_to_affine(g2_mul_jacobian(p, k))


def twist_point_of_order(order: int, seed: int = 0):
    """A twist point of exact prime order ``order`` (a prime factor of the cofactor)."""
    assert G2_COFACTOR % order == 0
    rng = random.Random(seed)
    while True:
        e = twist_mul(random_twist_point(rng), G2_COFACTOR // order * R)
        if e is not None:
            assert twist_mul(e, order) is None
            return e
