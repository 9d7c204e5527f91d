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

The multiply has two engines with the same result:

* ``"ir"`` -- portable LLVM IR (:func:`_emit_mul_ir`), the reference;
* ``"adx"`` -- x86-64 inline assembly with MULX and the two carry chains of ADCX/ADOX
  (:func:`adx_mul_asm`), used where the host CPU has BMI2 and ADX.  LLVM never emits
  ADCX/ADOX itself, and keeping two independent carry chains in flight is what this buys
  (``benchmarks/bench_algebra.py`` here: 0.81-0.83x the IR engine's time in a dependent
  chain, 0.86-0.92x for independent multiplies).

:func:`default_mul_engine` picks one from the host CPU.  The choice needs no cache key of its
own: numba's cache and the native module's digest both already cover the CPU's features.
"""

from __future__ import annotations

import functools
import platform

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

LIMBS = 4
LIMB_BITS = 64
MASK64 = (1 << 64) - 1
MUL_ENGINES = ("ir", "adx")

_I64 = ir.IntType(64)
_I128 = ir.IntType(128)
_I1 = ir.IntType(1)
_I32 = ir.IntType(32)
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


def _emit_mul_ir(builder, av, bv, p_limbs, n_prime):
    """Montgomery product a * b * 2^-256 mod p of two reduced inputs (4 i64 words each) as
    portable IR: word-by-word CIOS with 128-bit products and a sixth word for carries; the
    result is reduced."""
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
    return _emit_cond_sub(builder, t[:LIMBS], p_limbs, top=t[LIMBS])


def adx_mul_asm() -> tuple[str, list[int]]:
    """The AT&T text of a 4-word Montgomery multiply with MULX/ADCX/ADOX, and which of its
    output operands hold the result words t0..t3 (the registers rotate, see below).

    Operands: ``$0..$4`` five accumulator words, ``$5``/``$6`` scratch (low and high product
    halves), ``$7`` a pointer to a0..a3 then b0..b3, ``$8`` a pointer to p0..p3, n' =
    -p^-1 mod 2^64 and a zero word; RDX and the flags are clobbered.

    Round i (CIOS without the extra carry words, valid because p < 2^254):

    1. multiply-accumulate t += a * b_i into five words t0..t4 -- the low halves of the
       products ride the OF chain (ADOX), the high halves the CF chain (ADCX), so the two
       carry chains run side by side; in round 0 t is 0 and one chain suffices;
    2. m = t0 * n' mod 2^64 (a MULX, which leaves the flags alone);
    3. t += m * p the same way.  t0 becomes exactly 0, and t / 2^64 is the next round's t:
       instead of moving words, the register that held t0 becomes the next round's t4 (which
       must start at 0).

    Bounds: with a < p and t < 2p on entry to a round, t + a*b_i + m*p < 2p + 2 * 2^64 * p
    < 2^320, so no carry leaves t4 and both flags are clear at the end of every step; after the
    round t < 2p again.  The result is therefore below 2p; the caller subtracts p once if
    needed.  The bounds are why inputs must be reduced.  The readers of proofs, keys, ptau
    files and witnesses reject coordinates and values >= the modulus before any check computes
    with them; only the one-shot prover skips the zkey's point checks, and a proof made from a
    bad key fails verification.
    """
    t = ["$0", "$1", "$2", "$3", "$4"]
    lo, hi, ab, k = "$5", "$6", "$7", "$8"
    a = [f"{8 * j}({ab})" for j in range(LIMBS)]
    b = [f"{32 + 8 * i}({ab})" for i in range(LIMBS)]
    p = [f"{8 * j}({k})" for j in range(LIMBS)]
    n_prime, zero = f"32({k})", f"40({k})"
    lines = ["xorl %edx, %edx"]              # CF = OF = 0
    for i in range(LIMBS):
        lines.append(f"movq {b[i]}, %rdx")
        if i == 0:
            lines += [f"mulxq {a[0]}, {t[0]}, {t[1]}",
                      f"mulxq {a[1]}, {lo}, {t[2]}", f"adcxq {lo}, {t[1]}",
                      f"mulxq {a[2]}, {lo}, {t[3]}", f"adcxq {lo}, {t[2]}",
                      f"mulxq {a[3]}, {lo}, {t[4]}", f"adcxq {lo}, {t[3]}", f"adcxq {zero}, {t[4]}"]
        else:
            for j in range(LIMBS):
                lines += [f"mulxq {a[j]}, {lo}, {hi}", f"adoxq {lo}, {t[j]}", f"adcxq {hi}, {t[j + 1]}"]
            lines.append(f"adoxq {zero}, {t[4]}")
        lines += [f"movq {t[0]}, %rdx", f"mulxq {n_prime}, %rdx, {hi}"]       # rdx = m
        for j in range(LIMBS):
            lines += [f"mulxq {p[j]}, {lo}, {hi}", f"adcxq {lo}, {t[j]}", f"adoxq {hi}, {t[j + 1]}"]
        lines.append(f"adcxq {t[0]}, {t[4]}")    # t0 is 0 here: this adds the last CF
        t = t[1:] + t[:1]
    return "\n".join(lines), [int(w[1:]) for w in t[:LIMBS]]


def _emit_mul_adx(builder, av, bv, p_limbs, n_prime):
    """The same product as :func:`_emit_mul_ir` through :func:`adx_mul_asm`: a and b are
    stored side by side on the stack, the modulus constants live in one internal global."""
    module = builder.module
    name = f"zkm_mont_{p_limbs[0]:016x}"
    consts_t = ir.ArrayType(_I64, LIMBS + 2)
    consts = module.globals.get(name)
    if consts is None:
        consts = ir.GlobalVariable(module, consts_t, name)
        consts.initializer = ir.Constant(consts_t, list(p_limbs) + [n_prime, 0])
        consts.global_constant = True
        consts.linkage = "internal"
    buf = cgutils.alloca_once(builder, ir.ArrayType(_I64, 2 * LIMBS))
    for k, v in enumerate(list(av) + list(bv)):
        builder.store(v, builder.gep(buf, [ir.Constant(_I32, 0), ir.Constant(_I32, k)]))
    ptr_t = _I64.as_pointer()
    text, order = adx_mul_asm()
    fnty = ir.FunctionType(ir.LiteralStructType([_I64] * 7), [ptr_t, ptr_t])
    constraints = ",".join(["=&r"] * 7 + ["r", "r", "~{rdx}", "~{cc}", "~{memory}"])
    res = builder.call(ir.InlineAsm(fnty, text, constraints, side_effect=False),
                       [builder.bitcast(buf, ptr_t), builder.bitcast(consts, ptr_t)])
    return _emit_cond_sub(builder, [builder.extract_value(res, k) for k in order], p_limbs)


@functools.lru_cache(maxsize=None)
def host_has_adx() -> bool:
    """Whether this is an x86-64 host whose CPU has BMI2 (MULX) and ADX (ADCX/ADOX), as LLVM
    sees it -- the features the JIT and the native module are compiled for (asked once per
    process: every field built at import asks)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    from llvmlite import binding

    binding.initialize_native_target()
    features = binding.get_host_cpu_features()
    return bool(features.get("adx")) and bool(features.get("bmi2"))


