"""Number-theoretic transforms (FFTs) over F_r (radix-2, iterative, compiled).

For n = 2^k dividing 2^28 and w a primitive n-th root of unity (:func:`root_of_unity`):

* ``ntt(a)[i]  = sum_j a[j] * w^(i*j)``          (coefficients -> evaluations on H = <w>)
* ``intt(e)[j] = n^-1 * sum_i e[i] * w^(-i*j)``  (evaluations -> coefficients)
* ``coset_ntt(a, g)`` evaluates on g*H: scale coefficient j by g^j, then ``ntt``.
* ``coset_intt(e, g)`` inverts it.

snarkjs' H computation evaluates on the *odd* powers of the size-2n root w_2n, which is the
coset w_2n * H: ``coset_ntt(a, root_of_unity(2 * n))``.

Public functions take and return canonical ``uint64[n, 4]`` arrays; kernels run on
Montgomery form with per-size twiddle tables cached in memory.
"""

from __future__ import annotations

from functools import lru_cache

import numba as nb
import numpy as np

from .constants import R, root_of_unity
from .field import FR, ints_to_array
from .field import fe_load as _ld
from .field import fe_store as _st
from .msm import bit_reverse_rows

_mul, _add, _sub = FR.mul, FR.add, FR.sub
_pow, _ONE = FR.pow_, FR.one


@nb.njit(cache=True)
def _butterflies(a, twiddles, log_half, log_step, start, lo, hi):
    """Butterflies lo..hi-1 of one layer, inside the block starting at row ``start``
    (half = 2^log_half pairs per group, twiddle index j * 2^log_step)."""
    half = 1 << log_half
    for b in range(lo, hi):
        j = b & (half - 1)
        i0 = start + (((b >> log_half) << (log_half + 1)) | j)
        i1 = i0 + half
        u = _ld(a, i0)
        v = _mul(_ld(a, i1), _ld(twiddles, j << log_step))
        _st(a, i0, _add(u, v))
        _st(a, i1, _sub(u, v))


