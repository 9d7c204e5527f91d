"""F_q2 multiply and square with lazy reduction: double-width products, one Montgomery
reduction per output coefficient.

For x = x0 + x1 u and y = y0 + y1 u in F_q2 = F_q[u]/(u^2 + 1), coefficients in Montgomery
form (a stands for a * R mod p, R = 2^256):

* multiply (Karatsuba):  with the 512-bit integer products t0 = x0 y0, t1 = x1 y1 and
  t2 = (x0 + x1)(y0 + y1),
      c0 = REDC(t0 - t1 (+ p R if negative)),   c1 = REDC(t2 - t0 - t1) = REDC(x0 y1 + x1 y0);
* square:  c0 = REDC((x0 + x1)(x0 - x1 + p)),   c1 = REDC((x0 + x0) x1);
* multiply by a non-residue k + u with a small k (xi = 9 + u for BN254):
      c0 = (k x0 + p - x1) mod p,   c1 = (x0 + k x1) mod p,
  each a 5-word sum below (k + 1) p reduced at once (:func:`emit_reduce_small`) instead of
  the chain of modular doublings and additions it would otherwise take.

REDC(T) = T / R mod p (word-by-word Montgomery reduction) needs T < p R and returns a value
below 2p, then subtracts p once if needed: the results are reduced.  The bounds, for reduced
inputs (< p) and p < 2^254: sums such as x0 + x1 stay below 2p < 2^255 and need no reduction;
t0 - t1 + p R lies in [0, p R); x0 y1 + x1 y0 < 2p^2 < p R; (x0 + x1)(x0 - x1 + p) < 4p^2 < p R;
(x0 + x0) x1 < 2p^2.  So three products share two reductions where three Montgomery multiplies
would make three (a square: two products, two reductions, without the stores and loads of
separate multiplies).  This file emits the whole operation as one block of LLVM IR, which
lets LLVM interleave the independent products (``benchmarks/bench_algebra.py`` prints both
against the F_q-multiply Karatsuba, :func:`zkmargin.algebra.fq2.fq2_mul_by_parts`).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .mont import FE, LIMBS, _emit_cond_sub, _unpack, int_to_limbs, limbs_to_int

_I1 = ir.IntType(1)
_I64 = ir.IntType(64)
_I128 = ir.IntType(128)
FE2 = types.UniTuple(FE, 2)


def _wide(b, v):
    return b.zext(v, _I128)


def _c128(v: int):
    return ir.Constant(_I128, v)


def _hi(b, v):
    return b.lshr(v, _c128(64))


def _lo(b, v):
    return b.trunc(v, _I64)


def emit_product(b, x, y):
    """The 512-bit product x * y of two 256-bit values (4 words each) as 8 words: operand
    scanning, each row's carry a fresh top word (t_(i+j) + x_j y_i + carry < 2^128)."""
    t = [ir.Constant(_I64, 0)] * (2 * LIMBS)
    for i in range(LIMBS):
        carry = _c128(0)
        yi = _wide(b, y[i])
        for j in range(LIMBS):
            s = b.add(b.add(_wide(b, t[i + j]), b.mul(_wide(b, x[j]), yi)), carry)
            t[i + j], carry = _lo(b, s), _hi(b, s)
        t[i + LIMBS] = _lo(b, carry)
    return t


def emit_add(b, x, y):
    """x + y mod 2^(64 len), without reduction (the caller sees to it that no carry leaves the
    last word, or wants the wrap-around)."""
    carry, out = _c128(0), []
    for xj, yj in zip(x, y):
        s = b.add(b.add(_wide(b, xj), _wide(b, yj)), carry)
        out.append(_lo(b, s))
        carry = _hi(b, s)
    return out


def emit_sub(b, x, y):
    """(x - y mod 2^(64 len), borrow as i1) for equal-length word lists."""
    borrow, out = _c128(0), []
    for xj, yj in zip(x, y):
        d = b.sub(b.sub(_wide(b, xj), _wide(b, yj)), borrow)
        out.append(_lo(b, d))
        borrow = b.lshr(d, _c128(127))
    return out, b.trunc(borrow, _I1)


