"""Multi-scalar multiplication (Pippenger) and other batch group kernels, for G1 and G2.

MSM: sum_i s_i * P_i with canonical F_r scalars s_i (uint64[n, 4]) and affine points.

1. *Signed digits*: each scalar is cut into windows of c bits; a digit d >= 2^(c-1) becomes
   d - 2^c with a carry into the next window, so digits lie in [-2^(c-1), 2^(c-1)] and only
   2^(c-1) buckets are needed (a negative digit adds -P, which is free: negate y).  There are
   floor(bits / c) + 1 windows, so the top window's raw value is below 2^(c-1); with the
   incoming carry it is at most 2^(c-1), which the top window keeps as a positive digit.
2. *Buckets*: for each window, bucket[|d|-1] += sign(d) * P_i (mixed Jacobian + affine adds).
   Zero digits are skipped, so zero scalars cost nothing and small scalars (a witness is
   mostly 0/1 and small values) touch only their low windows.
3. *Reduction*: sum_j j * bucket_j by a running sum from the top bucket (2 adds per bucket).
4. *Combination*: Horner over windows, c doublings between windows.

Work is split into (window, chunk-of-points) tasks run in parallel (numba ``prange``); the
window size c minimises the estimated additions ``windows * (n + 2^c)``.  Every kernel takes
``like`` (``G1_LIKE`` or ``G2_LIKE``) to select the group; see :mod:`zkmargin.algebra.curve`.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .arrays import array_to_ints
from .curve import (
    G1_LIKE,
    G2_LIKE,
    f_add,
    f_eq,
    f_inv,
    f_is_zero,
    f_load,
    f_mul,
    f_neg,
    f_one,
    f_sqr,
    f_store,
    f_sub,
    f_width,
    g1_mul_glv,
    infinity,
    jac_add,
    jac_add_mixed,
    jac_double,
    jac_mul,
    jac_neg,
    jac_rows_to_affine,
    load_affine,
    load_jac,
    prefetch_row,
    store_jac,
)
from .glv import glv_limbs
from .msm_plan import affine_batch_size, msm_plan


@nb.njit(cache=True)
def scalar_bits(scalars):
    """Largest bit length among canonical scalars (uint64[n, 4])."""
    best = 0
    for i in range(scalars.shape[0]):
        for limb in range(3, -1, -1):
            w = scalars[i, limb]
            if w != 0:
                b = 64 * limb
                while w != 0:
                    w >>= np.uint64(1)
                    b += 1
                if b > best:
                    best = b
                break
    return best


@nb.njit(cache=True)
def _digits_one(scalars, c, n_windows, i, out):
    half = 1 << (c - 1)
    full = 1 << c
    mask = np.uint64(full - 1)
    carry = 0
    for w in range(n_windows):
        bit = w * c
        limb = bit // 64
        off = bit % 64
        d = 0
        if limb < 4:
            v = scalars[i, limb] >> np.uint64(off)
            if off + c > 64 and limb + 1 < 4:
                v |= scalars[i, limb + 1] << np.uint64(64 - off)
            d = np.int64(v & mask)
        d += carry
        if d >= half and w < n_windows - 1:
            d -= full
            carry = 1
        else:
            carry = 0
        out[i, w] = d


@nb.njit(cache=True, parallel=True)
def signed_digits(scalars, c, n_windows):
    """int32[n, n_windows] signed base-2^c digits of each scalar (see module doc)."""
    n = scalars.shape[0]
    out = np.zeros((n, n_windows), dtype=np.int32)
    for i in nb.prange(n):
        _digits_one(scalars, c, n_windows, i, out)
    return out


@nb.njit(cache=True)
def bit_reverse_rows(a):
    """Permute the rows of a 2-D array into bit-reversed index order (n a power of two)."""
    n = a.shape[0]
    logn = 0
    while (1 << logn) < n:
        logn += 1
    for i in range(n):
        r = 0
        v = i
        for _ in range(logn):
            r = (r << 1) | (v & 1)
            v >>= 1
        if r > i:
            for k in range(a.shape[1]):
                t = a[i, k]
                a[i, k] = a[r, k]
                a[r, k] = t


# ---- Pippenger ----------------------------------------------------------------------------


@nb.njit(cache=True)
def _task_range(n, n_chunks, task):
    """Task -> (window, first point, end point): tasks run window-major over point chunks."""
    chunk = (n + n_chunks - 1) // n_chunks
    lo = (task % n_chunks) * chunk
    return task // n_chunks, lo, min(n, lo + chunk)


@nb.njit(cache=True)
def _window_task(rows, digits, c, n_chunks, task, out, like):
    """One (window, chunk) task: fill buckets, then out[task] = sum_j j * bucket_j."""
    fw = f_width(like)
    w, lo, hi = _task_range(digits.shape[0], n_chunks, task)
    n_buckets = 1 << (c - 1)
    buckets = np.zeros((n_buckets, 3 * fw), dtype=np.uint64)
    used = np.zeros(n_buckets, dtype=np.bool_)
    for i in range(lo, hi):
        d = digits[i, w]
        if d == 0:
            continue
        x, y, inf = load_affine(rows, i, like)
        if inf:
            continue
        if d < 0:
            j = -d - 1
            y = f_neg(y)
        else:
            j = d - 1
        if used[j]:
            store_jac(buckets, j, jac_add_mixed(load_jac(buckets, j, like), x, y))
        else:
            store_jac(buckets, j, jac_add_mixed(infinity(like), x, y))
            used[j] = True
    running = infinity(like)
    total = infinity(like)
    for j in range(n_buckets - 1, -1, -1):
        if used[j]:
            running = jac_add(running, load_jac(buckets, j, like))
        total = jac_add(total, running)
    store_jac(out, task, total)


# ---- batch-affine bucket accumulation ------------------------------------------------------
#
# Affine addition (x1, y1) + (x2, y2) with x1 != x2:  l = (y2 - y1) / (x2 - x1),
# x3 = l^2 - x1 - x2,  y3 = l (x1 - x3) - y1.  Up to a batch of pending additions, each to a
# different bucket, share one field inversion (Montgomery's trick), so an addition costs about
# 6 multiplications instead of 11 for a mixed Jacobian one.  The batch is a quarter of the
# bucket count (at most 1024), which keeps conflicts (two additions to one bucket) rare.
#
# The loop that queues additions reads no bucket coordinates: it asks the CPU to prefetch the
# bucket it queues, and the flush meets the bucket when its first pass loads it, by then in
# cache.  With buckets past the core's L2 cache (c = 15 for G1) this took a 2^20-point G1 MSM
# on one thread from 7.5 s (c = 14, bucket read while queueing) to 6.3 s (c = 15).


@nb.njit(cache=True)
def _flush(buckets, used, rows, pend_b, pend_i, pend_neg, m, scratch, same, like):
    """Apply m pending additions bucket[pend_b[k]] += (-1)^neg * P[pend_i[k]], one inversion.

    A pending point with the bucket's own x (dx = 0) is left out of the shared product and
    marked in ``same``; the second pass doubles or clears that bucket instead (:func:`_same_x`).
    Every bucket occurs at most once in a batch, so the order of the additions is free."""
    fw = f_width(like)
    acc = f_one(like)
    for k in range(m):
        dx = f_sub(f_load(rows, pend_i[k], 0, like), f_load(buckets, pend_b[k], 0, like))
        f_store(scratch, k, 0, acc)
        same[k] = f_is_zero(dx)
        if not same[k]:
            acc = f_mul(acc, dx)
    inv = f_inv(acc)
    for k in range(m - 1, -1, -1):
        j = pend_b[k]
        i = pend_i[k]
        x2 = f_load(rows, i, 0, like)
        y2 = f_load(rows, i, fw, like)
        if pend_neg[k]:
            y2 = f_neg(y2)
        if same[k]:
            _same_x(buckets, used, j, x2, y2, like)
            continue
        x1 = f_load(buckets, j, 0, like)
        y1 = f_load(buckets, j, fw, like)
        dx = f_sub(x2, x1)
        dx_inv = f_mul(inv, f_load(scratch, k, 0, like))
        inv = f_mul(inv, dx)
        lam = f_mul(f_sub(y2, y1), dx_inv)
        x3 = f_sub(f_sub(f_sqr(lam), x1), x2)
        f_store(buckets, j, 0, x3)
        f_store(buckets, j, fw, f_sub(f_mul(lam, f_sub(x1, x3)), y1))


@nb.njit(cache=True)
def _same_x(buckets, used, j, x2, y2, like):
    """Bucket j (with the same x as the incoming point) += (x2, y2): doubling or cancellation."""
    fw = f_width(like)
    y1 = f_load(buckets, j, fw, like)
    if not f_eq(y1, y2):          # P + (-P) = infinity
        used[j] = False
        return
    x3_num = f_mul(f_sqr(x2), f_one(like))
    three_x2 = f_add(f_add(x3_num, x3_num), x3_num)
    lam = f_mul(three_x2, f_inv(f_add(y2, y2)))
    x3 = f_sub(f_sqr(lam), f_add(x2, x2))
    f_store(buckets, j, 0, x3)
    f_store(buckets, j, fw, f_sub(f_mul(lam, f_sub(x2, x3)), y2))


@nb.njit(cache=True)
def _fill(buckets, used, j, x, y, neg, like):
    """Empty bucket j := (-1)^neg * (x, y)."""
    f_store(buckets, j, 0, x)
    f_store(buckets, j, f_width(like), f_neg(y) if neg else y)
    used[j] = True


@nb.njit(cache=True)
def _side_add(side, side_used, rows, j, i, neg, like):
    """side[j] += (-1)^neg * P[i]: the Jacobian accumulator beside bucket j."""
    x2, y2, _ = load_affine(rows, i, like)
    if neg:
        y2 = f_neg(y2)
    if side_used[j]:
        store_jac(side, j, jac_add_mixed(load_jac(side, j, like), x2, y2))
    else:
        store_jac(side, j, jac_add_mixed(infinity(like), x2, y2))
        side_used[j] = True


@nb.njit(cache=True)
def _window_task_affine(rows, digits, c, n_chunks, task, out, like, batch_size):
    """Like :func:`_window_task`, with batch-affine bucket accumulation.

    A point whose bucket already has an addition queued in the current batch is *held* and
    queued again once that batch is flushed, so nearly every addition stays affine.  The held
    list is as long as a batch; when it is full -- skewed digit distributions, e.g. the top
    window, whose digits take only a few values -- the point goes into the bucket's Jacobian
    side accumulator (one mixed addition) instead, so no window costs more than the plain
    Jacobian method.  What is still held after the last points gets :data:`_DRAIN_ROUNDS`
    more batches, then the side accumulators."""
    fw = f_width(like)
    w, lo, hi = _task_range(digits.shape[0], n_chunks, task)
    n_buckets = 1 << (c - 1)
    buckets = np.zeros((n_buckets, 2 * fw), dtype=np.uint64)
    used = np.zeros(n_buckets, dtype=np.bool_)
    side = np.zeros((n_buckets, 3 * fw), dtype=np.uint64)
    side_used = np.zeros(n_buckets, dtype=np.bool_)
    stamp = np.full(n_buckets, -1, dtype=np.int64)
    # m never passes batch_size (the queueing that fills a batch flushes it, and a requeue
    # queues at most one addition per other bucket of the batch just flushed); the
    # arrays have twice that, as numba does not check bounds
    cap = 2 * batch_size
    pend_b = np.empty(cap, dtype=np.int64)
    pend_i = np.empty(cap, dtype=np.int64)
    pend_neg = np.empty(cap, dtype=np.bool_)
    same = np.empty(cap, dtype=np.bool_)
    scratch = np.empty((cap, fw), dtype=np.uint64)
    held_b = np.empty(batch_size, dtype=np.int64)
    held_i = np.empty(batch_size, dtype=np.int64)
    held_neg = np.empty(batch_size, dtype=np.bool_)
    n_held = 0
    batch = 0
    m = 0
    for i in range(lo, hi):
        d = digits[i, w]
        if d == 0:
            continue
        x2, y2, inf = load_affine(rows, i, like)
        if inf:
            continue
        j = (-d if d < 0 else d) - 1
        if stamp[j] == batch:
            if n_held < batch_size:
                held_b[n_held] = j
                held_i[n_held] = i
                held_neg[n_held] = d < 0
                n_held += 1
            else:
                _side_add(side, side_used, rows, j, i, d < 0, like)
            continue
        if not used[j]:
            _fill(buckets, used, j, x2, y2, d < 0, like)
            continue
        prefetch_row(buckets, j)
        pend_b[m] = j
        pend_i[m] = i
        pend_neg[m] = d < 0
        stamp[j] = batch
        m += 1
        if m >= batch_size:
            _flush(buckets, used, rows, pend_b, pend_i, pend_neg, m, scratch, same, like)
            batch += 1
            m, n_held = _requeue(buckets, used, stamp, batch, rows, pend_b, pend_i, pend_neg,
                                 held_b, held_i, held_neg, n_held, like)
    for _ in range(_DRAIN_ROUNDS):
        if m == 0 and n_held == 0:
            break
        if m > 0:
            _flush(buckets, used, rows, pend_b, pend_i, pend_neg, m, scratch, same, like)
            batch += 1
        m, n_held = _requeue(buckets, used, stamp, batch, rows, pend_b, pend_i, pend_neg,
                             held_b, held_i, held_neg, n_held, like)
    if m > 0:
        _flush(buckets, used, rows, pend_b, pend_i, pend_neg, m, scratch, same, like)
    for k in range(n_held):
        _side_add(side, side_used, rows, held_b[k], held_i[k], held_neg[k], like)
    running = infinity(like)
    total = infinity(like)
    for j in range(n_buckets - 1, -1, -1):
        if used[j]:
            running = jac_add_mixed(running, f_load(buckets, j, 0, like), f_load(buckets, j, fw, like))
        if side_used[j]:
            running = jac_add(running, load_jac(side, j, like))
        total = jac_add(total, running)
    store_jac(out, task, total)


#: Batches granted, after a window task's last point, to additions still held back.
_DRAIN_ROUNDS = 4


@nb.njit(cache=True)
def _requeue(buckets, used, stamp, batch, rows, pend_b, pend_i, pend_neg, held_b, held_i,
             held_neg, n_held, like):
    """Start batch ``batch`` (none queued yet) with the held additions: each goes into its
    empty bucket, or into the batch, or -- a second one to the same bucket -- stays held
    (compacted in place).  Returns (additions queued, additions still held)."""
    m = 0
    kept = 0
    for k in range(n_held):
        j = held_b[k]
        if stamp[j] == batch:
            held_b[kept] = j
            held_i[kept] = held_i[k]
            held_neg[kept] = held_neg[k]
            kept += 1
        elif not used[j]:
            x2, y2, _ = load_affine(rows, held_i[k], like)
            _fill(buckets, used, j, x2, y2, held_neg[k], like)
        else:
            prefetch_row(buckets, j)
            pend_b[m] = j
            pend_i[m] = held_i[k]
            pend_neg[m] = held_neg[k]
            stamp[j] = batch
            m += 1
    return m, kept


# Parallel drivers come in G1/G2 pairs: numba cannot pass a tuple such as ``like`` into a
# prange body, so each driver names its group's constant inside the loop.

@nb.njit(cache=True, parallel=True)
def _window_sums_g1(rows, digits, c, n_chunks, out, batch_size):
    for task in nb.prange(out.shape[0]):
        if batch_size > 0:
            _window_task_affine(rows, digits, c, n_chunks, task, out, G1_LIKE, batch_size)
        else:
            _window_task(rows, digits, c, n_chunks, task, out, G1_LIKE)


@nb.njit(cache=True, parallel=True)
def _window_sums_g2(rows, digits, c, n_chunks, out, batch_size):
    for task in nb.prange(out.shape[0]):
        if batch_size > 0:
            _window_task_affine(rows, digits, c, n_chunks, task, out, G2_LIKE, batch_size)
        else:
            _window_task(rows, digits, c, n_chunks, task, out, G2_LIKE)


def window_sums(rows, digits, c, n_chunks, like, affine):
    """Jacobian rows (n_windows * n_chunks, 3fw): each task's sum_j j * bucket_j, with
    batch-affine accumulation when ``affine`` (the plan's choice, :func:`msm_plan`)."""
    g1 = _is_g1(like)
    out = np.zeros((digits.shape[1] * n_chunks, 12 if g1 else 24), dtype=np.uint64)
    batch = affine_batch_size(c) if affine else 0
    (_window_sums_g1 if g1 else _window_sums_g2)(rows, digits, c, n_chunks, out, batch)
    return out


def _is_g1(like) -> bool:
    return not isinstance(like[0], tuple)


@nb.njit(cache=True)
def combine_windows(sums, c, n_windows, n_chunks, like):
    """Horner over windows: sum_w 2^(c w) * window_w, as one Jacobian row."""
    acc = infinity(like)
    for w in range(n_windows - 1, -1, -1):
        for _ in range(c):
            acc = jac_double(acc)
        for k in range(n_chunks):
            acc = jac_add(acc, load_jac(sums, w * n_chunks + k, like))
    res = np.zeros((1, 3 * f_width(like)), dtype=np.uint64)
    store_jac(res, 0, acc)
    return res


def msm_rows(rows: np.ndarray, scalars: np.ndarray, like) -> np.ndarray:
    """Pippenger MSM over flat affine rows; returns one Jacobian row (1, 3fw)."""
    fw = 4 if _is_g1(like) else 8
    n = rows.shape[0]
    bits = int(scalar_bits(scalars)) if n else 0
    if bits == 0:
        return np.zeros((1, 3 * fw), dtype=np.uint64)
    plan = msm_plan(n, bits, nb.get_num_threads(), point_bytes=16 * fw)
    c, n_windows, n_chunks = plan.c, plan.n_windows, plan.n_chunks
    digits = signed_digits(scalars, c, n_windows)
    sums = window_sums(rows, digits, c, n_chunks, like, plan.affine)
    return combine_windows(sums, c, n_windows, n_chunks, like)


# ---- per-point batch kernels --------------------------------------------------------------


@nb.njit(cache=True)
def _scale_one(rows, scalars, i, out, like):
    x, y, inf = load_affine(rows, i, like)
    if not inf:
        k = (scalars[i, 0], scalars[i, 1], scalars[i, 2], scalars[i, 3])
        store_jac(out, i, jac_mul((x, y, infinity(like)[0]), k))


@nb.njit(cache=True, parallel=True)
def _scale_each_g1(rows, glv, out):
    """G1 uses the GLV split (glv: uint64[n, 5] from glv.glv_limbs)."""
    for i in nb.prange(rows.shape[0]):
        x, y, inf = load_affine(rows, i, G1_LIKE)
        if not inf:
            store_jac(out, i, g1_mul_glv((x, y, infinity(G1_LIKE)[0]), glv, i))


@nb.njit(cache=True, parallel=True)
def _scale_each_g2(rows, scalars, out):
    for i in nb.prange(rows.shape[0]):
        _scale_one(rows, scalars, i, out, G2_LIKE)


def scale_each_rows(rows, scalars, like):
    """Jacobian rows of P_i * s_i."""
    out = np.zeros((rows.shape[0], 12 if _is_g1(like) else 24), dtype=np.uint64)
    if _is_g1(like):
        _scale_each_g1(rows, glv_limbs(array_to_ints(scalars)), out)
    else:
        _scale_each_g2(rows, scalars, out)
    return out


@nb.njit(cache=True)
def fixed_base_one(table, scalars, i, out, like, bits):
    """out[i] = sum_k T[k][d_k] (Jacobian), d_k the k-th ``bits``-wide digit of scalars[i]
    (``bits`` divides 64): the comb table T holds 2^bits affine rows per window, row
    (k << bits) + d = d 2^(bits k) B (row d = 0 unused)."""
    per_limb = 64 // bits
    mask = np.uint64((1 << bits) - 1)
    acc = infinity(like)
    for k in range(256 // bits):
        d = np.int64((scalars[i, k // per_limb] >> np.uint64(bits * (k % per_limb))) & mask)
        if d != 0:
            x, y, inf = load_affine(table, (k << bits) + d, like)
            if not inf:
                acc = jac_add_mixed(acc, x, y)
    store_jac(out, i, acc)


@nb.njit(cache=True, parallel=True)
def _fixed_base_g1(table, scalars, out):
    for i in nb.prange(scalars.shape[0]):
        fixed_base_one(table, scalars, i, out, G1_LIKE, 8)


@nb.njit(cache=True, parallel=True)
def _fixed_base_g2(table, scalars, out):
    for i in nb.prange(scalars.shape[0]):
        fixed_base_one(table, scalars, i, out, G2_LIKE, 8)


def fixed_base_rows(table, scalars, like):
    """Jacobian rows of B * s_i; table row 256*k + d holds (d * 256^k) * B (d = 0 unused),
    so each scalar costs at most 32 mixed additions."""
    g1 = _is_g1(like)
    out = np.zeros((scalars.shape[0], 12 if g1 else 24), dtype=np.uint64)
    (_fixed_base_g1 if g1 else _fixed_base_g2)(table, scalars, out)
    return out


@nb.njit(cache=True)
def signed_sum_rows(terms, idx_out, negate, n_out, like):
    """Jacobian rows ``out`` with out[idx_out[k]] += (-1)^negate[k] * terms[k] (affine terms)."""
    out = np.zeros((n_out, 3 * f_width(like)), dtype=np.uint64)
    for k in range(terms.shape[0]):
        x, y, inf = load_affine(terms, k, like)
        if inf:
            continue
        if negate[k]:
            y = f_neg(y)
        o = idx_out[k]
        store_jac(out, o, jac_add_mixed(load_jac(out, o, like), x, y))
    return out


# ---- many scalars on one point: a table of 2^j * P, then NAF digits ------------------------
#
# Setup multiplies each Lagrange point by every coefficient of its constraint (often 18 or
# more full-size ones).  Per point, 2^j * P for j < 256 is built once (255 doublings and one
# batch normalisation); each scalar then costs one mixed addition per nonzero digit of its
# non-adjacent form (about bits/3), instead of ~252 doublings + 63 additions.


@nb.njit(cache=True)
def _doubling_table(rows, i, like):
    """Affine rows of 2^j * P_i, j = 0..255."""
    fw = f_width(like)
    jac = np.zeros((256, 3 * fw), dtype=np.uint64)
    x, y, inf = load_affine(rows, i, like)
    if inf:
        return np.zeros((256, 2 * fw), dtype=np.uint64)
    acc = jac_add_mixed(infinity(like), x, y)
    for j in range(256):
        store_jac(jac, j, acc)
        acc = jac_double(acc)
    return jac_rows_to_affine(jac, like)


@nb.njit(cache=True)
def _naf_product(table, k, like):
    """k * P from the doubling table of P (k: 4 canonical limbs, k < 2^255)."""
    acc = infinity(like)
    fw = f_width(like)
    carry = 0
    for j in range(256):
        bit = np.int64((k[j // 64] >> np.uint64(j % 64)) & np.uint64(1))
        v = bit + carry
        if v == 1:
            nxt = 0
            if j < 255:
                nxt = np.int64((k[(j + 1) // 64] >> np.uint64((j + 1) % 64)) & np.uint64(1))
            x = f_load(table, j, 0, like)
            y = f_load(table, j, fw, like)
            if nxt == 1:            # digit -1, carry on
                acc = jac_add_mixed(acc, x, f_neg(y))
                carry = 1
            else:                   # digit +1
                acc = jac_add_mixed(acc, x, y)
                carry = 0
        elif v == 2:
            carry = 1
        else:
            carry = 0
    return acc


@nb.njit(cache=True)
def _table_group(rows, point_of, scalars, order, start, count, out, like):
    """All products of one point: out[order[t]] = scalars[order[t]] * P for t in the group."""
    first = order[start]
    table = _doubling_table(rows, point_of[first], like)
    for t in range(start, start + count):
        e = order[t]
        k = (scalars[e, 0], scalars[e, 1], scalars[e, 2], scalars[e, 3])
        store_jac(out, e, _naf_product(table, k, like))


@nb.njit(cache=True, parallel=True)
def _table_products_g1(rows, point_of, scalars, order, starts, counts, out):
    for g in nb.prange(starts.shape[0]):
        _table_group(rows, point_of, scalars, order, starts[g], counts[g], out, G1_LIKE)


@nb.njit(cache=True, parallel=True)
def _table_products_g2(rows, point_of, scalars, order, starts, counts, out):
    for g in nb.prange(starts.shape[0]):
        _table_group(rows, point_of, scalars, order, starts[g], counts[g], out, G2_LIKE)


def table_products_rows(rows, point_of, scalars, like):
    """Jacobian rows out[e] = scalars[e] * rows[point_of[e]], grouping the entries by point so
    each point's doubling table is built once (scalars must be < 2^255)."""
    g1 = _is_g1(like)
    point_of = np.ascontiguousarray(point_of, dtype=np.int64)
    order = np.argsort(point_of, kind="stable").astype(np.int64)
    sorted_points = point_of[order]
    starts = np.flatnonzero(np.r_[True, sorted_points[1:] != sorted_points[:-1]]).astype(np.int64) \
        if len(order) else np.zeros(0, dtype=np.int64)
    counts = np.diff(np.r_[starts, len(order)]).astype(np.int64)
    out = np.zeros((len(point_of), 12 if g1 else 24), dtype=np.uint64)
    if len(order):
        (_table_products_g1 if g1 else _table_products_g2)(rows, point_of, scalars, order, starts, counts, out)
    return out


@nb.njit(cache=True)
def _group_butterfly(jac, twiddles, half, step, b, like):
    j = b % half
    i0 = (b // half) * 2 * half + j
    i1 = i0 + half
    u = load_jac(jac, i0, like)
    v = load_jac(jac, i1, like)
    if j != 0:
        tw = twiddles[j * step]
        v = jac_mul(v, (tw[0], tw[1], tw[2], tw[3]))
    store_jac(jac, i0, jac_add(u, v))
    store_jac(jac, i1, jac_add(u, jac_neg(v)))


@nb.njit(cache=True)
def _group_butterfly_g1(jac, glv_tw, half, step, b):
    """G1 butterfly with the twiddle as a GLV split (about 1.6x fewer group operations)."""
    j = b % half
    i0 = (b // half) * 2 * half + j
    i1 = i0 + half
    u = load_jac(jac, i0, G1_LIKE)
    v = load_jac(jac, i1, G1_LIKE)
    if j != 0:
        v = g1_mul_glv(v, glv_tw, j * step)
    store_jac(jac, i0, jac_add(u, v))
    store_jac(jac, i1, jac_add(u, jac_neg(v)))


@nb.njit(cache=True, parallel=True)
def _fft_layer_g1(jac, glv_tw, half, step):
    for b in nb.prange(jac.shape[0] // 2):
        _group_butterfly_g1(jac, glv_tw, half, step, b)


@nb.njit(cache=True, parallel=True)
def _fft_layer_g2(jac, twiddles, half, step):
    for b in nb.prange(jac.shape[0] // 2):
        _group_butterfly(jac, twiddles, half, step, b, G2_LIKE)


def group_fft_rows(jac, twiddles, like):
    """In-place radix-2 DIT FFT over group elements (Jacobian rows, natural order in and out);
    twiddles[j] = w^j as canonical limbs, j < n/2."""
    if _is_g1(like):
        layer, twiddles = _fft_layer_g1, glv_limbs(array_to_ints(twiddles))
    else:
        layer = _fft_layer_g2
    n = jac.shape[0]
    bit_reverse_rows(jac)
    half = 1
    while half < n:
        layer(jac, twiddles, half, n // (2 * half))
        half *= 2
    return jac
