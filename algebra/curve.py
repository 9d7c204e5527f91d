"""Compiled Jacobian arithmetic for G1 (over F_q) and G2 (over F_q2), written once.

The curve code is generic over the coordinate field: ``f_add``, ``f_mul`` ... are numba
overloads that resolve by argument type -- an F_q element is ``UniTuple(uint64, 4)``, an F_q2
element a pair of those -- so the same source compiles to a G1 and a G2 kernel.  (Generic code
is written with overloads, not factory closures, because numba's on-disk cache cannot reuse
closures across processes.  Nothing is inlined at numba-IR level: LLVM inlines the small
callees anyway, and IR-level inlining made the first compile several times slower.)  Functions that create values from nothing take a ``like``
argument, a zero of the coordinate field, to pick the group: ``G1_LIKE`` or ``G2_LIKE``.

Vectors of points are *flat rows* of uint64: an affine G1 point is 8 words (x, y), a G2 point
16 words (x.c0, x.c1, y.c0, y.c1), Montgomery form, infinity = all zero.  The public "G1
array" ``uint64[n, 2, 4]`` and "G2 array" ``uint64[n, 2, 2, 4]`` reshape to these at no cost.
Jacobian rows (X, Y, Z) are 12 / 24 words; (X, Y, Z) stands for (X/Z^2, Y/Z^3), Z = 0 is
infinity.  Formulas (a = 0): dbl-2009-l (2M + 5S), madd-2007-bl (7M + 4S), add-2007-bl
(11M + 5S), each handling P = Q and P = -Q.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from .constants import GLV_OMEGA, Q
from .field import FQ_ONE, ZERO, fe_eq, fe_is_zero, fq_add, fq_inv, fq_mul, fq_neg, fq_sub
from .fq2 import FQ2_ONE, FQ2_ZERO, fq2_add, fq2_eq, fq2_inv, fq2_is_zero, fq2_mul, fq2_neg, fq2_sqr, fq2_sub

G1_LIKE = ZERO
G2_LIKE = FQ2_ZERO


def _is_fq(t) -> bool:
    return isinstance(t, types.UniTuple) and t.count == 4 and t.dtype == types.uint64


def _is_fq2(t) -> bool:
    return isinstance(t, (types.UniTuple, types.Tuple)) and len(t) == 2 and all(_is_fq(x) for x in t)


def _pick(a, on_fq, on_fq2):
    if _is_fq(a):
        return on_fq
    if _is_fq2(a):
        return on_fq2
    return None


def _dispatch(on_fq, on_fq2):
    """Overload of a one-argument operation: F_q implementation for F_q, F_q2 for pairs."""
    def typer(a):
        return _pick(a, on_fq, on_fq2)
    return typer


def _dispatch2(on_fq, on_fq2):
    """Overload of a two-argument operation (dispatching on the first argument's type)."""
    def typer(a, b):
        return _pick(a, on_fq, on_fq2)
    return typer


# Stubs: the Python bodies never run; numba replaces calls by the overloads below.
def f_add(a, b): raise NotImplementedError
def f_sub(a, b): raise NotImplementedError
def f_mul(a, b): raise NotImplementedError
def f_sqr(a): raise NotImplementedError
def f_neg(a): raise NotImplementedError
def f_inv(a): raise NotImplementedError
def f_is_zero(a): raise NotImplementedError
def f_eq(a, b): raise NotImplementedError
def f_one(a): raise NotImplementedError
def f_width(a): raise NotImplementedError
def f_load(rows, i, off, like): raise NotImplementedError
def f_store(rows, i, off, v): raise NotImplementedError


# The implementations are named module-level functions, never lambdas or nested functions.
# numba names a compiled function <module>.<qualname> + a per-process counter + argument
# types, and a cached kernel carries its callees' code under those names with "one definition"
# linkage.  Lambdas (all called ``<lambda>``) of equal argument types differ only by that
# counter, which depends on compile order: a kernel cached by one process (say the native
# build) and a kernel compiled fresh by another could each define, e.g., ``<lambda>$8`` -- one
# as f_sqr, the other as f_neg -- and LLVM then keeps one body for both, silently computing
# wrong points (issue 11).  With one function object per qualname, equal names mean equal code
# (tests/test_kernel_names.py checks it).

def _fq_add_impl(a, b): return fq_add(a, b)
def _fq2_add_impl(a, b): return fq2_add(a, b)
def _fq_sub_impl(a, b): return fq_sub(a, b)
def _fq2_sub_impl(a, b): return fq2_sub(a, b)
def _fq_mul_impl(a, b): return fq_mul(a, b)
def _fq2_mul_impl(a, b): return fq2_mul(a, b)
def _fq_sqr_impl(a): return fq_mul(a, a)
def _fq2_sqr_impl(a): return fq2_sqr(a)
def _fq_neg_impl(a): return fq_neg(a)
def _fq2_neg_impl(a): return fq2_neg(a)
def _fq_inv_impl(a): return fq_inv(a)
def _fq2_inv_impl(a): return fq2_inv(a)
def _fq_eq_impl(a, b): return fe_eq(a, b)
def _fq2_eq_impl(a, b): return fq2_eq(a, b)
def _fq_is_zero_impl(a): return fe_is_zero(a)
def _fq2_is_zero_impl(a): return fq2_is_zero(a)
def _fq_one_impl(a): return FQ_ONE
def _fq2_one_impl(a): return FQ2_ONE
def _fq_width_impl(a): return 4
def _fq2_width_impl(a): return 8


overload(f_add)(_dispatch2(_fq_add_impl, _fq2_add_impl))
overload(f_sub)(_dispatch2(_fq_sub_impl, _fq2_sub_impl))
overload(f_mul)(_dispatch2(_fq_mul_impl, _fq2_mul_impl))
overload(f_sqr)(_dispatch(_fq_sqr_impl, _fq2_sqr_impl))
overload(f_neg)(_dispatch(_fq_neg_impl, _fq2_neg_impl))
overload(f_inv)(_dispatch(_fq_inv_impl, _fq2_inv_impl))
overload(f_eq)(_dispatch2(_fq_eq_impl, _fq2_eq_impl))
overload(f_is_zero)(_dispatch(_fq_is_zero_impl, _fq2_is_zero_impl))
overload(f_one)(_dispatch(_fq_one_impl, _fq2_one_impl))
overload(f_width)(_dispatch(_fq_width_impl, _fq2_width_impl))


def _fq_load_impl(rows, i, off, like):
    return (rows[i, off], rows[i, off + 1], rows[i, off + 2], rows[i, off + 3])


def _fq2_load_impl(rows, i, off, like):
    return ((rows[i, off], rows[i, off + 1], rows[i, off + 2], rows[i, off + 3]),
            (rows[i, off + 4], rows[i, off + 5], rows[i, off + 6], rows[i, off + 7]))


def _fq_store_impl(rows, i, off, v):
    for k in range(4):
        rows[i, off + k] = v[k]


def _fq2_store_impl(rows, i, off, v):
    for k in range(4):
        rows[i, off + k] = v[0][k]
        rows[i, off + 4 + k] = v[1][k]


@overload(f_load)
def _ol_load(rows, i, off, like):
    return _pick(like, _fq_load_impl, _fq2_load_impl)


@overload(f_store)
def _ol_store(rows, i, off, v):
    return _pick(v, _fq_store_impl, _fq2_store_impl)


@intrinsic
def prefetch_row(typingctx, rows, i):
    """Ask the CPU to bring the start of row i of a 2-D array into cache (LLVM's
    ``llvm.prefetch``: read, high locality).  A hint only: results never depend on it, and
    targets without a prefetch instruction drop it."""
    if not (isinstance(rows, types.Array) and rows.ndim == 2 and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        row = context.cast(builder, args[1], sig.args[1], types.intp)
        zero = context.get_constant(types.intp, 0)
        ptr = cgutils.get_item_pointer(context, builder, sig.args[0], ary, [row, zero])
        i8p = builder.bitcast(ptr, ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p.type, i32, i32, i32])
        # declare_intrinsic spells the overload suffix as this llvmlite's pointers need it
        # (p0i8 for typed pointers, p0 for opaque ones)
        fn = builder.module.declare_intrinsic("llvm.prefetch", [i8p.type], fnty)
        builder.call(fn, [i8p, i32(0), i32(3), i32(1)])     # read, keep in all levels, data
        return context.get_dummy_value()

    return types.void(rows, i), codegen


# ---- point arithmetic (Jacobian) ----------------------------------------------------------


@nb.njit(cache=True)
def infinity(like):
    return (f_one(like), f_one(like), like)


@nb.njit(cache=True)
def jac_double(P):
    X, Y, Z = P
    if f_is_zero(Z):
        return P
    A = f_sqr(X)
    B = f_sqr(Y)
    C = f_sqr(B)
    D = f_sub(f_sub(f_sqr(f_add(X, B)), A), C)
    D = f_add(D, D)
    E = f_add(f_add(A, A), A)
    X3 = f_sub(f_sqr(E), f_add(D, D))
    C2 = f_add(C, C)
    C4 = f_add(C2, C2)
    Y3 = f_sub(f_mul(E, f_sub(D, X3)), f_add(C4, C4))
    Z3 = f_mul(f_add(Y, Y), Z)
    return (X3, Y3, Z3)


@nb.njit(cache=True)
def jac_add_mixed(P, x2, y2):
    """P + (x2, y2) for an affine point that is not infinity."""
    X1, Y1, Z1 = P
    if f_is_zero(Z1):
        return (x2, y2, f_one(x2))
    Z1Z1 = f_sqr(Z1)
    U2 = f_mul(x2, Z1Z1)
    S2 = f_mul(y2, f_mul(Z1, Z1Z1))
    H = f_sub(U2, X1)
    rr = f_sub(S2, Y1)
    if f_is_zero(H):
        if f_is_zero(rr):
            return jac_double(P)
        return infinity(H)
    HH = f_sqr(H)
    I = f_add(HH, HH)
    I = f_add(I, I)
    J = f_mul(H, I)
    rr = f_add(rr, rr)
    V = f_mul(X1, I)
    X3 = f_sub(f_sub(f_sqr(rr), J), f_add(V, V))
    t = f_mul(Y1, J)
    Y3 = f_sub(f_mul(rr, f_sub(V, X3)), f_add(t, t))
    Z3 = f_sub(f_sub(f_sqr(f_add(Z1, H)), Z1Z1), HH)
    return (X3, Y3, Z3)


@nb.njit(cache=True)
def jac_add(P, Qp):
    X1, Y1, Z1 = P
    X2, Y2, Z2 = Qp
    if f_is_zero(Z1):
        return Qp
    if f_is_zero(Z2):
        return P
    Z1Z1 = f_sqr(Z1)
    Z2Z2 = f_sqr(Z2)
    U1 = f_mul(X1, Z2Z2)
    U2 = f_mul(X2, Z1Z1)
    S1 = f_mul(Y1, f_mul(Z2, Z2Z2))
    S2 = f_mul(Y2, f_mul(Z1, Z1Z1))
    H = f_sub(U2, U1)
    rr = f_sub(S2, S1)
    if f_is_zero(H):
        if f_is_zero(rr):
            return jac_double(P)
        return infinity(H)
    I = f_sqr(f_add(H, H))
    J = f_mul(H, I)
    rr = f_add(rr, rr)
    V = f_mul(U1, I)
    X3 = f_sub(f_sub(f_sqr(rr), J), f_add(V, V))
    t = f_mul(S1, J)
    Y3 = f_sub(f_mul(rr, f_sub(V, X3)), f_add(t, t))
    Z3 = f_mul(f_sub(f_sub(f_sqr(f_add(Z1, Z2)), Z1Z1), Z2Z2), H)
    return (X3, Y3, Z3)


@nb.njit(cache=True)
def jac_neg(P):
    return (P[0], f_neg(P[1]), P[2])


@nb.njit(cache=True)
def jac_mul(P, k):
    """k * P, k as 4 little-endian canonical limbs (4-bit fixed window; about 4 doublings per
    significant nibble of k, so small scalars are cheap)."""
    like = f_sub(P[2], P[2])
    table = [infinity(like)] * 16
    table[1] = P
    for j in range(2, 16):
        table[j] = jac_add(table[j - 1], P)
    acc = infinity(like)
    started = False                      # leading zero nibbles cost nothing
    for limb in range(3, -1, -1):
        w = k[limb]
        for nib in range(15, -1, -1):
            d = (w >> np.uint64(4 * nib)) & np.uint64(15)
            if started:
                for _ in range(4):
                    acc = jac_double(acc)
            if d != 0:
                acc = jac_add(acc, table[d])
                started = True
    return acc


_GLV_OMEGA_MONT = tuple(np.uint64(((GLV_OMEGA << 256) % Q >> (64 * i)) & 0xFFFFFFFFFFFFFFFF) for i in range(4))


@nb.njit(cache=True)
def g1_mul_glv(P, glv, i):
    """k * P for a G1 point P (Jacobian) and k given by row i of a GLV table
    (:func:`zkmargin.algebra.glv.glv_limbs`: k = ±k1 ± k2*lambda, |k1|, |k2| < 2^128).

    k * P = k1 * P + k2 * phi(P) with phi(X, Y, Z) = (omega X, Y, Z): one shared chain of about
    128 doublings with 4-bit windows of both halves (the table of phi(P) multiples is the
    table of P multiples with X scaled by omega)."""
    table = [P] * 16
    table[0] = infinity(G1_LIKE)
    for j in range(2, 16):
        table[j] = jac_add(table[j - 1], P)
    phi = [P] * 16
    for j in range(16):
        T = table[j]
        phi[j] = (fq_mul(T[0], _GLV_OMEGA_MONT), T[1], T[2])
    neg1 = (glv[i, 4] & np.uint64(1)) != 0
    neg2 = (glv[i, 4] & np.uint64(2)) != 0
    acc = infinity(G1_LIKE)
    started = False
    for limb in range(1, -1, -1):
        w1 = glv[i, limb]
        w2 = glv[i, 2 + limb]
        for nib in range(15, -1, -1):
            if started:
                for _ in range(4):
                    acc = jac_double(acc)
            d1 = (w1 >> np.uint64(4 * nib)) & np.uint64(15)
            d2 = (w2 >> np.uint64(4 * nib)) & np.uint64(15)
            if d1 != 0:
                acc = jac_add(acc, jac_neg(table[d1]) if neg1 else table[d1])
                started = True
            if d2 != 0:
                acc = jac_add(acc, jac_neg(phi[d2]) if neg2 else phi[d2])
                started = True
    return acc


# ---- rows <-> points ----------------------------------------------------------------------


@nb.njit(cache=True)
def load_affine(rows, i, like):
    """(x, y, is_infinity) of affine row i."""
    fw = f_width(like)
    x = f_load(rows, i, 0, like)
    y = f_load(rows, i, fw, like)
    return x, y, f_is_zero(x) and f_is_zero(y)


@nb.njit(cache=True)
def load_jac(rows, i, like):
    fw = f_width(like)
    return (f_load(rows, i, 0, like), f_load(rows, i, fw, like), f_load(rows, i, 2 * fw, like))


@nb.njit(cache=True)
def store_jac(rows, i, P):
    fw = f_width(P[0])
    f_store(rows, i, 0, P[0])
    f_store(rows, i, fw, P[1])
    f_store(rows, i, 2 * fw, P[2])


@nb.njit(cache=True)
def jac_rows_to_affine(jac, like):
    """Normalise n Jacobian rows to affine rows with one field inversion (Montgomery's trick)."""
    fw = f_width(like)
    n = jac.shape[0]
    out = np.zeros((n, 2 * fw), dtype=np.uint64)
    prefix = np.empty((n, fw), dtype=np.uint64)
    acc = f_one(like)
    for i in range(n):
        f_store(prefix, i, 0, acc)
        Z = f_load(jac, i, 2 * fw, like)
        if not f_is_zero(Z):
            acc = f_mul(acc, Z)
    acc = f_inv(acc)
    for i in range(n - 1, -1, -1):
        Z = f_load(jac, i, 2 * fw, like)
        if f_is_zero(Z):
            continue
        zi = f_mul(acc, f_load(prefix, i, 0, like))
        acc = f_mul(acc, Z)
        zi2 = f_sqr(zi)
        f_store(out, i, 0, f_mul(f_load(jac, i, 0, like), zi2))
        f_store(out, i, fw, f_mul(f_load(jac, i, fw, like), f_mul(zi2, zi)))
    return out
