"""F_q6 / F_q12 tower kernels against py_ecc's FQ12 (via the documented basis change)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from py_ecc.optimized_bn128 import FQ12

from zkmargin.algebra import tower as T
from zkmargin.algebra.constants import Q
from zkmargin.algebra.pairing import final_exp_easy

RND = random.Random(20240602)
Z6 = ((0, 0), (0, 0), (0, 0))


def rand12() -> T.Fq12Int:
    return tuple(tuple((RND.randrange(Q), RND.randrange(Q)) for _ in range(3))  # type: ignore[return-value]
                 for _ in range(2))


def mont(x: T.Fq12Int) -> tuple:
    return T.fq12_tuple_from_ints(x)


def ints(x: tuple) -> T.Fq12Int:
    return T.fq12_tuple_to_ints(x)


def u64(x):
    """Kernel results come back as Python ints; re-type them as uint64 before passing them
    to another kernel (numba would type small ints as int64)."""
    if isinstance(x, tuple):
        return tuple(u64(v) for v in x)
    return np.uint64(x)


def py(x: T.Fq12Int) -> FQ12:
    return FQ12(T.fq12_to_py_ecc_coeffs(x))


def from_py(x: FQ12) -> T.Fq12Int:
    return T.fq12_from_py_ecc_coeffs([int(c) for c in x.coeffs])


def test_basis_conversion_round_trips():
    for _ in range(5):
        a = rand12()
        assert T.fq12_from_py_ecc_coeffs(T.fq12_to_py_ecc_coeffs(a)) == a
        assert T.fq12_to_ints(T.fq12_from_ints(a)) == a
        assert ints(mont(a)) == a
        assert T.fq12_from_strings(T.fq12_to_strings(a)) == a


def test_basis_change_is_a_ring_map():
    """w (tower) maps to W (py_ecc) and u to W^6 - 9: check w^6 = xi and u^2 = -1 images."""
    w = (((0, 0), (0, 0), (0, 0)), ((1, 0), (0, 0), (0, 0)))
    assert T.fq12_to_py_ecc_coeffs(w) == [0, 1] + [0] * 10
    u = (((0, 1), (0, 0), (0, 0)), ((0, 0), (0, 0), (0, 0)))
    assert py(u) * py(u) == FQ12([Q - 1] + [0] * 11)
    assert py(w) ** 6 == FQ12([9] + [0] * 11) + py(u)


@pytest.mark.parametrize("trial", range(4))
def test_mul_sqr_add_sub_against_py_ecc(trial):
    a, b = rand12(), rand12()
    ma, mb = mont(a), mont(b)
    assert ints(T.fq12_mul(ma, mb)) == from_py(py(a) * py(b))
    assert ints(T.fq12_sqr(ma)) == from_py(py(a) * py(a))
    assert ints(T.fq12_add(ma, mb)) == from_py(py(a) + py(b))
    assert ints(T.fq12_sub(ma, mb)) == from_py(py(a) - py(b))


def test_inverse_and_conjugate():
    for _ in range(3):
        a = rand12()
        ma = mont(a)
        assert ints(T.fq12_mul(ma, u64(T.fq12_inv(ma)))) == ints(T.FQ12_ONE)
        assert ints(T.fq12_inv(ma)) == from_py(py(a).inv())
        # conj is the q^6-power Frobenius
        assert ints(T.fq12_conj(ma)) == ints(T.fq12_frobenius3(u64(T.fq12_frobenius3(ma))))


def test_frobenius_is_power_q():
    a = rand12()
    ma = mont(a)
    pa = py(a)
    fa = pa ** Q
    assert ints(T.fq12_frobenius(ma)) == from_py(fa)
    fa2 = fa ** Q
    assert ints(T.fq12_frobenius2(ma)) == from_py(fa2)
    assert ints(T.fq12_frobenius3(ma)) == from_py(fa2 ** Q)
    assert ints(T.fq12_frobenius(T.fq12_frobenius(ma))) == ints(T.fq12_frobenius2(ma))


def test_fq6_kernels():
    """F_q6 embeds as g + 0 w; check mul/sqr/inv/mul_v and the sparse product."""
    for _ in range(3):
        a, b = rand12(), rand12()
        a6, b6 = mont(a)[0], mont(b)[0]
        zero6 = T.FQ12_ZERO[0]
        prod = ints((T.fq6_mul(a6, b6), zero6))
        assert prod == from_py(py((a[0], Z6)) * py((b[0], Z6)))
        assert ints((T.fq6_sqr(a6), zero6)) == ints((T.fq6_mul(a6, a6), zero6))
        assert ints((T.fq6_mul(a6, u64(T.fq6_inv(a6))), zero6)) == ints(T.FQ12_ONE)
        v6 = T.fq12_tuple_from_ints((((0, 0), (1, 0), (0, 0)), Z6))[0]
        assert ints((T.fq6_mul_v(a6), zero6)) == ints((T.fq6_mul(a6, v6), zero6))
        sparse = (b6[0], b6[1], T.FQ12_ZERO[0][0])
        assert ints((T.fq6_mul_01(a6, b6[0], b6[1]), zero6)) == ints((T.fq6_mul(a6, sparse), zero6))


def test_sparse_line_multiply():
    for _ in range(3):
        f, l = mont(rand12()), mont(rand12())
        a0, b0, b1 = l[0][0], l[1][0], l[1][1]
        z = T.FQ12_ZERO[0][0]
        dense = ((a0, z, z), (b0, b1, z))
        assert ints(T.fq12_mul_line(f, a0, b0, b1)) == ints(T.fq12_mul(f, dense))


def test_cyclotomic_squaring():
    for _ in range(3):
        g = u64(final_exp_easy(mont(rand12())))  # lands in the cyclotomic subgroup
        assert ints(T.fq12_cyclotomic_sqr(g)) == ints(T.fq12_sqr(g))
        # inverse = conjugate there
        assert ints(T.fq12_mul(g, T.fq12_conj(g))) == ints(T.FQ12_ONE)


def test_pow_matches_py_ecc():
    a = rand12()
    e = RND.randrange(1 << 200)
    limbs = tuple(np.uint64((e >> (64 * i)) & (2**64 - 1)) for i in range(4))
    assert ints(T.fq12_pow(mont(a), limbs)) == from_py(py(a) ** e)


def test_array_load_store():
    a = rand12()
    arr = T.fq12_from_ints(a)
    out = np.zeros_like(arr)
    T.fq12_store(out, u64(T.fq12_load(arr)))
    assert np.array_equal(arr, out)
    assert ints(T.fq12_load(arr)) == a
