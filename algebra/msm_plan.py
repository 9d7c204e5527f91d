"""How a Pippenger MSM is cut up: window size, windows, chunks, batch size (no numba here).

The cost model counts group additions: ``windows * (n + 2^c)`` for n points and c-bit windows
(each point adds into one bucket per window; each window's bucket reduction costs about
2 * 2^(c-1) additions).  See :mod:`zkmargin.algebra.msm` for the algorithm itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def choose_window(n: int, bits: int) -> int:
    """Window size c minimising ceil((bits+1)/c) * (n + 2^c), for 2 <= c <= 16."""
    best_c, best_cost = 2, math.inf
    for c in range(2, 17):
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


def msm_plan(n: int, bits: int, threads: int) -> MsmPlan:
    """The plan for n points whose scalars have at most ``bits`` bits, on ``threads`` threads.

    Points are split into chunks when there are too few windows to keep every thread busy
    (at least two tasks per thread); batch-affine accumulation pays once each task has
    eight batches of points to amortise its inversions."""
    c = choose_window(n, bits)
    n_windows = bits // c + 1
    n_chunks = 1 if n < 1024 else max(1, -(-2 * threads // n_windows))
    batch = affine_batch_size(c)
    return MsmPlan(c, n_windows, n_chunks, batch, n // n_chunks >= 8 * batch)


__all__ = ["MsmPlan", "msm_plan", "choose_window", "affine_batch_size"]
