"""How a Pippenger MSM is cut up: window size, windows, chunks, batch size (no numba here).

The cost model counts group additions: ``windows * (n + 2^c)`` for n points and c-bit windows
(each point adds into one bucket per window; each window's bucket reduction costs about
2 * 2^(c-1) additions), over the windows whose buckets fit a cache budget (below).  See
:mod:`zkmargin.algebra.msm` for the algorithm itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Bytes of bucket state a window task may keep hot.  Past it, each addition's random bucket
#: access misses the core's cache and costs more than the fewer windows save: on dense keys
#: (2 threads), the G1 MSM took 1.38-1.42 s at 2^18 with c = 15 against 1.13-1.29 s with
#: c = 13-14, and 5.4-5.8 s at 2^20 with c = 16 against 4.99-5.07 s with c = 13-14.
BUCKET_BUDGET_BYTES = 1 << 20

#: Hot bytes per bucket: the affine point (G1 64, G2 128 bytes) and its batch stamp and flag.
BUCKET_OVERHEAD_BYTES = 9


def max_window(point_bytes: int) -> int:
    """The largest c (2..16) whose 2^(c-1) buckets of ``point_bytes``-byte affine points fit
    :data:`BUCKET_BUDGET_BYTES`: 14 for G1, 13 for G2."""
    per_bucket = point_bytes + BUCKET_OVERHEAD_BYTES
    c = 2
    while c < 16 and (1 << c) * per_bucket <= BUCKET_BUDGET_BYTES:
        c += 1
    return c


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


__all__ = ["MsmPlan", "msm_plan", "choose_window", "max_window", "affine_batch_size", "BUCKET_BUDGET_BYTES"]
