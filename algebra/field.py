"""Compiled prime-field kernels for F_q and F_r, plus limb-array conversions.

Layout: a vector of n field elements is a ``numpy.ndarray`` of dtype ``uint64`` and shape
``(n, 4)`` (little-endian 64-bit limbs).  Arrays are either *canonical* (the integer itself,
as in ``.wtns`` files and ``.r1cs`` coefficients) or *Montgomery* (``a * 2^256 mod p``, as in
``.zkey`` / ``.ptau`` point coordinates).  Kernels compute in Montgomery form.

:func:`make_field` builds the scalar kernels for one prime; ``FQ`` and ``FR`` are the two
instances.  Python ints are the slow reference (see ``tests/test_field.py``).
"""

from __future__ import annotations

from typing import Iterable, NamedTuple, Sequence

import numba as nb
import numpy as np

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


def make_field(p: int) -> FieldKernels:
    """Generate the jitted kernels for prime ``p`` (cached on disk by numba)."""
    mul, add, sub = make_field_intrinsics(p)
    zero = (np.uint64(0),) * LIMBS
    one = tuple(np.uint64(v) for v in int_to_limbs((1 << 256) % p))
    r2 = tuple(np.uint64(v) for v in int_to_limbs((1 << 512) % p))
    raw_one = tuple(np.uint64(v) for v in int_to_limbs(1))
    p_minus_2 = tuple(np.uint64(v) for v in int_to_limbs(p - 2))

    @nb.njit(cache=True, inline="always")
    def neg(a):
        return sub(zero, a)

    @nb.njit(cache=True, inline="always")
    def sqr(a):
        return mul(a, a)

    @nb.njit(cache=True, inline="always")
    def is_zero(a):
        return (a[0] | a[1] | a[2] | a[3]) == 0

    @nb.njit(cache=True, inline="always")
    def eq(a, b):
        return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])) == 0

    @nb.njit(cache=True)
    def pow_(a, e):
        """Left-to-right square-and-multiply; e given as 4 little-endian limbs."""
        acc = one
        for limb in range(3, -1, -1):
            w = e[limb]
            for bit in range(63, -1, -1):
                acc = mul(acc, acc)
                if (w >> np.uint64(bit)) & np.uint64(1):
                    acc = mul(acc, a)
        return acc

    @nb.njit(cache=True)
    def inv(a):
        return pow_(a, p_minus_2)

    @nb.njit(cache=True, inline="always")
    def to_mont(a):
        return mul(a, r2)

    @nb.njit(cache=True, inline="always")
    def from_mont(a):
        return mul(a, raw_one)

    @nb.njit(cache=True)
    def vec_to_mont(arr):
        out = np.empty_like(arr)
        for i in range(arr.shape[0]):
            v = to_mont((arr[i, 0], arr[i, 1], arr[i, 2], arr[i, 3]))
            for k in range(4):
                out[i, k] = v[k]
        return out

    @nb.njit(cache=True)
    def vec_from_mont(arr):
        out = np.empty_like(arr)
        for i in range(arr.shape[0]):
            v = from_mont((arr[i, 0], arr[i, 1], arr[i, 2], arr[i, 3]))
            for k in range(4):
                out[i, k] = v[k]
        return out

    @nb.njit(cache=True)
    def batch_inv(arr):
        """Montgomery's trick: n inverses for 3(n-1) multiplies and one inversion."""
        n = arr.shape[0]
        out = np.zeros_like(arr)
        prefix = np.empty_like(arr)
        acc = one
        for i in range(n):
            for k in range(4):
                prefix[i, k] = acc[k]
            a = (arr[i, 0], arr[i, 1], arr[i, 2], arr[i, 3])
            if not is_zero(a):
                acc = mul(acc, a)
        acc = inv(acc)
        for i in range(n - 1, -1, -1):
            a = (arr[i, 0], arr[i, 1], arr[i, 2], arr[i, 3])
            if is_zero(a):
                continue
            pre = (prefix[i, 0], prefix[i, 1], prefix[i, 2], prefix[i, 3])
            v = mul(acc, pre)
            for k in range(4):
                out[i, k] = v[k]
            acc = mul(acc, a)
        return out

    return FieldKernels(p, mul, add, sub, neg, sqr, pow_, inv, is_zero, eq, to_mont, from_mont,
                        one, zero, vec_to_mont, vec_from_mont, batch_inv)


FQ = make_field(Q)
FR = make_field(R)


# ---------------------------------------------------------------------------------------------
# Python-side conversions (not hot: used at I/O boundaries and in tests)


def ints_to_array(values: Iterable[int], modulus: int | None = None) -> np.ndarray:
    """Python ints -> (n, 4) uint64 canonical limbs.  With ``modulus``, values are reduced."""
    vals = [int(v) % modulus if modulus is not None else int(v) for v in values]
    for v in vals:
        if v < 0 or v >= 1 << 256:
            raise ValueError("field element out of range for 256-bit limbs")
    buf = b"".join(v.to_bytes(32, "little") for v in vals)
    return np.frombuffer(buf, dtype="<u8").reshape(len(vals), LIMBS).astype(np.uint64)


def array_to_ints(arr: np.ndarray) -> list[int]:
    """(n, 4) uint64 limbs -> Python ints (no reduction, no Montgomery conversion)."""
    a = np.ascontiguousarray(arr, dtype="<u8").reshape(-1, LIMBS)
    raw = a.tobytes()
    return [int.from_bytes(raw[32 * i: 32 * i + 32], "little") for i in range(a.shape[0])]


def to_mont_int(x: int, p: int) -> int:
    """Montgomery form of x as an int: x * 2^256 mod p."""
    return (x << 256) % p


def from_mont_int(x: int, p: int) -> int:
    """Canonical value of a Montgomery-form int: x * 2^-256 mod p."""
    return x * pow(1 << 256, -1, p) % p


__all__ = ["FQ", "FR", "FieldKernels", "make_field", "ints_to_array", "array_to_ints",
           "to_mont_int", "from_mont_int", "int_to_limbs", "limbs_to_int", "Sequence"]
