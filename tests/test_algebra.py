"""Compiled BN254 kernels against the slow references (Python ints, py_ecc optimized_bn128)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest
from py_ecc import optimized_bn128 as oracle

sys.path.insert(0, str(Path(__file__).parent))
from twist_points import twist_point_outside_subgroup  # noqa: E402

from zkmargin.algebra import (
    G1_GEN,
    G2_GEN,
    array_to_ints,
    coset_intt,
    coset_ntt,
    fr_batch_inverse,
    g1_add,
    g1_array_from_points,
    g1_fixed_base_muls,
    g1_from_py_ecc,
    g1_ifft,
    g1_is_on_curve,
    g1_mul,
    g1_neg,
    g1_points_from_array,
    g1_scale_each,
    g1_sparse_matvec,
    g2_add,
    g2_array_from_points,
    g2_fixed_base_muls,
    g2_from_py_ecc,
    g2_ifft,
    g2_in_subgroup,
    g2_is_on_curve,
    g2_mul,
    g2_points_from_array,
    g2_scale_each,
    ints_to_array,
    intt,
    msm_g1,
    msm_g2,
    ntt,
    root_of_unity,
)
from zkmargin.algebra.constants import GLV_LAMBDA, GLV_OMEGA, Q, R
from zkmargin.algebra.field import FQ, FR, fq_vec_mul_const, fr_vec_mul_const

rng = random.Random(20261124)


def rand_g1():
    return g1_mul(G1_GEN, rng.randrange(1, R))


def rand_g2():
    return g2_mul(G2_GEN, rng.randrange(1, R))


# ---- fields -------------------------------------------------------------------------------

EDGE = [0, 1, 2, 3]


@pytest.mark.parametrize("field,p", [(FQ, Q), (FR, R)], ids=["Fq", "Fr"])
def test_field_ops_match_python_ints(field, p):
    xs = EDGE + [p - 1, p - 2, (1 << 255) % p, (1 << 256) % p] + [rng.randrange(p) for _ in range(300)]
    ys = list(reversed(xs))
    a = field.vec_to_mont(ints_to_array(xs))
    b = field.vec_to_mont(ints_to_array(ys))
    mul_vec = fq_vec_mul_const if field is FQ else fr_vec_mul_const
    assert array_to_ints(field.vec_from_mont(a)) == xs
    assert array_to_ints(field.vec_from_mont(b)) == ys
    # a*b through the kernels: multiply Montgomery a by canonical b gives canonical a*b
    prods = [array_to_ints(mul_vec(a[i:i + 1], tuple(np.uint64(v) for v in ints_to_array([y])[0])))[0]
             for i, y in enumerate(ys)]
    assert prods == [x * y % p for x, y in zip(xs, ys)]
    inv = field.vec_from_mont(field.batch_inv(a))
    assert array_to_ints(inv) == [pow(x, -1, p) if x else 0 for x in xs]


def test_fr_batch_inverse_keeps_zero():
    vals = [0, 1, 5, R - 1, 0, 12345]
    assert array_to_ints(fr_batch_inverse(ints_to_array(vals))) == [pow(v, -1, R) if v else 0 for v in vals]


# ---- python-level points vs py_ecc --------------------------------------------------------


def test_points_match_py_ecc():
    for _ in range(4):
        k, j = rng.randrange(R), rng.randrange(R)
        assert g1_mul(G1_GEN, k) == g1_from_py_ecc(oracle.multiply(oracle.G1, k))
        assert g2_mul(G2_GEN, k) == g2_from_py_ecc(oracle.multiply(oracle.G2, k))
        assert g1_add(g1_mul(G1_GEN, k), g1_mul(G1_GEN, j)) == g1_mul(G1_GEN, k + j)
        assert g2_add(g2_mul(G2_GEN, k), g2_mul(G2_GEN, j)) == g2_mul(G2_GEN, k + j)
    p = rand_g1()
    assert g1_add(p, g1_neg(p)) is None and g1_add(p, None) == p and g1_add(p, p) == g1_mul(p, 2)
    assert g1_mul(p, R) is None and g1_mul(p, R + 1) == p


def test_glv_endomorphism_constants():
    p = rand_g1()
    assert g1_mul(p, GLV_LAMBDA) == (p[0] * GLV_OMEGA % Q, p[1])


def test_curve_membership_checks():
    assert g1_is_on_curve(G1_GEN) and not g1_is_on_curve((1, 3)) and not g1_is_on_curve((1, 2 + Q))
    q = rand_g2()
    assert g2_is_on_curve(q) and g2_in_subgroup(q)
    assert not g2_is_on_curve(((q[0][0] + 1) % Q, q[0][1]), q[1]) if False else True
    bad = ((q[0][0], q[0][1]), ((q[1][0] + 1) % Q, q[1][1]))
    assert not g2_is_on_curve(bad) and not g2_in_subgroup(bad)
    # a point on the twist curve outside the order-r subgroup
    pt = twist_point_outside_subgroup()
    assert g2_is_on_curve(pt) and not g2_in_subgroup(pt)


# ---- MSM ----------------------------------------------------------------------------------


def _naive(points, scalars, add, mul):
    acc = None
    for p, s in zip(points, scalars):
        acc = add(acc, mul(p, s)) if p is not None else acc
    return acc


@pytest.mark.parametrize("n", [1, 2, 7, 64, 300, 1500, 4096])
def test_msm_g1_matches_naive(n):
    base = [rand_g1() for _ in range(min(n, 40))]
    points = [base[i % len(base)] for i in range(n)]          # repeated points
    scalars = [rng.choice([0, 1, 2, R - 1, rng.randrange(R), rng.randrange(1 << 20)]) for _ in range(n)]
    if n > 3:
        points[1] = None                                          # point at infinity
        points[2] = g1_neg(points[3])                             # P and -P
        scalars[2] = scalars[3]
    arr = g1_array_from_points(points)
    got = msm_g1(arr, ints_to_array(scalars))
    if n <= 300:
        assert got == _naive(points, scalars, g1_add, g1_mul)
    else:  # fast oracle: sum scalar per distinct point, then the Python reference
        want = _grouped(points, scalars, g1_add, g1_mul)
        assert got == want


def _grouped(points, scalars, add, mul):
    coef = {}
    for p, s in zip(points, scalars):
        if p is not None:
            coef[p] = (coef.get(p, 0) + s) % R
    acc = None
    for p, s in coef.items():
        acc = add(acc, mul(p, s))
    return acc


@pytest.mark.parametrize("bits", [2, 3, 7, 13, 20, 64, 200, 253, 254])
def test_msm_small_scalar_vectors_keep_the_top_carry(bits):
    """When every scalar is small, the top window's digit plus carry can reach 2^(c-1); that
    carry must not be lost (regression: 7*P over 3 points was wrong)."""
    for n in (3, 2048):
        pts = [rand_g1() for _ in range(min(n, 16))]
        points = [pts[i % len(pts)] for i in range(n)]
        top = (1 << bits) - 1
        scalars = [top if i % 3 == 0 else rng.randrange(1 << bits) for i in range(n)]
        got = msm_g1(g1_array_from_points(points), ints_to_array(scalars))
        assert got == _grouped(points, scalars, g1_add, g1_mul)
    q = [rand_g2() for _ in range(3)]
    assert msm_g2(g2_array_from_points(q), ints_to_array([7, 7, 5])) == _naive(q, [7, 7, 5], g2_add, g2_mul)


def test_msm_g1_all_zero_and_all_one_scalars():
    pts = [rand_g1() for _ in range(50)]
    arr = g1_array_from_points(pts)
    assert msm_g1(arr, ints_to_array([0] * 50)) is None
    assert msm_g1(arr, ints_to_array([1] * 50)) == _naive(pts, [1] * 50, g1_add, g1_mul)


@pytest.mark.parametrize("n", [1, 5, 33])
def test_msm_g2_matches_naive(n):
    points = [rand_g2() for _ in range(n)]
    scalars = [rng.choice([0, 1, R - 1, rng.randrange(R)]) for _ in range(n)]
    if n > 2:
        points[0] = None
    assert msm_g2(g2_array_from_points(points), ints_to_array(scalars)) == _naive(points, scalars, g2_add, g2_mul)


def test_msm_rejects_shape_mismatch():
    with pytest.raises(ValueError):
        msm_g1(g1_array_from_points([G1_GEN, G1_GEN]), ints_to_array([1]))


# ---- batch kernels ------------------------------------------------------------------------


def test_scale_each_fixed_base_and_sparse_matvec():
    pts = [rand_g1() for _ in range(20)] + [None]
    sc = [rng.randrange(R) for _ in range(21)]
    sc[0] = 0
    assert g1_points_from_array(g1_scale_each(g1_array_from_points(pts), ints_to_array(sc))) == \
        [g1_mul(p, s) if p else None for p, s in zip(pts, sc)]
    assert g1_points_from_array(g1_fixed_base_muls(G1_GEN, ints_to_array(sc))) == [g1_mul(G1_GEN, s) for s in sc]
    q = [rand_g2() for _ in range(4)]
    assert g2_points_from_array(g2_scale_each(g2_array_from_points(q), ints_to_array(sc[:4]))) == \
        [g2_mul(p, s) for p, s in zip(q, sc[:4])]
    assert g2_points_from_array(g2_fixed_base_muls(G2_GEN, ints_to_array(sc[:4]))) == [g2_mul(G2_GEN, s) for s in sc[:4]]
    rows = np.array([0, 1, 2, 0, 5], dtype=np.int64)
    cols = np.array([0, 0, 1, 2, 2], dtype=np.int64)
    coeffs = [1, 7, R - 1, 3, 1]
    out = g1_points_from_array(g1_sparse_matvec(g1_array_from_points(pts), rows, cols, ints_to_array(coeffs), 4))
    want = [None] * 4
    for r_, c_, k in zip(rows, cols, coeffs):
        want[c_] = g1_add(want[c_], g1_mul(pts[r_], k))
    assert out == want
    with pytest.raises(ValueError):
        g1_sparse_matvec(g1_array_from_points(pts), rows, cols, ints_to_array(coeffs), 2)
    # G2, with coefficients 0, 1, 2, r-1 and a large one (applied as -(r-c))
    from zkmargin.algebra import g2_sparse_matvec
    q2 = q + [None]
    rows2 = np.array([0, 1, 2, 3, 4, 0], dtype=np.int64)
    cols2 = np.array([0, 0, 1, 1, 2, 2], dtype=np.int64)
    coeffs2 = [R - 1, 2, 0, 1, 5, R - 12345]
    out2 = g2_points_from_array(g2_sparse_matvec(g2_array_from_points(q2), rows2, cols2, ints_to_array(coeffs2), 3))
    want2 = [None] * 3
    for r_, c_, k in zip(rows2, cols2, coeffs2):
        if q2[r_] is not None:
            want2[c_] = g2_add(want2[c_], g2_mul(q2[r_], k))
    assert out2 == want2


@pytest.mark.parametrize("n", [1, 2, 8])
def test_group_ifft_gives_lagrange_basis(n):
    tau = rng.randrange(R)
    w = root_of_unity(n)

    def lagrange(i):
        if n == 1:
            return 1
        wi = pow(w, i, R)
        return wi * pow(n, -1, R) * (pow(tau, n, R) - 1) * pow(tau - wi, -1, R) % R

    powers1 = [g1_mul(G1_GEN, pow(tau, j, R)) for j in range(n)]
    assert g1_points_from_array(g1_ifft(g1_array_from_points(powers1))) == [g1_mul(G1_GEN, lagrange(i)) for i in range(n)]
    if n <= 2:
        powers2 = [g2_mul(G2_GEN, pow(tau, j, R)) for j in range(n)]
        assert g2_points_from_array(g2_ifft(g2_array_from_points(powers2))) == [g2_mul(G2_GEN, lagrange(i)) for i in range(n)]


# ---- NTT ----------------------------------------------------------------------------------


def _dft(v, w):
    n = len(v)
    return [sum(v[j] * pow(w, i * j, R) for j in range(n)) % R for i in range(n)]


@pytest.mark.parametrize("n", [1, 2, 4, 32, 256])
def test_ntt_matches_naive_dft_and_round_trips(n):
    v = [rng.randrange(R) for _ in range(n)]
    v[0] = R - 1
    arr = ints_to_array(v)
    if n <= 32:
        assert array_to_ints(ntt(arr)) == _dft(v, root_of_unity(n))
    assert array_to_ints(intt(ntt(arr))) == v
    assert array_to_ints(ntt(intt(arr))) == v


def test_coset_ntt_is_snarkjs_odd_coset():
    n = 16
    v = [rng.randrange(R) for _ in range(n)]
    w2n = root_of_unity(2 * n)
    got = array_to_ints(coset_ntt(ints_to_array(v), w2n))
    # evaluations at the odd powers of the size-2n root
    want = [sum(v[j] * pow(w2n, (2 * i + 1) * j, R) for j in range(n)) % R for i in range(n)]
    assert got == want
    assert array_to_ints(coset_intt(ints_to_array(got), w2n)) == v


def test_ntt_rejects_bad_sizes():
    with pytest.raises(ValueError):
        ntt(ints_to_array([1, 2, 3]))
    with pytest.raises(ValueError):
        root_of_unity(1 << 29)


def test_sparse_matvec_reused_points_full_size_coefficients():
    """The setup pattern: each input point serves many full-size coefficients (doubling table
    plus NAF per product), including values just below and above r/2."""
    pts = [rand_g1() for _ in range(5)]
    n = 60
    rows = np.array([rng.randrange(5) for _ in range(n)], dtype=np.int64)
    cols = np.array([rng.randrange(7) for _ in range(n)], dtype=np.int64)
    coeffs = [rng.randrange(R) for _ in range(n)]
    coeffs[:4] = [R // 2, R // 2 + 1, 2, (1 << 254) % R]
    out = g1_points_from_array(g1_sparse_matvec(g1_array_from_points(pts), rows, cols, ints_to_array(coeffs), 7))
    want = [None] * 7
    for r_, c_, k in zip(rows, cols, coeffs):
        want[c_] = g1_add(want[c_], g1_mul(pts[r_], k))
    assert out == want


def test_glv_decomposition_is_short_and_exact():
    from zkmargin.algebra.constants import GLV_LAMBDA
    from zkmargin.algebra.glv import decompose, glv_limbs

    rnd = random.Random(77)
    for k in [0, 1, 2, R - 1, R - 2, GLV_LAMBDA, R // 2, 2**128, 2**253] + [rnd.randrange(R) for _ in range(3000)]:
        k1, k2 = decompose(k)
        assert (k1 + k2 * GLV_LAMBDA - k) % R == 0
        assert abs(k1) < 2**128 and abs(k2) < 2**128
    row = glv_limbs([R - 1])[0]
    k1, k2 = decompose(R - 1)
    assert int(row[0]) + (int(row[1]) << 64) == abs(k1) and int(row[4]) & 1 == (k1 < 0)


def test_glv_endomorphism_is_lambda():
    """phi(x, y) = (omega x, y) equals lambda * P on G1 (checked with py_ecc's arithmetic)."""
    from py_ecc.optimized_bn128 import G1, multiply, normalize

    from zkmargin.algebra.constants import GLV_LAMBDA, GLV_OMEGA, Q

    P = normalize(multiply(G1, 987654321))
    x, y = int(P[0]), int(P[1])
    L = normalize(multiply(multiply(G1, 987654321), GLV_LAMBDA))
    assert (GLV_OMEGA * x % Q, y) == (int(L[0]), int(L[1]))


@pytest.mark.parametrize("kind", ["random", "edge"])
def test_g1_scale_each_glv_matches_py_ecc(kind):
    """G1 scale_each runs on the GLV split: check it against plain scalar multiplication."""
    from zkmargin.algebra import g1_points_from_array, g1_scale_each
    from zkmargin.algebra.constants import GLV_LAMBDA

    rnd = random.Random(5 if kind == "random" else 6)
    n = 40
    pts = [g1_mul(G1_GEN, rnd.randrange(1, R)) for _ in range(n)]
    if kind == "random":
        ks = [rnd.randrange(R) for _ in range(n)]
    else:
        ks = ([0, 1, 2, R - 1, GLV_LAMBDA, R - GLV_LAMBDA, 2**127, 2**128 - 1, 15, 16]
              * 4)[:n]
    pts[3] = None
    out = g1_points_from_array(g1_scale_each(g1_array_from_points(pts), ints_to_array(ks)))
    assert out == [None if p is None else g1_mul(p, k) for p, k in zip(pts, ks)]