def emit_redc(b, t, p_limbs, n_prime):
    """REDC: t / 2^256 mod p for an 8-word t < p * 2^256, reduced.  Round i adds m p 2^(64 i)
    with m = t_i n' mod 2^64, which clears word i; the round's carry goes into word i + 4 and
    the carry out of that (0 or 1) into word i + 5 with the next round.  What remains in words
    4..7 is below 2p (no carry leaves word 7), so one conditional subtraction reduces it."""
    t = list(t)
    spill = _c128(0)
    for i in range(LIMBS):
        m = _wide(b, b.mul(t[i], ir.Constant(_I64, n_prime)))
        carry = _c128(0)
        for j in range(LIMBS):
            s = b.add(b.add(_wide(b, t[i + j]), b.mul(m, _c128(p_limbs[j]))), carry)
            t[i + j], carry = _lo(b, s), _hi(b, s)
        s = b.add(b.add(_wide(b, t[i + LIMBS]), carry), spill)
        t[i + LIMBS], spill = _lo(b, s), _hi(b, s)
    return _emit_cond_sub(b, t[LIMBS:], p_limbs)


def emit_small_mul(b, x, k: int):
    """k * x as 5 words for a 4-word x and 0 < k < 2^32."""
    carry, out = _c128(0), []
    for xj in x:
        s = b.add(b.mul(_wide(b, xj), _c128(k)), carry)
        out.append(_lo(b, s))
        carry = _hi(b, s)
    return out + [_lo(b, carry)]


def emit_reduce_small(b, v, p_limbs):
    """v mod p for a 5-word v < m p, reduced, where p < 2^254 and D = floor(p / 2^224) + 1
    is at least m + 2 (:func:`make_fq2_mul_by_nonresidue` checks it).

    With h = floor(v / 2^224) (below m D, so below 2^64), the estimate q = floor(h / D) never
    exceeds floor(v / p) -- p < D 2^224 -- and falls short of it by at most one:
    v / p < (h + 1) / (D - 1), which is below h / D + 1 for h < D^2 - 2D, and m D <= D^2 - 2D.
    So v - q p < 2 p lies in four words and one conditional subtraction reduces it.  LLVM
    turns the division by the constant D into a multiply and a shift; nothing branches on v."""
    d = (limbs_to_int(p_limbs) >> 224) + 1
    h = b.or_(b.shl(v[4], ir.Constant(_I64, 32)), b.lshr(v[3], ir.Constant(_I64, 32)))
    q = _wide(b, b.udiv(h, ir.Constant(_I64, d)))
    borrow, carry, r = _c128(0), _c128(0), []
    for pj, vj in zip((*p_limbs, 0), v):            # v - q p over five words
        qp = b.add(b.mul(q, _c128(pj)), carry)
        carry = _hi(b, qp)
        diff = b.sub(b.sub(_wide(b, vj), _wide(b, _lo(b, qp))), borrow)
        r.append(_lo(b, diff))
        borrow = b.lshr(diff, _c128(127))
    return _emit_cond_sub(b, r[:LIMBS], p_limbs)


