"""How a Pippenger MSM is cut up: window size, windows, chunks, batch size (no numba here).

The cost model counts group additions: ``windows * (n + 2^c)`` for n points and c-bit windows
(each point adds into one bucket per window; each window's bucket reduction costs about
2 * 2^(c-1) additions), up to a largest window per group, where the buckets outgrow the cache
(below).  See :mod:`zkmargin.algebra.msm` for the algorithm itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: The largest window (bits) per affine point size: 15 for G1 (64-byte points), 13 for G2
#: (128 bytes).  Past it, the buckets (2^(c-1) points) outgrow the core's cache and each
#: addition's random bucket access costs more than the fewer windows save.  Measured on dense
#: keys, 2 threads, with the queueing loop prefetching its buckets (msm.py): a 2^20-point G1
#: MSM took 0.91x the time of c = 14 with c = 15 (one thread: c = 16 took 1.12x c = 15); G2
#: with c = 14 took 1.02x (2^20) and 1.07x (2^18) the time of c = 13.
MAX_WINDOW = {64: 15, 128: 13}


def max_window(point_bytes: int) -> int:
    """The largest c for ``point_bytes``-byte affine points (:data:`MAX_WINDOW`; 13 for any
    other size)."""
    return MAX_WINDOW.get(point_bytes, 13)


def choose_window(n: int, bits: int, max_c: int = 16) -> int:
    """Window size c minimising ceil((bits+1)/c) * (n + 2^c), for 2 <= c <= max_c."""
    best_c, best_cost = 2, math.inf
    for c in range(2, max(2, min(max_c, 16)) + 1):
        cost = math.ceil((bits + 1) / c) * (n + (1 << c))
        if cost < best_cost:
            best_c, best_cost = c, cost
    return best_c


def affine_batch_size(c: int) -> int:
    """Pending additions per shared inversion for window size c (a quarter of the buckets,
    between 32 and 1024, which keeps two additions to one bucket in a batch rare)."""
    return max(32, min(1024, (1 << (c - 1)) // 4))


@dataclass(frozen=True)
class MsmPlan:
    c: int            # window size in bits
    n_windows: int    # signed-digit windows: bits // c + 1
    n_chunks: int     # point chunks per window (tasks = n_windows * n_chunks)
    batch_size: int   # pending affine additions per inversion
    affine: bool      # batch-affine buckets (else mixed Jacobian additions)


def msm_plan(n: int, bits: int, threads: int, point_bytes: int = 64) -> MsmPlan:
    """The plan for n points (affine, ``point_bytes`` each: 64 for G1, 128 for G2) whose
    scalars have at most ``bits`` bits, on ``threads`` threads.

    Points are split into chunks when there are too few windows to keep every thread busy
    (at least two tasks per thread); batch-affine accumulation pays once each task has
    eight batches of points to amortise its inversions."""
    c = choose_window(n, bits, max_window(point_bytes))
    n_windows = bits // c + 1
    n_chunks = 1 if n < 1024 else max(1, -(-2 * threads // n_windows))
    batch = affine_batch_size(c)
    return MsmPlan(c, n_windows, n_chunks, batch, n // n_chunks >= 8 * batch)


__all__ = ["MsmPlan", "msm_plan", "choose_window", "max_window", "affine_batch_size", "MAX_WINDOW"]
