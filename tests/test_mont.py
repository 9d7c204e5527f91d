"""The Montgomery multiply's two engines (portable IR, x86-64 MULX/ADCX/ADOX assembly) against
Python ints, on both BN254 moduli: edge values that stress every carry, and many random pairs."""

from __future__ import annotations

import random

import numba as nb
import numpy as np
import pytest

from zkmargin.algebra import mont
from zkmargin.algebra.arrays import array_to_ints, ints_to_array
from zkmargin.algebra.constants import Q, R

ENGINES = [
    "ir",
    pytest.param("adx", marks=pytest.mark.skipif(not mont.host_has_adx(), reason="CPU lacks BMI2/ADX")),
]
MODULI = {"q": Q, "r": R}
_KERNELS: dict = {}


def _rows_kernel(engine: str, p: int):
    """An njit loop out[i] = a[i] * b[i] * 2^-256 mod p over (n, 4) uint64 rows, compiled once
    per (engine, modulus) and never cached on disk."""
    key = (engine, p)
    if key not in _KERNELS:
        mul, _, _ = mont.make_field_intrinsics(p, mul_engine=engine)

        @nb.njit
        def rows(a, b, out):
            for i in range(a.shape[0]):
                r = mul((a[i, 0], a[i, 1], a[i, 2], a[i, 3]), (b[i, 0], b[i, 1], b[i, 2], b[i, 3]))
                for j in range(4):
                    out[i, j] = r[j]

        _KERNELS[key] = rows
    return _KERNELS[key]


def _products(engine: str, p: int, xs: list[int], ys: list[int]) -> list[int]:
    a, b = ints_to_array(xs), ints_to_array(ys)
    out = np.zeros_like(a)
    _rows_kernel(engine, p)(a, b, out)
    return array_to_ints(out)


def _edge_values(p: int) -> list[int]:
    """Values at the ends of the range and at word boundaries, where carries and the final
    subtraction are decided."""
    vals = {0, 1, 2, p - 1, p - 2, (p - 1) // 2, (p + 1) // 2, pow(2, 256, p), pow(2, -256, p)}
    for k in (63, 64, 127, 128, 191, 192, 253):
        vals.update({(1 << k) - 1, 1 << k, (1 << k) + 1})
    for w in range(4):                                   # p with one word cleared or saturated
        mask = ((1 << 64) - 1) << (64 * w)
        vals.update({p & ~mask, (p | mask) % p, p - 1 - ((p - 1) & mask)})
    return sorted(v % p for v in vals)


@pytest.mark.parametrize("name", sorted(MODULI))
@pytest.mark.parametrize("engine", ENGINES)
def test_edge_pairs_match_python_ints(engine, name):
    p = MODULI[name]
    inv = pow(2, -256, p)
    edges = _edge_values(p)
    xs = [x for x in edges for _ in edges]
    ys = [y for _ in edges for y in edges]
    assert _products(engine, p, xs, ys) == [x * y * inv % p for x, y in zip(xs, ys)]


@pytest.mark.parametrize("name", sorted(MODULI))
@pytest.mark.parametrize("engine", ENGINES)
def test_random_pairs_match_python_ints(engine, name):
    p = MODULI[name]
    inv = pow(2, -256, p)
    rng = random.Random(f"mont-{engine}-{name}")
    n = 40_000
    xs = [rng.randrange(p) for _ in range(n)]
    # a quarter near p, where the result most often needs the final subtraction
    ys = [rng.randrange(p) if i % 4 else p - 1 - rng.randrange(1 << 64) for i in range(n)]
    assert _products(engine, p, xs, ys) == [x * y * inv % p for x, y in zip(xs, ys)]


def test_engines_agree_on_a_chain():
    """A dependent chain x <- x * y, where any slip would compound (ADX where there is one)."""
    engines = ["ir"] + (["adx"] if mont.host_has_adx() else [])
    for p in (Q, R):
        x, y = 5, p - 3
        want = []
        for _ in range(500):
            x = x * y * pow(2, -256, p) % p
            want.append(x)
        for engine in engines:
            got, v = [], 5
            for _ in range(500):
                v = _products(engine, p, [v], [y])[0]
                got.append(v)
            assert got == want, engine


def test_production_fields_use_the_host_engine():
    """field.py's multiplies are built with default_mul_engine(): on an ADX host the compiled
    code carries the ADCX/ADOX chains."""
    from zkmargin.algebra.field import fq_mul

    @nb.njit
    def one(a, b):
        return fq_mul(a, b)

    x = tuple(np.uint64(v) for v in ints_to_array([3])[0])
    one(x, x)
    asm = "".join(one.inspect_asm().values())
    assert ("adox" in asm) == (mont.default_mul_engine() == "adx")


def test_asm_text_rotates_the_accumulator():
    text, order = mont.adx_mul_asm()
    assert order == [4, 0, 1, 2]                            # four rounds: t0 ends in $4
    assert text.count("mulxq") == 4 * 4 + 4 * 4 + 4      # a*b words, m*p words, the four m
    assert "imul" not in text                               # m comes from MULX: flags untouched


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="mul_engine"):
        mont.make_field_intrinsics(Q, mul_engine="avx")
