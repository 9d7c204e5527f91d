"""Fixed-base scalar multiplication with 16-bit windows: k_i * B for many scalars k_i and one
base B (G1 or G2).

Write a 256-bit scalar in base 2^16, ``k = sum_{w<16} d_w 2^(16 w)`` with ``0 <= d_w < 2^16``.
With the table ``T[w][d] = d * 2^(16 w) * B`` (16 x 65536 affine points, ``T[w][0]`` = infinity)

    k * B = sum_{w<16} T[w][d_w]

costs at most 16 mixed additions per scalar and no doubling -- half the 32 of the 8-bit comb
of :func:`zkmargin.algebra.g1_fixed_base_muls`, which computes the same points.  The table
costs 16 * 65535 additions (about as much as 65536 scalars), so it pays from a few hundred
thousand scalars on (a development powers of tau: millions) and is kept per base for the
process (64 MiB for G1, 128 MiB for G2).

The points are the same group elements as the 8-bit comb's, normalised to affine, so they
are the same bytes.
"""

from __future__ import annotations

import threading

import numba as nb
import numpy as np

from .curve import G1_LIKE, G2_LIKE, f_width, infinity, jac_add_mixed, jac_double, jac_rows_to_affine, load_affine, store_jac
from .msm import fixed_base_one

#: Window width in bits and number of windows (16 * 16 = 256 bits: every uint64[4] scalar).
WINDOW_BITS = 16
WINDOWS = 16
_DIGITS = 1 << WINDOW_BITS
#: Use the wide table from this many scalars on (below it the 8-bit comb is cheaper).
MIN_SCALARS = 1 << 17


@nb.njit(cache=True)
def _window_steps(base_row, like):
    """Jacobian rows of 2^(16 w) * B for w < 16 (B: one affine row, not infinity)."""
    out = np.zeros((WINDOWS, 3 * f_width(like)), dtype=np.uint64)
    x, y, _ = load_affine(base_row, 0, like)
    acc = jac_add_mixed(infinity(like), x, y)
    for w in range(WINDOWS):
        store_jac(out, w, acc)
        for _ in range(WINDOW_BITS):
            acc = jac_double(acc)
    return out


@nb.njit(cache=True)
def _fill_window(table, steps, w, digits, like):
    """Jacobian rows digits * w + d = d * steps[w] for d < digits (affine steps rows; row
    digits * w is infinity)."""
    x, y, _ = load_affine(steps, w, like)
    acc = infinity(like)
    store_jac(table, w * digits, acc)
    for d in range(1, digits):
        acc = jac_add_mixed(acc, x, y)
        store_jac(table, w * digits + d, acc)


@nb.njit(cache=True, parallel=True)
def _fill_table_g1(steps, table, digits):
    for w in nb.prange(steps.shape[0]):
        _fill_window(table, steps, w, digits, G1_LIKE)


@nb.njit(cache=True, parallel=True)
def _fill_table_g2(steps, table, digits):
    for w in nb.prange(steps.shape[0]):
        _fill_window(table, steps, w, digits, G2_LIKE)


@nb.njit(cache=True, parallel=True)
def _muls_g1(table, scalars, out):
    for i in nb.prange(scalars.shape[0]):
        fixed_base_one(table, scalars, i, out, G1_LIKE, WINDOW_BITS)


@nb.njit(cache=True, parallel=True)
def _muls_g2(table, scalars, out):
    for i in nb.prange(scalars.shape[0]):
        fixed_base_one(table, scalars, i, out, G2_LIKE, WINDOW_BITS)


_TABLES: dict[bytes, np.ndarray] = {}
_LOCK = threading.Lock()


def _table(base_row: np.ndarray, g2: bool) -> np.ndarray:
    """The affine 16 x 65536 table of a base row (built once per base and process)."""
    like = G2_LIKE if g2 else G1_LIKE
    key = base_row.tobytes()
    with _LOCK:
        table = _TABLES.get(key)
        if table is None:
            steps = jac_rows_to_affine(_window_steps(base_row, like), like)
            jac = np.zeros((WINDOWS * _DIGITS, 3 * (8 if g2 else 4)), dtype=np.uint64)
            (_fill_table_g2 if g2 else _fill_table_g1)(steps, jac, _DIGITS)
            table = jac_rows_to_affine(jac, like)
            if len(_TABLES) >= 2:           # one G1 and one G2 base at a time
                _TABLES.pop(next(iter(_TABLES)))
            _TABLES[key] = table
        return table


def fixed_base_muls_rows(base_row: np.ndarray, scalars: np.ndarray, g2: bool) -> np.ndarray:
    """Affine rows (n, 8) for G1 or (n, 16) for G2 of k_i * B, B one affine Montgomery row
    (not infinity), scalars uint64[n, 4] (any 256-bit values; the products are k_i mod r)."""
    like = G2_LIKE if g2 else G1_LIKE
    base_row = np.ascontiguousarray(base_row, dtype=np.uint64).reshape(1, 16 if g2 else 8)
    s = np.ascontiguousarray(scalars, dtype=np.uint64).reshape(-1, 4)
    if s.shape[0] == 0:
        return np.zeros((0, 16 if g2 else 8), dtype=np.uint64)
    out = np.zeros((s.shape[0], 3 * (8 if g2 else 4)), dtype=np.uint64)
    (_muls_g2 if g2 else _muls_g1)(_table(base_row, g2), s, out)
    return jac_rows_to_affine(out, like)


def compile_kernels(g2: bool) -> None:
    """Compile (or load from numba's cache) the kernels on tiny inputs, without a table."""
    like, width = (G2_LIKE, 16) if g2 else (G1_LIKE, 8)
    base = np.zeros((1, width), dtype=np.uint64)
    base[0, 0] = 1                                   # any non-zero row: only compiled
    steps = jac_rows_to_affine(_window_steps(base, like), like)
    (_fill_table_g2 if g2 else _fill_table_g1)(steps[:1], np.zeros((2, 3 * width // 2), dtype=np.uint64), 2)
    (_muls_g2 if g2 else _muls_g1)(np.zeros((1, width), dtype=np.uint64), np.zeros((1, 4), dtype=np.uint64),
                                   np.zeros((1, 3 * width // 2), dtype=np.uint64))


def clear_tables() -> None:
    """Drop the cached tables (their memory)."""
    with _LOCK:
        _TABLES.clear()


__all__ = ["WINDOW_BITS", "WINDOWS", "MIN_SCALARS", "fixed_base_muls_rows", "compile_kernels", "clear_tables"]
