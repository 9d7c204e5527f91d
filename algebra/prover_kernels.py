"""The prover's kernels: serial, GIL-free, and compilable ahead of time.

Every function here is a plain serial ``numba.njit(nogil=True)`` kernel with one fixed
argument layout (listed in :data:`EXPORTS`).  Parallelism is not inside them: the caller,
:mod:`zkmargin.algebra.kernel_set`, runs independent pieces (MSM window tasks, the three
NTT chains) on Python threads, which run truly in parallel because the kernels release the
GIL.  That split lets the same source run two ways:

* **JIT**: these functions themselves (numba, cached on disk like every other kernel);
* **native**: :mod:`zkmargin.algebra.native` compiles them ahead of time (``numba.pycc``) into
  an extension module that imports without numba -- a whole ``groth16 prove`` process then
  skips numba's start-up (about 1 s: importing numba, refreshing its target context, loading
  each cached kernel).

Conventions: F_r vectors are ``uint64[n, 4]`` (canonical unless the name says Montgomery);
point rows are the flat affine/Jacobian rows of :mod:`zkmargin.algebra.msm`.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .constants import R
from .curve import G1_LIKE, G2_LIKE, jac_rows_to_affine
from .field import _RAW_ONE, FQ, FR_ONE, FR_R2, ZERO, fe_load, fe_store, fr_add, fr_mul, fr_sub, fr_vec_mul_const, ints_to_array
from .fq2 import fq2_add, fq2_eq, fq2_mul, fq2_sqr
from .msm import _digits_one, _window_task, _window_task_affine, bit_reverse_rows, combine_windows
from .msm import scalar_bits as _scalar_bits
from .points import G2_B

_fq_mul, _fq_add, _fq_eq, _fq_is_zero = FQ.mul, FQ.add, FQ.eq, FQ.is_zero
_FQ_B_MONT = tuple(np.uint64(v) for v in ints_to_array([(3 << 256) % FQ.p])[0])
_FQ2_B_MONT = (tuple(np.uint64(v) for v in ints_to_array([(G2_B[0] << 256) % FQ.p])[0]),
               tuple(np.uint64(v) for v in ints_to_array([(G2_B[1] << 256) % FQ.p])[0]))

_jit = nb.njit(cache=True, nogil=True)

# ---- F_r vectors ------------------------------------------------------------------------------


@_jit
def fr_to_mont(a):
    """Canonical -> Montgomery (a new array)."""
    return fr_vec_mul_const(a, FR_R2)


@_jit
def fr_from_mont(a):
    """Montgomery -> canonical (a new array)."""
    return fr_vec_mul_const(a, _RAW_ONE)


@_jit
def sparse_matvec(rows, cols, coeffs, w_mont, n_rows):
    """out[rows[k]] += coeffs[k] * w[cols[k]]: coeffs canonical, w Montgomery, out canonical
    (the Montgomery product of a canonical and a Montgomery value is canonical).  Indices
    must be in range (the caller checks)."""
    out = np.zeros((n_rows, 4), dtype=np.uint64)
    for k in range(rows.shape[0]):
        i = rows[k]
        fe_store(out, i, fr_add(fe_load(out, i), fr_mul(fe_load(coeffs, k), fe_load(w_mont, cols[k]))))
    return out


#: r's limbs, most significant first (for the reduced-value check of stored coefficients)
_R3, _R2, _R1, _R0 = (np.uint64(v) for v in ints_to_array([R])[0][::-1])


@_jit
def _record_value(rec, k):
    """The value of section-4 record ``k`` as four 64-bit limbs (stored as eight little-endian
    32-bit words in columns 3..10 of ``rec``)."""
    s = np.uint64(32)
    return (np.uint64(rec[k, 3]) | (np.uint64(rec[k, 4]) << s),
            np.uint64(rec[k, 5]) | (np.uint64(rec[k, 6]) << s),
            np.uint64(rec[k, 7]) | (np.uint64(rec[k, 8]) << s),
            np.uint64(rec[k, 9]) | (np.uint64(rec[k, 10]) << s))


@_jit
def _below_r(v):
    """v < r for four little-endian limbs."""
    if v[3] != _R3:
        return v[3] < _R3
    if v[2] != _R2:
        return v[2] < _R2
    if v[1] != _R1:
        return v[1] < _R1
    return v[0] < _R0


@_jit
def coef_records_first_bad(rec, n_vars, n_rows):
    """Index of the first section-4 record (``rec``: uint32[nnz, 11] as stored: matrix,
    constraint, signal, value * R^2 mod r) whose matrix is not 0 or 1, constraint is not below
    ``n_rows``, signal is not below ``n_vars`` or value is not below r; -1 if none."""
    for k in range(rec.shape[0]):
        if rec[k, 0] > 1 or rec[k, 1] >= n_rows or rec[k, 2] >= n_vars:
            return k
        if not _below_r(_record_value(rec, k)):
            return k
    return -1


@_jit
def coef_records_matvec(rec, w, n_rows, matrix, out):
    """One matrix's product straight from section-4 records (layout:
    :func:`coef_records_first_bad`): ``matrix`` 0 (A) or 1 (B) fills rows
    ``matrix * n_rows ..`` of ``out`` (uint64[2 * n_rows, 4], zero there on entry) with
    M·w, canonical; records of the other matrix are skipped, so two threads may fill the two
    halves of one buffer at once.  Each term is the Montgomery product of the stored value·R^2
    and the canonical witness value, i.e. value·w·R; one reduction per row at the end gives
    value·w.  Values must be reduced (the key reader checks).  Returns the index of the first
    record whose indices are out of range (nothing is written past the arrays; the half is then
    left incomplete), or -1."""
    n_vars = w.shape[0]
    for k in range(rec.shape[0]):
        if rec[k, 0] > 1 or rec[k, 1] >= n_rows or rec[k, 2] >= n_vars:
            return k
        if rec[k, 0] != matrix:
            continue
        i = matrix * n_rows + rec[k, 1]
        fe_store(out, i, fr_add(fe_load(out, i), fr_mul(_record_value(rec, k), fe_load(w, rec[k, 2]))))
    for i in range(matrix * n_rows, (matrix + 1) * n_rows):
        fe_store(out, i, fr_mul(fe_load(out, i), _RAW_ONE))
    return -1


@_jit
def mul_sub(a, b, c):
    """out_i = a_i * b_i - c_i, all canonical; c may be empty (then out_i = a_i * b_i)."""
    n = a.shape[0]
    out = np.empty((n, 4), dtype=np.uint64)
    with_c = c.shape[0] == n
    for i in range(n):
        v = fr_mul(fr_mul(fe_load(a, i), fe_load(b, i)), FR_R2)  # a*b*R^-1 -> a*b
        if with_c:
            v = fr_sub(v, fe_load(c, i))
        fe_store(out, i, v)
    return out


@_jit
def mont_mul_sub(a, b, c):
    """out_i = a_i * b_i - c_i for Montgomery inputs, returned canonical."""
    n = a.shape[0]
    out = np.empty((n, 4), dtype=np.uint64)
    for i in range(n):
        v = fr_sub(fr_mul(fe_load(a, i), fe_load(b, i)), fe_load(c, i))
        fe_store(out, i, fr_mul(v, _RAW_ONE))
    return out


@_jit
def powers(start, g, n):
    """[start * g^k for k < n] (Montgomery), start and g given as (1, 4) Montgomery rows."""
    out = np.empty((n, 4), dtype=np.uint64)
    cur = fe_load(start, 0)
    x = fe_load(g, 0)
    for k in range(n):
        fe_store(out, k, cur)
        cur = fr_mul(cur, x)
    return out


@_jit
def _ntt_layers(a, twiddles):
    """In-place radix-2 DIT NTT of Montgomery values; twiddles[j] = w^j, j < n/2."""
    n = a.shape[0]
    bit_reverse_rows(a)
    half = 1
    step = n // 2
    while half < n:
        for start in range(0, n, 2 * half):
            for j in range(half):
                i0 = start + j
                i1 = i0 + half
                u = fe_load(a, i0)
                v = fr_mul(fe_load(a, i1), fe_load(twiddles, j * step))
                fe_store(a, i0, fr_add(u, v))
                fe_store(a, i1, fr_sub(u, v))
        half *= 2
        step //= 2


@_jit
def ntt_mont(a, twiddles):
    """In-place NTT of a Montgomery vector (see :func:`_ntt_layers`)."""
    if a.shape[0] > 1:
        _ntt_layers(a, twiddles)


@_jit
def coset_evals_mont(values, inv_twiddles, scale, twiddles):
    """Evaluations on a coset from evaluations on the domain, in Montgomery form:
    iNTT (with ``inv_twiddles``), multiply coefficient k by ``scale[k]`` (= n^-1 * g^k),
    NTT (with ``twiddles``).  ``values`` is canonical; returns a new Montgomery array."""
    m = fr_vec_mul_const(values, FR_R2)
    ntt_mont(m, inv_twiddles)
    for k in range(m.shape[0]):
        fe_store(m, k, fr_mul(fe_load(m, k), fe_load(scale, k)))
    ntt_mont(m, twiddles)
    return m


@_jit
def coset_evals_mont_inplace(values, inv_twiddles, scale, twiddles):
    """:func:`coset_evals_mont` computed in ``values`` itself (canonical in, Montgomery out):
    no second n-element array."""
    for k in range(values.shape[0]):
        fe_store(values, k, fr_mul(fe_load(values, k), FR_R2))
    ntt_mont(values, inv_twiddles)
    for k in range(values.shape[0]):
        fe_store(values, k, fr_mul(fe_load(values, k), fe_load(scale, k)))
    ntt_mont(values, twiddles)


# ---- witness programs (see circuits/witness_program.py) -------------------------------------------


@_jit
def _program_ref(r, vals, lcv, lc_done, lc_ptr, lc_idx, lc_cid, coeffs):
    """The value a step input ``r`` refers to: signal ``r`` (r >= 0), or linear combination
    ``-r - 1``, summed on first use (sum of coeffs[lc_cid[t]] * vals[lc_idx[t]] over its terms)
    and memoised in ``lcv`` / ``lc_done``.  All values Montgomery, so each product stays one."""
    if r >= 0:
        return fe_load(vals, r)
    j = -r - 1
    if lc_done[j]:
        return fe_load(lcv, j)
    acc = ZERO
    for t in range(lc_ptr[j], lc_ptr[j + 1]):
        acc = fr_add(acc, fr_mul(fe_load(coeffs, lc_cid[t]), fe_load(vals, lc_idx[t])))
    fe_store(lcv, j, acc)
    lc_done[j] = 1
    return acc


@_jit
def program_run(vals, lcv, lc_done, lc_ptr, lc_idx, lc_cid, coeffs, ops, aux, in_ptr, ins, out_ptr, outs,
                steps, lo, scratch):
    """Run the witness-program steps ``steps[lo:]`` over the Montgomery signal values ``vals``
    (uint64[n_values, 4]; row 0 is 1 and the inputs are set).  Opcodes: 0 product of two inputs,
    1 the ``aux`` little-endian bits of one input (each 0 or 1), 2 copy; 3, a Python hint, stops
    the run: its inputs are written to ``scratch`` rows 0.. and its position in ``steps`` is
    returned, for the caller to run it and resume after it.  Returns ``len(steps)`` when all
    have run.  Indices must be in range (the caller checks the tables once)."""
    for p in range(lo, steps.shape[0]):
        s = steps[p]
        op = ops[s]
        a0 = in_ptr[s]
        o0 = out_ptr[s]
        if op == 0:
            x = _program_ref(ins[a0], vals, lcv, lc_done, lc_ptr, lc_idx, lc_cid, coeffs)
            y = _program_ref(ins[a0 + 1], vals, lcv, lc_done, lc_ptr, lc_idx, lc_cid, coeffs)
            fe_store(vals, outs[o0], fr_mul(x, y))
        elif op == 1:
            v = fr_mul(_program_ref(ins[a0], vals, lcv, lc_done, lc_ptr, lc_idx, lc_cid, coeffs), _RAW_ONE)
            for i in range(aux[s]):
                bit = False
                if i < 256:
                    bit = ((v[i >> 6] >> np.uint64(i & 63)) & np.uint64(1)) != 0
                fe_store(vals, outs[o0 + i], FR_ONE if bit else ZERO)
        elif op == 2:
            fe_store(vals, outs[o0], _program_ref(ins[a0], vals, lcv, lc_done, lc_ptr, lc_idx, lc_cid, coeffs))
        else:
            for k in range(in_ptr[s + 1] - a0):
                fe_store(scratch, k, _program_ref(ins[a0 + k], vals, lcv, lc_done, lc_ptr, lc_idx, lc_cid, coeffs))
            return p
    return steps.shape[0]


# ---- MSM pieces (see msm.py for the algorithm) --------------------------------------------------


@_jit
def scalar_bits(scalars):
    """Largest bit length among canonical scalars."""
    return _scalar_bits(scalars)


@_jit
def signed_digits_rows(scalars, c, n_windows, out, lo, hi):
    """Rows lo..hi-1 of the int32[n, n_windows] signed base-2^c digits (the serial twin of
    msm.signed_digits), written into ``out``: callers split the rows over threads."""
    for i in range(lo, hi):
        _digits_one(scalars, c, n_windows, i, out)


@_jit
def window_sums_g1(rows, digits, c, n_chunks, out, batch_size, start, step):
    """Window tasks start, start+step, ... of a G1 MSM (out[task] = sum_j j * bucket_j)."""
    for task in range(start, out.shape[0], step):
        if batch_size > 0:
            _window_task_affine(rows, digits, c, n_chunks, task, out, G1_LIKE, batch_size)
        else:
            _window_task(rows, digits, c, n_chunks, task, out, G1_LIKE)


@_jit
def window_sums_g2(rows, digits, c, n_chunks, out, batch_size, start, step):
    """G2 twin of :func:`window_sums_g1`."""
    for task in range(start, out.shape[0], step):
        if batch_size > 0:
            _window_task_affine(rows, digits, c, n_chunks, task, out, G2_LIKE, batch_size)
        else:
            _window_task(rows, digits, c, n_chunks, task, out, G2_LIKE)


@_jit
def combine_windows_g1(sums, c, n_windows, n_chunks):
    """Horner over the window sums: one Jacobian G1 row."""
    return combine_windows(sums, c, n_windows, n_chunks, G1_LIKE)


@_jit
def combine_windows_g2(sums, c, n_windows, n_chunks):
    return combine_windows(sums, c, n_windows, n_chunks, G2_LIKE)


@_jit
def jac_to_affine_g1(jac):
    """Jacobian G1 rows -> affine rows (one inversion)."""
    return jac_rows_to_affine(jac, G1_LIKE)


@_jit
def jac_to_affine_g2(jac):
    return jac_rows_to_affine(jac, G2_LIKE)


# ---- point checks ---------------------------------------------------------------------------------


@_jit
def g1_first_off_curve(rows):
    """rows: (n, 8) affine Montgomery; index of the first non-infinity point off y^2=x^3+3, or -1."""
    for i in range(rows.shape[0]):
        x = (rows[i, 0], rows[i, 1], rows[i, 2], rows[i, 3])
        y = (rows[i, 4], rows[i, 5], rows[i, 6], rows[i, 7])
        if _fq_is_zero(x) and _fq_is_zero(y):
            continue
        rhs = _fq_add(_fq_mul(_fq_mul(x, x), x), _FQ_B_MONT)
        if not _fq_eq(_fq_mul(y, y), rhs):
            return i
    return -1


@_jit
def g2_first_off_curve(rows):
    """rows: (n, 16) affine Montgomery; first non-infinity point off the twist, or -1."""
    for i in range(rows.shape[0]):
        x = ((rows[i, 0], rows[i, 1], rows[i, 2], rows[i, 3]),
             (rows[i, 4], rows[i, 5], rows[i, 6], rows[i, 7]))
        y = ((rows[i, 8], rows[i, 9], rows[i, 10], rows[i, 11]),
             (rows[i, 12], rows[i, 13], rows[i, 14], rows[i, 15]))
        if _fq_is_zero(x[0]) and _fq_is_zero(x[1]) and _fq_is_zero(y[0]) and _fq_is_zero(y[1]):
            continue
        rhs = fq2_add(fq2_mul(fq2_sqr(x), x), _FQ2_B_MONT)
        if not fq2_eq(fq2_sqr(y), rhs):
            return i
    return -1


# ---- the ahead-of-time export list ---------------------------------------------------------------
#
# name -> numba signature.  The native module is built from exactly these; its functions do
# not check argument types, so kernel_set.py passes arrays of exactly these dtypes and layouts.

_U2 = "u8[:,::1]"
#: MSM point rows: C-contiguous but possibly 4 bytes off an 8-byte boundary, as a mapped
#: .zkey's sections are (x86-64 loads them at full speed; copying them cost 0.09 s and the
#: section's size in memory at 2^18).
_ROWS = "Array(uint64, 2, 'C', aligned=False)"
_WS = f"void({_ROWS}, i4[:,::1], i8, i8, {_U2}, i8, i8, i8)"
EXPORTS: dict[str, str] = {
    "fr_to_mont": f"{_U2}({_U2})",
    "fr_from_mont": f"{_U2}({_U2})",
    "sparse_matvec": f"{_U2}(i8[::1], i8[::1], {_U2}, {_U2}, i8)",
    "coef_records_first_bad": "i8(u4[:,::1], i8, i8)",
    "coef_records_matvec": f"i8(u4[:,::1], {_U2}, i8, i8, {_U2})",
    "mul_sub": f"{_U2}({_U2}, {_U2}, {_U2})",
    "mont_mul_sub": f"{_U2}({_U2}, {_U2}, {_U2})",
    "powers": f"{_U2}({_U2}, {_U2}, i8)",
    "ntt_mont": f"void({_U2}, {_U2})",
    "coset_evals_mont": f"{_U2}({_U2}, {_U2}, {_U2}, {_U2})",
    "coset_evals_mont_inplace": f"void({_U2}, {_U2}, {_U2}, {_U2})",
    "scalar_bits": f"i8({_U2})",
    "signed_digits_rows": f"void({_U2}, i8, i8, i4[:,::1], i8, i8)",
    "window_sums_g1": _WS,
    "window_sums_g2": _WS,
    "combine_windows_g1": f"{_U2}({_U2}, i8, i8, i8)",
    "combine_windows_g2": f"{_U2}({_U2}, i8, i8, i8)",
    "jac_to_affine_g1": f"{_U2}({_U2})",
    "jac_to_affine_g2": f"{_U2}({_U2})",
    "g1_first_off_curve": f"i8({_U2})",
    "g2_first_off_curve": f"i8({_U2})",
    "program_run": f"i8({_U2}, {_U2}, u1[::1], i8[::1], i8[::1], i8[::1], {_U2}, i8[::1], i8[::1], i8[::1], "
                   f"i8[::1], i8[::1], i8[::1], i8[::1], i8, {_U2})",
}
