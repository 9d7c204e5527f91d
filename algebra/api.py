"""The kernel-backed half of :mod:`zkmargin.algebra` (imports numba and the compiled kernels).

Import names from :mod:`zkmargin.algebra`; this module is loaded on first use of any of them.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .arrays import g1_array_from_points, g1_points_from_array, g2_array_from_points, g2_points_from_array
from .constants import Q, R, root_of_unity
from .curve import G1_LIKE, G2_LIKE, jac_rows_to_affine
from .encoding import (
    PointError,
    check_g1,
    check_g2,
    g1_from_bytes,
    g1_from_snarkjs_bytes,
    g1_to_bytes,
    g1_to_snarkjs_bytes,
    g2_from_bytes,
    g2_from_snarkjs_bytes,
    g2_to_bytes,
    g2_to_snarkjs_bytes,
)
from .fft import coset_intt, coset_ntt, intt, ntt
from .field import FR, array_to_ints, ints_to_array
from .msm import fixed_base_rows, group_fft_rows, msm_rows, scale_each_rows, signed_sum_rows
from .points import (
    G1_GEN,
    G2_GEN,
    G1Point,
    G2Point,
    g1_add,
    g1_from_py_ecc,
    g1_is_on_curve,
    g1_mul,
    g1_neg,
    g1_sub,
    g1_to_py_ecc,
    g2_add,
    g2_from_py_ecc,
    g2_in_subgroup,
    g2_is_on_curve,
    g2_mul,
    g2_neg,
    g2_to_py_ecc,
)


def _g1_rows(points: np.ndarray) -> np.ndarray:
    """G1 points as C-contiguous, aligned rows of 8 limbs (a copy only where needed: a key
    section mapped from a file may be unaligned)."""
    return np.require(points, dtype=np.uint64, requirements=["C", "A"]).reshape(-1, 8)


def _g2_rows(points: np.ndarray) -> np.ndarray:
    """G2 points as C-contiguous, aligned rows of 16 limbs (as :func:`_g1_rows`)."""
    return np.require(points, dtype=np.uint64, requirements=["C", "A"]).reshape(-1, 16)


def _scalars(scalars: np.ndarray, n: int) -> np.ndarray:
    s = np.ascontiguousarray(scalars, dtype=np.uint64)
    if s.shape != (n, 4):
        raise ValueError(f"expected scalars uint64[{n}, 4], got shape {s.shape}")
    return s


def _g1_jac_to_affine_array(jac: np.ndarray) -> np.ndarray:
    return jac_rows_to_affine(jac, G1_LIKE).reshape(-1, 2, 4)


def _g2_jac_to_affine_array(jac: np.ndarray) -> np.ndarray:
    return jac_rows_to_affine(jac, G2_LIKE).reshape(-1, 2, 2, 4)


# ---- multi-scalar multiplication ----------------------------------------------------------


def msm_g1(points: np.ndarray, scalars: np.ndarray) -> G1Point:
    """sum_i scalars[i] * points[i] (G1 array, canonical scalars)."""
    rows = _g1_rows(points)
    return g1_points_from_array(_g1_jac_to_affine_array(msm_rows(rows, _scalars(scalars, rows.shape[0]), G1_LIKE)))[0]


def msm_g2(points: np.ndarray, scalars: np.ndarray) -> G2Point:
    """sum_i scalars[i] * points[i] (G2 array, canonical scalars)."""
    rows = _g2_rows(points)
    return g2_points_from_array(_g2_jac_to_affine_array(msm_rows(rows, _scalars(scalars, rows.shape[0]), G2_LIKE)))[0]


# ---- batch scalar multiplication ----------------------------------------------------------


def g1_scale_each(points: np.ndarray, scalars: np.ndarray) -> np.ndarray:
    """G1 array of points[i] * scalars[i]."""
    rows = _g1_rows(points)
    return _g1_jac_to_affine_array(scale_each_rows(rows, _scalars(scalars, rows.shape[0]), G1_LIKE))


def g2_scale_each(points: np.ndarray, scalars: np.ndarray) -> np.ndarray:
    """G2 array of points[i] * scalars[i]."""
    rows = _g2_rows(points)
    return _g2_jac_to_affine_array(scale_each_rows(rows, _scalars(scalars, rows.shape[0]), G2_LIKE))


def _fixed_base_table(base, add, to_array) -> np.ndarray:
    """Rows 256*k + d = d * 256^k * base, for k < 32, d < 256 (d = 0 is infinity)."""
    pts = []
    step = base
    for _ in range(32):
        acc = None
        for _d in range(256):
            pts.append(acc)
            acc = add(acc, step)
        step = acc  # 256 * step
    return to_array(pts)


def g1_fixed_base_muls(base: G1Point, scalars: np.ndarray) -> np.ndarray:
    """G1 array of base * scalars[i] (a 32 x 256 comb table: at most 32 additions each; from
    :data:`~zkmargin.algebra.fixed_base_wide.MIN_SCALARS` scalars on a 16 x 65536 table kept
    per base, at most 16 additions each -- the same points)."""
    from .fixed_base_wide import MIN_SCALARS, fixed_base_muls_rows

    s = np.ascontiguousarray(scalars, dtype=np.uint64).reshape(-1, 4)
    if base is None:
        return np.zeros((s.shape[0], 2, 4), dtype=np.uint64)
    if s.shape[0] >= MIN_SCALARS:
        return fixed_base_muls_rows(g1_array_from_points([base]), s, False).reshape(-1, 2, 4)
    table = _g1_rows(_fixed_base_table(base, g1_add, g1_array_from_points))
    return _g1_jac_to_affine_array(fixed_base_rows(table, s, G1_LIKE))


def g2_fixed_base_muls(base: G2Point, scalars: np.ndarray) -> np.ndarray:
    """G2 array of base * scalars[i] (as :func:`g1_fixed_base_muls`)."""
    from .fixed_base_wide import MIN_SCALARS, fixed_base_muls_rows

    s = np.ascontiguousarray(scalars, dtype=np.uint64).reshape(-1, 4)
    if base is None:
        return np.zeros((s.shape[0], 2, 2, 4), dtype=np.uint64)
    if s.shape[0] >= MIN_SCALARS:
        return fixed_base_muls_rows(g2_array_from_points([base]), s, True).reshape(-1, 2, 2, 4)
    table = _g2_rows(_fixed_base_table(base, g2_add, g2_array_from_points))
    return _g2_jac_to_affine_array(fixed_base_rows(table, s, G2_LIKE))


def _sparse_matvec(points_rows: np.ndarray, rows, cols, coeffs, n_out: int, like) -> np.ndarray:
    """Jacobian rows of out[cols[k]] += coeffs[k] * P[rows[k]].

    A coefficient c > (r-1)/2 is applied as -((r - c) * P) (points have order r), so -1 and
    other small negatives cost little; coefficient 1 needs no multiplication; the remaining
    products are grouped by point (one doubling table per point) and summed in batched affine
    additions (:func:`~zkmargin.algebra.affine_products.affine_products_rows`, in parallel),
    then one pass adds the terms up."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    cols = np.ascontiguousarray(cols, dtype=np.int64)
    _check_indices(rows, points_rows.shape[0], cols, n_out)
    c, negate = _signed_coefficients(_scalars(coeffs, rows.shape[0]))
    terms = points_rows[rows]
    zero = ~c.any(axis=1)
    one = (c[:, 0] == 1) & ~c[:, 1:].any(axis=1)
    scaled = ~(zero | one)
    if scaled.any():
        from .affine_products import affine_products_rows

        terms[scaled] = affine_products_rows(points_rows, rows[scaled], c[scaled], g2=points_rows.shape[1] == 16)
    terms[zero] = 0
    return signed_sum_rows(terms, cols, negate, n_out, like)