@nb.njit(cache=True, parallel=True)
def _early_layers(a, twiddles, logn, log_block, n_blocks):
    """Layers 0 .. log_block-1 touch only rows inside blocks of 2^log_block: one parallel
    region runs every block through all of them."""
    size = 1 << log_block
    for k in nb.prange(n_blocks):
        for log_half in range(log_block):
            _butterflies(a, twiddles, log_half, logn - 1 - log_half, k * size, 0, size // 2)


@nb.njit(cache=True, parallel=True)
def _late_layer(a, twiddles, log_half, log_step, n_blocks):
    """One layer whose butterflies span blocks: split its n/2 butterflies into n_blocks runs."""
    pairs = a.shape[0] // 2
    size = (pairs + n_blocks - 1) // n_blocks
    for k in nb.prange(n_blocks):
        _butterflies(a, twiddles, log_half, log_step, 0, k * size, min(pairs, (k + 1) * size))


@nb.njit(cache=True)
def ntt_inplace(a, twiddles):
    """In-place DIT NTT of Montgomery values; twiddles[j] = w^j (Montgomery), j < n/2.

    After the bit-reversal permutation, the first log2(n) - 3 layers work inside 8 independent
    blocks (one parallel region); each of the last 3 layers is one more region.  Few regions
    matter: every region ends in a barrier, which is costly on a busy machine."""
    n = a.shape[0]
    bit_reverse_rows(a)
    logn = 0
    while (1 << logn) < n:
        logn += 1
    split = 3 if n >= 4096 else 0
    n_blocks = 1 << split
    _early_layers(a, twiddles, logn, logn - split, n_blocks)
    for log_half in range(logn - split, logn):
        _late_layer(a, twiddles, log_half, logn - 1 - log_half, n_blocks)
    return a


@nb.njit(cache=True)
def _scale_one(a, powers, j):
    _st(a, j, _mul(_ld(a, j), _ld(powers, j)))


@nb.njit(cache=True, parallel=True)
def scale_by_powers(a, powers):
    """a[j] *= powers[j] (Montgomery, in place)."""
    for j in nb.prange(a.shape[0]):
        _scale_one(a, powers, j)
    return a


@nb.njit(cache=True)
def _powers_block(out, starts, g, size, n, b):
    cur = _ld(starts, b)
    for j in range(b * size, min(n, (b + 1) * size)):
        _st(out, j, cur)
        cur = _mul(cur, g)


@nb.njit(cache=True, parallel=True)
def _powers(g, n):
    """[1, g, g^2, ..., g^(n-1)] in Montgomery form, computed in parallel blocks."""
    out = np.empty((n, 4), dtype=np.uint64)
    blocks = 64 if n >= 4096 else 1
    size = (n + blocks - 1) // blocks
    starts = np.empty((blocks, 4), dtype=np.uint64)
    acc = _ONE
    gs = _pow(g, (np.uint64(size), np.uint64(0), np.uint64(0), np.uint64(0)))
    for b in range(blocks):
        _st(starts, b, acc)
        acc = _mul(acc, gs)
    for b in nb.prange(blocks):
        _powers_block(out, starts, g, size, n, b)
    return out


def _mont_scalar(x: int) -> tuple:
    return tuple(np.uint64(v) for v in ints_to_array([(x << 256) % R])[0])


@lru_cache(maxsize=64)
def powers_table(g: int, n: int) -> np.ndarray:
    """Montgomery table [g^0 .. g^(n-1)] (cached; treat as read-only)."""
    t = _powers(_mont_scalar(g % R), n)
    t.setflags(write=False)
    return t


def _check(values: np.ndarray) -> int:
    n = values.shape[0]
    if values.ndim != 2 or values.shape[1] != 4:
        raise ValueError("expected a uint64[n, 4] array of F_r elements")
    if n == 0 or n & (n - 1):
        raise ValueError(f"NTT size must be a power of two, got {n}")
    return n


def _ntt_mont(m: np.ndarray, w: int) -> np.ndarray:
    n = m.shape[0]
    if n > 1:
        ntt_inplace(m, powers_table(w, max(1, n // 2)))
    return m


def ntt(values: np.ndarray) -> np.ndarray:
    """Evaluations of the polynomial with coefficients ``values`` on the size-n domain."""
    n = _check(values)
    m = FR.vec_to_mont(np.ascontiguousarray(values, dtype=np.uint64))
    return FR.vec_from_mont(_ntt_mont(m, root_of_unity(n)))


def intt(values: np.ndarray) -> np.ndarray:
    """Coefficients of the polynomial taking ``values`` on the size-n domain."""
    n = _check(values)
    m = FR.vec_to_mont(np.ascontiguousarray(values, dtype=np.uint64))
    _ntt_mont(m, pow(root_of_unity(n), -1, R))
    scale_by_powers(m, np.broadcast_to(_mont_array(pow(n, -1, R)), (n, 4)).copy())
    return FR.vec_from_mont(m)


def _mont_array(x: int) -> np.ndarray:
    return np.array(_mont_scalar(x), dtype=np.uint64).reshape(1, 4)


def coset_ntt(values: np.ndarray, shift: int) -> np.ndarray:
    """Evaluations on shift*H: ntt(values[j] * shift^j)."""
    n = _check(values)
    m = FR.vec_to_mont(np.ascontiguousarray(values, dtype=np.uint64))
    scale_by_powers(m, powers_table(shift % R, n))
    return FR.vec_from_mont(_ntt_mont(m, root_of_unity(n)))


def coset_intt(values: np.ndarray, shift: int) -> np.ndarray:
    """Inverse of :func:`coset_ntt`: coefficients from evaluations on shift*H."""
    n = _check(values)
    m = FR.vec_to_mont(np.ascontiguousarray(values, dtype=np.uint64))
    _ntt_mont(m, pow(root_of_unity(n), -1, R))
    inv_n = pow(n, -1, R)
    ginv = pow(shift % R, -1, R)
    scale_by_powers(m, powers_table(ginv, n))
    scale_by_powers(m, np.broadcast_to(_mont_array(inv_n), (n, 4)).copy())
    return FR.vec_from_mont(m)


__all__ = ["ntt", "intt", "coset_ntt", "coset_intt", "root_of_unity", "powers_table",
           "ntt_inplace", "scale_by_powers"]