def default_mul_engine() -> str:
    """``"adx"`` on a host that has it, else ``"ir"``."""
    return "adx" if host_has_adx() else "ir"


def make_field_intrinsics(p: int, mul_engine: str | None = None):
    """Build (mul, add, sub) numba intrinsics for the odd prime ``p < 2^254``; ``mul_engine``
    is one of :data:`MUL_ENGINES` (default: the host's)."""
    if not (p % 2 == 1 and p < (1 << 254)):
        raise ValueError("modulus must be odd and below 2^254")
    engine = mul_engine or default_mul_engine()
    if engine not in MUL_ENGINES:
        raise ValueError(f"mul_engine must be one of {MUL_ENGINES}, got {engine!r}")
    p_limbs = int_to_limbs(p)
    n_prime = (-pow(p, -1, 1 << 64)) % (1 << 64)  # -p^-1 mod 2^64
    if engine == "adx":
        from llvmlite import binding

        binding.initialize_native_asmparser()   # the JIT and pycc assemble the inline asm
        emit_mul = _emit_mul_adx
    else:
        emit_mul = _emit_mul_ir

    @intrinsic
    def mont_mul(typingctx, a, b):
        sig = FE(FE, FE)

        def codegen(context, builder, signature, args):
            out = emit_mul(builder, _unpack(builder, args[0]), _unpack(builder, args[1]), p_limbs, n_prime)
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