def make_fq2_mul_by_nonresidue(p: int, k: int):
    """A numba intrinsic multiplying an F_q2 element (reduced coefficients, u^2 = -1) by the
    constant k + u, for an odd prime (k + 2) 2^224 <= p < 2^254 and 0 < k < 15 (module
    docstring): the sums lie below (k + 1) p, which :func:`emit_reduce_small` reduces when
    floor(p / 2^224) + 1 >= k + 3."""
    if not (p % 2 == 1 and p < (1 << 254)):
        raise ValueError("modulus must be odd and below 2^254")
    if not 0 < k < 15:
        raise ValueError("the non-residue's k must lie in 1..14")
    if p >> 224 < k + 2:
        raise ValueError("modulus below (k + 2) 2^224: the one-step quotient estimate needs it")
    p_limbs = int_to_limbs(p)
    p_words = [ir.Constant(_I64, v) for v in p_limbs]
    zero = ir.Constant(_I64, 0)

    @intrinsic
    def fq2_mul_nonresidue(typingctx, x):
        sig = FE2(FE2)

        def codegen(context, b, signature, args):
            x0 = _unpack(b, b.extract_value(args[0], 0))
            x1 = _unpack(b, b.extract_value(args[0], 1))
            minus_x1, _ = emit_sub(b, p_words, x1)                   # p - x1, in (0, p]
            v0 = emit_add(b, emit_small_mul(b, x0, k), minus_x1 + [zero])
            v1 = emit_add(b, emit_small_mul(b, x1, k), x0 + [zero])
            c0, c1 = emit_reduce_small(b, v0, p_limbs), emit_reduce_small(b, v1, p_limbs)
            return context.make_tuple(b, FE2, [context.make_tuple(b, FE, c0), context.make_tuple(b, FE, c1)])

        return sig, codegen

    return fq2_mul_nonresidue


def make_fq2_intrinsics(p: int):
    """(mul, sqr) numba intrinsics on ``UniTuple(UniTuple(uint64, 4), 2)`` F_q2 elements over
    the odd prime ``p < 2^254`` with u^2 = -1 (module docstring); inputs must be reduced."""
    if not (p % 2 == 1 and p < (1 << 254)):
        raise ValueError("modulus must be odd and below 2^254")
    p_limbs = int_to_limbs(p)
    p_words = [ir.Constant(_I64, v) for v in p_limbs]
    n_prime = (-pow(p, -1, 1 << 64)) % (1 << 64)

    def parts(b, v):
        return _unpack(b, b.extract_value(v, 0)), _unpack(b, b.extract_value(v, 1))

    def pack(context, b, c0, c1):
        return context.make_tuple(b, FE2, [context.make_tuple(b, FE, c0), context.make_tuple(b, FE, c1)])

    @intrinsic
    def fq2_mul_lazy(typingctx, x, y):
        sig = FE2(FE2, FE2)

        def codegen(context, b, signature, args):
            (x0, x1), (y0, y1) = parts(b, args[0]), parts(b, args[1])
            t0, t1 = emit_product(b, x0, y0), emit_product(b, x1, y1)
            t2 = emit_product(b, emit_add(b, x0, x1), emit_add(b, y0, y1))
            c1, _ = emit_sub(b, emit_sub(b, t2, t0)[0], t1)
            c0, negative = emit_sub(b, t0, t1)
            high = emit_add(b, c0[LIMBS:], p_words)     # + p R: the carry out is the wrap-around
            c0 = c0[:LIMBS] + [b.select(negative, h, w) for h, w in zip(high, c0[LIMBS:])]
            return pack(context, b, emit_redc(b, c0, p_limbs, n_prime), emit_redc(b, c1, p_limbs, n_prime))

        return sig, codegen

    @intrinsic
    def fq2_sqr_lazy(typingctx, x):
        sig = FE2(FE2)

        def codegen(context, b, signature, args):
            x0, x1 = parts(b, args[0])
            diff, _ = emit_sub(b, emit_add(b, x0, p_words), x1)          # x0 - x1 + p > 0
            t0 = emit_product(b, emit_add(b, x0, x1), diff)
            t1 = emit_product(b, emit_add(b, x0, x0), x1)
            return pack(context, b, emit_redc(b, t0, p_limbs, n_prime), emit_redc(b, t1, p_limbs, n_prime))

        return sig, codegen

    return fq2_mul_lazy, fq2_sqr_lazy


__all__ = ["FE2", "emit_add", "emit_product", "emit_redc", "emit_reduce_small", "emit_small_mul",
           "emit_sub", "make_fq2_intrinsics", "make_fq2_mul_by_nonresidue"]
