"""Compiled F_q2 = F_q[u]/(u^2 + 1) arithmetic (the field of G2 coordinates).

An element ``c0 + c1*u`` is a pair ``(c0, c1)`` of Montgomery F_q elements (each a
``UniTuple(uint64, 4)``).  The sextic twist of BN254 uses the non-residue xi = 9 + u.
"""

from __future__ import annotations

import numba as nb

from .constants import Q
from .field import FQ
from .wide import make_fq2_intrinsics, make_fq2_mul_by_nonresidue

_mul, _add, _sub, _neg, _inv = FQ.mul, FQ.add, FQ.sub, FQ.neg, FQ.inv
_is_zero, _eq = FQ.is_zero, FQ.eq
_mul_lazy, _sqr_lazy = make_fq2_intrinsics(Q)
_mul_xi_once = make_fq2_mul_by_nonresidue(Q, 9)

FQ2_ZERO = (FQ.zero, FQ.zero)
FQ2_ONE = (FQ.one, FQ.zero)


@nb.njit(cache=True)
def fq2_add(a, b):
    return (_add(a[0], b[0]), _add(a[1], b[1]))


@nb.njit(cache=True)
def fq2_sub(a, b):
    return (_sub(a[0], b[0]), _sub(a[1], b[1]))


@nb.njit(cache=True)
def fq2_neg(a):
    return (_neg(a[0]), _neg(a[1]))


@nb.njit(cache=True)
def fq2_dbl(a):
    return (_add(a[0], a[0]), _add(a[1], a[1]))


@nb.njit(cache=True)
def fq2_mul(a, b):
    """a * b with lazy reduction: three double-width products, two reductions
    (:mod:`zkmargin.algebra.wide`)."""
    return _mul_lazy(a, b)


@nb.njit(cache=True)
def fq2_sqr(a):
    """a^2 = (a0 + a1)(a0 - a1) + 2 a0 a1 u, two double-width products and two reductions."""
    return _sqr_lazy(a)


@nb.njit(cache=True)
def fq2_mul_by_parts(a, b):
    """The same product from F_q multiplies (the reference for :func:`fq2_mul`), Karatsuba:
    (a0 + a1 u)(b0 + b1 u) = (a0b0 - a1b1) + ((a0+a1)(b0+b1) - a0b0 - a1b1) u."""
    t0 = _mul(a[0], b[0])
    t1 = _mul(a[1], b[1])
    t2 = _mul(_add(a[0], a[1]), _add(b[0], b[1]))
    return (_sub(t0, t1), _sub(_sub(t2, t0), t1))


@nb.njit(cache=True)
def fq2_sqr_by_parts(a):
    """a^2 from F_q multiplies (the reference for :func:`fq2_sqr`)."""
    t = _mul(a[0], a[1])
    return (_mul(_add(a[0], a[1]), _sub(a[0], a[1])), _add(t, t))


@nb.njit(cache=True)
def fq2_mul_fq(a, k):
    """Multiply by an F_q element k."""
    return (_mul(a[0], k), _mul(a[1], k))


@nb.njit(cache=True)
def fq2_mul_xi(a):
    """Multiply by xi = 9 + u: (9a0 - a1) + (a0 + 9a1) u, each coefficient one 5-word sum
    reduced once (:func:`zkmargin.algebra.wide.emit_reduce_small`)."""
    return _mul_xi_once(a)


@nb.njit(cache=True)
def fq2_mul_xi_by_parts(a):
    """The same product from modular additions (the reference for :func:`fq2_mul_xi`)."""
    a0, a1 = a[0], a[1]
    t0 = _add(a0, a0)
    t0 = _add(t0, t0)
    t0 = _add(_add(t0, t0), a0)          # 9 a0
    t1 = _add(a1, a1)
    t1 = _add(t1, t1)
    t1 = _add(_add(t1, t1), a1)          # 9 a1
    return (_sub(t0, a1), _add(a0, t1))


@nb.njit(cache=True)
def fq2_conj(a):
    return (a[0], _neg(a[1]))


@nb.njit(cache=True)
def fq2_inv(a):
    """1/(a0 + a1 u) = (a0 - a1 u) / (a0^2 + a1^2).  Zero maps to zero."""
    norm = _add(_mul(a[0], a[0]), _mul(a[1], a[1]))
    ni = _inv(norm)
    return (_mul(a[0], ni), _neg(_mul(a[1], ni)))


@nb.njit(cache=True)
def fq2_is_zero(a):
    return _is_zero(a[0]) and _is_zero(a[1])


@nb.njit(cache=True)
def fq2_eq(a, b):
    return _eq(a[0], b[0]) and _eq(a[1], b[1])
