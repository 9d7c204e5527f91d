"""Many scalars on each of many points, ``out[e] = k_e * P_(point_of[e])``, with batched affine
additions (G1 or G2).

Per point P the doubling table ``T[j] = 2^j P`` (j < 256, affine) is built once, as in
:func:`zkmargin.algebra.msm.table_products_rows`; each scalar k is written in non-adjacent form
``k = sum_j d_j 2^j`` (d_j in {-1, 0, 1}, about a third non-zero) and ``k P = sum_j d_j T[j]``.

What differs is how the sum is taken: every accumulator stays affine, and for each bit
position j the additions ``acc_e + d_(e,j) T[j]`` of all entries of a chunk are done together.
The affine sum of (x1, y1) and (x2, y2), x1 != x2, is

    lambda = (y2 - y1) / (x2 - x1),   x3 = lambda^2 - x1 - x2,   y3 = lambda (x1 - x3) - y1,

and the divisions of one batch share a single field inversion (Montgomery's trick: prefix
products, one inversion, a backward pass), so an addition costs about 6 multiplications where
a mixed Jacobian addition costs 11.  The special cases are exact: an empty accumulator takes
the addend; acc = +addend gives 2 d T[j] = d T[j+1] (the next table row); acc = -addend gives
infinity.  The results are the group elements k_e P_e, affine, so byte for byte the rows that
normalising the Jacobian products would give.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .curve import G1_LIKE, G2_LIKE, f_eq, f_inv, f_load, f_mul, f_neg, f_one, f_sqr, f_store, f_sub, f_width, load_affine
from .msm import _doubling_table

#: Entries per batch (one inversion per batch and bit position).
CHUNK_ENTRIES = 2048
_TABLE_ROWS = 256


@nb.njit(cache=True)
def _naf_digit(scalars, e, j, carry):
    """(digit at bit j of the non-adjacent form of scalars[e], new carry) given the carry in."""
    bit = np.int64((scalars[e, j // 64] >> np.uint64(j % 64)) & np.uint64(1))
    v = bit + carry
    if v == 1:
        nxt = 0
        if j < 255:
            nxt = np.int64((scalars[e, (j + 1) // 64] >> np.uint64((j + 1) % 64)) & np.uint64(1))
        if nxt == 1:
            return -1, 1
        return 1, 0
    if v == 2:
        return 0, 1
    return 0, 0


@nb.njit(cache=True)
def _addend(tables, g, j, digit, like):
    """d * T_g[j] as affine (x, y, is_infinity)."""
    x, y, inf = load_affine(tables, g * _TABLE_ROWS + j, like)
    if digit < 0:
        y = f_neg(y)
    return x, y, inf


@nb.njit(cache=True)
def _chunk(rows, point_of, scalars, order, starts, counts, g0, g1, out, like):
    """The products of groups g0 .. g1-1 (each group: one point, its entries order[starts[g] :
    starts[g] + counts[g]]), written as affine rows of ``out``."""
    fw = f_width(like)
    n_groups = g1 - g0
    tables = np.zeros((n_groups * _TABLE_ROWS, 2 * fw), dtype=np.uint64)
    for g in range(n_groups):
        tables[g * _TABLE_ROWS:(g + 1) * _TABLE_ROWS] = _doubling_table(rows, point_of[order[starts[g0 + g]]], like)
    e0 = starts[g0]
    m = starts[g1 - 1] + counts[g1 - 1] - e0
    grp = np.empty(m, dtype=np.int64)
    for g in range(n_groups):
        for t in range(starts[g0 + g] - e0, starts[g0 + g] - e0 + counts[g0 + g]):
            grp[t] = g
    acc = np.zeros((m, 2 * fw), dtype=np.uint64)
    empty = np.ones(m, dtype=np.bool_)
    carry = np.zeros(m, dtype=np.int64)
    active = np.empty(m, dtype=np.int64)
    sign = np.empty(m, dtype=np.int64)
    prefix = np.empty((m, fw), dtype=np.uint64)
    for j in range(_TABLE_ROWS):
        na = 0
        for t in range(m):
            digit, c = _naf_digit(scalars, order[e0 + t], j, carry[t])
            carry[t] = c
            if digit == 0:
                continue
            x2, y2, inf2 = _addend(tables, grp[t], j, digit, like)
            if inf2:
                continue
            if empty[t]:
                f_store(acc, t, 0, x2)
                f_store(acc, t, fw, y2)
                empty[t] = False
                continue
            x1 = f_load(acc, t, 0, like)
            if f_eq(x1, x2):
                if f_eq(f_load(acc, t, fw, like), y2):       # acc = addend: 2 d T[j] = d T[j+1]
                    x3, y3, _ = _addend(tables, grp[t], j + 1, digit, like)
                    f_store(acc, t, 0, x3)
                    f_store(acc, t, fw, y3)
                else:                                        # acc = -addend
                    empty[t] = True
                continue
            active[na] = t
            sign[na] = digit
            na += 1
        if na == 0:
            continue
        run = f_one(like)
        for i in range(na):
            t = active[i]
            f_store(prefix, i, 0, run)
            x2, _, _ = _addend(tables, grp[t], j, sign[i], like)
            run = f_mul(run, f_sub(x2, f_load(acc, t, 0, like)))
        inv = f_inv(run)
        for i in range(na - 1, -1, -1):
            t = active[i]
            x2, y2, _ = _addend(tables, grp[t], j, sign[i], like)
            x1 = f_load(acc, t, 0, like)
            y1 = f_load(acc, t, fw, like)
            dx = f_sub(x2, x1)
            dinv = f_mul(inv, f_load(prefix, i, 0, like))
            inv = f_mul(inv, dx)
            lam = f_mul(f_sub(y2, y1), dinv)
            x3 = f_sub(f_sub(f_sqr(lam), x1), x2)
            y3 = f_sub(f_mul(lam, f_sub(x1, x3)), y1)
            f_store(acc, t, 0, x3)
            f_store(acc, t, fw, y3)
    for t in range(m):
        e = order[e0 + t]
        if not empty[t]:
            out[e] = acc[t]


@nb.njit(cache=True, parallel=True)
def _products_g1(rows, point_of, scalars, order, starts, counts, bounds, out):
    for c in nb.prange(bounds.shape[0] - 1):
        _chunk(rows, point_of, scalars, order, starts, counts, bounds[c], bounds[c + 1], out, G1_LIKE)


@nb.njit(cache=True, parallel=True)
def _products_g2(rows, point_of, scalars, order, starts, counts, bounds, out):
    for c in nb.prange(bounds.shape[0] - 1):
        _chunk(rows, point_of, scalars, order, starts, counts, bounds[c], bounds[c + 1], out, G2_LIKE)


def _chunk_bounds(counts: np.ndarray, target: int) -> np.ndarray:
    """Group indices 0 = b_0 < b_1 < ... < b_m = len(counts) cutting the groups into runs of
    about ``target`` entries (a group is never split)."""
    ends = np.cumsum(counts)
    cuts = np.searchsorted(ends, np.arange(target, int(ends[-1]), target), side="left") + 1
    return np.unique(np.r_[0, cuts, len(counts)]).astype(np.int64)


def affine_products_rows(rows: np.ndarray, point_of: np.ndarray, scalars: np.ndarray, g2: bool) -> np.ndarray:
    """Affine rows out[e] = scalars[e] * rows[point_of[e]] (rows: affine Montgomery rows of
    width 8 (G1) or 16 (G2); scalars: canonical uint64[n, 4], each below 2^254)."""
    width = 16 if g2 else 8
    point_of = np.ascontiguousarray(point_of, dtype=np.int64)
    scalars = np.ascontiguousarray(scalars, dtype=np.uint64).reshape(-1, 4)
    out = np.zeros((len(point_of), width), dtype=np.uint64)
    if not len(point_of):
        return out
    if (scalars[:, 3] >> np.uint64(62)).any():
        raise ValueError("affine_products_rows: scalars must be below 2^254")
    order = np.argsort(point_of, kind="stable").astype(np.int64)
    sorted_points = point_of[order]
    starts = np.flatnonzero(np.r_[True, sorted_points[1:] != sorted_points[:-1]]).astype(np.int64)
    counts = np.diff(np.r_[starts, len(order)]).astype(np.int64)
    bounds = _chunk_bounds(counts, CHUNK_ENTRIES)
    kernel = _products_g2 if g2 else _products_g1
    kernel(np.ascontiguousarray(rows, dtype=np.uint64), point_of, scalars, order, starts, counts, bounds, out)
    return out


__all__ = ["CHUNK_ENTRIES", "affine_products_rows"]
