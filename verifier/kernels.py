"""The compiled verifier's operations: kernel rows, and the work split over threads.

:class:`Kernels` wraps one namespace of the kernels of :mod:`zkmargin.algebra.verifier_kernels`
-- the ahead-of-time module or the JIT-compiled module itself -- and runs large inputs
(a batch's subgroup tests, scalings, Miller loops) in chunks on Python threads; the kernels
release the GIL.  :mod:`zkmargin.verifier.backend` decides which namespace a verification uses.

Everything here takes points and scalars that already passed the checks of
:mod:`zkmargin.verifier.groth16` (reduced coordinates, on the curve, inputs in [0, r)).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from types import ModuleType
from typing import Callable, Optional, Sequence, TypeVar

import numpy as np

from ..algebra.arrays import g1_array_from_points, g2_array_from_points, ints_to_array
from ..algebra.kernel_set import LazyWorkers, default_threads

T = TypeVar("T")

_cache: dict[str, "Kernels"] = {}
_cache_lock = threading.Lock()
_NO_MULTIPLES = np.zeros((0, 3, 2, 4), dtype=np.uint64)


def kernels_for(mod: ModuleType, name: str) -> "Kernels":
    """The one :class:`Kernels` of this process over namespace ``mod`` (its thread pool is
    shared by every verification)."""
    with _cache_lock:
        if name not in _cache:
            _cache[name] = Kernels(mod, name)
        return _cache[name]


# ---- arrays -----------------------------------------------------------------------------------


def g1_rows(points) -> np.ndarray:
    """Python G1 points (None = infinity) -> uint64[n, 8] Montgomery rows."""
    return np.ascontiguousarray(g1_array_from_points(points).reshape(-1, 8))


def g2_rows(points) -> np.ndarray:
    """Python G2 points -> uint64[n, 16] Montgomery rows."""
    return np.ascontiguousarray(g2_array_from_points(points).reshape(-1, 16))


def scalar_rows(values: Sequence[int]) -> np.ndarray:
    """Non-negative integers below 2^256 -> uint64[n, 4] little-endian limbs."""
    return np.ascontiguousarray(ints_to_array([int(v) for v in values]))


def bucket_width(n: int, bits: int) -> int:
    """The bucket MSM's digit width c for n points with ``bits``-bit scalars: the c that
    minimises (bits / c + 1) windows times (n additions + 2^c for the running sums)."""
    return min(range(2, 17), key=lambda c: (-(-bits // c) + 1) * (n + (1 << c)))


def _chunks(n: int, parts: int) -> list[slice]:
    parts = max(1, min(parts, n))
    bounds = [n * i // parts for i in range(parts + 1)]
    return [slice(bounds[i], bounds[i + 1]) for i in range(parts) if bounds[i] < bounds[i + 1]]


@dataclass
class Kernels:
    """The verifier's operations over one kernel namespace ``k`` (native module or JIT),
    split over ``threads`` Python threads for large inputs (the kernels release the GIL)."""

    k: ModuleType
    name: str
    threads: int = field(default_factory=default_threads)
    #: below this many items per thread a job is not split
    min_chunk: int = 16
    _pool: LazyWorkers = field(default_factory=LazyWorkers, init=False, repr=False)

    def _split(self, n: int, job: Callable[[slice], T]) -> list[T]:
        parts = min(self.threads, max(1, n // self.min_chunk))
        return self._pool.map(job, _chunks(n, parts), self.threads)

    def _by_rows(self, kernel: Callable[..., T], *arrays: np.ndarray) -> list[T]:
        """``kernel`` on matching row chunks of ``arrays`` (contiguous), one chunk per thread."""
        return self._split(arrays[0].shape[0], lambda s: kernel(*(np.ascontiguousarray(a[s]) for a in arrays)))

    # ---- G2 subgroup ----------------------------------------------------------------------

    def g2_subgroup_flags(self, rows: np.ndarray) -> np.ndarray:
        """bool[n]: row i (on the twist) lies in G2."""
        if rows.shape[0] == 0:
            return np.zeros(0, dtype=bool)
        return np.concatenate(self._by_rows(self.k.g2_subgroup_flags, rows)).astype(bool)

    # ---- G1 -------------------------------------------------------------------------------

    def g1_scale_each_glv(self, rows: np.ndarray, glv: np.ndarray) -> np.ndarray:
        """Rows k_i P_i, k_i as GLV rows (uint64[n, 5], :func:`zkmargin.algebra.glv.glv_limbs`)."""
        if rows.shape[0] == 0:
            return rows.copy()
        return np.concatenate(self._by_rows(self.k.g1_scale_each_glv, rows, glv))

    def g1_endo_rows(self, rows: np.ndarray) -> np.ndarray:
        """Rows phi(P_i) = (omega x_i, y_i) = [lambda] P_i."""
        return self.k.g1_endo_rows(np.ascontiguousarray(rows)) if rows.shape[0] else rows.copy()

    def g1_msm(self, rows: np.ndarray, scalars: np.ndarray) -> np.ndarray:
        """sum_i k_i P_i as a (1, 8) row, by buckets (for many points; :meth:`g1_lincomb` is
        cheaper below a few dozen); chunks on the threads, partial sums added."""
        limbs = np.flatnonzero(scalars.any(axis=0)) if rows.shape[0] else ()
        if len(limbs) == 0:
            return np.zeros((1, 8), dtype=np.uint64)
        top = int(limbs[-1])
        bits = 64 * top + int(scalars[:, top].max()).bit_length()
        return self._add_rows(self._by_rows(
            lambda p, k: self.k.g1_msm(p, k, bucket_width(p.shape[0], bits)), rows, scalars))

    def g1_lincomb(self, rows: np.ndarray, scalars: np.ndarray) -> np.ndarray:
        """sum_i k_i P_i as a (1, 8) row; a long sum is split over the threads and the
        partial sums added (one more small lincomb with scalars 1)."""
        if rows.shape[0] == 0:
            return np.zeros((1, 8), dtype=np.uint64)
        return self._add_rows(self._by_rows(self.k.g1_lincomb, rows, scalars))

    def _add_rows(self, parts: list[np.ndarray]) -> np.ndarray:
        """The sum of a few (1, 8) partial sums (one small lincomb with scalars 1)."""
        if len(parts) == 1:
            return parts[0]
        ones = scalar_rows([1] * len(parts))
        return self.k.g1_lincomb(np.ascontiguousarray(np.concatenate(parts)), ones)

    # ---- pairing --------------------------------------------------------------------------

    def miller(self, g1: np.ndarray, g2: np.ndarray, multiples: Optional[np.ndarray] = None) -> np.ndarray:
        """The Miller values of the pairs (g1 rows (k, 8), g2 rows (k, 16)), one F_q12 per
        chunk: uint64[chunks, 2, 3, 2, 4] (their product is the multi-Miller value).  With
        ``multiples`` (uint64[k, 3, 2, 4], zeros) it also receives [6u+2]Q_i for
        :meth:`g2_membership`."""
        k = g1.shape[0]
        g1 = g1.reshape(k, 2, 4)
        g2 = g2.reshape(k, 2, 2, 4)

        def job(s: slice) -> np.ndarray:
            out = np.empty((2, 3, 2, 4), dtype=np.uint64)
            t = _NO_MULTIPLES if multiples is None else multiples[s]
            self.k.miller_product(np.ascontiguousarray(g1[s]), np.ascontiguousarray(g2[s]), out, t)
            return out

        if k == 0:
            return np.zeros((0, 2, 3, 2, 4), dtype=np.uint64)
        return np.stack(self._split(k, job))

    def g2_membership(self, rows: np.ndarray, multiples: np.ndarray) -> np.ndarray:
        """bool[n]: Q_i (row i, on the twist, not infinity) lies in G2, from T_i = [6u+2]Q_i
        that :meth:`miller` handed back; a T_i with Z = 0 (a pair the loop skipped, or a walk
        that could not finish, which no twist point causes) gets the standalone test."""
        if rows.shape[0] == 0:
            return np.zeros(0, dtype=bool)
        flags = np.concatenate(self._by_rows(self.k.g2_flags_from_multiples, rows, multiples))
        unknown = np.flatnonzero(flags == 2)
        if unknown.size:
            flags[unknown] = self.g2_subgroup_flags(np.ascontiguousarray(rows[unknown]))
        return flags.astype(bool)

    def product_is_one(self, millers: Sequence[np.ndarray]) -> bool:
        """(prod of the Miller values) ^ ((q^12 - 1) / r) == 1."""
        stack = np.ascontiguousarray(np.concatenate([m.reshape(-1, 2, 3, 2, 4) for m in millers]))
        return bool(self.k.product_final_exp_is_one(stack))

    def pairing_product_is_one(self, g1: np.ndarray, g2: np.ndarray,
                               extra: Sequence[np.ndarray] = ()) -> bool:
        """prod_i e(g1_i, g2_i) (times the pairings whose Miller values are in ``extra``) == 1."""
        return self.product_is_one([self.miller(g1, g2), *extra])


__all__ = ["Kernels", "kernels_for", "g1_rows", "g2_rows", "scalar_rows"]
