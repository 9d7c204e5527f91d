"""Compiled 4x64-bit-limb Montgomery arithmetic, generated per modulus.

A field element is a numba ``UniTuple(uint64, 4)`` of little-endian limbs.  In Montgomery
form the tuple holds ``a * 2^256 mod p``.  The multiply is emitted directly as LLVM IR with
``i128`` products (CIOS: coarsely integrated operand scanning), which LLVM lowers to ``mulq``
pairs; numba itself has no 128-bit integer type, hence :func:`numba.extending.intrinsic`.

Each modulus gets its own intrinsics with the modulus baked in as constants:

* ``mul(a, b)   = a * b * 2^-256 mod p``            (Montgomery product)
* ``add(a, b)   = a + b mod p``, ``sub(a, b) = a - b mod p``, ``neg(a) = -a mod p``
* ``is_zero(a)``, ``eq(a, b)``

Inputs must be reduced (< p); outputs are reduced.  Requires p < 2^254 so that the CIOS
intermediate never needs a fifth carry word beyond the one kept here.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

LIMBS = 4
LIMB_BITS = 64
MASK64 = (1 << 64) - 1

_I64 = ir.IntType(64)
_I128 = ir.IntType(128)
_I1 = ir.IntType(1)
FE = types.UniTuple(types.uint64, LIMBS)


def int_to_limbs(x: int) -> tuple[int, int, int, int]:
    """Little-endian 64-bit limbs of a non-negative int < 2^256."""
    return tuple((x >> (64 * i)) & MASK64 for i in range(LIMBS))  # type: ignore[return-value]


def limbs_to_int(limbs) -> int:
    """Inverse of :func:`int_to_limbs` (accepts any sequence of 4 ints)."""
    return sum(int(v) << (64 * i) for i, v in enumerate(limbs))


def _unpack(builder, tup):
    return [builder.extract_value(tup, i) for i in range(LIMBS)]


def _pack(context, builder, words):
    return context.make_tuple(builder, FE, words)


def _c128(v: int):
    return ir.Constant(_I128, v)


def _emit_cond_sub(builder, t, p_limbs, top=None):
    """Return t - p if t >= p (t given as 4 i64 words, optional extra top word) else t."""
    borrow = _c128(0)
    diff = []
    for j in range(LIMBS):
        d = builder.sub(builder.sub(builder.zext(t[j], _I128), _c128(p_limbs[j])), borrow)
        diff.append(builder.trunc(d, _I64))
        borrow = builder.lshr(d, _c128(127))
    no_borrow = builder.icmp_unsigned("==", borrow, _c128(0))
    if top is not None:
        no_borrow = builder.or_(no_borrow, builder.icmp_unsigned("!=", top, ir.Constant(_I64, 0)))
    return [builder.select(no_borrow, diff[j], t[j]) for j in range(LIMBS)]


def make_field_intrinsics(p: int):
    """Build (mul, add, sub, neg) numba intrinsics for the odd prime ``p < 2^254``."""
    if not (p % 2 == 1 and p < (1 << 254)):
        raise ValueError("modulus must be odd and below 2^254")
    p_limbs = int_to_limbs(p)
    n_prime = (-pow(p, -1, 1 << 64)) % (1 << 64)  # -p^-1 mod 2^64

    @intrinsic
    def mont_mul(typingctx, a, b):
        sig = FE(FE, FE)

        def codegen(context, builder, signature, args):
            av = _unpack(builder, args[0])
            bv = _unpack(builder, args[1])
            t = [ir.Constant(_I64, 0)] * (LIMBS + 2)
            for i in range(LIMBS):
                bi = builder.zext(bv[i], _I128)
                carry = _c128(0)
                for j in range(LIMBS):
                    s = builder.add(builder.add(builder.zext(t[j], _I128),
                                                builder.mul(builder.zext(av[j], _I128), bi)), carry)
                    t[j] = builder.trunc(s, _I64)
                    carry = builder.lshr(s, _c128(64))
                s = builder.add(builder.zext(t[LIMBS], _I128), carry)
                t[LIMBS] = builder.trunc(s, _I64)
                t[LIMBS + 1] = builder.trunc(builder.lshr(s, _c128(64)), _I64)
                m = builder.zext(builder.mul(t[0], ir.Constant(_I64, n_prime)), _I128)
                s = builder.add(builder.zext(t[0], _I128), builder.mul(m, _c128(p_limbs[0])))
                carry = builder.lshr(s, _c128(64))
                for j in range(1, LIMBS):
                    s = builder.add(builder.add(builder.zext(t[j], _I128),
                                                builder.mul(m, _c128(p_limbs[j]))), carry)
                    t[j - 1] = builder.trunc(s, _I64)
                    carry = builder.lshr(s, _c128(64))
                s = builder.add(builder.zext(t[LIMBS], _I128), carry)
                t[LIMBS - 1] = builder.trunc(s, _I64)
                t[LIMBS] = builder.trunc(builder.add(builder.zext(t[LIMBS + 1], _I128),
                                                     builder.lshr(s, _c128(64))), _I64)
            out = _emit_cond_sub(builder, t[:LIMBS], p_limbs, top=t[LIMBS])
            return _pack(context, builder, out)

        return sig, codegen

    @intrinsic
    def mod_add(typingctx, a, b):
        sig = FE(FE, FE)

        def codegen(context, builder, signature, args):
            av = _unpack(builder, args[0])
            bv = _unpack(builder, args[1])
            carry = _c128(0)
            s = []
            for j in range(LIMBS):
                v = builder.add(builder.add(builder.zext(av[j], _I128), builder.zext(bv[j], _I128)), carry)
                s.append(builder.trunc(v, _I64))
                carry = builder.lshr(v, _c128(64))
            out = _emit_cond_sub(builder, s, p_limbs)  # p < 2^254: no carry out of limb 3
            return _pack(context, builder, out)

        return sig, codegen

    @intrinsic
    def mod_sub(typingctx, a, b):
        sig = FE(FE, FE)

        def codegen(context, builder, signature, args):
            av = _unpack(builder, args[0])
            bv = _unpack(builder, args[1])
            borrow = _c128(0)
            d = []
            for j in range(LIMBS):
                v = builder.sub(builder.sub(builder.zext(av[j], _I128), builder.zext(bv[j], _I128)), borrow)
                d.append(builder.trunc(v, _I64))
                borrow = builder.lshr(v, _c128(127))
            # if it borrowed, add p back
            need = builder.trunc(borrow, _I1)
            carry = _c128(0)
            out = []
            for j in range(LIMBS):
                v = builder.add(builder.add(builder.zext(d[j], _I128), _c128(p_limbs[j])), carry)
                out.append(builder.select(need, builder.trunc(v, _I64), d[j]))
                carry = builder.lshr(v, _c128(64))
            return _pack(context, builder, out)

        return sig, codegen

    return mont_mul, mod_add, mod_sub