def _signed_coefficients(coeffs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(|c|, c > (r-1)/2) for canonical limbs c (reduced mod r first if needed), where
    |c| = r - c for the negated ones: c * P = -((r - c) * P) for points of order r.
    Vectorised: limb comparisons in numpy, r - c by the F_r kernel (-c mod r)."""
    from .arrays import limbs_below

    c = np.array(coeffs, dtype=np.uint64, copy=True)
    if not limbs_below(c, R).all():
        c = ints_to_array([v % R for v in array_to_ints(c)])
    negate = ~limbs_below(c, R // 2 + 1)
    if negate.any():
        c[negate] = fr_negate(c[negate])
    return c, negate


def fr_negate(values: np.ndarray) -> np.ndarray:
    """-v mod r for canonical F_r limbs (zero stays zero)."""
    from .kernel_set import kernel_set

    v = np.ascontiguousarray(values, dtype=np.uint64).reshape(-1, 4)
    if v.shape[0] == 0:
        return v.copy()
    return kernel_set().mul_sub(v, np.repeat(ints_to_array([R - 1]), v.shape[0], axis=0))


def g1_sparse_matvec(points: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                     coeffs: np.ndarray, n_out: int) -> np.ndarray:
    """G1 array ``out`` with out[cols[k]] += coeffs[k] * points[rows[k]]."""
    return _g1_jac_to_affine_array(_sparse_matvec(_g1_rows(points), rows, cols, coeffs, n_out, G1_LIKE))


def g2_sparse_matvec(points: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                     coeffs: np.ndarray, n_out: int) -> np.ndarray:
    """G2 array ``out`` with out[cols[k]] += coeffs[k] * points[rows[k]]."""
    return _g2_jac_to_affine_array(_sparse_matvec(_g2_rows(points), rows, cols, coeffs, n_out, G2_LIKE))


def _check_indices(rows: np.ndarray, n_in: int, cols: np.ndarray, n_out: int) -> None:
    if rows.shape != cols.shape:
        raise ValueError("rows and cols must have the same length")
    if rows.size and (rows.min() < 0 or rows.max() >= n_in or cols.min() < 0 or cols.max() >= n_out):
        raise ValueError("sparse index out of range")


# ---- FFT over group elements (Lagrange bases from powers of tau) --------------------------


def _inverse_twiddles(n: int) -> np.ndarray:
    winv = pow(root_of_unity(n), -1, R)
    vals, acc = [], 1
    for _ in range(max(1, n // 2)):
        vals.append(acc)
        acc = acc * winv % R
    return ints_to_array(vals)


def _group_ifft(points: np.ndarray, rows_of, jac_from_affine, fft, to_affine, scale_each) -> np.ndarray:
    n = points.shape[0]
    if n == 0 or n & (n - 1):
        raise ValueError(f"group FFT size must be a power of two, got {n}")
    jac = jac_from_affine(rows_of(points))
    fft(jac, _inverse_twiddles(n))
    inv_n = ints_to_array([pow(n, -1, R)] * n)
    return scale_each(to_affine(jac), inv_n)


def _jac_from_affine(rows: np.ndarray, fw: int, one_words: np.ndarray) -> np.ndarray:
    n = rows.shape[0]
    jac = np.zeros((n, 3 * fw), dtype=np.uint64)
    jac[:, :2 * fw] = rows
    nonzero = rows.any(axis=1)
    jac[nonzero, 2 * fw:] = one_words
    return jac


_FQ_ONE_WORDS = np.frombuffer(((1 << 256) % Q).to_bytes(32, "little"), dtype="<u8").astype(np.uint64)
_FQ2_ONE_WORDS = np.concatenate([_FQ_ONE_WORDS, np.zeros(4, dtype=np.uint64)])


def g1_ifft(points: np.ndarray) -> np.ndarray:
    """Inverse DFT over G1: out[i] = n^-1 sum_j w^(-ij) points[j].  Applied to [tau^j]G1 it
    gives the Lagrange basis [L_i(tau)]G1 of the size-n domain."""
    return _group_ifft(
        points, _g1_rows, lambda r: _jac_from_affine(r, 4, _FQ_ONE_WORDS),
        lambda j, t: group_fft_rows(j, t, G1_LIKE), lambda j: jac_rows_to_affine(j, G1_LIKE),
        lambda a, s: _g1_jac_to_affine_array(scale_each_rows(a, s, G1_LIKE)))


def g2_ifft(points: np.ndarray) -> np.ndarray:
    """Inverse DFT over G2 (see :func:`g1_ifft`)."""
    return _group_ifft(
        points, _g2_rows, lambda r: _jac_from_affine(r, 8, _FQ2_ONE_WORDS),
        lambda j, t: group_fft_rows(j, t, G2_LIKE), lambda j: jac_rows_to_affine(j, G2_LIKE),
        lambda a, s: _g2_jac_to_affine_array(scale_each_rows(a, s, G2_LIKE)))


# ---- subgroup membership (batch) ----------------------------------------------------------


def g2_first_outside_subgroup(points: np.ndarray) -> int:
    """Index of the first point of a G2 array (coordinates reduced and on the twist: check
    that first) that is not in the order-r subgroup, or -1.  Infinity is in the subgroup.

    Tested as psi(Q) == [6u^2] Q (on G2 psi acts as [q] = [6u^2]; if psi(Q) = [t - 1]Q then
    psi^2 - t psi + q = 0 gives [q - t + 1]Q = [r]Q = O, t = 6u^2 + 1): one
    compiled scalar multiplication per point by the 128-bit scalar 6u^2, then the
    endomorphism psi (two F_q2 multiplications) in Python ints."""
    from .pairing_py import SUBGROUP_SCALAR, g2_psi

    arr = np.require(points, dtype=np.uint64, requirements=["C", "A"]).reshape(-1, 2, 2, 4)
    n = arr.shape[0]
    if n == 0:
        return -1
    scaled = g2_points_from_array(g2_scale_each(arr, ints_to_array([SUBGROUP_SCALAR] * n)))
    for i, (p, s) in enumerate(zip(g2_points_from_array(arr), scaled)):
        if p is not None and (s is None or g2_psi(p) != s):
            return i
    return -1


#: Smallest prime factor of the G2 cofactor h = 2q - r (h = 10069 * 5864401 * ...): a random
#: combination of points with a component outside G2 lands in G2 with probability <= 1/10069.
G2_COFACTOR_SMALLEST_PRIME = 10069


#: Bits of the random weights of each round of :func:`g2_all_in_subgroup`.
G2_SUBGROUP_ROUND_BITS = (64, 48, 24, 20)


def g2_all_in_subgroup(points: np.ndarray, rounds: int = 4) -> bool:
    """Whether every point of a G2 array (coordinates reduced and on the twist: check that
    first) is in the order-r subgroup, by random linear combinations.

    Each round tests S = sum w_i Q_i exactly, with fresh b-bit weights w_i from the OS CSPRNG.
    If every Q_i is in G2 so is S.  If not, write Q_i = P_i + T_i with T_i in the cofactor
    group (order h = 2q - r = 10069 * 5864401 * 1875725156269 * p_178, each prime once, so
    cyclic): for a prime p | h such that some T_k has a non-zero p-part, S is in G2 only if
    sum w_i T_i has a zero p-part, which for the other weights fixed pins w_k to one residue
    mod p: probability <= ceil(2^b / p) / 2^b.  The rounds' widths
    (:data:`G2_SUBGROUP_ROUND_BITS`: 64, 48, 24, 20 bits) give, over the 4 rounds, < 2^-53 for
    p = 10069 (about 10069^-4, as four 64-bit rounds), < 2^-87 for 5864401, < 2^-125 for
    1875725156269 and 2^-156 for p_178 -- at 156 bits of MSM work instead of 256: one
    short G2 MSM per round (on :func:`kernel_set`: the native kernels when built) instead of a
    128-bit multiplication per point.  ``rounds`` beyond 4 repeat the last width.
    """
    import secrets

    from .kernel_set import kernel_set
    from .pairing_py import g2_in_subgroup_fast

    arr = np.require(points, dtype=np.uint64, requirements=["C", "A"]).reshape(-1, 2, 2, 4)
    n = arr.shape[0]
    if n == 0:
        return True
    for k in range(rounds):
        bits = G2_SUBGROUP_ROUND_BITS[min(k, len(G2_SUBGROUP_ROUND_BITS) - 1)]
        r = np.frombuffer(secrets.token_bytes(8 * n), dtype="<u8").astype(np.uint64)
        scalars = np.zeros((n, 4), dtype=np.uint64)
        scalars[:, 0] = r >> np.uint64(64 - bits) if bits < 64 else r
        if not g2_in_subgroup_fast(kernel_set().msm_g2(arr, scalars)):
            return False
    return True


# ---- F_r helpers --------------------------------------------------------------------------


def fr_batch_inverse(values: np.ndarray) -> np.ndarray:
    """Canonical inverses of canonical F_r values (zeros stay zero), Montgomery's trick."""
    m = FR.vec_to_mont(np.ascontiguousarray(values, dtype=np.uint64))
    return FR.vec_from_mont(FR.batch_inv(m))


# ---- pairing ------------------------------------------------------------------------------


def pairing_product_is_one(pairs: Sequence[tuple[G1Point, G2Point]]) -> bool:
    """True iff prod_i e(P_i, Q_i) = 1 (one shared final exponentiation)."""
    from .pairing import pairing_product_is_one as _check
    return _check(pairs)


__all__ = [
    "Q", "R", "G1_GEN", "G2_GEN", "G1Point", "G2Point", "root_of_unity",
    "g1_add", "g1_sub", "g1_neg", "g1_mul", "g1_is_on_curve", "g2_add", "g2_neg", "g2_mul",
    "g2_is_on_curve", "g2_in_subgroup", "g1_to_py_ecc", "g1_from_py_ecc", "g2_to_py_ecc",
    "g2_from_py_ecc", "g1_array_from_points", "g1_points_from_array", "g2_array_from_points",
    "g2_points_from_array", "msm_g1", "msm_g2", "g1_scale_each", "g2_scale_each",
    "g1_fixed_base_muls", "g2_fixed_base_muls", "g1_sparse_matvec", "g2_sparse_matvec",
    "g1_ifft", "g2_ifft", "ntt", "intt", "coset_ntt", "coset_intt", "fr_batch_inverse",
    "pairing_product_is_one", "ints_to_array", "array_to_ints", "warm_up", "g2_first_outside_subgroup",
    "g2_all_in_subgroup", "PointError", "check_g1", "check_g2", "g1_to_bytes", "g1_from_bytes", "g2_to_bytes",
    "g2_from_bytes", "g1_to_snarkjs_bytes", "g1_from_snarkjs_bytes", "g2_to_snarkjs_bytes",
    "g2_from_snarkjs_bytes",
]


#: Kernel families compiled by :func:`warm_up`, with their cold compile time in seconds
#: (measured on a 2-core machine at load ~6: 325 s in all) -- the weights of the progress
#: report, so that its estimate of the time left holds.
WARM_UP_STEPS = {"field": 6, "NTT": 24, "G1 MSM": 85, "G2 MSM": 69, "G1 batch": 29,
                 "G2 batch": 29, "pairing": 82}


def warm_up(progress=None) -> dict[str, float]:
    """Compile (or load from numba's on-disk cache) every hot kernel on tiny inputs.

    Returns seconds per kernel family.  The first run on a machine compiles (minutes on a
    2-core machine); later processes load the cache in about a second.  ``progress(what,
    done, total)`` is told each family before it compiles (weights :data:`WARM_UP_STEPS`).
    """
    import time

    timings: dict[str, float] = {}
    total = sum(WARM_UP_STEPS.values())
    done = [0]

    def step(name, fn):
        if progress:
            progress(f"{name} kernels", done[0], total)
        t = time.perf_counter()
        fn()
        timings[name] = time.perf_counter() - t
        done[0] += WARM_UP_STEPS[name]

    one = ints_to_array([1, 2])
    g1 = g1_array_from_points([G1_GEN, G1_GEN])
    g2 = g2_array_from_points([G2_GEN, G2_GEN])
    big = ints_to_array([3] * 4096)
    g1_big = np.broadcast_to(g1[:1], (4096, 2, 4)).copy()
    step("field", lambda: fr_batch_inverse(one))
    step("NTT", lambda: (ntt(ints_to_array([5] * 4096)), intt(one), coset_ntt(one, 5), coset_intt(one, 5)))
    step("G1 MSM", lambda: (msm_g1(g1, one), msm_g1(g1_big, big)))
    step("G2 MSM", lambda: msm_g2(g2, one))
    from .fixed_base_wide import compile_kernels as wide_fixed_base

    step("G1 batch", lambda: (g1_scale_each(g1, one), g1_fixed_base_muls(G1_GEN, one), wide_fixed_base(False),
                              g1_sparse_matvec(g1, np.array([0, 1]), np.array([0, 0]), one, 1), g1_ifft(g1)))
    step("G2 batch", lambda: (g2_scale_each(g2, one), g2_fixed_base_muls(G2_GEN, one), wide_fixed_base(True), g2_ifft(g2),
                              g2_all_in_subgroup(g2)))
    step("pairing", lambda: pairing_product_is_one([(G1_GEN, G2_GEN), (g1_neg(G1_GEN), G2_GEN)]))
    if progress:
        progress("done", total, total)
    return timings
