"""Compiled prime-field kernels for F_q and F_r, plus limb-array conversions.

Layout: a vector of n field elements is a ``numpy.ndarray`` of dtype ``uint64`` and shape
``(n, 4)`` (little-endian 64-bit limbs).  Arrays are either *canonical* (the integer itself,
as in ``.wtns`` files and ``.r1cs`` coefficients) or *Montgomery* (``a * 2^256 mod p``, as in
``.zkey`` / ``.ptau`` point coordinates).  Kernels compute in Montgomery form.

``FQ`` and ``FR`` bundle the kernels of each prime (``fq_*`` / ``fr_*`` functions).  Python ints are the slow reference (see ``tests/test_field.py``).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numba as nb
import numpy as np

from .arrays import array_to_ints, ints_to_array
from .constants import Q, R
from .mont import LIMBS, int_to_limbs, limbs_to_int, make_field_intrinsics


class FieldKernels(NamedTuple):
    """Jitted kernels of one prime field (element = UniTuple(uint64, 4), Montgomery form)."""

    p: int
    mul: object        # (a, b) -> a*b
    add: object        # (a, b) -> a+b
    sub: object        # (a, b) -> a-b
    neg: object        # a -> -a
    sqr: object        # a -> a^2
    pow_: object       # (a, e: UniTuple(uint64,4) exponent limbs) -> a^e
    inv: object        # a -> a^-1 (Fermat; 0 -> 0)
    is_zero: object    # a -> bool
    eq: object         # (a, b) -> bool
    to_mont: object    # canonical -> Montgomery
    from_mont: object  # Montgomery -> canonical
    one: tuple         # 1 in Montgomery form
    zero: tuple
    vec_to_mont: object    # (n,4) canonical -> (n,4) Montgomery (new array)
    vec_from_mont: object  # (n,4) Montgomery -> (n,4) canonical (new array)
    batch_inv: object      # (n,4) Montgomery -> (n,4) inverses (zeros stay zero)


def _limbs(x: int) -> tuple:
    return tuple(np.uint64(v) for v in int_to_limbs(x))


# Module-level kernels (not closures: numba's on-disk cache keys closures by pickling their
# cells, which never matches across processes, so closures would recompile every run).

fq_mul, fq_add, fq_sub = make_field_intrinsics(Q)
fr_mul, fr_add, fr_sub = make_field_intrinsics(R)

ZERO = (np.uint64(0),) * LIMBS
_RAW_ONE = _limbs(1)
FQ_ONE, FQ_R2, _FQ_PM2 = _limbs((1 << 256) % Q), _limbs((1 << 512) % Q), _limbs(Q - 2)
FR_ONE, FR_R2, _FR_PM2 = _limbs((1 << 256) % R), _limbs((1 << 512) % R), _limbs(R - 2)


@nb.njit(cache=True)
def fe_is_zero(a):
    return (a[0] | a[1] | a[2] | a[3]) == 0


@nb.njit(cache=True)
def fe_eq(a, b):
    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])) == 0


@nb.njit(cache=True)
def fe_load(arr, i):
    return (arr[i, 0], arr[i, 1], arr[i, 2], arr[i, 3])


@nb.njit(cache=True)
def fe_store(arr, i, v):
    arr[i, 0] = v[0]
    arr[i, 1] = v[1]
    arr[i, 2] = v[2]
    arr[i, 3] = v[3]


@nb.njit(cache=True)
def fq_neg(a):
    return fq_sub(ZERO, a)


@nb.njit(cache=True)
def fr_neg(a):
    return fr_sub(ZERO, a)


@nb.njit(cache=True)
def fq_sqr(a):
    return fq_mul(a, a)


@nb.njit(cache=True)
def fr_sqr(a):
    return fr_mul(a, a)


@nb.njit(cache=True)
def fq_pow(a, e):
    """a^e, e as 4 little-endian limbs (left-to-right square-and-multiply)."""
    acc = FQ_ONE
    for limb in range(3, -1, -1):
        for bit in range(63, -1, -1):
            acc = fq_mul(acc, acc)
            if (e[limb] >> np.uint64(bit)) & np.uint64(1):
                acc = fq_mul(acc, a)
    return acc


@nb.njit(cache=True)
def fr_pow(a, e):
    """a^e in F_r (see :func:`fq_pow`)."""
    acc = FR_ONE
    for limb in range(3, -1, -1):
        for bit in range(63, -1, -1):
            acc = fr_mul(acc, acc)
            if (e[limb] >> np.uint64(bit)) & np.uint64(1):
                acc = fr_mul(acc, a)
    return acc


@nb.njit(cache=True)
def fq_inv(a):
    """a^(q-2) = a^-1 (Fermat); 0 maps to 0."""
    return fq_pow(a, _FQ_PM2)


@nb.njit(cache=True)
def fr_inv(a):
    return fr_pow(a, _FR_PM2)


@nb.njit(cache=True)
def fq_to_mont(a):
    return fq_mul(a, FQ_R2)


@nb.njit(cache=True)
def fq_from_mont(a):
    return fq_mul(a, _RAW_ONE)


@nb.njit(cache=True)
def fr_to_mont(a):
    return fr_mul(a, FR_R2)


@nb.njit(cache=True)
def fr_from_mont(a):
    return fr_mul(a, _RAW_ONE)


@nb.njit(cache=True)
def fq_vec_mul_const(arr, c):
    """Each row times the constant c (Montgomery product): c = R^2 converts canonical to
    Montgomery form, c = 1 converts back."""
    out = np.empty_like(arr)
    for i in range(arr.shape[0]):
        fe_store(out, i, fq_mul(fe_load(arr, i), c))
    return out


@nb.njit(cache=True)
def fr_vec_mul_const(arr, c):
    """F_r version of :func:`fq_vec_mul_const`."""
    out = np.empty_like(arr)
    for i in range(arr.shape[0]):
        fe_store(out, i, fr_mul(fe_load(arr, i), c))
    return out


def fq_vec_to_mont(arr):
    return fq_vec_mul_const(arr, FQ_R2)


def fq_vec_from_mont(arr):
    return fq_vec_mul_const(arr, _RAW_ONE)


def fr_vec_to_mont(arr):
    return fr_vec_mul_const(arr, FR_R2)


def fr_vec_from_mont(arr):
    return fr_vec_mul_const(arr, _RAW_ONE)


@nb.njit(cache=True)
def _prefix_products(arr, prefix, one, fr):
    acc = one
    for i in range(arr.shape[0]):
        fe_store(prefix, i, acc)
        a = fe_load(arr, i)
        if not fe_is_zero(a):
            acc = fr_mul(acc, a) if fr else fq_mul(acc, a)
    return acc


@nb.njit(cache=True)
def _unwind_inverses(arr, prefix, acc, out, fr):
    for i in range(arr.shape[0] - 1, -1, -1):
        a = fe_load(arr, i)
        if fe_is_zero(a):
            continue
        if fr:
            fe_store(out, i, fr_mul(acc, fe_load(prefix, i)))
            acc = fr_mul(acc, a)
        else:
            fe_store(out, i, fq_mul(acc, fe_load(prefix, i)))
            acc = fq_mul(acc, a)


def _u64(t) -> tuple:
    """Re-type a limb tuple returned to Python as uint64s (numba returns plain ints, and
    would type small ones as int64 on the next call)."""
    return tuple(np.uint64(v) for v in t)


def _batch_inv(arr: np.ndarray, fr: bool) -> np.ndarray:
    """Montgomery's trick: n inverses for 3(n-1) multiplications and one inversion."""
    out = np.zeros_like(arr)
    prefix = np.empty_like(arr)
    acc = _u64(_prefix_products(arr, prefix, FR_ONE if fr else FQ_ONE, fr))
    acc = _u64(fr_inv(acc) if fr else fq_inv(acc))
    _unwind_inverses(arr, prefix, acc, out, fr)
    return out


def fq_batch_inv(arr):
    return _batch_inv(arr, False)


def fr_batch_inv(arr):
    return _batch_inv(arr, True)


FQ = FieldKernels(Q, fq_mul, fq_add, fq_sub, fq_neg, fq_sqr, fq_pow, fq_inv, fe_is_zero, fe_eq,
                  fq_to_mont, fq_from_mont, FQ_ONE, ZERO, fq_vec_to_mont, fq_vec_from_mont,
                  fq_batch_inv)
FR = FieldKernels(R, fr_mul, fr_add, fr_sub, fr_neg, fr_sqr, fr_pow, fr_inv, fe_is_zero, fe_eq,
                  fr_to_mont, fr_from_mont, FR_ONE, ZERO, fr_vec_to_mont, fr_vec_from_mont,
                  fr_batch_inv)


__all__ = ["FQ", "FR", "FieldKernels", "ints_to_array", "array_to_ints",
           "int_to_limbs", "limbs_to_int", "Sequence"]
