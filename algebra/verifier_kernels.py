"""The verifier's kernels: serial, GIL-free, and compilable ahead of time.

Like :mod:`zkmargin.algebra.prover_kernels`, every function here is a plain serial
``numba.njit(nogil=True)`` kernel with one fixed argument layout (:data:`EXPORTS`), so the same
source runs two ways: JIT-compiled by numba, or compiled ahead of time by
:mod:`zkmargin.algebra.native` into the extension module ``zkm_verify_<digest>``, which imports
without numba.  The verifier (:mod:`zkmargin.verifier.kernels`) splits big batches over Python
threads; the kernels release the GIL, so the threads run in parallel.

What a Groth16 verification needs, and nothing more:

* :func:`miller_product` -- the Miller part of a multi-pairing, prod_i f_i(P_i) (see
  :mod:`zkmargin.algebra.pairing`): chunks of a batch run on different threads, and their
  F_q12 products multiply; it also hands back [6u+2]Q_i, which the Miller loop computes anyway;
* :func:`g2_flags_from_multiples` -- G2 membership from those multiples, almost free
  (Q in G2 iff [6u+2]Q + psi(Q) - psi^2(Q) + psi^3(Q) = O);
* :func:`product_final_exp_is_one` -- multiply k Miller values, one final exponentiation
  (the py_ecc convention), compare with 1;
* :func:`g2_subgroup_flags` -- for points already on the twist, Q in G2 iff
  [u+1]Q + psi([u]Q) + psi^2([u]Q) = psi^3([2u]Q) (psi the untwist-Frobenius-twist
  endomorphism; the test of :func:`zkmargin.algebra.pairing_py.g2_in_subgroup_fast`, whose
  docstring proves it exact): one 63-bit multiplication per point;
* :func:`g1_scale_each_glv` -- a_i P_i + b_i phi(P_i) for each i, phi(x, y) = (omega x, y)
  the G1 endomorphism (phi(P) = [lambda]P): the batch verifier's rho_j A_j for weights
  rho_j = a_j + b_j lambda with 64-bit halves, one shared chain of 64 doublings;
* :func:`g1_endo_rows` -- the rows phi(P_i);
* :func:`g1_msm` -- sum_i k_i P_i by buckets (Pippenger, signed base-2^c digits, mixed
  additions): the batch's sum rho_j C_j over the points C_j and phi(C_j);
* :func:`g1_lincomb` -- sum_i k_i P_i (vk_x = IC_0 + sum x_i IC_i), Straus with 4-bit windows:
  one shared chain of 4 doublings per nibble, one table lookup and addition per point.

Layouts: G1 rows ``uint64[n, 8]`` (x, y), G2 rows ``uint64[n, 16]``, affine, Montgomery,
infinity = all zeros (the rows of :mod:`zkmargin.algebra.curve`); the pairing kernels take the
same memory as ``uint64[k, 2, 4]`` / ``uint64[k, 2, 2, 4]``; F_q12 values are
``uint64[2, 3, 2, 4]`` (:mod:`zkmargin.algebra.tower`); scalars ``uint64[n, 4]``, canonical
little-endian limbs, any value below 2^256; GLV rows ``uint64[n, 5]`` as
:func:`zkmargin.algebra.glv.glv_limbs`.
The kernels do not check their arguments: :mod:`zkmargin.verifier.kernels` passes exactly
these dtypes and shapes.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .constants import BN_X
from .curve import (
    _GLV_OMEGA_MONT,
    G1_LIKE,
    G2_LIKE,
    g1_mul_glv,
    infinity,
    jac_add,
    jac_add_mixed,
    jac_double,
    jac_neg,
    jac_rows_to_affine,
    load_affine,
    load_jac,
    store_jac,
)
from .field import FQ_ONE, fq_mul
from .fq2 import FQ2_ONE, fq2_conj, fq2_eq, fq2_is_zero, fq2_mul, fq2_neg, fq2_sqr
from .msm import _digits_one, _window_task, combine_windows, scalar_bits
from .pairing import _PI_X, _PI_Y, final_exponentiation_kernel, multi_miller_loop_with_multiples, naf
from .tower import FQ12_ONE, fq12_is_one, fq12_load, fq12_mul, fq12_store

_jit = nb.njit(cache=True, nogil=True)

#: The seed u (63 bits) in non-adjacent form, most significant digit first: [u]Q costs 62
#: doublings and 23 mixed additions or subtractions of Q.
_U_NAF = np.array(naf(BN_X), dtype=np.int8)


@_jit
def miller_product(g1, g2, out, t_out):
    """out <- prod_i f_i(P_i) over the pairs (g1[i], g2[i]) (pairs with a point at infinity
    contribute 1); g1 ``uint64[k, 2, 4]``, g2 ``uint64[k, 2, 2, 4]``, out ``uint64[2, 3, 2, 4]``;
    with k rows ``t_out`` (``uint64[k, 3, 2, 4]``, else 0 rows) also gets [6u+2]Q_i
    (homogeneous projective, see :func:`zkmargin.algebra.pairing.multi_miller_loop_with_multiples`)."""
    fq12_store(out, multi_miller_loop_with_multiples(g1, g2, t_out))


@_jit
def g2_flags_from_multiples(rows, t):
    """For points Q_i ON the twist (rows ``uint64[n, 16]``, none at infinity) and T_i =
    [6u+2]Q_i as the Miller loop left it (``uint64[n, 3, 2, 4]``): flags[i] = 1 if Q_i is in
    G2, 0 if not, 2 if T_i has Z = 0 (the walk met an exceptional case: decide with
    :func:`g2_subgroup_flags`).

    The test: Q in G2 iff [6u+2]Q + psi(Q) - psi^2(Q) + psi^3(Q) = O.  The map vanishes on G2
    (6u + 2 + q - q^2 + q^3 = 0 mod r, psi acting as q) and, like the map of
    :func:`g2_subgroup_flags`, moves a point of each prime order dividing the cofactor
    (tests/test_pairing_py.py), so it is exact by the argument of the
    :mod:`zkmargin.algebra.pairing_py` docstring.  It is checked as T = S with
    S = -psi(Q) + psi^2(Q) - psi^3(Q), T taken to Jacobian coordinates (X Z, Y Z^2, Z)."""
    n = rows.shape[0]
    flags = np.zeros(n, dtype=np.uint8)
    for i in range(n):
        x, y, _ = load_affine(rows, i, G2_LIKE)
        zt = _fq2_row(t, i, 2)
        if fq2_is_zero(zt):
            flags[i] = 2
            continue
        t_jac = (fq2_mul(_fq2_row(t, i, 0), zt), fq2_mul(_fq2_row(t, i, 1), fq2_sqr(zt)), zt)
        p1 = _psi((x, y, FQ2_ONE))
        p2 = _psi(p1)
        s = jac_add(jac_add(jac_neg(p1), p2), jac_neg(_psi(p2)))
        if _jac_eq(t_jac, s):
            flags[i] = 1
    return flags


@_jit
def _fq2_row(t, i, c):
    """Coordinate c of T_i as an F_q2 tuple."""
    return ((t[i, c, 0, 0], t[i, c, 0, 1], t[i, c, 0, 2], t[i, c, 0, 3]),
            (t[i, c, 1, 0], t[i, c, 1, 1], t[i, c, 1, 2], t[i, c, 1, 3]))


@_jit
def product_final_exp_is_one(fs):
    """1 iff (prod_i fs[i]) ^ ((q^12 - 1) / r) == 1, else 0; fs ``uint64[k, 2, 3, 2, 4]``."""
    f = FQ12_ONE
    for i in range(fs.shape[0]):
        f = fq12_mul(f, fq12_load(fs[i]))
    return 1 if fq12_is_one(final_exponentiation_kernel(f, False)) else 0


@_jit
def g2_subgroup_flags(rows):
    """flags[i] = 1 iff row i (a point ON the twist, or infinity) lies in G2:
    [u+1]Q + psi([u]Q) + psi^2([u]Q) == psi^3([2u]Q), in Jacobian coordinates."""
    n = rows.shape[0]
    flags = np.zeros(n, dtype=np.uint8)
    for i in range(n):
        x, y, at_infinity = load_affine(rows, i, G2_LIKE)
        if at_infinity:
            flags[i] = 1
            continue
        uq = _g2_mul_u(x, y)
        psi_uq = _psi(uq)
        lhs = jac_add(jac_add(jac_add_mixed(uq, x, y), psi_uq), _psi(psi_uq))
        rhs = _psi(_psi(_psi(jac_double(uq))))
        if _jac_eq(lhs, rhs):
            flags[i] = 1
    return flags


@_jit
def _g2_mul_u(x, y):
    """[u](x, y) in Jacobian coordinates: double-and-add over the NAF, mixed additions."""
    neg_y = fq2_neg(y)
    acc = (x, y, FQ2_ONE)                # the leading digit is 1
    for i in range(1, _U_NAF.shape[0]):
        acc = jac_double(acc)
        d = _U_NAF[i]
        if d == 1:
            acc = jac_add_mixed(acc, x, y)
        elif d == -1:
            acc = jac_add_mixed(acc, x, neg_y)
    return acc


@_jit
def _psi(P):
    """psi on Jacobian coordinates: (conj(X) c_x, conj(Y) c_y, conj(Z)) -- conjugation is a
    field automorphism, so X/Z^2 -> conj(X)/conj(Z)^2 as in the affine psi."""
    X, Y, Z = P
    return (fq2_mul(fq2_conj(X), _PI_X), fq2_mul(fq2_conj(Y), _PI_Y), fq2_conj(Z))


@_jit
def _jac_eq(P, R_):
    """P == R_ for Jacobian points (Z = 0 is infinity): X1 Z2^2 = X2 Z1^2, Y1 Z2^3 = Y2 Z1^3."""
    z1_zero, z2_zero = fq2_is_zero(P[2]), fq2_is_zero(R_[2])
    if z1_zero or z2_zero:
        return z1_zero and z2_zero
    zz1, zz2 = fq2_sqr(P[2]), fq2_sqr(R_[2])
    if not fq2_eq(fq2_mul(P[0], zz2), fq2_mul(R_[0], zz1)):
        return False
    return fq2_eq(fq2_mul(P[1], fq2_mul(zz2, R_[2])), fq2_mul(R_[1], fq2_mul(zz1, P[2])))


@_jit
def g1_scale_each_glv(rows, glv):
    """Affine rows k_i P_i (uint64[n, 8]) for k_i given as GLV rows (k = ±k1 ± k2 lambda);
    one field inversion for all of them."""
    n = rows.shape[0]
    jac = np.zeros((n, 12), dtype=np.uint64)     # Z = 0: infinity
    for i in range(n):
        x, y, at_infinity = load_affine(rows, i, G1_LIKE)
        if not at_infinity:
            store_jac(jac, i, g1_mul_glv((x, y, FQ_ONE), glv, i))
    return jac_rows_to_affine(jac, G1_LIKE)


@_jit
def g1_endo_rows(rows):
    """Rows phi(P_i) = (omega x_i, y_i) (infinity, all zeros, stays zeros)."""
    out = rows.copy()
    for i in range(rows.shape[0]):
        x = (rows[i, 0], rows[i, 1], rows[i, 2], rows[i, 3])
        ox = fq_mul(x, _GLV_OMEGA_MONT)
        for k in range(4):
            out[i, k] = ox[k]
    return out


@_jit
def g1_msm(rows, scalars, c):
    """sum_i k_i P_i as one affine row (uint64[1, 8]; zeros for infinity), by buckets:
    signed base-2^c digits, per window 2^(c-1) buckets filled with mixed additions and summed
    by a running sum, the windows combined by Horner (the prover's MSM, serial)."""
    n = rows.shape[0]
    n_windows = (scalar_bits(scalars) + c - 1) // c + 1
    digits = np.zeros((n, n_windows), dtype=np.int32)
    for i in range(n):
        _digits_one(scalars, c, n_windows, i, digits)
    sums = np.zeros((n_windows, 12), dtype=np.uint64)
    for w in range(n_windows):
        _window_task(rows, digits, c, 1, w, sums, G1_LIKE)
    return jac_rows_to_affine(combine_windows(sums, c, n_windows, 1, G1_LIKE), G1_LIKE)


@_jit
def g1_lincomb(rows, scalars):
    """sum_i k_i P_i as one affine row (uint64[1, 8]; zeros for infinity).  Straus: a table
    of 0..15 P_i per point, then for each nibble of the scalars (most significant first) four
    doublings of the accumulator and one addition per point."""
    n = rows.shape[0]
    tables = np.zeros((n, 16, 12), dtype=np.uint64)
    for i in range(n):
        x, y, at_infinity = load_affine(rows, i, G1_LIKE)
        if at_infinity:
            continue
        p = (x, y, FQ_ONE)
        acc = p
        store_jac(tables[i], 1, p)
        for d in range(2, 16):
            acc = jac_add(acc, p)
            store_jac(tables[i], d, acc)
    acc = infinity(G1_LIKE)
    for limb in range(3, -1, -1):
        for nib in range(15, -1, -1):
            for _ in range(4):
                acc = jac_double(acc)
            shift = np.uint64(4 * nib)
            for i in range(n):
                d = (scalars[i, limb] >> shift) & np.uint64(15)
                if d != 0:
                    acc = jac_add(acc, load_jac(tables[i], d, G1_LIKE))
    out = np.zeros((1, 12), dtype=np.uint64)
    store_jac(out, 0, acc)
    return jac_rows_to_affine(out, G1_LIKE)


# ---- the ahead-of-time export list ---------------------------------------------------------------

_U2 = "u8[:,::1]"
EXPORTS: dict[str, str] = {
    "miller_product": "void(u8[:,:,::1], u8[:,:,:,::1], u8[:,:,:,::1], u8[:,:,:,::1])",
    "g2_flags_from_multiples": f"u1[::1]({_U2}, u8[:,:,:,::1])",
    "product_final_exp_is_one": "i8(u8[:,:,:,:,::1])",
    "g2_subgroup_flags": f"u1[::1]({_U2})",
    "g1_scale_each_glv": f"{_U2}({_U2}, {_U2})",
    "g1_endo_rows": f"{_U2}({_U2})",
    "g1_msm": f"{_U2}({_U2}, {_U2}, i8)",
    "g1_lincomb": f"{_U2}({_U2}, {_U2})",
}

__all__ = ["EXPORTS", "miller_product", "g2_flags_from_multiples", "product_final_exp_is_one", "g2_subgroup_flags",
           "g1_scale_each_glv", "g1_endo_rows", "g1_msm", "g1_lincomb"]
