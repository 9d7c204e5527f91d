"""The verifier's compiled kernels against the pure-Python reference, on both namespaces
(the ahead-of-time module and numba's JIT), single-threaded and split over threads."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from twist_points import G2_COFACTOR_PRIMES, twist_mul, twist_point_of_order, twist_point_outside_subgroup  # noqa: E402

from zkmargin.algebra.arrays import g1_points_from_array  # noqa: E402
from zkmargin.algebra.constants import R  # noqa: E402
from zkmargin.algebra.pairing_py import g2_in_subgroup_fast, pairing_product_is_one_py  # noqa: E402
from zkmargin.algebra.points import G1_GEN, G2_GEN, g1_add, g1_mul, g1_neg, g2_mul  # noqa: E402
from zkmargin.verifier import backend as vbackend  # noqa: E402
from zkmargin.verifier.kernels import Kernels, g1_rows, g2_rows, scalar_rows  # noqa: E402


@pytest.fixture(scope="module", params=["native", "jit"])
def kern(request) -> Kernels:
    if request.param == "native":
        from zkmargin.algebra import native

        if native.mode() == "jit":
            pytest.skip("ZKMARGIN_KERNELS=jit: no native modules in this run")
        native.get(native.VERIFIER, log=None)
    return vbackend.resolve(request.param, batch=True)


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request, kern):
    saved = kern.threads, kern.min_chunk
    kern.threads, kern.min_chunk = request.param, 2  # small inputs are split too
    yield request.param
    kern.threads, kern.min_chunk = saved


def _g1(rnd, n):
    return [g1_mul(G1_GEN, rnd.randrange(1, R)) for _ in range(n)]


def test_the_native_backend_is_the_built_module(kern):
    assert kern.name in ("native", "jit")
    if kern.name == "native":
        assert kern.k.__name__.startswith("zkm_verify_")
        assert "numba" not in kern.k.__name__


def test_g1_lincomb_matches_python(kern, threads):
    rnd = random.Random(1)
    pts = _g1(rnd, 9) + [None, G1_GEN]
    # full-width, zero, one, r - 1 and scalars >= r (not reduced: the kernels take any < 2^256)
    ks = [rnd.randrange(R) for _ in range(9)] + [5, 0]
    ks[2], ks[3], ks[4] = 1, R - 1, R + 7
    ref = None
    for p, k in zip(pts, ks):
        if p is not None:
            ref = g1_add(ref, g1_mul(p, k % R))
    got = g1_points_from_array(kern.g1_lincomb(g1_rows(pts), scalar_rows(ks)))[0]
    assert got == ref
    # a sum that cancels is infinity (zeros)
    p = pts[0]
    assert g1_points_from_array(kern.g1_lincomb(g1_rows([p, g1_neg(p)]), scalar_rows([3, 3])))[0] is None


def test_g1_scale_each_glv_matches_python(kern, threads):
    """a P + b phi(P) = (a + b lambda) P for 64-bit halves (the batch weights), and for full
    GLV decompositions with signs."""
    from zkmargin.algebra.constants import GLV_LAMBDA
    from zkmargin.algebra.glv import glv_limbs

    rnd = random.Random(2)
    pts = _g1(rnd, 6) + [None]
    halves = [(rnd.getrandbits(64), rnd.getrandbits(64)) for _ in pts]
    halves[1], halves[2] = (0, 0), (1, 0)
    glv = np.zeros((len(pts), 5), dtype=np.uint64)
    glv[:, 0] = [a for a, _ in halves]
    glv[:, 2] = [b for _, b in halves]
    got = g1_points_from_array(kern.g1_scale_each_glv(g1_rows(pts), glv))
    assert got == [None if p is None else g1_mul(p, a + b * GLV_LAMBDA) for p, (a, b) in zip(pts, halves)]
    ks = [rnd.randrange(R) for _ in pts]
    got = g1_points_from_array(kern.g1_scale_each_glv(g1_rows(pts), glv_limbs(ks)))
    assert got == [None if p is None else g1_mul(p, k) for p, k in zip(pts, ks)]


def test_g1_endomorphism_rows(kern):
    from zkmargin.algebra.constants import GLV_LAMBDA

    pts = _g1(random.Random(4), 3) + [None]
    assert g1_points_from_array(kern.g1_endo_rows(g1_rows(pts))) == \
        [None if p is None else g1_mul(p, GLV_LAMBDA) for p in pts]


@pytest.mark.parametrize("n", [1, 2, 37, 300])
def test_g1_msm_matches_python(kern, threads, n):
    """Bucket sums of 64-bit and full-width scalars, with infinity, zero scalars, repeated and
    opposite points (bucket collisions) and a sum that cancels."""
    rnd = random.Random(n)
    pts = _g1(rnd, n)
    if n > 2:
        pts[1], pts[2] = None, pts[0]
    for bits in (64, 254):
        ks = [rnd.getrandbits(bits) for _ in pts]
        if n > 2:
            ks[0] = 0
        ref = None
        for p, k in zip(pts, ks):
            if p is not None:
                ref = g1_add(ref, g1_mul(p, k % R))
        assert g1_points_from_array(kern.g1_msm(g1_rows(pts), scalar_rows(ks)))[0] == ref
    p = pts[-1]
    assert g1_points_from_array(kern.g1_msm(g1_rows([p, g1_neg(p)]), scalar_rows([9, 9])))[0] is None
    assert g1_points_from_array(kern.g1_msm(g1_rows([p]), scalar_rows([0])))[0] is None


def test_g2_subgroup_flags(kern, threads):
    rnd = random.Random(3)
    inside = [g2_mul(G2_GEN, rnd.randrange(1, R)) for _ in range(3)]
    outside = twist_point_outside_subgroup()
    assert not g2_in_subgroup_fast(outside)
    pts = [inside[0], outside, None, inside[1], outside, inside[2]]
    assert kern.g2_subgroup_flags(g2_rows(pts)).tolist() == [True, False, True, True, False, True]


@pytest.mark.parametrize("order", G2_COFACTOR_PRIMES)
def test_a_cofactor_component_is_outside_g2(kern, order):
    """B + E with E of prime order p | h (each of the cofactor's four primes) is on the twist
    but not in G2: every such point is caught one by one (a random-linear-combination
    subgroup test would let one through with probability 1/p for p = 10069, which is why the
    batch verifier does not use one)."""
    from zkmargin.algebra.points import g2_add, g2_is_on_curve

    e = twist_point_of_order(order)
    b = g2_add(g2_mul(G2_GEN, 12345), e)
    assert g2_is_on_curve(b) and not g2_in_subgroup_fast(b)
    assert kern.g2_subgroup_flags(g2_rows([b, e, g2_mul(G2_GEN, 7)])).tolist() == [False, False, True]


def test_miller_hands_back_6u_plus_2_multiples(kern, threads):
    """T_i = [6u+2]Q_i after the Miller loop (homogeneous projective), for G2 points and twist
    points outside G2, with a pair at infinity left alone."""
    from zkmargin.algebra.constants import BN_X, Q
    from zkmargin.algebra.field import limbs_to_int

    rnd = random.Random(8)
    g2 = [g2_mul(G2_GEN, rnd.randrange(1, R)) for _ in range(3)] + [twist_point_outside_subgroup(),
                                                                     twist_point_of_order(10069)]
    g1 = _g1(rnd, len(g2)) + [None]
    g2.append(g2_mul(G2_GEN, 3))
    multiples = np.zeros((len(g2), 3, 2, 4), dtype=np.uint64)
    kern.miller(g1_rows(g1), g2_rows(g2), multiples)
    minv = pow(1 << 256, -1, Q)

    def fq2(t, c):
        return tuple(limbs_to_int(t[c, e]) * minv % Q for e in range(2))

    from zkmargin.algebra.points import f2_inv, f2_mul
    for t, q in zip(multiples[:-1], g2[:-1]):
        zi = f2_inv(fq2(t, 2))
        assert (f2_mul(fq2(t, 0), zi), f2_mul(fq2(t, 1), zi)) == twist_mul(q, 6 * BN_X + 2)
    assert not multiples[-1].any()


def test_g2_membership_from_multiples(kern, threads):
    """In and out of G2 (a random twist point, B + E for E of each cofactor prime), and the
    fallback: a T with Z = 0 (an unfinished walk) is decided by the standalone test."""
    from zkmargin.algebra.points import g2_add

    rnd = random.Random(9)
    inside = [g2_mul(G2_GEN, rnd.randrange(1, R)) for _ in range(2)]
    outside = [twist_point_outside_subgroup()] + [g2_add(inside[0], twist_point_of_order(p))
                                                  for p in G2_COFACTOR_PRIMES]
    pts = inside + outside
    multiples = np.zeros((len(pts), 3, 2, 4), dtype=np.uint64)
    kern.miller(g1_rows(_g1(rnd, len(pts))), g2_rows(pts), multiples)
    expect = [True] * len(inside) + [False] * len(outside)
    assert kern.g2_membership(g2_rows(pts), multiples).tolist() == expect
    assert kern.k.g2_flags_from_multiples(g2_rows(pts), multiples).tolist() == [int(e) for e in expect]
    unfinished = multiples.copy()
    unfinished[:, 2] = 0
    assert kern.k.g2_flags_from_multiples(g2_rows(pts), unfinished).tolist() == [2] * len(pts)
    assert kern.g2_membership(g2_rows(pts), unfinished).tolist() == expect


@pytest.mark.parametrize("count", [2, 3, 4])
def test_points_with_several_cofactor_components_are_outside_g2(kern, count):
    """E = a sum of points of 2, 3 or all 4 cofactor primes, alone and plus a G2 point: every
    test says no (standalone kernel, the Miller-loop flags, pure Python)."""
    import itertools

    from zkmargin.algebra.points import g2_add

    for combo in itertools.combinations(G2_COFACTOR_PRIMES, count):
        e = None
        for p in combo:
            e = g2_add(e, twist_point_of_order(p))
        pts = [e, g2_add(g2_mul(G2_GEN, 99), e)]
        multiples = np.zeros((2, 3, 2, 4), dtype=np.uint64)
        kern.miller(g1_rows([G1_GEN, G1_GEN]), g2_rows(pts), multiples)
        assert kern.k.g2_flags_from_multiples(g2_rows(pts), multiples).tolist() == [0, 0]
        assert kern.g2_subgroup_flags(g2_rows(pts)).tolist() == [False, False]
        assert not any(g2_in_subgroup_fast(p) for p in pts)


def test_pairing_product_matches_python(kern, threads):
    """e(aP, bQ) e(-abP, Q) = 1, and a wrong exponent gives not 1, as the pure-Python pairing
    says; a product split over chunks equals the whole."""
    rnd = random.Random(4)
    a, b = rnd.randrange(1, R), rnd.randrange(1, R)
    p, q = G1_GEN, G2_GEN
    good = [(g1_mul(p, a), g2_mul(q, b)), (g1_neg(g1_mul(p, a * b)), q), (None, q)]
    bad = [(g1_mul(p, a), g2_mul(q, b)), (g1_neg(g1_mul(p, a * b + 1)), q)]
    for pairs, expected in ((good, True), (bad, False)):
        assert pairing_product_is_one_py([(x, y) for x, y in pairs if x is not None]) is expected
        g1 = g1_rows([x for x, _ in pairs])
        g2 = g2_rows([y for _, y in pairs])
        assert kern.pairing_product_is_one(g1, g2) is expected
    # the Miller value of one pair passed separately (as the prepared key's alpha_beta is)
    g1, g2 = g1_rows([x for x, _ in good]), g2_rows([y for _, y in good])
    extra = kern.miller(g1[:1], g2[:1])
    assert kern.pairing_product_is_one(g1[1:], g2[1:], extra=[extra])
    assert not kern.pairing_product_is_one(g1[1:], g2[1:])


def test_empty_inputs(kern):
    empty1, empty2 = np.zeros((0, 8), np.uint64), np.zeros((0, 16), np.uint64)
    assert kern.g2_subgroup_flags(empty2).shape == (0,)
    assert g1_points_from_array(kern.g1_lincomb(empty1, np.zeros((0, 4), np.uint64)))[0] is None
    assert kern.pairing_product_is_one(empty1, empty2)


def test_unknown_or_missing_backend(monkeypatch):
    with pytest.raises(vbackend.BackendError, match="one of"):
        vbackend.resolve("gpu")
    monkeypatch.setenv("ZKMARGIN_VERIFIER", "fast")
    with pytest.raises(vbackend.BackendError, match="one of"):
        vbackend.resolve()
    monkeypatch.setenv("ZKMARGIN_VERIFIER", "python")
    assert vbackend.resolve() is None
    monkeypatch.delenv("ZKMARGIN_VERIFIER")
    monkeypatch.setattr(vbackend, "native_module", lambda: None)
    assert vbackend.resolve() is None                      # one proof: pure Python
    assert vbackend.resolve(batch=True).name == "jit"      # a batch: the JIT kernels
    with pytest.raises(vbackend.BackendError, match="not built"):
        vbackend.resolve("native")
